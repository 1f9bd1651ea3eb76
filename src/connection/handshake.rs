//! The connection handshake (spec v5 sections 2.3 and 4.1.1-4.1.2): OPTIONS ->
//! SUPPORTED, STARTUP -> READY or AUTHENTICATE -> SASL exchange, switching to v5
//! segment framing exactly after READY/AUTHENTICATE, then optional USE keyspace.
//! Runs sequentially on the socket before the multiplexing task takes it over.

use std::net::SocketAddr;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::codec::{Decoder, Encoder};

use super::ConnectionConfig;
use crate::codec::CqlCodec;
use crate::error::ConnectionError;
use crate::protocol::frame::{Compression, Frame, FrameFlags};
use crate::protocol::request::{AuthResponse, Query, QueryParameters, Request, Startup};
use crate::protocol::response::{ErrorKind, Response};

use crate::protocol::ProtocolVersion;

/// Error code of ProtocolError (spec section 8): used to refuse a protocol version.
const PROTOCOL_ERROR: i32 = 0x000A;

pub(super) struct Handshaken {
    pub(super) supported: Vec<(String, Vec<String>)>,
    pub(super) compression: Option<Compression>,
    /// Bytes read past the last handshake answer: they belong to the task's stream.
    pub(super) leftover: BytesMut,
}

pub(super) async fn run<IO>(
    io: &mut IO,
    codec: &mut CqlCodec,
    addr: SocketAddr,
    version: ProtocolVersion,
    config: &ConnectionConfig,
) -> Result<Handshaken, ConnectionError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let mut rbuf = BytesMut::with_capacity(4096);
    let mut ex = Exchange {
        io,
        codec,
        rbuf: &mut rbuf,
        addr,
        version,
    };

    let supported = match ex.call(&Request::Options).await? {
        Response::Supported(s) => s.options,
        other => return Err(ex.unexpected(other)),
    };
    let cql_version = supported
        .iter()
        .find(|(k, _)| k == "CQL_VERSION")
        .and_then(|(_, v)| v.first().cloned())
        .unwrap_or_else(|| "3.0.0".to_owned());
    let server_lz4 = supported
        .iter()
        .any(|(k, v)| k == "COMPRESSION" && v.iter().any(|c| c == "lz4"));
    let compression = match config.compression {
        Some(Compression::Lz4) if server_lz4 => Some(Compression::Lz4),
        _ => None,
    };

    let mut startup = Startup::new(&cql_version);
    if compression.is_some() {
        startup.set("COMPRESSION", "lz4");
    }
    startup.set("DRIVER_NAME", "ringbolt");
    startup.set("DRIVER_VERSION", env!("CARGO_PKG_VERSION"));

    // On v3/v4 the server may compress its very answer to STARTUP (spec v4 section 5).
    if !version.is_v5() {
        ex.codec.set_frame_compression(compression);
    }
    let reply = ex.call(&Request::Startup(startup)).await?;
    // Spec v5 section 2.3.1: framing changes right after the server's READY or
    // AUTHENTICATE, in both directions.
    if version.is_v5() && matches!(reply, Response::Ready | Response::Authenticate(_)) {
        ex.codec
            .enable_v5_framing(compression)
            .map_err(|_| ConnectionError::InvalidRequestFrame)?;
    }
    match reply {
        Response::Ready => {}
        Response::Authenticate(a) => {
            authenticate(&mut ex, &a.authenticator, config).await?;
        }
        other => return Err(ex.unexpected(other)),
    }

    if let Some(ks) = &config.keyspace {
        let q = Query::new(
            format!("USE {}", quote_identifier(ks)),
            QueryParameters::default(),
        );
        match ex.call(&Request::Query(q)).await? {
            Response::Result(_) => {}
            other => return Err(ex.unexpected(other)),
        }
    }
    Ok(Handshaken {
        supported,
        compression,
        leftover: rbuf,
    })
}

async fn authenticate<IO>(
    ex: &mut Exchange<'_, IO>,
    class: &str,
    config: &ConnectionConfig,
) -> Result<(), ConnectionError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let addr = ex.addr;
    let Some(authenticator) = &config.authenticator else {
        return Err(ConnectionError::AuthRequired {
            addr,
            authenticator: class.to_owned(),
        });
    };
    let failed = |message: String| ConnectionError::AuthFailed { addr, message };
    let mut session = authenticator
        .start_session(class)
        .map_err(|e| failed(e.message))?;
    let mut token = session.initial_response().map_err(|e| failed(e.message))?;
    // Bounded: a server that keeps challenging forever must not hang the connect.
    for _ in 0..16 {
        let req = Request::AuthResponse(AuthResponse {
            token: Some(token.into()),
        });
        match ex.call(&req).await? {
            Response::AuthSuccess(s) => {
                return session
                    .success(s.token.as_deref())
                    .map_err(|e| failed(e.message));
            }
            Response::AuthChallenge(c) => {
                token = session
                    .evaluate_challenge(c.token.as_deref())
                    .map_err(|e| failed(e.message))?;
            }
            Response::Error(e) => return Err(failed(e.message)),
            other => return Err(ex.unexpected(other)),
        }
    }
    Err(failed("too many authentication challenges".into()))
}

struct Exchange<'a, IO> {
    io: &'a mut IO,
    codec: &'a mut CqlCodec,
    rbuf: &'a mut BytesMut,
    addr: SocketAddr,
    version: ProtocolVersion,
}

impl<IO> Exchange<'_, IO>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    /// Sends one request on stream 0 and reads its response.
    async fn call(&mut self, request: &Request<'_>) -> Result<Response, ConnectionError> {
        let addr = self.addr;
        let mut frame = BytesMut::new();
        super::call::encode_request_with(
            &mut frame,
            self.version,
            None,
            FrameFlags::empty(),
            request,
        )
        .map_err(|_| ConnectionError::InvalidRequestFrame)?;
        let mut out = BytesMut::new();
        self.codec
            .encode(frame.freeze(), &mut out)
            .map_err(|e| ConnectionError::from_codec(addr, e))?;
        self.io
            .write_all(&out)
            .await
            .map_err(|e| ConnectionError::io(addr, e))?;
        self.io
            .flush()
            .await
            .map_err(|e| ConnectionError::io(addr, e))?;
        let frame = self.read_frame().await?;
        let response = decode(&frame, addr)?;
        if let Response::Error(e) = &response {
            if e.code == PROTOCOL_ERROR && is_version_refusal(&e.message, &e.kind) {
                return Err(ConnectionError::UnsupportedVersion {
                    addr,
                    version: self.version.as_u8(),
                    message: e.message.clone(),
                });
            }
        }
        Ok(response)
    }

    async fn read_frame(&mut self) -> Result<Frame, ConnectionError> {
        let addr = self.addr;
        loop {
            match self.codec.decode(self.rbuf) {
                Ok(Some(frame)) => return Ok(frame),
                Ok(None) => {}
                // A node that does not speak our version may answer in its own
                // version; treat an unsupported version byte as a refusal.
                Err(e) if is_version_decode_error(&e) => {
                    return Err(ConnectionError::UnsupportedVersion {
                        addr,
                        version: self.version.as_u8(),
                        message: "the node answered in another protocol version".into(),
                    })
                }
                Err(e) => return Err(ConnectionError::from_codec(addr, e)),
            }
            let n = self
                .io
                .read_buf(self.rbuf)
                .await
                .map_err(|e| ConnectionError::io(addr, e))?;
            if n == 0 {
                return Err(ConnectionError::ClosedByPeer { addr });
            }
        }
    }

    fn unexpected(&self, response: Response) -> ConnectionError {
        match response {
            Response::Error(e) => ConnectionError::HandshakeRejected {
                addr: self.addr,
                code: e.code,
                message: e.message,
            },
            other => ConnectionError::UnexpectedMessage {
                addr: self.addr,
                what: response_name(&other),
            },
        }
    }
}

fn decode(frame: &Frame, addr: SocketAddr) -> Result<Response, ConnectionError> {
    super::call::decode_response(frame)
        .map(|(_, r)| r)
        .map_err(|source| ConnectionError::Protocol { addr, source })
}

fn response_name(r: &Response) -> &'static str {
    r.opcode().name()
}

fn is_version_refusal(message: &str, _kind: &ErrorKind) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("protocol version") || m.contains("beta")
}

fn is_version_decode_error(e: &crate::codec::CodecError) -> bool {
    matches!(
        e,
        crate::codec::CodecError::Decode(crate::protocol::DecodeError::UnsupportedVersion(_))
    )
}

/// Quotes a keyspace name for `USE`, doubling embedded quotes.
pub(crate) fn quote_identifier(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
    {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_only_when_needed() {
        assert_eq!(quote_identifier("ks_1"), "ks_1");
        assert_eq!(quote_identifier("MyKs"), "\"MyKs\"");
        assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_identifier("1ks"), "\"1ks\"");
    }
}
