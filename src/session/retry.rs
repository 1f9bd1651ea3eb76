//! Retry policies: given what went wrong on one attempt, decide whether to try the
//! same host again, move to the next host, or give up. Pure decisions, no I/O; the
//! execution core (`execute.rs`) applies them. The default rules are idempotence-safe.

use std::fmt;

use crate::error::ServerErrorKind;
use crate::{Consistency, WriteType};

/// What happened on one attempt, as the retry policy sees it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum RetryCause<'a> {
    /// The node answered with a server error.
    Server(&'a ServerErrorKind),
    /// The connection failed. `written` says whether the whole request reached the
    /// socket (only then may the node have executed it).
    Connection {
        /// The request was written.
        written: bool,
    },
    /// No answer within the per-attempt timeout (the request was written).
    AttemptTimeout,
}

/// The facts a retry policy decides on.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RetryRequest<'a> {
    /// What went wrong.
    pub cause: RetryCause<'a>,
    /// Whether the statement may safely run more than once.
    pub idempotent: bool,
    /// Retries already made for this request (0 on the first failure).
    pub retry_count: u32,
    /// The consistency level of the failed attempt.
    pub consistency: Consistency,
}

/// What the execution core does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryDecision {
    /// Send again to the same host (optionally at another consistency).
    RetrySameHost(Option<Consistency>),
    /// Move to the next host of the query plan (optionally at another consistency).
    RetryNextHost(Option<Consistency>),
    /// Return the error to the caller.
    Fail,
    /// Report success with an empty result (for writes whose loss is acceptable).
    Ignore,
}

/// Decides what to do after a failed attempt.
pub trait RetryPolicy: Send + Sync + fmt::Debug {
    /// The decision for this failure.
    fn decide(&self, request: &RetryRequest<'_>) -> RetryDecision;
}

/// The default rules:
///
/// - a request that never reached a socket may always move to the next host;
/// - a request that was written moves on only if the statement is idempotent;
/// - read timeout: retried once on the same host when enough replicas answered but
///   the data was missing;
/// - write timeout: retried once only for `BATCH_LOG` and only if idempotent; an
///   `UNLOGGED_BATCH` timeout is never retried (it may be partly applied);
/// - unavailable: next host, once;
/// - overloaded, bootstrapping, truncate errors: next host (written, so idempotent only
///   for overload/truncate; a bootstrapping node never executed the request);
/// - syntax, invalid, unauthorized, already-exists and every other error: fail at once.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultRetryPolicy;

impl RetryPolicy for DefaultRetryPolicy {
    fn decide(&self, r: &RetryRequest<'_>) -> RetryDecision {
        use RetryDecision::*;
        match r.cause {
            RetryCause::Connection { written: false } => RetryNextHost(None),
            RetryCause::Connection { written: true } | RetryCause::AttemptTimeout => {
                if r.idempotent {
                    RetryNextHost(None)
                } else {
                    Fail
                }
            }
            RetryCause::Server(kind) => match kind {
                ServerErrorKind::ReadTimeout {
                    received,
                    block_for,
                    data_present,
                    ..
                } => {
                    if r.retry_count == 0 && received >= block_for && !data_present {
                        RetrySameHost(None)
                    } else {
                        Fail
                    }
                }
                ServerErrorKind::WriteTimeout { write_type, .. } => {
                    if r.retry_count == 0 && r.idempotent && *write_type == WriteType::BatchLog {
                        RetrySameHost(None)
                    } else {
                        Fail
                    }
                }
                ServerErrorKind::Unavailable { .. } => {
                    if r.retry_count == 0 {
                        RetryNextHost(None)
                    } else {
                        Fail
                    }
                }
                // The coordinator refused the request before executing it.
                ServerErrorKind::IsBootstrapping => RetryNextHost(None),
                ServerErrorKind::Overloaded | ServerErrorKind::TruncateError => {
                    if r.idempotent {
                        RetryNextHost(None)
                    } else {
                        Fail
                    }
                }
                _ => Fail,
            },
        }
    }
}

/// Never retries: every failure is returned as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct FallthroughRetryPolicy;

impl RetryPolicy for FallthroughRetryPolicy {
    fn decide(&self, r: &RetryRequest<'_>) -> RetryDecision {
        match r.cause {
            // Moving on is always safe when nothing was written.
            RetryCause::Connection { written: false } => RetryDecision::RetryNextHost(None),
            _ => RetryDecision::Fail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::response::Failures;

    fn req(cause: RetryCause<'_>, idempotent: bool, retry_count: u32) -> RetryRequest<'_> {
        RetryRequest {
            cause,
            idempotent,
            retry_count,
            consistency: Consistency::Quorum,
        }
    }

    fn decide(cause: RetryCause<'_>, idempotent: bool, n: u32) -> RetryDecision {
        DefaultRetryPolicy.decide(&req(cause, idempotent, n))
    }

    fn write_timeout(write_type: WriteType) -> ServerErrorKind {
        ServerErrorKind::WriteTimeout {
            consistency: Consistency::Quorum,
            received: 1,
            block_for: 2,
            write_type,
            contentions: None,
        }
    }

    #[test]
    fn unwritten_always_moves_on_written_only_if_idempotent() {
        use RetryDecision::*;
        assert_eq!(
            decide(RetryCause::Connection { written: false }, false, 5),
            RetryNextHost(None)
        );
        assert_eq!(
            decide(RetryCause::Connection { written: true }, false, 0),
            Fail
        );
        assert_eq!(
            decide(RetryCause::Connection { written: true }, true, 0),
            RetryNextHost(None)
        );
        assert_eq!(decide(RetryCause::AttemptTimeout, false, 0), Fail);
        assert_eq!(
            decide(RetryCause::AttemptTimeout, true, 0),
            RetryNextHost(None)
        );
    }

    #[test]
    fn read_timeout_retried_once_when_data_was_missing() {
        let rt = |received, data_present| ServerErrorKind::ReadTimeout {
            consistency: Consistency::Quorum,
            received,
            block_for: 2,
            data_present,
        };
        use RetryDecision::*;
        assert_eq!(
            decide(RetryCause::Server(&rt(2, false)), false, 0),
            RetrySameHost(None)
        );
        assert_eq!(decide(RetryCause::Server(&rt(2, false)), false, 1), Fail);
        assert_eq!(decide(RetryCause::Server(&rt(1, false)), true, 0), Fail);
        assert_eq!(decide(RetryCause::Server(&rt(2, true)), true, 0), Fail);
    }

    #[test]
    fn write_timeouts_only_batch_log_and_only_idempotent() {
        use RetryDecision::*;
        let bl = write_timeout(WriteType::BatchLog);
        assert_eq!(
            decide(RetryCause::Server(&bl), true, 0),
            RetrySameHost(None)
        );
        assert_eq!(decide(RetryCause::Server(&bl), false, 0), Fail);
        assert_eq!(decide(RetryCause::Server(&bl), true, 1), Fail);
        for wt in [
            WriteType::UnloggedBatch,
            WriteType::Simple,
            WriteType::Cas,
            WriteType::Batch,
        ] {
            let e = write_timeout(wt);
            assert_eq!(decide(RetryCause::Server(&e), true, 0), Fail);
        }
    }

    #[test]
    fn unavailable_and_overload() {
        use RetryDecision::*;
        let un = ServerErrorKind::Unavailable {
            consistency: Consistency::All,
            required: 3,
            alive: 2,
        };
        assert_eq!(
            decide(RetryCause::Server(&un), false, 0),
            RetryNextHost(None)
        );
        assert_eq!(decide(RetryCause::Server(&un), false, 1), Fail);
        let ov = ServerErrorKind::Overloaded;
        assert_eq!(
            decide(RetryCause::Server(&ov), true, 3),
            RetryNextHost(None)
        );
        assert_eq!(decide(RetryCause::Server(&ov), false, 0), Fail);
        let bs = ServerErrorKind::IsBootstrapping;
        assert_eq!(
            decide(RetryCause::Server(&bs), false, 0),
            RetryNextHost(None)
        );
        assert_eq!(
            decide(RetryCause::Server(&bs), true, 4),
            RetryNextHost(None)
        );
        let tr = ServerErrorKind::TruncateError;
        assert_eq!(
            decide(RetryCause::Server(&tr), true, 0),
            RetryNextHost(None)
        );
        assert_eq!(decide(RetryCause::Server(&tr), false, 0), Fail);
    }

    #[test]
    fn unlogged_batch_write_timeout_is_never_retried() {
        let e = write_timeout(WriteType::UnloggedBatch);
        for (idempotent, n) in [(true, 0), (false, 0), (true, 1)] {
            assert_eq!(
                decide(RetryCause::Server(&e), idempotent, n),
                RetryDecision::Fail
            );
        }
    }

    #[test]
    fn request_errors_fail_at_once() {
        for kind in [
            ServerErrorKind::SyntaxError,
            ServerErrorKind::Invalid,
            ServerErrorKind::Unauthorized,
            ServerErrorKind::ServerError,
            ServerErrorKind::ConfigError,
            ServerErrorKind::AlreadyExists {
                keyspace: "ks".into(),
                table: "t".into(),
            },
            ServerErrorKind::Unprepared {
                id: bytes::Bytes::from_static(b"id"),
            },
            ServerErrorKind::ReadFailure {
                consistency: Consistency::One,
                received: 0,
                block_for: 1,
                failures: Failures::Count(1),
                data_present: false,
            },
        ] {
            assert_eq!(
                decide(RetryCause::Server(&kind), true, 0),
                RetryDecision::Fail,
                "{kind:?}"
            );
        }
        assert_eq!(
            FallthroughRetryPolicy.decide(&req(RetryCause::AttemptTimeout, true, 0)),
            RetryDecision::Fail
        );
    }
}
