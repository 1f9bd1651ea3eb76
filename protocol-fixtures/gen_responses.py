#!/usr/bin/env python3
"""Writes the resp_*.bin golden RESPONSE bodies, hand-built from the spec layouts with
struct.pack (independent of the Rust encoder). Re-run from this directory:
    python3 gen_responses.py
Each file holds the body AFTER the envelope, except resp_env_*.bin, which hold the
envelope fields (per the header flags listed in MANIFEST.responses.md) and then the body."""
import struct, ipaddress

def short(n): return struct.pack('>H', n)
def int_(n): return struct.pack('>i', n)
def string(s): b = s.encode(); return short(len(b)) + b
def string_list(xs): return short(len(xs)) + b''.join(string(x) for x in xs)
def bytes_(b): return int_(-1) if b is None else int_(len(b)) + b
def short_bytes(b): return short(len(b)) + b
def inetaddr(ip):
    p = ipaddress.ip_address(ip).packed
    return bytes([len(p)]) + p
def inet(ip, port): return inetaddr(ip) + int_(port)
def err(code, msg): return int_(code) + string(msg)
def multimap(pairs): return short(len(pairs)) + b''.join(string(k) + string_list(v) for k, v in pairs)
def bytes_map(pairs): return short(len(pairs)) + b''.join(string(k) + bytes_(v) for k, v in pairs)

# consistency levels (spec section 3)
ONE, QUORUM, ALL, LOCAL_QUORUM, SERIAL, LOCAL_ONE = 1, 4, 5, 6, 8, 10
# [option] ids (section 4.2.5.2)
INT, VARCHAR, BIGINT, UUID, LIST, MAP, SET, UDT = 0x09, 0x0D, 0x02, 0x0C, 0x20, 0x21, 0x22, 0x30

def col(name, typ, ks=None, table=None):
    pre = b'' if ks is None else string(ks) + string(table)
    return pre + string(name) + typ

F = {}
F['resp_ready_v4.bin'] = b''
F['resp_authenticate_v4.bin'] = string('org.apache.cassandra.auth.PasswordAuthenticator')
F['resp_supported_v5.bin'] = multimap([
    ('CQL_VERSION', ['3.4.7']),
    ('COMPRESSION', ['snappy', 'lz4']),
    ('PROTOCOL_VERSIONS', ['3/v3', '4/v4', '5/v5', '6/v6-beta']),
])
F['resp_auth_challenge_v4.bin'] = bytes_(b'\x00salt\x01\x02')
F['resp_auth_success_null_v4.bin'] = bytes_(None)
# ERROR (section 8)
F['resp_error_server_v4.bin'] = err(0x0000, 'java.lang.NullPointerException')
F['resp_error_unavailable_v4.bin'] = err(0x1000, 'Cannot achieve consistency level QUORUM') + short(QUORUM) + int_(2) + int_(1)
F['resp_error_write_timeout_v4.bin'] = err(0x1100, 'Operation timed out') + short(LOCAL_QUORUM) + int_(1) + int_(2) + string('BATCH_LOG')
F['resp_error_write_timeout_cas_v5.bin'] = err(0x1100, 'CAS operation timed out') + short(SERIAL) + int_(0) + int_(2) + string('CAS') + short(3)
F['resp_error_read_timeout_v4.bin'] = err(0x1200, 'Operation timed out') + short(ONE) + int_(0) + int_(1) + b'\x00'
F['resp_error_read_failure_v4.bin'] = err(0x1300, 'Operation failed') + short(QUORUM) + int_(1) + int_(2) + int_(1) + b'\x01'
F['resp_error_read_failure_v5.bin'] = (err(0x1300, 'Operation failed') + short(ALL) + int_(1) + int_(3)
    + int_(2) + inetaddr('127.0.0.2') + short(0x0001) + inetaddr('::1') + short(0x0006) + b'\x00')
F['resp_error_write_failure_v4.bin'] = err(0x1500, 'Operation failed') + short(ONE) + int_(0) + int_(1) + int_(1) + string('COUNTER')
F['resp_error_write_failure_v5.bin'] = (err(0x1500, 'Operation failed') + short(LOCAL_ONE) + int_(0) + int_(1)
    + int_(1) + inetaddr('10.0.0.7') + short(0x0000) + string('VIEW'))
F['resp_error_function_failure_v4.bin'] = err(0x1400, 'execution of ks.f failed') + string('ks') + string('f') + string_list(['int', 'text'])
F['resp_error_cas_write_unknown_v5.bin'] = err(0x1700, 'CAS result unknown') + short(SERIAL) + int_(1) + int_(2)
F['resp_error_already_exists_v4.bin'] = err(0x2400, 'Keyspace ks already exists') + string('ks') + string('')
F['resp_error_unprepared_v5.bin'] = err(0x2500, 'Prepared query with ID 00ff not found') + short_bytes(bytes(range(16)))
F['resp_error_syntax_v5.bin'] = err(0x2000, "line 1:0 no viable alternative at input 'SELEC'")
F['resp_error_unknown_code_v5.bin'] = err(0x7777, 'a code from the future')
# RESULT (section 4.2.5)
F['resp_result_void_v4.bin'] = int_(1)
F['resp_result_set_keyspace_v4.bin'] = int_(3) + string('ks1')
rows_v4 = (int_(2) + int_(0x0001) + int_(3) + string('ks') + string('users')
    + col('id', short(INT)) + col('name', short(VARCHAR)) + col('tags', short(LIST) + short(VARCHAR))
    + int_(2)
    # row 1: id=1, name='ada', tags=['x'] (list: [int] count, then [bytes] elements)
    + bytes_(int_(1)) + bytes_(b'ada') + bytes_(int_(1) + bytes_(b'x'))
    # row 2: id=2, name=null, tags=empty value
    + bytes_(int_(2)) + bytes_(None) + bytes_(b''))
F['resp_result_rows_v4.bin'] = rows_v4
F['resp_result_rows_paged_no_metadata_v4.bin'] = (int_(2) + int_(0x0007) + int_(2) + bytes_(b'\x00\x04\x00\x00\x00\x2a\xf0')
    + int_(1) + bytes_(int_(42)) + bytes_(b'bob'))
F['resp_result_rows_metadata_changed_v5.bin'] = (int_(2) + int_(0x0009) + int_(1) + short_bytes(b'\xaa\xbb\xcc\xdd')
    + string('ks') + string('t') + col('v', short(BIGINT)) + int_(1) + bytes_(struct.pack('>q', -1)))
F['resp_result_rows_column_specs_v4.bin'] = (int_(2) + int_(0) + int_(2)
    + col('m', short(MAP) + short(VARCHAR) + short(INT), 'ks', 'a')
    + col('addr', short(UDT) + string('ks') + string('address') + short(2) + string('street') + short(VARCHAR)
          + string('zip') + short(INT), 'ks2', 'b')
    + int_(0))
prep_meta_v4 = int_(0x0001) + int_(2) + int_(1) + short(0) + string('ks') + string('users') + col('id', short(INT)) + col('name', short(VARCHAR))
F['resp_result_prepared_v4.bin'] = (int_(4) + short_bytes(bytes(range(0x10, 0x20))) + prep_meta_v4
    + int_(0x0001) + int_(1) + string('ks') + string('users') + col('name', short(VARCHAR)))
F['resp_result_prepared_v5.bin'] = (int_(4) + short_bytes(bytes(range(0x10, 0x20))) + short_bytes(b'\x01\x02\x03\x04\x05\x06\x07\x08')
    + prep_meta_v4 + int_(0x0004) + int_(0))
F['resp_result_prepared_v3.bin'] = (int_(4) + short_bytes(b'\xde\xad\xbe\xef') + int_(0) + int_(1)
    + col('k', short(UUID), 'ks', 't') + int_(0x0004) + int_(0))
F['resp_result_schema_change_table_v4.bin'] = int_(5) + string('CREATED') + string('TABLE') + string('ks') + string('users')
F['resp_result_schema_change_function_v5.bin'] = int_(5) + string('DROPPED') + string('FUNCTION') + string('ks') + string('plus') + string_list(['int', 'int'])
# EVENT (section 4.2.6)
F['resp_event_topology_new_node_v4.bin'] = string('TOPOLOGY_CHANGE') + string('NEW_NODE') + inet('127.0.0.3', 9042)
F['resp_event_status_down_v5.bin'] = string('STATUS_CHANGE') + string('DOWN') + inet('fe80::1', 9042)
F['resp_event_schema_change_aggregate_v4.bin'] = string('SCHEMA_CHANGE') + string('UPDATED') + string('AGGREGATE') + string('ks') + string('avg') + string_list(['double'])
F['resp_event_schema_change_keyspace_v5.bin'] = string('SCHEMA_CHANGE') + string('CREATED') + string('KEYSPACE') + string('ks9')
# envelope (section 2.4.1.2 / 4): flags 0x0E = TRACING | CUSTOM_PAYLOAD | WARNING, then RESULT Void
F['resp_env_tracing_warning_payload_void_v4.bin'] = (bytes(range(0xA0, 0xB0))
    + string_list(['Aggregation query used without partition key'])
    + bytes_map([('k1', b'v1'), ('k2', None)]) + int_(1))

for name, data in F.items():
    with open(name, 'wb') as f:
        f.write(data)
print(len(F), 'fixtures')
