//! Authentication against the PasswordAuthenticator node (`harness::auth_node`):
//! success on v4 and v5, a wrong password failing at once with the server's message
//! after exactly one attempt, and no credentials failing with AuthRequired.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringbolt::protocol::ProtocolVersion;
use ringbolt::unstable::{pooled_connections, RawConnection, RawConnectionConfig};
use ringbolt::{
    AuthError, AuthSession, Authenticator, ConnectionError, ContactPointError, Error,
    PlainTextAuthenticator, ProtocolVersionChoice, Session, SetupError,
};

use crate::harness::{self, AUTH_CREDENTIALS};

/// PasswordAuthenticator credentials that count the exchanges they start.
#[derive(Debug)]
struct Counting {
    inner: PlainTextAuthenticator,
    started: AtomicUsize,
}

impl Counting {
    fn new(user: &str, password: &str) -> Arc<Self> {
        Arc::new(Self {
            inner: PlainTextAuthenticator::new(user, password),
            started: AtomicUsize::new(0),
        })
    }
}

impl Authenticator for Counting {
    fn start_session(&self, class: &str) -> Result<Box<dyn AuthSession>, AuthError> {
        self.started.fetch_add(1, Ordering::SeqCst);
        self.inner.start_session(class)
    }
}

fn auth_builder() -> ringbolt::SessionBuilder {
    Session::builder()
        .contact_points([harness::auth_node().to_string()])
        .local_dc("datacenter1")
        .connect_timeout(Duration::from_secs(20))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_succeeds_on_v4_and_v5() {
    let _guard = harness::shared().await;
    let (user, password) = AUTH_CREDENTIALS;
    for (choice, version) in [
        (ProtocolVersionChoice::V4, ProtocolVersion::V4),
        (ProtocolVersionChoice::V5, ProtocolVersion::V5),
    ] {
        let counting = Counting::new(user, password);
        let s = auth_builder()
            .protocol_version(choice)
            .authenticator(counting.clone())
            .build()
            .await
            .unwrap_or_else(|e| panic!("{version:?}: {e}"));
        let (release,): (String,) = s
            .query("SELECT release_version FROM system.local", ())
            .await
            .unwrap()
            .first_row()
            .unwrap();
        assert!(!release.is_empty());
        // Authenticated as the superuser: the roles table is readable.
        let rs = s
            .query("SELECT role FROM system_auth.roles", ())
            .await
            .unwrap();
        assert!(rs.rows_count() >= 1);
        let conns = pooled_connections(&s);
        assert!(!conns.is_empty());
        assert!(conns.iter().all(|c| c.version() == version));
        // One exchange per connection: the control connection plus the pool's.
        assert_eq!(counting.started.load(Ordering::SeqCst), 1 + conns.len());
        s.close().await;
    }
    // The plain builder shortcut works too.
    let s = auth_builder()
        .credentials(user, password)
        .build()
        .await
        .unwrap();
    s.query("SELECT key FROM system.local", ()).await.unwrap();
    s.close().await;
}

/// The one connection error of a failed build (one contact point).
fn setup_connection_error(err: &Error) -> &ConnectionError {
    let Error::Setup(setup) = err else {
        panic!("expected a setup error, got {err:?}");
    };
    let SetupError::ContactPoints(failures) = setup else {
        panic!("expected contact point failures, got {setup:?}");
    };
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].contact_point, harness::auth_node().to_string());
    let ContactPointError::Connection(e) = &failures[0].error else {
        panic!("expected a connection error, got {:?}", failures[0].error);
    };
    assert_eq!(setup.connection_errors().count(), 1);
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_fails_once_with_the_server_message() {
    let _guard = harness::shared().await;
    for choice in [ProtocolVersionChoice::Auto, ProtocolVersionChoice::V4] {
        let counting = Counting::new(AUTH_CREDENTIALS.0, "not-the-password");
        let started = Instant::now();
        let err = auth_builder()
            .protocol_version(choice)
            .authenticator(counting.clone())
            .build()
            .await
            .unwrap_err();
        let elapsed = started.elapsed();
        match setup_connection_error(&err) {
            ConnectionError::AuthFailed { addr, message } => {
                assert_eq!(*addr, harness::auth_node());
                // Cassandra: "Provided username cassandra and/or password are incorrect".
                assert!(message.contains("incorrect"), "{message}");
                assert!(message.contains(AUTH_CREDENTIALS.0), "{message}");
            }
            other => panic!("expected AuthFailed, got {other:?}"),
        }
        assert!(!err.is_retryable());
        assert!(err.to_string().contains("incorrect"), "{err}");
        // One connection, one exchange: no retry, no version renegotiation.
        assert_eq!(counting.started.load(Ordering::SeqCst), 1);
        println!("{choice:?}: wrong password refused after {elapsed:?}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_connection_reports_auth_failure() {
    let _guard = harness::shared().await;
    let counting = Counting::new(AUTH_CREDENTIALS.0, "wrong");
    let config = RawConnectionConfig {
        version: Some(ProtocolVersion::V5),
        lz4: true,
        authenticator: Some(counting.clone()),
        ..RawConnectionConfig::default()
    };
    let err = RawConnection::open(harness::auth_node(), &config, false)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectionError::AuthFailed { message, .. } if message.contains("incorrect")),
        "{err:?}"
    );
    assert!(!err.is_transient());
    assert_eq!(counting.started.load(Ordering::SeqCst), 1);

    let (user, password) = AUTH_CREDENTIALS;
    let config = RawConnectionConfig {
        authenticator: Some(Arc::new(PlainTextAuthenticator::new(user, password))),
        ..config
    };
    let opened = RawConnection::open(harness::auth_node(), &config, false)
        .await
        .unwrap();
    assert_eq!(opened.connection.version(), ProtocolVersion::V5);
    opened.connection.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credentials_fails_with_auth_required() {
    let _guard = harness::shared().await;
    let err = auth_builder().build().await.unwrap_err();
    match setup_connection_error(&err) {
        ConnectionError::AuthRequired { authenticator, .. } => {
            assert!(
                authenticator.contains("PasswordAuthenticator"),
                "{authenticator}"
            );
        }
        other => panic!("expected AuthRequired, got {other:?}"),
    }
    assert!(err.to_string().contains("requires authentication"), "{err}");
}
