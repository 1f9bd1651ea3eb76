//! The fake node's system tables: `system.local` (one plausible row describing this
//! node), empty `system.peers`/`peers_v2`, and `system_schema.*` holding only the
//! `bench` keyspace, answered to any `SELECT <columns|*> FROM <table>` (WHERE ignored;
//! a column may be `toJson(col) AS alias`, as cdrs-tokio asks for `replication`).
//! Enough for a driver's control connection to learn the topology; not a CQL engine.

use std::net::SocketAddr;

use bytes::BytesMut;
use ringbolt::protocol::response::{
    ColumnSpec, ErrorBody, ErrorKind, ResultBody, Rows, RowsMetadata,
};
use ringbolt::protocol::types::encode::encode_value;
use ringbolt::protocol::wire;
use ringbolt::{ColumnType, CqlUuid, CqlValue};

/// Host id of the fake node.
const HOST_ID: [u8; 16] = *b"ringbolt-fake-01";
/// Schema version the fake node reports (never changes).
const SCHEMA_VERSION: [u8; 16] = *b"ringbolt-schema1";

struct Table {
    keyspace: &'static str,
    name: &'static str,
    columns: Vec<(&'static str, ColumnType)>,
    rows: Vec<Vec<Option<CqlValue>>>,
}

/// The system tables of one fake node.
pub struct SystemTables {
    tables: Vec<Table>,
}

fn text(s: &str) -> Option<CqlValue> {
    Some(CqlValue::Text(s.to_owned()))
}

impl SystemTables {
    /// Tables describing a single-node cluster listening on `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        use ColumnType::*;
        let set_text = || Set(Box::new(Varchar));
        let list_text = || List(Box::new(Varchar));
        let ip = addr.ip();
        let port = i32::from(addr.port());
        let node_columns = |local: bool| {
            let mut c = vec![
                ("data_center", Varchar),
                ("host_id", Uuid),
                ("rack", Varchar),
                ("release_version", Varchar),
                ("rpc_address", Inet),
                ("schema_version", Uuid),
                ("tokens", set_text()),
            ];
            if local {
                c.extend([
                    ("key", Varchar),
                    ("bootstrapped", Varchar),
                    ("broadcast_address", Inet),
                    ("broadcast_port", Int),
                    ("cluster_name", Varchar),
                    ("cql_version", Varchar),
                    ("listen_address", Inet),
                    ("listen_port", Int),
                    ("native_protocol_version", Varchar),
                    ("partitioner", Varchar),
                    ("rpc_port", Int),
                ]);
            } else {
                c.extend([
                    ("peer", Inet),
                    ("peer_port", Int),
                    ("native_address", Inet),
                    ("native_port", Int),
                    ("preferred_ip", Inet),
                    ("preferred_port", Int),
                ]);
            }
            c
        };
        let local_row = vec![
            text("datacenter1"),
            Some(CqlValue::Uuid(CqlUuid(HOST_ID))),
            text("rack1"),
            text("5.0.9"),
            Some(CqlValue::Inet(ip)),
            Some(CqlValue::Uuid(CqlUuid(SCHEMA_VERSION))),
            Some(CqlValue::Set(vec![CqlValue::Text("0".into())])),
            text("local"),
            text("COMPLETED"),
            Some(CqlValue::Inet(ip)),
            Some(CqlValue::Int(7000)),
            text("ringbolt-fake"),
            text("3.4.7"),
            Some(CqlValue::Inet(ip)),
            Some(CqlValue::Int(7000)),
            text("5"),
            text("org.apache.cassandra.dht.Murmur3Partitioner"),
            Some(CqlValue::Int(port)),
        ];
        let replication = CqlValue::Map(vec![
            (
                CqlValue::Text("class".into()),
                CqlValue::Text("org.apache.cassandra.locator.SimpleStrategy".into()),
            ),
            (
                CqlValue::Text("replication_factor".into()),
                CqlValue::Text("1".into()),
            ),
        ]);
        let map_text = || Map(Box::new(Varchar), Box::new(Varchar));
        let tables = vec![
            Table {
                keyspace: "system",
                name: "local",
                columns: node_columns(true),
                rows: vec![local_row],
            },
            Table {
                keyspace: "system",
                name: "peers",
                columns: node_columns(false),
                rows: vec![],
            },
            Table {
                keyspace: "system",
                name: "peers_v2",
                columns: node_columns(false),
                rows: vec![],
            },
            Table {
                keyspace: "system_schema",
                name: "keyspaces",
                columns: vec![
                    ("keyspace_name", Varchar),
                    ("durable_writes", Boolean),
                    ("replication", map_text()),
                ],
                rows: vec![vec![
                    text("bench"),
                    Some(CqlValue::Boolean(true)),
                    Some(replication),
                ]],
            },
            Table {
                keyspace: "system_schema",
                name: "tables",
                columns: vec![("keyspace_name", Varchar), ("table_name", Varchar)],
                rows: vec![],
            },
            Table {
                keyspace: "system_schema",
                name: "views",
                columns: vec![
                    ("keyspace_name", Varchar),
                    ("view_name", Varchar),
                    ("base_table_name", Varchar),
                ],
                rows: vec![],
            },
            Table {
                keyspace: "system_schema",
                name: "columns",
                columns: vec![
                    ("keyspace_name", Varchar),
                    ("table_name", Varchar),
                    ("column_name", Varchar),
                    ("kind", Varchar),
                    ("position", Int),
                    ("type", Varchar),
                    ("clustering_order", Varchar),
                ],
                rows: vec![],
            },
            Table {
                keyspace: "system_schema",
                name: "types",
                columns: vec![
                    ("keyspace_name", Varchar),
                    ("type_name", Varchar),
                    ("field_names", list_text()),
                    ("field_types", list_text()),
                ],
                rows: vec![],
            },
            Table {
                keyspace: "system_schema",
                name: "functions",
                columns: vec![("keyspace_name", Varchar), ("function_name", Varchar)],
                rows: vec![],
            },
            Table {
                keyspace: "system_schema",
                name: "aggregates",
                columns: vec![("keyspace_name", Varchar), ("aggregate_name", Varchar)],
                rows: vec![],
            },
        ];
        Self { tables }
    }

    /// Answers a SELECT on a system table. `Ok(None)`: not a SELECT of a table known
    /// here (the caller decides). Unknown tables in `system*` keyspaces and unknown
    /// columns are `Invalid` errors, as Cassandra would say.
    pub fn select(&self, cql: &str) -> Option<Result<ResultBody, ErrorBody>> {
        let lower = cql.trim().to_ascii_lowercase();
        let rest = lower.strip_prefix("select ")?;
        let (cols, after) = rest.split_once(" from ")?;
        let table_name = after
            .split(|c: char| c.is_whitespace() || c == ';')
            .next()
            .unwrap_or_default();
        let (ks, name) = table_name.split_once('.')?;
        if !ks.starts_with("system") {
            return None;
        }
        let Some(table) = self
            .tables
            .iter()
            .find(|t| t.keyspace == ks && t.name == name)
        else {
            return Some(Err(invalid(format!("unconfigured table {name}"))));
        };
        let wanted: Vec<Selector> = if cols.trim() == "*" {
            (0..table.columns.len())
                .map(|index| Selector {
                    index,
                    json_as: None,
                })
                .collect()
        } else {
            let mut v = Vec::new();
            for c in cols.split(',') {
                match Selector::parse(table, c.trim()) {
                    Some(sel) => v.push(sel),
                    None => return Some(Err(invalid(format!("Undefined column name {c}")))),
                }
            }
            v
        };
        Some(rows_result(table, &wanted).map_err(|e| ErrorBody::new(e, ErrorKind::ServerError)))
    }
}

/// One selected column: a plain column, or `toJson(column) AS alias` (a text column
/// holding the value as JSON).
struct Selector {
    index: usize,
    json_as: Option<String>,
}

impl Selector {
    /// `c` is lower case. `None`: no such column.
    fn parse(table: &Table, c: &str) -> Option<Self> {
        let find = |name: &str| table.columns.iter().position(|(n, _)| *n == name);
        if let Some(rest) = c.strip_prefix("tojson(") {
            let (inner, after) = rest.split_once(')')?;
            let inner = inner.trim();
            let alias = match after.trim().strip_prefix("as ") {
                Some(a) => a.trim().to_owned(),
                None => format!("system.tojson({inner})"),
            };
            return Some(Self {
                index: find(inner)?,
                json_as: Some(alias),
            });
        }
        Some(Self {
            index: find(c)?,
            json_as: None,
        })
    }
}

/// The JSON text of a value, as `toJson` renders it (the types system tables use).
fn json(v: &CqlValue, out: &mut String) -> Result<(), String> {
    match v {
        CqlValue::Text(s) | CqlValue::Ascii(s) => {
            out.push('"');
            for ch in s.chars() {
                match ch {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        CqlValue::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        CqlValue::Int(i) => out.push_str(&i.to_string()),
        CqlValue::Bigint(i) => out.push_str(&i.to_string()),
        CqlValue::List(items) | CqlValue::Set(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                json(item, out)?;
            }
            out.push(']');
        }
        CqlValue::Map(entries) => {
            out.push('{');
            for (n, (k, val)) in entries.iter().enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                json(k, out)?;
                out.push_str(": ");
                json(val, out)?;
            }
            out.push('}');
        }
        other => {
            return Err(format!(
                "toJson of {other:?} is not supported by the fake node"
            ))
        }
    }
    Ok(())
}

fn invalid(message: String) -> ErrorBody {
    ErrorBody::new(message, ErrorKind::Invalid)
}

fn rows_result(table: &Table, wanted: &[Selector]) -> Result<ResultBody, String> {
    let specs = wanted
        .iter()
        .map(|sel| {
            let (name, typ) = &table.columns[sel.index];
            let (name, typ) = match &sel.json_as {
                Some(alias) => (alias.clone(), ColumnType::Varchar),
                None => ((*name).to_owned(), typ.clone()),
            };
            ColumnSpec {
                keyspace: table.keyspace.to_owned(),
                table: table.name.to_owned(),
                name,
                typ,
            }
        })
        .collect();
    let mut content = BytesMut::new();
    let mut cell = BytesMut::new();
    for row in &table.rows {
        for sel in wanted {
            let value = match (&row[sel.index], &sel.json_as) {
                (Some(v), Some(_)) => {
                    let mut s = String::new();
                    json(v, &mut s)?;
                    Some(CqlValue::Text(s))
                }
                (v, _) => v.clone(),
            };
            match &value {
                None => wire::write_bytes(&mut content, None).map_err(|e| e.to_string())?,
                Some(v) => {
                    cell.clear();
                    encode_value(v, &mut cell).map_err(|e| e.to_string())?;
                    wire::write_bytes(&mut content, Some(&cell)).map_err(|e| e.to_string())?;
                }
            }
        }
    }
    Ok(ResultBody::Rows(Rows {
        metadata: RowsMetadata::new(specs),
        rows_count: table.rows.len(),
        rows_content: content.freeze(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables() -> SystemTables {
        SystemTables::new("127.0.0.1:9042".parse().unwrap())
    }

    #[test]
    fn local_row_answers_the_topology_query() {
        let r = tables()
            .select("SELECT host_id, rpc_address, data_center, rack, tokens, cluster_name FROM system.local WHERE key='local'")
            .unwrap()
            .unwrap();
        let ResultBody::Rows(rows) = r else {
            panic!("not rows")
        };
        assert_eq!(rows.rows_count, 1);
        assert_eq!(rows.metadata.columns.len(), 6);
        assert_eq!(
            rows.metadata.columns[4].typ,
            ColumnType::Set(Box::new(ColumnType::Varchar))
        );
    }

    #[test]
    fn to_json_selects_the_replication_map_as_text() {
        let r = tables()
            .select("SELECT keyspace_name, toJson(replication) AS replication FROM system_schema.keyspaces")
            .unwrap()
            .unwrap();
        let ResultBody::Rows(rows) = r else {
            panic!("not rows")
        };
        assert_eq!(rows.rows_count, 1);
        let col = &rows.metadata.columns[1];
        assert_eq!(
            (col.name.as_str(), &col.typ),
            ("replication", &ColumnType::Varchar)
        );
        let want = r#"{"class": "org.apache.cassandra.locator.SimpleStrategy", "replication_factor": "1"}"#;
        let body = &rows.rows_content[..];
        assert!(body.windows(want.len()).any(|w| w == want.as_bytes()));
        let mut s = String::new();
        json(&CqlValue::Text("a\"b\\c\n".into()), &mut s).unwrap();
        assert_eq!(s, r#""a\"b\\c\u000a""#);
    }

    #[test]
    fn peers_are_empty_and_unknown_tables_invalid() {
        let t = tables();
        let Some(Ok(ResultBody::Rows(rows))) = t.select("select * from system.peers_v2") else {
            panic!("peers_v2")
        };
        assert_eq!(rows.rows_count, 0);
        let Some(Err(e)) =
            t.select("SELECT keyspace_name, initial_tablets FROM system_schema.scylla_keyspaces")
        else {
            panic!("scylla_keyspaces")
        };
        assert_eq!(e.code, 0x2200);
        assert!(t.select("SELECT k FROM bench.kv WHERE k = ?").is_none());
        assert!(matches!(
            t.select("SELECT nope FROM system.local"),
            Some(Err(_))
        ));
    }
}
