#!/usr/bin/env python3
"""Reads every row of one table with the DataStax Python driver (cassandra-driver from
PyPI, an independent CQL client) and prints each value in the canonical text form that
tests/it/types_canon.rs also produces, one `key<TAB>column<TAB>value` line per cell,
sorted. The Rust integration test (tests/it/types.rs) writes the rows with ringbolt,
runs this script and compares, so a bug that is symmetric in ringbolt's encoder and
decoder cannot hide.

Usage: types-crosscheck.py HOST[:PORT] KEYSPACE TABLE KEY_COLUMN

Canonical form (must match tests/it/types_canon.rs):
  null | empty (a zero-length value of a non-string type) | integers in decimal |
  float/double as big-endian IEEE bits in hex, NaN as "NaN" | decimal as U*10^-S |
  text as '...' with every char outside printable ASCII, ' and \\ as \\u{hex} |
  blob and custom as 0x<hex> | inet as inet:<hex of the address bytes> | uuid as text |
  date as date:<days since epoch> | time as time:<ns> | timestamp as ts:<ms> |
  duration as <months>mo<days>d<ns>ns | true/false |
  list/set/vector as [a,b] | map as {k:v,...} | tuple as (a,b) | udt as {name=v,...}
"""

import socket
import struct
import sys

try:
    from cassandra import cqltypes, util
    from cassandra.cluster import Cluster
    from cassandra.marshal import int64_unpack
    from cassandra import protocol
except ImportError as e:  # the Rust test prints the install hint
    sys.stderr.write("types-crosscheck: cannot import cassandra-driver: %s\n" % e)
    sys.exit(3)


class Millis(int):
    """A timestamp read as its exact milliseconds."""


# Python's datetime covers only years 1..9999 and the driver converts through a float
# of seconds; CQL timestamps span all of i64 milliseconds. Read them exactly instead.
def _timestamp_deserialize(byts, protocol_version):
    return Millis(int64_unpack(byts))


cqltypes.DateType.deserialize = staticmethod(_timestamp_deserialize)
# Read a zero-length value of a non-string type as EMPTY rather than as None, so that
# "empty" and null stay distinct (the driver's documented switch).
cqltypes._CassandraType.support_empty_values = True


def text(s):
    out = []
    for c in s:
        o = ord(c)
        if 0x20 <= o < 0x7F and c not in "'\\":
            out.append(c)
        else:
            out.append("\\u{%x}" % o)
    return "'" + "".join(out) + "'"


def canon(typ, v):
    if v is None:
        return "null"
    if v is cqltypes.EMPTY or isinstance(v, cqltypes.EmptyValue):
        return "empty"
    name = typ.typename
    if name in ("int", "bigint", "smallint", "tinyint", "varint", "counter"):
        return str(int(v))
    if name == "boolean":
        return "true" if v else "false"
    if name == "float":
        return "NaN" if v != v else struct.pack(">f", v).hex()
    if name == "double":
        return "NaN" if v != v else struct.pack(">d", v).hex()
    if name == "decimal":
        sign, digits, exponent = v.as_tuple()
        unscaled = int("".join(str(d) for d in digits))
        return "%d*10^%d" % (-unscaled if sign else unscaled, exponent)
    if name in ("text", "varchar", "ascii"):
        return text(v)
    if name == "blob":
        return "0x" + bytes(v).hex()
    if name == "inet":
        family = socket.AF_INET6 if ":" in v else socket.AF_INET
        return "inet:" + socket.inet_pton(family, v).hex()
    if name in ("uuid", "timeuuid"):
        return str(v)
    if name == "date":
        return "date:%d" % v.days_from_epoch
    if name == "time":
        return "time:%d" % v.nanosecond_time
    if name == "timestamp":
        return "ts:%d" % v
    if name == "duration":
        return "%dmo%dd%dns" % (v.months, v.days, v.nanoseconds)
    if name in ("list", "set"):
        return "[" + ",".join(canon(typ.subtypes[0], x) for x in v) + "]"
    if name == "map":
        kt, vt = typ.subtypes
        return "{" + ",".join("%s:%s" % (canon(kt, k), canon(vt, x)) for k, x in v.items()) + "}"
    if name == "tuple":
        return "(" + ",".join(canon(t, x) for t, x in zip(typ.subtypes, v)) + ")"
    if issubclass(typ, cqltypes.UserType):
        fields = zip(typ.fieldnames, typ.subtypes, v)
        return "{" + ",".join("%s=%s" % (n, canon(t, x)) for n, t, x in fields) + "}"
    if issubclass(typ, cqltypes.VectorType):
        return "[" + ",".join(canon(typ.subtype, x) for x in v) + "]"
    if isinstance(v, (bytes, bytearray)):  # a custom type the driver does not know
        return "0x" + bytes(v).hex()
    raise SystemExit("types-crosscheck: no canonical form for %s (%r)" % (typ, v))


def main():
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    host, keyspace, table, key = sys.argv[1:]
    port = 9042
    if ":" in host:
        host, port = host.rsplit(":", 1)
        port = int(port)
    cluster = Cluster([host], port=port, protocol_version=4)
    try:
        session = cluster.connect()
        # the pure-Python decoder, whether or not the driver was built with Cython
        # (with Cython, protocol.ProtocolHandler is the Cython one)
        session.client_protocol_handler = getattr(
            protocol, "_ProtocolHandler", protocol.ProtocolHandler
        )
        rs = session.execute("SELECT * FROM %s.%s" % (keyspace, table), timeout=60)
        names, types = rs.column_names, rs.column_types
        ki = names.index(key)
        lines = []
        for row in rs:
            for name, typ, v in zip(names, types, row):
                lines.append("%s\t%s\t%s" % (row[ki], name, canon(typ, v)))
        lines.sort()
        sys.stdout.write("".join(line + "\n" for line in lines))
    finally:
        cluster.shutdown()


if __name__ == "__main__":
    main()
