//! Integration tests against a real Cassandra (filled by the local-Cassandra work).
