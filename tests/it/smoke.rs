//! Smoke tests: every configured node (and the auth node) answers a v4 OPTIONS with a
//! SUPPORTED listing CQL_VERSION and protocol v5. Proves the test cluster is there and
//! speaks v4/v5; the driver's own behaviour is tested elsewhere.

use std::net::SocketAddr;

use crate::harness;

async fn assert_supported(addr: SocketAddr) {
    let mut conn = harness::require_node(addr).await;
    let resp = harness::round_trip(&mut conn, &harness::options_frame_v4(7)).await;
    assert_eq!(resp.version, 0x84, "{addr}: response version byte");
    assert_eq!(resp.stream, 7, "{addr}: response stream id");
    assert_eq!(
        resp.opcode, 0x06,
        "{addr}: expected SUPPORTED, body {:?}",
        resp.body
    );
    let options = harness::string_multimap(&resp.body);
    let get = |key: &str| {
        options
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{addr}: SUPPORTED lacks {key}: {options:?}"))
    };
    let cql = get("CQL_VERSION");
    assert!(
        cql.iter().any(|v| v.starts_with("3.")),
        "{addr}: CQL_VERSION {cql:?}"
    );
    let versions = get("PROTOCOL_VERSIONS");
    assert!(versions.iter().any(|v| v == "4/v4"), "{addr}: {versions:?}");
    assert!(versions.iter().any(|v| v == "5/v5"), "{addr}: {versions:?}");
}

#[tokio::test]
async fn every_node_answers_options_with_supported() {
    let nodes = harness::nodes();
    for addr in nodes {
        assert_supported(addr).await;
    }
}

#[tokio::test]
async fn auth_node_answers_options_with_supported() {
    assert_supported(harness::auth_node()).await;
}

#[tokio::test]
async fn nodes_are_distinct_addresses() {
    let nodes = harness::nodes();
    let mut sorted = nodes.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        nodes.len(),
        "RINGBOLT_TEST_NODES repeats a node: {nodes:?}"
    );
    assert!(
        !nodes.contains(&harness::auth_node()),
        "the auth node must be separate"
    );
}
