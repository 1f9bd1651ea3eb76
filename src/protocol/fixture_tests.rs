//! Fixture tests over bytes captured from a real Cassandra 5.0
//! (`protocol-fixtures/captured/`, recorded by `examples/capture_fixtures.rs`): every
//! file decodes to the message its name says, uncompressed ones re-encode byte-equal,
//! every strict prefix is "incomplete", and no single-byte corruption panics.

use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};

use super::frame::{encode_frame, Compression, Direction, Frame, FrameDecoder, FrameFlags};
use super::response::{ErrorKind, Response, ResponseEnvelope, ResultBody};
use super::segment::{encode_segment, FrameAssembler, SegmentDecoder};
use super::types::ColumnType;
use super::ProtocolVersion;

const MAX: usize = 1 << 20;

struct Fixture {
    path: PathBuf,
    name: String,
    version: ProtocolVersion,
    lz4: bool,
    segment: bool,
    bytes: Vec<u8>,
}

fn fixtures() -> Vec<Fixture> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("protocol-fixtures/captured");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".bin") {
            continue;
        }
        let version = if name.starts_with("cap_v5") {
            ProtocolVersion::V5
        } else {
            ProtocolVersion::V4
        };
        out.push(Fixture {
            lz4: name.contains("_lz4_"),
            segment: name.ends_with(".segment.bin"),
            bytes: std::fs::read(&path).unwrap(),
            path,
            name,
            version,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn compression(f: &Fixture) -> Option<Compression> {
    f.lz4.then_some(Compression::Lz4)
}

/// Decodes a whole fixture into frames.
fn frames_of(f: &Fixture, bytes: &[u8]) -> Result<Vec<Frame>, super::DecodeError> {
    let mut buf = BytesMut::from(bytes);
    let mut frames = Vec::new();
    if f.segment {
        let mut seg = SegmentDecoder::new(compression(f));
        let mut asm = FrameAssembler::new(MAX);
        while let Some(s) = seg.decode(&mut buf)? {
            asm.push(s)?;
            while let Some(fr) = asm.next_frame() {
                frames.push(fr);
            }
        }
    } else {
        let mut dec = FrameDecoder::new(MAX);
        dec.set_compression(compression(f));
        while let Some(fr) = dec.decode(&mut buf)? {
            frames.push(fr);
        }
    }
    Ok(frames)
}

fn decode(frame: &Frame) -> (ResponseEnvelope, Response) {
    Response::decode_with_envelope(
        frame.header.flags.bits(),
        frame.header.opcode,
        frame.header.version,
        &frame.body,
    )
    .unwrap_or_else(|e| panic!("strict decode of {:?} failed: {e}", frame.header))
}

fn check_meaning(name: &str, resp: &Response) {
    let stem = name.split('.').next().unwrap();
    match resp {
        Response::Supported(s) => {
            assert!(stem.ends_with("supported"), "{name}");
            assert!(s.get("CQL_VERSION").is_some_and(|v| !v.is_empty()));
            let versions: Vec<u8> = s.protocol_versions().iter().map(|v| v.version).collect();
            assert!(
                versions.contains(&4) && versions.contains(&5),
                "{versions:?}"
            );
        }
        Response::Ready => assert!(stem.contains("ready"), "{name}"),
        Response::Authenticate(a) => {
            assert!(stem.ends_with("authenticate"), "{name}");
            assert!(a.authenticator.ends_with("PasswordAuthenticator"), "{a:?}");
        }
        Response::AuthSuccess(_) => assert!(stem.ends_with("auth_success"), "{name}"),
        Response::Error(e) => {
            if stem.ends_with("error_syntax") {
                assert_eq!(e.kind, ErrorKind::SyntaxError);
            } else {
                assert!(stem.ends_with("error_invalid"), "{name}");
                assert_eq!(e.kind, ErrorKind::Invalid);
                assert!(e.message.contains("no_such_table"), "{}", e.message);
            }
        }
        Response::Result(ResultBody::Rows(rows)) => {
            assert!(stem.ends_with("rows_local"), "{name}");
            assert_eq!(rows.rows_count, 1);
            let names: Vec<&str> = rows
                .metadata
                .columns
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            assert_eq!(
                names,
                ["key", "cluster_name", "data_center", "rack", "tokens"]
            );
            assert_eq!(
                rows.metadata.columns[4].typ,
                ColumnType::Set(Box::new(ColumnType::Varchar))
            );
        }
        Response::Result(ResultBody::Prepared(p)) => {
            assert!(stem.ends_with("prepared"), "{name}");
            assert_eq!(p.metadata.columns.len(), 1);
            assert_eq!(p.metadata.columns[0].name, "peer");
            assert_eq!(p.metadata.columns[0].typ, ColumnType::Inet);
            assert_eq!(p.metadata.pk_indexes, vec![0]);
            assert_eq!(p.result_metadata.columns.len(), 3);
        }
        Response::Result(ResultBody::SetKeyspace(ks)) => {
            assert!(
                stem.ends_with("set_keyspace") && ks.starts_with("capture_"),
                "{name} {ks}"
            );
        }
        Response::Result(ResultBody::SchemaChange(_)) | Response::Event(_) => {
            assert!(
                stem.contains("schema_change") || stem.contains("drop"),
                "{name}"
            );
        }
        other => panic!("{name}: unexpected {other:?}"),
    }
}

#[test]
fn captured_fixtures_decode_to_what_their_names_say() {
    let all = fixtures();
    assert!(
        all.len() >= 50,
        "expected the captured set, found {}",
        all.len()
    );
    let mut seen = [false; 4];
    for f in &all {
        let frames = frames_of(f, &f.bytes).unwrap_or_else(|e| panic!("{}: {e}", f.name));
        assert!(!frames.is_empty(), "{}", f.name);
        for frame in &frames {
            assert_eq!(frame.header.version, f.version, "{}", f.name);
            assert_eq!(frame.header.direction, Direction::Response, "{}", f.name);
            let (_, resp) = decode(frame);
            check_meaning(&f.name, &resp);
        }
        seen[usize::from(f.version.is_v5()) * 2 + usize::from(f.lz4)] = true;
    }
    assert_eq!(seen, [true; 4], "v4/v5 x LZ4 on/off all captured");
}

#[test]
fn uncompressed_captures_re_encode_byte_equal() {
    let mut checked = 0;
    for f in fixtures().iter().filter(|f| !f.lz4) {
        let frames = frames_of(f, &f.bytes).unwrap();
        let mut envelopes = BytesMut::new();
        for frame in &frames {
            let (env, resp) = decode(frame);
            let mut flags = FrameFlags::from_bits(frame.header.flags.bits());
            flags.remove(FrameFlags::COMPRESSION);
            encode_frame(
                &mut envelopes,
                f.version,
                Direction::Response,
                flags,
                frame.header.stream,
                frame.header.opcode,
                None,
                |b| {
                    env.encode(b)?;
                    resp.encode_body(f.version, b)
                },
            )
            .unwrap();
        }
        let reencoded = if f.segment {
            let mut seg = SegmentDecoder::new(None);
            let s = seg
                .decode(&mut BytesMut::from(&f.bytes[..]))
                .unwrap()
                .unwrap();
            assert_eq!(&s.payload[..], &envelopes[..], "{}", f.name);
            let mut out = BytesMut::new();
            encode_segment(&mut out, &envelopes, s.self_contained, None).unwrap();
            out
        } else {
            envelopes
        };
        assert_eq!(
            &reencoded[..],
            &f.bytes[..],
            "{} re-encodes byte-equal",
            f.path.display()
        );
        checked += 1;
    }
    assert!(checked >= 25, "checked {checked}");
}

#[test]
fn lz4_captures_round_trip_through_our_compressor() {
    for f in fixtures().iter().filter(|f| f.lz4 && f.segment) {
        let frames = frames_of(f, &f.bytes).unwrap();
        let payload: Vec<u8> = {
            let mut seg = SegmentDecoder::new(compression(f));
            let s = seg
                .decode(&mut BytesMut::from(&f.bytes[..]))
                .unwrap()
                .unwrap();
            s.payload.to_vec()
        };
        let mut out = BytesMut::new();
        encode_segment(&mut out, &payload, true, compression(f)).unwrap();
        let again = frames_of(f, &out).unwrap();
        assert_eq!(again, frames, "{}", f.name);
    }
}

#[test]
fn every_strict_prefix_is_incomplete() {
    for f in fixtures() {
        for cut in 0..f.bytes.len() {
            let got = frames_of(&f, &f.bytes[..cut])
                .unwrap_or_else(|e| panic!("{} cut at {cut}: {e}", f.name));
            assert!(got.is_empty(), "{} cut at {cut} produced a frame", f.name);
        }
    }
}

#[test]
fn single_byte_corruption_never_panics() {
    let mut outcomes = [0usize; 2];
    for f in fixtures() {
        for i in 0..f.bytes.len() {
            for flip in [0x01u8, 0x80, 0xFF] {
                let mut b = f.bytes.clone();
                b[i] ^= flip;
                match frames_of(&f, &b) {
                    Ok(frames) => {
                        for fr in &frames {
                            let body = Bytes::clone(&fr.body);
                            let _ = Response::decode_with_envelope(
                                fr.header.flags.bits(),
                                fr.header.opcode,
                                fr.header.version,
                                &body,
                            );
                        }
                        outcomes[0] += 1;
                    }
                    Err(_) => outcomes[1] += 1,
                }
            }
        }
    }
    assert!(outcomes[0] > 0 && outcomes[1] > 0, "{outcomes:?}");
}
