#!/usr/bin/env python3
"""Checks a ringbolt Prometheus exposition (text format 0.0.4) with the reference Python
parser, prometheus_client (pip install prometheus-client).

Usage: check-prometheus.py FILE   (or "-" for stdin)
Exit 0 when it parses and holds ringbolt's invariants, 1 otherwise, 2 when
prometheus_client is missing (a missing checker must not look like a pass).
"""
import math
import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    print("check-prometheus: prometheus_client is not installed "
          "(pip install prometheus-client)", file=sys.stderr)
    sys.exit(2)

# Families every export has (counter names without _total, as the parser reports them).
REQUIRED_SESSION = {
    "ringbolt_session_cql_requests_seconds": "summary",
    "ringbolt_session_cql_requests_seconds_max": "gauge",
    "ringbolt_session_cql_client_timeouts": "counter",
    "ringbolt_session_bytes_sent": "counter",
    "ringbolt_session_bytes_received": "counter",
    "ringbolt_session_connected_nodes": "gauge",
    "ringbolt_session_cql_prepared_cache_size": "gauge",
    "ringbolt_session_errors_server": "counter",
}
# Families present as soon as the session knows one node.
REQUIRED_NODES = {
    "ringbolt_nodes_pool_open_connections": "gauge",
    "ringbolt_nodes_pool_in_flight": "gauge",
    "ringbolt_nodes_pool_available_streams": "gauge",
    "ringbolt_nodes_pool_orphaned_streams": "gauge",
    "ringbolt_nodes_cql_messages_seconds": "summary",
    "ringbolt_nodes_errors_request_unsent": "counter",
    "ringbolt_nodes_errors_request_aborted": "counter",
    "ringbolt_nodes_errors_request_write_timeouts": "counter",
    "ringbolt_nodes_errors_request_read_timeouts": "counter",
    "ringbolt_nodes_errors_request_unavailables": "counter",
    "ringbolt_nodes_errors_request_others": "counter",
    "ringbolt_nodes_errors_connection_init": "counter",
    "ringbolt_nodes_errors_connection_auth": "counter",
    "ringbolt_nodes_retries": "counter",
    "ringbolt_nodes_ignores": "counter",
}


def check(text):
    errors = []
    families = {}
    samples = 0
    seen = set()
    for fam in text_string_to_metric_families(text):
        if fam.name in families:
            errors.append(f"family {fam.name} appears twice")
        families[fam.name] = fam.type
        for s in fam.samples:
            samples += 1
            key = (s.name, tuple(sorted(s.labels.items())))
            if key in seen:
                errors.append(f"duplicate series {key}")
            seen.add(key)
            if fam.type == "counter" and not (s.value >= 0):
                errors.append(f"counter {s.name} = {s.value}")
            if fam.type == "summary" and s.name == fam.name:
                q = float(s.labels.get("quantile", "nan"))
                if not 0 <= q <= 1:
                    errors.append(f"{s.name}: bad quantile label {s.labels}")
            if fam.name.startswith("ringbolt_nodes_") and "node" not in s.labels:
                errors.append(f"{s.name} has no node label")
            if math.isnan(s.value):
                errors.append(f"{s.name} is NaN")
    required = dict(REQUIRED_SESSION)
    if any(n.startswith("ringbolt_nodes_") for n in families):
        required.update(REQUIRED_NODES)
    for name, typ in required.items():
        if families.get(name) != typ:
            errors.append(f"missing {typ} family {name} (got {families.get(name)})")
    return families, samples, errors


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 1
    path = sys.argv[1]
    text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    try:
        families, samples, errors = check(text)
    except Exception as e:  # the parser raises ValueError and friends on bad input
        print(f"check-prometheus: parse error: {e!r}", file=sys.stderr)
        return 1
    for e in errors:
        print(f"check-prometheus: {e}", file=sys.stderr)
    print(f"check-prometheus: {len(families)} families, {samples} samples, "
          f"{len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
