//! CQL values against the real Cassandra: one table with a column of every type
//! (nested shapes, vectors, a custom type), edge values written through ringbolt as
//! prepared bind values (v5 and v4) and as unprepared query values, unset, read back
//! equal, and read again by the DataStax Python driver (scripts/types-crosscheck.py)
//! and compared in the canonical form of `types_canon`. Derives, counters and typed
//! errors are in `types_derive.rs`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ringbolt::{
    ColumnType, CqlDate, CqlDecimal, CqlDuration, CqlTime, CqlTimestamp, CqlTimeuuid, CqlUuid,
    CqlValue, CqlVarint, ProtocolVersionChoice, Session, Unset,
};

use crate::harness;
use crate::types_canon::{canon, python_canon};

/// The user-defined type of the table (also used by `types_derive`).
pub const UDT: &str = "some_udt (i int, t text, d date, tags frozen<list<text>>)";

/// Every column of the table after `k int PRIMARY KEY`, with its CQL type.
pub const COLUMNS: &[(&str, &str)] = &[
    ("c_ascii", "ascii"),
    ("c_bigint", "bigint"),
    ("c_blob", "blob"),
    ("c_boolean", "boolean"),
    ("c_date", "date"),
    ("c_decimal", "decimal"),
    ("c_double", "double"),
    ("c_duration", "duration"),
    ("c_float", "float"),
    ("c_inet", "inet"),
    ("c_int", "int"),
    ("c_smallint", "smallint"),
    ("c_text", "text"),
    ("c_time", "time"),
    ("c_timestamp", "timestamp"),
    ("c_timeuuid", "timeuuid"),
    ("c_tinyint", "tinyint"),
    ("c_uuid", "uuid"),
    ("c_varint", "varint"),
    ("c_list", "list<int>"),
    ("c_set", "set<text>"),
    ("c_map", "map<text, bigint>"),
    ("c_frozen", "frozen<list<blob>>"),
    ("c_nested", "map<text, frozen<list<frozen<some_udt>>>>"),
    ("c_tuple", "tuple<int, text>"),
    ("c_udt", "frozen<some_udt>"),
    ("c_udt_nf", "some_udt"),
    ("c_vec", "vector<float, 3>"),
    ("c_vec_text", "vector<text, 2>"),
    ("c_vec_small", "vector<smallint, 2>"),
    // a custom type: Cassandra 5 still accepts a marshal class name as a column type;
    // it travels as option 0x0000 with the class name (spec 4.2.5.2)
    (
        "c_custom",
        "'org.apache.cassandra.db.marshal.LexicalUUIDType'",
    ),
];

/// Non-frozen collections: Cassandra stores an empty one as no cells, so it reads
/// back as null.
const NON_FROZEN_COLLECTIONS: &[&str] = &["c_list", "c_set", "c_map", "c_nested"];

/// Creates the UDT and a table `name` with every column of [`COLUMNS`].
pub async fn create_schema(s: &Session, ks: &str, tables: &[&str]) {
    s.query(format!("CREATE TYPE {ks}.{UDT}"), ())
        .await
        .unwrap();
    let cols: Vec<String> = COLUMNS.iter().map(|(c, t)| format!("{c} {t}")).collect();
    for table in tables {
        s.query(
            format!(
                "CREATE TABLE {ks}.{table} (k int PRIMARY KEY, {})",
                cols.join(", ")
            ),
            (),
        )
        .await
        .unwrap_or_else(|e| panic!("create {ks}.{table}: {e}"));
    }
}

fn insert_text(ks: &str, table: &str) -> String {
    let names: Vec<&str> = COLUMNS.iter().map(|(c, _)| *c).collect();
    let marks = vec!["?"; COLUMNS.len() + 1].join(", ");
    format!(
        "INSERT INTO {ks}.{table} (k, {}) VALUES ({marks})",
        names.join(", ")
    )
}

fn text(s: &str) -> CqlValue {
    CqlValue::Text(s.into())
}

fn udt(i: Option<i32>, t: Option<&str>, d: Option<i32>, tags: Option<&[&str]>) -> CqlValue {
    CqlValue::Udt {
        keyspace: String::new(),
        name: "some_udt".into(),
        fields: vec![
            ("i".into(), i.map(CqlValue::Int)),
            ("t".into(), t.map(text)),
            (
                "d".into(),
                d.map(|d| CqlValue::Date(CqlDate::from_days_since_epoch(d))),
            ),
            (
                "tags".into(),
                tags.map(|t| CqlValue::List(t.iter().map(|s| text(s)).collect())),
            ),
        ],
    }
}

fn varint_bytes(first: u8, rest: u8, len: usize) -> CqlVarint {
    let mut b = vec![rest; len];
    b[0] = first;
    CqlVarint::from_signed_bytes_be(&b)
}

fn uuid(s: &str) -> [u8; 16] {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

type Cells = Vec<(&'static str, Option<CqlValue>)>;

/// The edge rows, by key; columns not named are null.
#[allow(clippy::too_many_lines)]
fn edge_rows() -> Vec<(i32, Cells)> {
    use CqlValue as V;
    let ascii_all: String = (0u8..=127).map(char::from).collect();
    let long_text: String = "ringbolt ✓ ".repeat(300);
    vec![
        // minimum of everything; empty strings and blobs
        (
            1,
            vec![
                ("c_ascii", Some(V::Ascii(String::new()))),
                ("c_bigint", Some(V::Bigint(i64::MIN))),
                ("c_blob", Some(V::Blob(vec![]))),
                ("c_boolean", Some(V::Boolean(false))),
                ("c_date", Some(V::Date(CqlDate(0)))),
                (
                    "c_decimal",
                    Some(V::Decimal(CqlDecimal {
                        unscaled: varint_bytes(0x80, 0, 200),
                        scale: i32::MIN,
                    })),
                ),
                ("c_double", Some(V::Double(f64::NEG_INFINITY))),
                (
                    "c_duration",
                    Some(V::Duration(CqlDuration {
                        months: i32::MIN,
                        days: i32::MIN,
                        nanoseconds: i64::MIN,
                    })),
                ),
                ("c_float", Some(V::Float(f32::NEG_INFINITY))),
                ("c_inet", Some(V::Inet("0.0.0.0".parse().unwrap()))),
                ("c_int", Some(V::Int(i32::MIN))),
                ("c_smallint", Some(V::Smallint(i16::MIN))),
                ("c_text", Some(text(""))),
                ("c_time", Some(V::Time(CqlTime(0)))),
                ("c_timestamp", Some(V::Timestamp(CqlTimestamp(i64::MIN)))),
                (
                    "c_timeuuid",
                    Some(V::Timeuuid(CqlTimeuuid(uuid(
                        "00000000-0000-1000-8000-000000000000",
                    )))),
                ),
                ("c_tinyint", Some(V::Tinyint(i8::MIN))),
                ("c_uuid", Some(V::Uuid(CqlUuid([0; 16])))),
                ("c_varint", Some(V::Varint(varint_bytes(0x80, 0, 200)))),
                ("c_list", Some(V::List(vec![V::Int(i32::MIN)]))),
                ("c_set", Some(V::Set(vec![text("")]))),
                ("c_map", Some(V::Map(vec![(text(""), V::Bigint(i64::MIN))]))),
                ("c_frozen", Some(V::List(vec![]))),
                ("c_nested", Some(V::Map(vec![(text(""), V::List(vec![]))]))),
                ("c_tuple", Some(V::Tuple(vec![None, None]))),
                ("c_udt", Some(udt(None, None, None, None))),
                ("c_udt_nf", Some(udt(Some(i32::MIN), None, None, None))),
                (
                    "c_vec",
                    Some(V::Vector(vec![
                        V::Float(f32::NEG_INFINITY),
                        V::Float(-0.0),
                        V::Float(f32::from_bits(1)), // smallest subnormal
                    ])),
                ),
                ("c_vec_text", Some(V::Vector(vec![text(""), text("")]))),
                (
                    "c_vec_small",
                    Some(V::Vector(vec![V::Smallint(i16::MIN), V::Smallint(0)])),
                ),
                ("c_custom", Some(V::Custom(vec![0; 16]))),
            ],
        ),
        // maximum of everything; every ASCII char, non-BMP text, every byte
        (
            2,
            vec![
                ("c_ascii", Some(V::Ascii(ascii_all))),
                ("c_bigint", Some(V::Bigint(i64::MAX))),
                ("c_blob", Some(V::Blob((0..=255).collect()))),
                ("c_boolean", Some(V::Boolean(true))),
                ("c_date", Some(V::Date(CqlDate(u32::MAX)))),
                (
                    "c_decimal",
                    Some(V::Decimal(CqlDecimal {
                        unscaled: varint_bytes(0x7F, 0xFF, 200),
                        scale: i32::MAX,
                    })),
                ),
                ("c_double", Some(V::Double(f64::INFINITY))),
                (
                    "c_duration",
                    Some(V::Duration(CqlDuration {
                        months: i32::MAX,
                        days: i32::MAX,
                        nanoseconds: i64::MAX,
                    })),
                ),
                ("c_float", Some(V::Float(f32::INFINITY))),
                (
                    "c_inet",
                    Some(V::Inet(
                        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap(),
                    )),
                ),
                ("c_int", Some(V::Int(i32::MAX))),
                ("c_smallint", Some(V::Smallint(i16::MAX))),
                ("c_text", Some(text("ünïcödé ✓ 𝄞 \u{0}\n\t'\\\"\u{10FFFF}"))),
                ("c_time", Some(V::Time(CqlTime(CqlTime::MAX_NANOS)))),
                ("c_timestamp", Some(V::Timestamp(CqlTimestamp(i64::MAX)))),
                (
                    "c_timeuuid",
                    Some(V::Timeuuid(CqlTimeuuid(uuid(
                        "ffffffff-ffff-1fff-bfff-ffffffffffff",
                    )))),
                ),
                ("c_tinyint", Some(V::Tinyint(i8::MAX))),
                ("c_uuid", Some(V::Uuid(CqlUuid([0xFF; 16])))),
                ("c_varint", Some(V::Varint(varint_bytes(0x7F, 0xFF, 200)))),
                (
                    "c_list",
                    Some(V::List(vec![V::Int(i32::MAX), V::Int(0), V::Int(i32::MAX)])),
                ),
                ("c_set", Some(V::Set(vec![text("a"), text("b"), text("𝄞")]))),
                (
                    "c_map",
                    Some(V::Map(vec![
                        (text("a"), V::Bigint(i64::MAX)),
                        (text("z"), V::Bigint(0)),
                    ])),
                ),
                (
                    "c_frozen",
                    Some(V::List(vec![V::Blob(vec![]), V::Blob(vec![0xFF; 3])])),
                ),
                (
                    "c_nested",
                    Some(V::Map(vec![
                        (
                            text("one"),
                            V::List(vec![udt(
                                Some(1),
                                Some("x"),
                                Some(-25_567),
                                Some(&["a", "b"]),
                            )]),
                        ),
                        (
                            text("two"),
                            V::List(vec![
                                udt(Some(i32::MAX), Some(""), Some(2_932_896), Some(&[])),
                                udt(None, None, None, None),
                            ]),
                        ),
                    ])),
                ),
                (
                    "c_tuple",
                    Some(V::Tuple(vec![
                        Some(V::Int(i32::MAX)),
                        Some(text(&long_text)),
                    ])),
                ),
                (
                    "c_udt",
                    Some(udt(Some(i32::MAX), Some("𝄞"), Some(0), Some(&["", "x"]))),
                ),
                (
                    "c_udt_nf",
                    Some(udt(Some(7), Some("nf"), Some(-1), Some(&["t"]))),
                ),
                (
                    "c_vec",
                    Some(V::Vector(vec![
                        V::Float(f32::INFINITY),
                        V::Float(f32::MAX),
                        V::Float(f32::MIN_POSITIVE),
                    ])),
                ),
                (
                    "c_vec_text",
                    Some(V::Vector(vec![text("𝄞"), text(&long_text)])),
                ),
                (
                    "c_vec_small",
                    Some(V::Vector(vec![V::Smallint(i16::MAX), V::Smallint(-1)])),
                ),
                ("c_custom", Some(V::Custom(vec![0xFF; 16]))),
            ],
        ),
        // NaN, negative zero, dates and times around the epoch and far away,
        // durations with negative parts, IPv6 loopback
        (
            3,
            vec![
                ("c_double", Some(V::Double(f64::NAN))),
                ("c_float", Some(V::Float(f32::NAN))),
                (
                    "c_date",
                    Some(V::Date(CqlDate::from_days_since_epoch(-25_567))),
                ), // 1900-01-01
                ("c_timestamp", Some(V::Timestamp(CqlTimestamp(-1)))),
                ("c_time", Some(V::Time(CqlTime(1)))),
                (
                    "c_duration",
                    Some(V::Duration(CqlDuration {
                        months: 0,
                        days: -1,
                        nanoseconds: -1_000_000_001,
                    })),
                ),
                ("c_inet", Some(V::Inet("::1".parse().unwrap()))),
                ("c_varint", Some(V::Varint(CqlVarint::from(-1i64)))),
                (
                    "c_decimal",
                    Some(V::Decimal(CqlDecimal {
                        unscaled: CqlVarint::from(0i64),
                        scale: 0,
                    })),
                ),
                (
                    "c_vec",
                    Some(V::Vector(vec![
                        V::Float(f32::NAN),
                        V::Float(0.0),
                        V::Float(1.5),
                    ])),
                ),
                ("c_tuple", Some(V::Tuple(vec![Some(V::Int(0)), None]))),
            ],
        ),
        // ordinary values: far-future date and timestamp, IPv4, v4-mapped IPv6,
        // negative scale
        (
            4,
            vec![
                ("c_int", Some(V::Int(42))),
                ("c_text", Some(text("before unset"))),
                ("c_double", Some(V::Double(-0.0))),
                ("c_float", Some(V::Float(-1.25))),
                (
                    "c_date",
                    Some(V::Date(CqlDate::from_days_since_epoch(2_932_896))),
                ), // 9999-12-31
                (
                    "c_timestamp",
                    Some(V::Timestamp(CqlTimestamp(253_402_300_799_999))),
                ),
                ("c_inet", Some(V::Inet("127.0.0.1".parse().unwrap()))),
                (
                    "c_duration",
                    Some(V::Duration(CqlDuration {
                        months: 1,
                        days: 2,
                        nanoseconds: 3,
                    })),
                ),
                (
                    "c_decimal",
                    Some(V::Decimal(CqlDecimal {
                        unscaled: CqlVarint::from(-12_345i64),
                        scale: -3,
                    })),
                ),
                ("c_list", Some(V::List(vec![]))), // empty non-frozen: reads as null
                ("c_udt_nf", Some(udt(None, Some("only t"), None, None))),
            ],
        ),
        // every column null
        (5, vec![]),
        // zero-length ("empty") values (spec section 5, legacy) of the types whose
        // Cassandra marshal class still accepts them; date, time, duration, smallint,
        // tinyint, collections and vectors answer "Expected N bytes" / "Not enough
        // bytes", so they are not here
        (
            6,
            [
                "c_bigint",
                "c_boolean",
                "c_decimal",
                "c_double",
                "c_float",
                "c_inet",
                "c_int",
                "c_timestamp",
                "c_timeuuid",
                "c_uuid",
                "c_varint",
                "c_tuple",
                "c_udt",
                "c_udt_nf",
            ]
            .into_iter()
            .map(|c| (c, Some(V::Empty)))
            .collect(),
        ),
        // IPv4-mapped IPv6 stays 16 bytes
        (
            7,
            vec![(
                "c_inet",
                Some(V::Inet(IpAddr::V6("::ffff:1.2.3.4".parse().unwrap()))),
            )],
        ),
    ]
}

/// The row's value for every column, in [`COLUMNS`] order (null where not named).
fn full_row(cells: &Cells) -> Vec<Option<CqlValue>> {
    COLUMNS
        .iter()
        .map(|(c, _)| {
            cells
                .iter()
                .find(|(n, _)| n == c)
                .and_then(|(_, v)| v.clone())
        })
        .collect()
}

/// What Cassandra gives back for a written cell: an empty non-frozen collection is
/// no cells at all, so null; so is an empty non-frozen UDT. An empty tuple or frozen
/// UDT value is kept as it is.
fn as_stored(column: &str, v: Option<CqlValue>) -> Option<CqlValue> {
    if v == Some(CqlValue::Empty) && column == "c_udt_nf" {
        return None;
    }
    let empty = matches!(&v, Some(CqlValue::List(x) | CqlValue::Set(x)) if x.is_empty())
        || matches!(&v, Some(CqlValue::Map(x)) if x.is_empty());
    if empty && NON_FROZEN_COLLECTIONS.contains(&column) {
        None
    } else {
        v
    }
}

/// Reads every row of `ks.table` as canonical `key\tcolumn\tvalue` lines, sorted.
async fn read_canon(s: &Session, ks: &str, table: &str) -> Vec<String> {
    let r = s
        .query(format!("SELECT * FROM {ks}.{table}"), ())
        .await
        .unwrap();
    let rows = r.rows().expect("a SELECT returns rows");
    let mut lines = Vec::new();
    for row in rows.iter() {
        let row = row.unwrap();
        let k: i32 = row.get_by_name("k").unwrap();
        for (i, spec) in rows.columns().iter().enumerate() {
            let v: Option<CqlValue> = row
                .get(i)
                .unwrap_or_else(|e| panic!("row {k} column {}: {e}", spec.name));
            lines.push(format!(
                "{k}\t{}\t{}",
                spec.name,
                canon(&spec.typ, v.as_ref())
            ));
        }
    }
    lines.sort();
    lines
}

/// The column types of `ks.table` as the server describes them (from a result).
async fn column_types(s: &Session, ks: &str, table: &str) -> BTreeMap<String, ColumnType> {
    let r = s
        .query(format!("SELECT * FROM {ks}.{table} LIMIT 1"), ())
        .await
        .unwrap();
    r.columns()
        .iter()
        .map(|c| (c.name.clone(), c.typ.clone()))
        .collect()
}

/// Compares line by line, reporting every difference.
fn assert_same(what: &str, got: &[String], want: &[String]) {
    let missing: Vec<_> = want.iter().filter(|l| !got.contains(l)).collect();
    let extra: Vec<_> = got.iter().filter(|l| !want.contains(l)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: expected but not read: {missing:#?}\nread but not expected: {extra:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_type_round_trips_and_matches_the_python_driver() {
    let s = harness::session().await;
    let v4 = harness::session_with(|b| b.protocol_version(ProtocolVersionChoice::V4)).await;
    let ks = harness::keyspace(&s, "types", 1).await;
    create_schema(&s, &ks, &["alltypes"]).await;
    let insert = insert_text(&ks, "alltypes");
    let prepared = s.prepare(insert.as_str()).await.unwrap();
    let prepared_v4 = v4.prepare(insert.as_str()).await.unwrap();
    // each edge row three times: prepared over v5 (k), unprepared query values (100+k),
    // prepared over v4 (200+k)
    let mut expected: BTreeMap<i32, Vec<Option<CqlValue>>> = BTreeMap::new();
    for (k, cells) in edge_rows() {
        let row = full_row(&cells);
        for (base, how) in [
            (0, "prepared v5"),
            (100, "unprepared"),
            (200, "prepared v4"),
        ] {
            let key = base + k;
            let mut values = vec![Some(CqlValue::Int(key))];
            values.extend(row.iter().cloned());
            let r = match base {
                0 => s.execute(&prepared, &values).await,
                100 => s.query(insert.as_str(), &values).await,
                _ => v4.execute(&prepared_v4, &values).await,
            };
            r.unwrap_or_else(|e| panic!("{how} insert of row {key}: {e}"));
            let stored = COLUMNS
                .iter()
                .zip(&row)
                .map(|((c, _), v)| as_stored(c, v.clone()))
                .collect();
            expected.insert(key, stored);
        }
    }
    // unset leaves a column as it was, prepared and unprepared
    let update = format!("UPDATE {ks}.alltypes SET c_int = ?, c_text = ? WHERE k = ?");
    let update_p = s.prepare(update.as_str()).await.unwrap();
    s.execute(&update_p, (Unset, "after unset", 4))
        .await
        .unwrap();
    s.query(update.as_str(), (Unset, "after unset", 104))
        .await
        .unwrap();
    v4.execute(&update_p, (Unset, "after unset", 204))
        .await
        .unwrap();
    let text_at = COLUMNS.iter().position(|(c, _)| *c == "c_text").unwrap();
    for k in [4, 104, 204] {
        expected.get_mut(&k).unwrap()[text_at] = Some(text("after unset"));
    }

    let types = column_types(&s, &ks, "alltypes").await;
    let mut want = Vec::new();
    for (k, row) in &expected {
        want.push(format!("{k}\tk\t{k}"));
        for ((c, _), v) in COLUMNS.iter().zip(row) {
            want.push(format!("{k}\t{c}\t{}", canon(&types[*c], v.as_ref())));
        }
    }
    want.sort();

    let got_v5 = read_canon(&s, &ks, "alltypes").await;
    assert_same("ringbolt (v5) read-back", &got_v5, &want);
    let got_v4 = read_canon(&v4, &ks, "alltypes").await;
    assert_same("ringbolt (v4) read-back", &got_v4, &want);
    let python = python_canon(&ks, "alltypes", "k").await;
    assert_same("DataStax Python driver read-back", &python, &want);
    v4.close().await;
    s.close().await;
}
