//! Where the test cluster is and how to reach it: contact points from the environment
//! (`RINGBOLT_TEST_NODES`, `RINGBOLT_TEST_AUTH_NODE`) and a connect-or-panic helper.
//! Owns a hand-built v4 OPTIONS frame until the protocol frame module lands; not a client.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Nodes of the main (no-auth) cluster when `RINGBOLT_TEST_NODES` is not set.
pub const DEFAULT_NODES: &str = "127.0.0.1:9042,127.0.0.2:9042,127.0.0.3:9042";
/// The separate PasswordAuthenticator node when `RINGBOLT_TEST_AUTH_NODE` is not set.
pub const DEFAULT_AUTH_NODE: &str = "127.0.0.4:9042";
/// Credentials of the auth node (Cassandra's default superuser).
#[allow(dead_code)]
pub const AUTH_CREDENTIALS: (&str, &str) = ("cassandra", "cassandra");
/// How long `require_node` waits for a TCP connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a test waits for one response from a node.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

fn parse_addrs(var: &str, list: &str) -> Vec<SocketAddr> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.to_socket_addrs()
                .unwrap_or_else(|e| panic!("{var}: cannot resolve {s:?}: {e}"))
                .next()
                .unwrap_or_else(|| panic!("{var}: {s:?} resolves to no address"))
        })
        .collect()
}

fn env_or(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

/// Contact points of the main cluster (no authentication), from `RINGBOLT_TEST_NODES`.
pub fn nodes() -> Vec<SocketAddr> {
    let nodes = parse_addrs(
        "RINGBOLT_TEST_NODES",
        &env_or("RINGBOLT_TEST_NODES", DEFAULT_NODES),
    );
    assert!(!nodes.is_empty(), "RINGBOLT_TEST_NODES lists no node");
    nodes
}

/// The node that requires PasswordAuthenticator login, from `RINGBOLT_TEST_AUTH_NODE`.
pub fn auth_node() -> SocketAddr {
    let list = env_or("RINGBOLT_TEST_AUTH_NODE", DEFAULT_AUTH_NODE);
    let mut addrs = parse_addrs("RINGBOLT_TEST_AUTH_NODE", &list);
    assert_eq!(addrs.len(), 1, "RINGBOLT_TEST_AUTH_NODE must name one node");
    addrs.remove(0)
}

/// Connects to `addr` within [`CONNECT_TIMEOUT`], or panics telling how to start Cassandra.
pub async fn require_node(addr: SocketAddr) -> TcpStream {
    let hint = "start it with scripts/cassandra up --nodes 3 --auth-node";
    match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => {
            stream.set_nodelay(true).unwrap();
            stream
        }
        Ok(Err(e)) => panic!("Cassandra is not reachable at {addr}; {hint} ({e})"),
        Err(_) => panic!("Cassandra is not reachable at {addr}; {hint} (connect timed out)"),
    }
}

/// Frame header length in protocol v3/v4 (native_protocol_v4.spec section 2).
pub const HEADER_LEN: usize = 9;

/// A v4 OPTIONS request (opcode 0x05, empty body) on `stream`, built by hand.
pub fn options_frame_v4(stream: i16) -> Vec<u8> {
    let mut frame = vec![0x04, 0x00];
    frame.extend_from_slice(&stream.to_be_bytes());
    frame.push(0x05);
    frame.extend_from_slice(&0_i32.to_be_bytes());
    frame
}

/// A decoded response frame header plus its body.
#[derive(Debug)]
pub struct RawFrame {
    /// Version byte as sent (0x84 for a v4 response).
    pub version: u8,
    /// Stream id.
    pub stream: i16,
    /// Opcode (0x06 = SUPPORTED).
    pub opcode: u8,
    /// The body bytes.
    pub body: Vec<u8>,
}

/// Sends `frame` and reads one whole response frame (v3/v4 framing), within [`RESPONSE_TIMEOUT`].
pub async fn round_trip(stream: &mut TcpStream, frame: &[u8]) -> RawFrame {
    let exchange = async {
        stream.write_all(frame).await.unwrap();
        let mut header = [0_u8; HEADER_LEN];
        stream.read_exact(&mut header).await.unwrap();
        let len = i32::from_be_bytes([header[5], header[6], header[7], header[8]]);
        assert!((0..=1 << 20).contains(&len), "unexpected body length {len}");
        let mut body = vec![0_u8; len as usize];
        stream.read_exact(&mut body).await.unwrap();
        RawFrame {
            version: header[0],
            stream: i16::from_be_bytes([header[2], header[3]]),
            opcode: header[4],
            body,
        }
    };
    tokio::time::timeout(RESPONSE_TIMEOUT, exchange)
        .await
        .expect("no response from Cassandra in time")
}

/// Decodes a `[string multimap]` (spec section 3), the body of SUPPORTED.
pub fn string_multimap(mut body: &[u8]) -> Vec<(String, Vec<String>)> {
    fn short(b: &mut &[u8]) -> usize {
        let (n, rest) = b.split_at(2);
        *b = rest;
        usize::from(u16::from_be_bytes([n[0], n[1]]))
    }
    fn string(b: &mut &[u8]) -> String {
        let n = short(b);
        let (s, rest) = b.split_at(n);
        *b = rest;
        String::from_utf8(s.to_vec()).unwrap()
    }
    let pairs = short(&mut body);
    let map = (0..pairs)
        .map(|_| {
            let key = string(&mut body);
            let values = (0..short(&mut body)).map(|_| string(&mut body)).collect();
            (key, values)
        })
        .collect();
    assert!(body.is_empty(), "trailing bytes after the multimap");
    map
}

/// Tests that stop nodes or cut addresses take this lock exclusively; every other test
/// holds it shared (through [`session`]), so a fault never hits an unrelated test.
static FAULTS: std::sync::OnceLock<tokio::sync::RwLock<()>> = std::sync::OnceLock::new();

fn faults() -> &'static tokio::sync::RwLock<()> {
    FAULTS.get_or_init(|| tokio::sync::RwLock::new(()))
}

/// The fault lock across processes too (several test runs may share one cluster):
/// an advisory file lock beside the in-process one.
fn lock_file() -> std::fs::File {
    let path = std::env::temp_dir().join("ringbolt-it-faults.lock");
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()))
}

/// Shared hold of the cluster: no fault test (in any process) runs meanwhile.
pub struct SharedGuard {
    _file: std::fs::File,
    _guard: tokio::sync::RwLockReadGuard<'static, ()>,
    _timing: Timing,
}

/// Exclusive hold of the cluster for a fault-injection test.
pub struct ExclusiveGuard {
    _file: std::fs::File,
    _guard: tokio::sync::RwLockWriteGuard<'static, ()>,
    _timing: Timing,
}

/// How long a test held the cluster, written when its guard drops to the real stderr
/// (not the captured test output) as `it-timing: <secs> <test> <kind>`, so that
/// scripts/test can list the slowest tests of a run.
struct Timing {
    kind: &'static str,
    started: std::time::Instant,
}

impl Timing {
    fn start(kind: &'static str) -> Self {
        Self {
            kind,
            started: std::time::Instant::now(),
        }
    }
}

impl Drop for Timing {
    fn drop(&mut self) {
        use std::io::Write;
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("?");
        let line = format!(
            "it-timing: {:.1} {name} {}\n",
            self.started.elapsed().as_secs_f64(),
            self.kind
        );
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
}

/// Once per test process, before the first test holds the cluster: a few thousand
/// requests of mixed traffic (prepared writes and reads at RF 3, simple queries, on
/// every node), so that the tests meet JIT-compiled nodes rather than the first
/// seconds of cold JVMs. Best effort: the tests themselves say what is wrong if the
/// cluster is. Its cost is written like a test's timing (`it-timing: ... warm-up`).
/// `RINGBOLT_TEST_WARMUP=0` skips it.
async fn warm_up() {
    static DONE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    DONE.get_or_init(|| async {
        if std::env::var("RINGBOLT_TEST_WARMUP").as_deref() == Ok("0") {
            return;
        }
        let _timing = Timing {
            kind: "warm-up",
            started: std::time::Instant::now(),
        };
        if let Err(e) = warm_up_traffic().await {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "it-warm-up: gave up early: {e}");
        }
    })
    .await;
}

async fn warm_up_traffic() -> Result<(), ringbolt::Error> {
    use std::io::Write;
    const REQUESTS: usize = 6_000;
    const TASKS: usize = 32;
    let session = ringbolt::Session::builder()
        .contact_points(contact_points())
        .local_dc("datacenter1")
        .request_timeout(std::time::Duration::from_secs(30))
        .build()
        .await?;
    let ks = format!("it_warmup_{}_0", std::process::id());
    session
        .query(
            format!("CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 3}}"),
            (),
        )
        .await?;
    session
        .query(
            format!("CREATE TABLE IF NOT EXISTS {ks}.t (k int PRIMARY KEY, v text)"),
            (),
        )
        .await?;
    let insert = session
        .prepare(format!("INSERT INTO {ks}.t (k, v) VALUES (?, ?)"))
        .await?;
    let select = session
        .prepare(format!("SELECT v FROM {ks}.t WHERE k = ?"))
        .await?;
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let slow = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..TASKS {
        let (s, insert, select) = (session.clone(), insert.clone(), select.clone());
        let (next, slow) = (next.clone(), slow.clone());
        tasks.spawn(async move {
            use std::sync::atomic::Ordering::Relaxed;
            loop {
                let i = next.fetch_add(1, Relaxed);
                if i >= REQUESTS {
                    return Ok::<_, ringbolt::Error>(());
                }
                let k = (i / 3) as i32;
                let r = match i % 3 {
                    0 => s.execute(&insert, (k, "warm")).await.map(drop),
                    1 => s.execute(&select, (k,)).await.map(drop),
                    _ => s.query("SELECT key FROM system.local", ()).await.map(drop),
                };
                match r {
                    Err(e) if server_was_slow(&e) => {
                        slow.fetch_add(1, Relaxed);
                    }
                    other => other?,
                }
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        if let Ok(r) = r {
            r?;
        }
    }
    let _ = writeln!(
        std::io::stderr(),
        "it-warm-up: {REQUESTS} requests from {TASKS} tasks, {} answered 'too slow' by the server",
        slow.load(std::sync::atomic::Ordering::Relaxed)
    );
    session
        .query(format!("DROP KEYSPACE IF EXISTS {ks}"), ())
        .await?;
    session.close().await;
    Ok(())
}

/// A session on the main cluster plus the shared fault guard; derefs to the session.
pub struct TestSession {
    /// The session.
    pub session: ringbolt::Session,
    _guard: SharedGuard,
}

impl std::ops::Deref for TestSession {
    type Target = ringbolt::Session;
    fn deref(&self) -> &ringbolt::Session {
        &self.session
    }
}

/// Holds the cluster exclusively for a fault-injection test (no other test, in this
/// or another process, holds it meanwhile).
#[allow(dead_code)] // used by the fault-injection tests as they land
pub async fn exclusive() -> ExclusiveGuard {
    warm_up().await;
    let guard = faults().write().await;
    let file = tokio::task::spawn_blocking(|| {
        let f = lock_file();
        f.lock().expect("exclusive lock on the fault lock file");
        f
    })
    .await
    .unwrap();
    ExclusiveGuard {
        _file: file,
        _guard: guard,
        _timing: Timing::start("exclusive"),
    }
}

/// Holds the cluster shared (no fault test runs meanwhile), for tests that build
/// their own sessions.
pub async fn shared() -> SharedGuard {
    warm_up().await;
    let guard = faults().read().await;
    let file = tokio::task::spawn_blocking(|| {
        let f = lock_file();
        f.lock_shared().expect("shared lock on the fault lock file");
        f
    })
    .await
    .unwrap();
    SharedGuard {
        _file: file,
        _guard: guard,
        _timing: Timing::start("shared"),
    }
}

/// The main cluster's contact points as strings.
pub fn contact_points() -> Vec<String> {
    nodes().iter().map(ToString::to_string).collect()
}

/// Builds a session on the main cluster with `configure` applied, or panics saying how
/// to start Cassandra.
pub async fn session_with(
    configure: impl FnOnce(ringbolt::SessionBuilder) -> ringbolt::SessionBuilder,
) -> TestSession {
    let guard = shared().await;
    for addr in nodes() {
        drop(require_node(addr).await);
    }
    let builder = ringbolt::Session::builder()
        .contact_points(contact_points())
        .local_dc("datacenter1");
    let session = configure(builder)
        .build()
        .await
        .unwrap_or_else(|e| panic!("cannot open a session on {:?}: {e}", nodes()));
    TestSession {
        session,
        _guard: guard,
    }
}

/// A session on the main cluster with default settings.
pub async fn session() -> TestSession {
    session_with(|b| b).await
}

/// A fresh keyspace name for one test (replication factor `rf`, SimpleStrategy),
/// created before returning.
pub async fn keyspace(session: &ringbolt::Session, prefix: &str, rf: u8) -> String {
    static SWEPT: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    SWEPT.get_or_init(|| sweep_stale_keyspaces(session)).await;
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let ks = format!("it_{prefix}_{}_{n}", std::process::id());
    session
        .query(
            format!(
                "CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': {rf}}}"
            ),
            (),
        )
        .await
        .unwrap_or_else(|e| panic!("create keyspace {ks}: {e}"));
    ks
}

/// Drops the `it_<prefix>_<pid>_<n>` keyspaces of test processes that are gone, once per
/// process: they pile up on a long-lived dev cluster, and their custom-type columns stop
/// other drivers (the scylla crate refuses such schemas) from using the cluster.
async fn sweep_stale_keyspaces(session: &ringbolt::Session) {
    let Ok(result) = session
        .query("SELECT keyspace_name FROM system_schema.keyspaces", ())
        .await
    else {
        return;
    };
    let Ok(rows) = result.rows_typed::<(String,)>() else {
        return;
    };
    let stale: Vec<String> = rows
        .filter_map(Result::ok)
        .map(|(name,)| name)
        .filter(|name| {
            let mut parts = name.rsplit('_');
            let (_n, pid) = (parts.next(), parts.next());
            name.starts_with("it_")
                && pid
                    .and_then(|p| p.parse::<u32>().ok())
                    .is_some_and(|p| !std::path::Path::new(&format!("/proc/{p}")).exists())
        })
        .collect();
    for ks in stale {
        // Best effort: another process may be sweeping the same keyspace.
        let _ = session
            .query(format!("DROP KEYSPACE IF EXISTS {ks}"), ())
            .await;
    }
}

/// True when `e` is the server saying it was too slow: a server-side read or write
/// timeout, or Overloaded. On a loaded 2-core machine with cold JVMs that is a
/// legitimate answer, not a driver failure; tests that are not about it count such
/// answers and run the request again afterwards instead of failing on them.
pub fn server_was_slow(e: &ringbolt::Error) -> bool {
    // Overloaded 0x1001, WriteTimeout 0x1100, ReadTimeout 0x1200 (spec section 9).
    matches!(e.server_code(), Some(0x1001 | 0x1100 | 0x1200))
}

/// Runs `op` until it gives an answer other than [`server_was_slow`] (one at a time,
/// at most 20 times), then returns that answer's value; panics on any other error.
/// For requests that are safe to repeat (idempotent writes, reads), run after a burst
/// whose server-side timeouts were set aside.
#[allow(dead_code)]
pub async fn until_not_slow<T, F, Fut>(what: &str, mut op: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ringbolt::Error>>,
{
    let mut last = None;
    for _ in 0..20 {
        match op().await {
            Ok(v) => return v,
            Err(e) if server_was_slow(&e) => last = Some(e),
            Err(e) => panic!("{what}: {e}"),
        }
    }
    panic!("{what}: the server answered 'too slow' 20 times in a row: {last:?}")
}
