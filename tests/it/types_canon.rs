//! The canonical text form of a CQL value that scripts/types-crosscheck.py prints too
//! (the script's docstring defines it), and the runner of that script. Owns no schema
//! and no test: tests/it/types.rs uses both to compare ringbolt with the Python driver.

use std::fmt::Write;
use std::path::PathBuf;

use ringbolt::{ColumnType, CqlValue, CqlVarint};

/// The canonical form of `v` (`None` is null), read as a value of column type `t`.
pub fn canon(t: &ColumnType, v: Option<&CqlValue>) -> String {
    use ColumnType as T;
    let Some(v) = v else {
        return "null".into();
    };
    match (t, v) {
        (_, CqlValue::Empty) => "empty".into(),
        (T::Tinyint, CqlValue::Tinyint(i)) => i.to_string(),
        (T::Smallint, CqlValue::Smallint(i)) => i.to_string(),
        (T::Int, CqlValue::Int(i)) => i.to_string(),
        (T::Bigint, CqlValue::Bigint(i)) => i.to_string(),
        (T::Counter, CqlValue::Counter(c)) => c.0.to_string(),
        (T::Varint, CqlValue::Varint(i)) => varint_decimal(i),
        (T::Boolean, CqlValue::Boolean(b)) => b.to_string(),
        (T::Float, CqlValue::Float(f)) if f.is_nan() => "NaN".into(),
        (T::Float, CqlValue::Float(f)) => format!("{:08x}", f.to_bits()),
        (T::Double, CqlValue::Double(f)) if f.is_nan() => "NaN".into(),
        (T::Double, CqlValue::Double(f)) => format!("{:016x}", f.to_bits()),
        (T::Decimal, CqlValue::Decimal(d)) => {
            format!("{}*10^{}", varint_decimal(&d.unscaled), -i64::from(d.scale))
        }
        (T::Ascii, CqlValue::Ascii(s)) | (T::Varchar, CqlValue::Text(s)) => text(s),
        (T::Blob, CqlValue::Blob(b)) | (T::Custom(_), CqlValue::Custom(b)) => hex("0x", b),
        (T::Inet, CqlValue::Inet(std::net::IpAddr::V4(a))) => hex("inet:", &a.octets()),
        (T::Inet, CqlValue::Inet(std::net::IpAddr::V6(a))) => hex("inet:", &a.octets()),
        (T::Uuid, CqlValue::Uuid(u)) => u.to_string(),
        (T::Timeuuid, CqlValue::Timeuuid(u)) => u.to_string(),
        (T::Date, CqlValue::Date(d)) => format!("date:{}", d.days_since_epoch()),
        (T::Time, CqlValue::Time(x)) => format!("time:{}", x.0),
        (T::Timestamp, CqlValue::Timestamp(x)) => format!("ts:{}", x.0),
        (T::Duration, CqlValue::Duration(d)) => {
            format!("{}mo{}d{}ns", d.months, d.days, d.nanoseconds)
        }
        (T::List(e) | T::Set(e), CqlValue::List(items) | CqlValue::Set(items))
        | (T::Vector(e, _), CqlValue::Vector(items)) => {
            let parts: Vec<_> = items.iter().map(|i| canon(e, Some(i))).collect();
            format!("[{}]", parts.join(","))
        }
        (T::Map(kt, vt), CqlValue::Map(entries)) => {
            let parts: Vec<_> = entries
                .iter()
                .map(|(k, v)| format!("{}:{}", canon(kt, Some(k)), canon(vt, Some(v))))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        (T::Tuple(types), CqlValue::Tuple(items)) => {
            let parts: Vec<_> = types
                .iter()
                .enumerate()
                .map(|(i, t)| canon(t, items.get(i).and_then(Option::as_ref)))
                .collect();
            format!("({})", parts.join(","))
        }
        (T::Udt(u), CqlValue::Udt { fields, .. }) => {
            let parts: Vec<_> = u
                .fields
                .iter()
                .map(|(name, t)| {
                    let v = fields
                        .iter()
                        .find(|(n, _)| n == name)
                        .and_then(|(_, v)| v.as_ref());
                    format!("{name}={}", canon(t, v))
                })
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        (t, v) => panic!("value {v:?} does not fit column type {t}"),
    }
}

/// `'...'`, with every char outside printable ASCII, `'` and `\` as `\u{hex}`.
fn text(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        if (' '..='~').contains(&c) && c != '\'' && c != '\\' {
            out.push(c);
        } else {
            write!(out, "\\u{{{:x}}}", u32::from(c)).unwrap();
        }
    }
    out.push('\'');
    out
}

fn hex(prefix: &str, bytes: &[u8]) -> String {
    let mut out = String::from(prefix);
    for b in bytes {
        write!(out, "{b:02x}").unwrap();
    }
    out
}

/// A varint of any size in decimal (two's complement bytes -> sign and magnitude ->
/// repeated division by 10^9).
pub fn varint_decimal(v: &CqlVarint) -> String {
    let bytes = v.as_signed_bytes_be();
    let negative = bytes[0] & 0x80 != 0;
    let mut mag: Vec<u8> = bytes.to_vec();
    if negative {
        // two's complement negation: invert, add one
        for b in &mut mag {
            *b = !*b;
        }
        for b in mag.iter_mut().rev() {
            let (n, carry) = b.overflowing_add(1);
            *b = n;
            if !carry {
                break;
            }
        }
    }
    let mut chunks = Vec::new(); // base 10^9, least significant first
    while mag.iter().any(|&b| b != 0) {
        let mut rem = 0u64;
        for b in &mut mag {
            let cur = (rem << 8) | u64::from(*b);
            *b = (cur / 1_000_000_000) as u8;
            rem = cur % 1_000_000_000;
        }
        chunks.push(rem);
    }
    let mut out = String::from(if negative { "-" } else { "" });
    match chunks.split_last() {
        None => out.push('0'),
        Some((top, rest)) => {
            write!(out, "{top}").unwrap();
            for c in rest.iter().rev() {
                write!(out, "{c:09}").unwrap();
            }
        }
    }
    out
}

/// The Python interpreter with cassandra-driver: `RINGBOLT_PYTHON`, else the venv
/// scripts/test creates (`.venv-ci/bin/python` in the repository).
fn python() -> PathBuf {
    match std::env::var_os("RINGBOLT_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-ci/bin/python"),
    }
}

const INSTALL_HINT: &str = "the cross-check needs the DataStax Python driver: run scripts/test \
    (it creates .venv-ci), or `python3 -m venv .venv-ci && .venv-ci/bin/pip install \
    cassandra-driver` (plus `pyasyncore` on Python >= 3.12), or set RINGBOLT_PYTHON to a \
    python that can `import cassandra.cluster`";

/// Runs scripts/types-crosscheck.py on `keyspace.table` and returns its lines.
pub async fn python_canon(keyspace: &str, table: &str, key: &str) -> Vec<String> {
    let python = python();
    assert!(
        python.exists(),
        "{} does not exist: {INSTALL_HINT}",
        python.display()
    );
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/types-crosscheck.py");
    let host = crate::harness::nodes()[0].to_string();
    let out = tokio::process::Command::new(&python)
        .arg(&script)
        .args([host.as_str(), keyspace, table, key])
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; {INSTALL_HINT}", python.display()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code() != Some(3),
        "{} cannot import cassandra-driver ({stderr}): {INSTALL_HINT}",
        python.display()
    );
    assert!(
        out.status.success(),
        "types-crosscheck.py failed ({}): {stderr}",
        out.status
    );
    String::from_utf8(out.stdout)
        .expect("the script prints UTF-8")
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn varint_decimal_matches_i128() {
    for v in [
        0i128,
        1,
        -1,
        255,
        256,
        -256,
        i64::MIN.into(),
        i128::MAX,
        i128::MIN,
    ] {
        assert_eq!(varint_decimal(&CqlVarint::from(v)), v.to_string());
    }
}
