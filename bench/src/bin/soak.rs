//! Soak test: many sessions, mixed reads and writes, over real HTTP on
//! 127.0.0.1 (axum with websession's layer, served in this process), for a
//! bounded time, in every mode: the cookie modes and every store.
//!
//! ```text
//! soak --mode signed|sealed|memory|sqlite|redis|postgres
//!      [--seconds 120] [--clients 64] [--sessions 10000]
//!      [--idle-seconds 5] [--writes 0.2] [--churn 0.02]
//! ```
//!
//! `--sessions` slots are shared out among `--clients` clients (keep-alive
//! connections); each slot belongs to one client, which visits its slots in
//! turn, so no two requests of one session overlap and the client knows what
//! the session must hold. A visit is a write (`/set/N`, N unique) with
//! probability `--writes`, else a read (`/get`) that must show the slot's last
//! acknowledged write. Sessions are abandoned at a steady rate (`--churn`: that
//! fraction of `--sessions` per second, so the rate doesn't depend on the
//! store's speed): the visited slot drops its session (whose record must
//! expire) and starts a new one.
//!
//! Sessions end after `--idle-seconds` without use (touch interval 1 s). The
//! check follows the timing, so legitimate expiry is never a lost write:
//! - a read whose gap since the session's previous use is under the
//!   guarantee (store modes: idle − 1 s; cookie modes, whose cookie is
//!   re-issued only every half idle timeout: idle − idle/2 − 2 s) must show
//!   the last write; empty or another value is a **lost write**;
//! - after a longer gap it may read empty (counted as expired, the slot
//!   starts over) but never shows a value other than the last write;
//! - every abandoned session is read once more, idle + 3 s after its last
//!   use: it must read empty (else **resurrected**).
//!
//! Every second the process's RSS (`VmRSS`) and the store's record count are
//! sampled (memory: `len`; SQLite and PostgreSQL: `count(*)`; Redis: keys
//! under the soak's own prefix, `SCAN`). Stores that need it run
//! `ExpiredDeletion::spawn_cleanup` every second. The run fails (exit code 1)
//! on any error (non-200, transport error, a write not answered `ok`), lost
//! write or resurrection, when RSS in the last third of the run exceeds the
//! middle third's maximum by more than 20% + 4 MB, or when the store's final
//! size exceeds `--sessions` plus the sessions abandoned in the last
//! (idle + 5) s plus 1% of `--sessions`, or twice `--sessions`.
//!
//! Isolation: SQLite uses a temporary file (removed afterwards); Redis the
//! prefix `websession-soak-<pid>:` (keys deleted afterwards); PostgreSQL the
//! database `websession_soak` next to `DATABASE_URL`'s (created if missing,
//! emptied before and after). The figures go to stdout as one JSON line.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use websession::store::{ExpiredDeletion as _, MemoryStore};
use websession::{Key, KeyRing, Session, SessionConfig, SessionManagerLayer, Sessions};

/// How often the stores' cleanup task deletes expired records.
const CLEANUP_EVERY: Duration = Duration::from_secs(1);
/// The touch interval: how much longer than the idle timeout a record lives.
const TOUCH_SECS: u64 = 1;
/// The longest a request may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Stats {
    requests: AtomicU64,
    reads: AtomicU64,
    writes: AtomicU64,
    creates: AtomicU64,
    strict_reads: AtomicU64,
    expired_reads: AtomicU64,
    abandoned: AtomicU64,
    probes: AtomicU64,
    errors: AtomicU64,
    lost: AtomicU64,
    resurrected: AtomicU64,
}

impl Stats {
    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

fn get_count(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("VmRSS:")
                    .map(|v| v.trim().trim_end_matches(" kB").trim().parse().unwrap_or(0))
            })
        })
        .unwrap_or(0)
}

/// A response: status, the session cookie set (`Some("")` when removed),
/// and the body.
struct Reply {
    status: u16,
    cookie: Option<String>,
    body: String,
}

/// A keep-alive HTTP/1.1 connection to 127.0.0.1, opened again after an
/// error or a `Connection: close`.
struct Http {
    port: u16,
    conn: Option<TcpStream>,
    buf: Vec<u8>,
}

impl Http {
    fn new(port: u16) -> Self {
        Self {
            port,
            conn: None,
            buf: Vec::with_capacity(4096),
        }
    }

    async fn get(&mut self, path: &str, cookie: Option<&str>) -> anyhow::Result<Reply> {
        let reply = tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(path, cookie))
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("timed out after {REQUEST_TIMEOUT:?}")));
        if reply.is_err() {
            self.conn = None;
        }
        reply
    }

    async fn exchange(&mut self, path: &str, cookie: Option<&str>) -> anyhow::Result<Reply> {
        if self.conn.is_none() {
            let stream = TcpStream::connect(("127.0.0.1", self.port)).await?;
            stream.set_nodelay(true)?;
            self.conn = Some(stream);
        }
        let Some(stream) = self.conn.as_mut() else {
            bail!("no connection");
        };
        let cookie = cookie
            .map(|c| format!("Cookie: session={c}\r\n"))
            .unwrap_or_default();
        stream
            .write_all(format!("GET {path} HTTP/1.1\r\nHost: soak\r\n{cookie}\r\n").as_bytes())
            .await?;
        self.buf.clear();
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            if stream.read_buf(&mut self.buf).await? == 0 {
                bail!("connection closed before the response head");
            }
        };
        let head = std::str::from_utf8(&self.buf[..head_end]).context("head not UTF-8")?;
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .context("no status")?;
        let (mut length, mut close, mut set) = (0usize, false, None);
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().context("content-length")?;
            } else if name.eq_ignore_ascii_case("connection") {
                close = value.eq_ignore_ascii_case("close");
            } else if name.eq_ignore_ascii_case("set-cookie") {
                if let Some(v) = value.strip_prefix("session=") {
                    set = Some(v.split(';').next().unwrap_or_default().to_owned());
                }
            }
        }
        let body_start = head_end + 4;
        while self.buf.len() < body_start + length {
            if stream.read_buf(&mut self.buf).await? == 0 {
                bail!("connection closed in the body");
            }
        }
        let body = String::from_utf8_lossy(&self.buf[body_start..body_start + length]).into_owned();
        if close {
            self.conn = None;
        }
        Ok(Reply {
            status,
            cookie: set,
            body,
        })
    }
}

/// The most failures printed; the counts go on.
const MAX_COMPLAINTS: u64 = 40;

/// Prints a failure, unless `MAX_COMPLAINTS` were printed already.
macro_rules! complain {
    ($run:expr, $($arg:tt)*) => {
        if $run.complaints.fetch_add(1, Ordering::Relaxed) < MAX_COMPLAINTS {
            eprintln!($($arg)*);
        }
    };
}

/// One session slot of a client.
struct Slot {
    cookie: Option<String>,
    /// The last acknowledged write; `None` for a session not started yet.
    value: Option<u64>,
    /// When the last successful request on the session was sent / answered.
    last_sent: Instant,
    last_answered: Instant,
}

/// What every client shares.
struct Run {
    port: u16,
    clients: usize,
    sessions: usize,
    /// Whether the cookie holds an id (a new id means a new record).
    store_mode: bool,
    write_ratio: f64,
    /// How often each client abandons a session.
    abandon_every: Duration,
    /// A read after a gap shorter than this must show the last write.
    must_live: Duration,
    /// An abandoned session read this long after its last use must be gone.
    must_end: Duration,
    stats: Stats,
    stop: AtomicBool,
    complaints: AtomicU64,
}

/// xorshift64: a uniform number in [0, 1).
fn next_unit(state: &mut u64) -> f64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state >> 11) as f64 / (1u64 << 53) as f64
}

async fn client(run: Arc<Run>, id: usize) {
    let stats = &run.stats;
    let start = Instant::now();
    let mut slots: Vec<Slot> = (id..run.sessions)
        .step_by(run.clients)
        .map(|_| Slot {
            cookie: None,
            value: None,
            last_sent: start,
            last_answered: start,
        })
        .collect();
    if slots.is_empty() {
        return;
    }
    let mut http = Http::new(run.port);
    let mut rng = (id as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next_value = (id as u64) << 40;
    let mut probes: VecDeque<(String, Instant)> = VecDeque::new();
    let mut turn = 0;
    let mut next_abandon = start + run.abandon_every.mul_f64(next_unit(&mut rng));
    while !run.stop.load(Ordering::Relaxed) {
        // An abandoned session, once it must have ended, reads empty.
        if probes
            .front()
            .is_some_and(|(_, due)| *due <= Instant::now())
        {
            let Some((cookie, _)) = probes.pop_front() else {
                continue;
            };
            Stats::add(&stats.requests);
            Stats::add(&stats.probes);
            match http.get("/get", Some(&cookie)).await {
                Ok(r) if r.status == 200 && r.body.is_empty() => {}
                Ok(r) if r.status == 200 => {
                    Stats::add(&stats.resurrected);
                    complain!(
                        run,
                        "client {id}: an abandoned session still reads {:?}",
                        r.body
                    );
                }
                Ok(r) => {
                    Stats::add(&stats.errors);
                    complain!(run, "client {id}: probe status {}", r.status);
                }
                Err(e) => {
                    Stats::add(&stats.errors);
                    complain!(run, "client {id}: probe: {e:#}");
                }
            }
            continue;
        }
        let count = slots.len();
        let slot = &mut slots[turn];
        turn = (turn + 1) % count;
        let now = Instant::now();
        if slot.value.is_some() && next_abandon <= now {
            // At most a second of backlog: no burst after a stall.
            let floor = now.checked_sub(Duration::from_secs(1)).unwrap_or(now);
            next_abandon = (next_abandon + run.abandon_every).max(floor);
            if let Some(cookie) = slot.cookie.take() {
                probes.push_back((cookie, slot.last_answered + run.must_end));
            }
            slot.value = None;
            Stats::add(&stats.abandoned);
        }
        let write = slot.value.is_none() || next_unit(&mut rng) < run.write_ratio;
        let path = if write {
            next_value += 1;
            format!("/set/{next_value}")
        } else {
            "/get".to_owned()
        };
        Stats::add(&stats.requests);
        let sent = Instant::now();
        let reply = http.get(&path, slot.cookie.as_deref()).await;
        let answered = Instant::now();
        let reply = match reply {
            Ok(r) if r.status == 200 => r,
            Ok(r) => {
                Stats::add(&stats.errors);
                complain!(run, "client {id}: {path}: status {}", r.status);
                reset(slot, stats);
                continue;
            }
            Err(e) => {
                Stats::add(&stats.errors);
                complain!(run, "client {id}: {path}: {e:#}");
                reset(slot, stats);
                continue;
            }
        };
        let previous_cookie = slot.cookie.clone();
        if let Some(c) = reply.cookie {
            slot.cookie = (!c.is_empty()).then_some(c);
        }
        if write {
            Stats::add(&stats.writes);
            if slot.value.is_none() {
                Stats::add(&stats.creates);
            } else if run.store_mode && previous_cookie.is_some() && slot.cookie != previous_cookie
            {
                // Counted for the store's size: a write after the session
                // expired starts a new record; the old one must go.
                Stats::add(&stats.abandoned);
            }
            if reply.body != "ok" || slot.cookie.is_none() {
                Stats::add(&stats.errors);
                complain!(
                    run,
                    "client {id}: {path}: answered {:?}, cookie {:?}",
                    reply.body,
                    slot.cookie
                );
                reset(slot, stats);
                continue;
            }
            slot.value = Some(next_value);
        } else {
            Stats::add(&stats.reads);
            let strict = answered.duration_since(slot.last_sent) < run.must_live;
            if strict {
                Stats::add(&stats.strict_reads);
            }
            let read = reply.body.parse::<u64>().ok();
            if read == slot.value {
                // As written.
            } else if read.is_none() && reply.body.is_empty() && !strict {
                // Expired after a gap the idle timeout allows: start over.
                Stats::add(&stats.expired_reads);
                Stats::add(&stats.abandoned);
                slot.value = None;
                slot.cookie = None;
            } else {
                Stats::add(&stats.lost);
                complain!(
                    run,
                    "client {id}: expected {:?}, read {:?} ({:?} after the previous use)",
                    slot.value,
                    reply.body,
                    answered.duration_since(slot.last_sent)
                );
                reset(slot, stats);
                continue;
            }
        }
        slot.last_sent = sent;
        slot.last_answered = answered;
    }
}

/// After an error the session's state is unknown: leave it (its record
/// expires) and start a new one.
fn reset(slot: &mut Slot, stats: &Stats) {
    if slot.cookie.take().is_some() {
        Stats::add(&stats.abandoned);
    }
    slot.value = None;
}

/// How to count the store's records, and what to remove afterwards.
enum Store {
    Cookie,
    Memory(Arc<MemoryStore>),
    Sqlite(PathBuf),
    Redis(redis::aio::MultiplexedConnection, String),
    Postgres(sqlx::PgPool),
}

impl Store {
    async fn count(&self) -> anyhow::Result<Option<u64>> {
        Ok(Some(match self {
            Self::Cookie => return Ok(None),
            Self::Memory(store) => store.len() as u64,
            Self::Sqlite(path) => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
                    let conn = rusqlite::Connection::open_with_flags(
                        path,
                        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
                    )?;
                    conn.busy_timeout(Duration::from_secs(5))?;
                    let n: i64 =
                        conn.query_row("SELECT count(*) FROM websession_sessions", [], |r| {
                            r.get(0)
                        })?;
                    Ok(u64::try_from(n).unwrap_or(0))
                })
                .await??
            }
            Self::Redis(conn, prefix) => redis_keys(conn, prefix).await?.len() as u64,
            Self::Postgres(pool) => {
                let n: i64 = sqlx::query_scalar("SELECT count(*) FROM websession_sessions")
                    .fetch_one(pool)
                    .await?;
                u64::try_from(n).unwrap_or(0)
            }
        }))
    }

    /// Removes what the soak left behind.
    async fn clean(&self) -> anyhow::Result<()> {
        match self {
            Self::Cookie | Self::Memory(_) => {}
            Self::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Self::Redis(conn, prefix) => {
                let mut conn = conn.clone();
                for keys in redis_keys(&conn, prefix).await?.chunks(500) {
                    let () = redis::cmd("UNLINK")
                        .arg(keys)
                        .query_async(&mut conn)
                        .await?;
                }
            }
            Self::Postgres(pool) => {
                sqlx::query("DELETE FROM websession_sessions")
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }
}

/// The keys under `prefix` (`SCAN` skips keys past their TTL).
async fn redis_keys(
    conn: &redis::aio::MultiplexedConnection,
    prefix: &str,
) -> anyhow::Result<Vec<String>> {
    let mut conn = conn.clone();
    let mut keys = Vec::new();
    let mut cursor = 0u64;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await?;
        keys.extend(batch);
        if next == 0 {
            return Ok(keys);
        }
        cursor = next;
    }
}

/// `url` with its database name replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, ""), |(b, q)| (b, q));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    format!("{}/{database}{query}", &base[..path_start])
}

/// Store modes: an unchanged record is written at most once per
/// `TOUCH_SECS`.
fn stored(sessions: websession::StoreSessions) -> Sessions {
    sessions
        .with_touch_interval(std::time::Duration::from_secs(TOUCH_SECS))
        .into()
}

/// The session layer for `mode`, and its store's counter.
async fn setup(
    mode: &str,
    config: SessionConfig,
) -> anyhow::Result<(Sessions, Store, Option<tokio::task::JoinHandle<()>>)> {
    let keys = || -> anyhow::Result<KeyRing> {
        Ok(KeyRing::new(Key::from_utf8(
            "a soak test secret key, 32 bytes long",
        )?))
    };
    Ok(match mode {
        "signed" => (
            Sessions::signed(keys()?, config)?.into(),
            Store::Cookie,
            None,
        ),
        "sealed" => (
            Sessions::sealed(keys()?, config)?.into(),
            Store::Cookie,
            None,
        ),
        "memory" => {
            let store = Arc::new(MemoryStore::new());
            let cleanup = store.spawn_cleanup(CLEANUP_EVERY);
            (
                stored(Sessions::store(store.clone(), config)?),
                Store::Memory(store),
                Some(cleanup),
            )
        }
        "sqlite" => {
            let path =
                std::env::temp_dir().join(format!("websession-soak-{}.db", std::process::id()));
            let counter = Store::Sqlite(path.clone());
            counter.clean().await?;
            let store =
                websession_sqlite::SqliteStore::connect(&format!("sqlite://{}", path.display()))
                    .await?;
            let cleanup = store.spawn_cleanup(CLEANUP_EVERY);
            (
                stored(Sessions::store(store, config)?),
                counter,
                Some(cleanup),
            )
        }
        "redis" => {
            let url =
                std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
            let prefix = format!("websession-soak-{}:", std::process::id());
            let store = websession_redis::RedisStore::connect_with(
                &url,
                websession_redis::RedisOptions::default().with_key_prefix(prefix.clone()),
            )
            .await?;
            let conn = redis::Client::open(url.as_str())?
                .get_multiplexed_async_connection()
                .await?;
            let counter = Store::Redis(conn, prefix);
            counter.clean().await?;
            (stored(Sessions::store(store, config)?), counter, None)
        }
        "postgres" => {
            let url = std::env::var("DATABASE_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
            let admin = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(&url)
                .await
                .with_context(|| format!("connecting to {url}"))?;
            let exists: Option<i32> =
                sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = 'websession_soak'")
                    .fetch_optional(&admin)
                    .await?;
            if exists.is_none() {
                if let Err(e) = sqlx::query("CREATE DATABASE websession_soak")
                    .execute(&admin)
                    .await
                {
                    // Another soak may have created it meanwhile.
                    eprintln!("CREATE DATABASE websession_soak: {e}");
                }
            }
            admin.close().await;
            let url = with_database(&url, "websession_soak");
            let store = websession_postgres::PostgresStore::connect(&url).await?;
            store.migrate().await?;
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(&url)
                .await?;
            let counter = Store::Postgres(pool);
            counter.clean().await?;
            let cleanup = store.spawn_cleanup(CLEANUP_EVERY);
            (
                stored(Sessions::store(store, config)?),
                counter,
                Some(cleanup),
            )
        }
        other => {
            bail!("--mode must be signed, sealed, memory, sqlite, redis or postgres, not {other}")
        }
    })
}

struct Sample {
    at: Duration,
    rss_kb: u64,
    store: Option<u64>,
    abandoned: u64,
}

async fn take_sample(started: Instant, store: &Store, stats: &Stats) -> Sample {
    let abandoned = get_count(&stats.abandoned);
    let count = match tokio::time::timeout(Duration::from_secs(5), store.count()).await {
        Ok(Ok(n)) => n,
        Ok(Err(e)) => {
            eprintln!("store size: {e:#}");
            None
        }
        Err(_) => {
            eprintln!("store size: timed out");
            None
        }
    };
    Sample {
        at: started.elapsed(),
        rss_kb: rss_kb(),
        store: count,
        abandoned,
    }
}

/// Minimum, maximum, first and last of some figures.
fn summary(values: impl Iterator<Item = u64> + Clone) -> serde_json::Value {
    serde_json::json!({
        "first": values.clone().next(),
        "last": values.clone().last(),
        "max": values.max(),
    })
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    fn parse<T: std::str::FromStr>(
        value: Option<String>,
        default: T,
        name: &str,
    ) -> anyhow::Result<T>
    where
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        value.map_or(Ok(default), |s| s.parse().with_context(|| name.to_owned()))
    }
    let mode = arg("--mode").unwrap_or_else(|| "signed".into());
    let seconds: u64 = parse(arg("--seconds"), 120, "--seconds")?;
    let clients: usize = parse(arg("--clients"), 64, "--clients")?;
    let sessions: usize = parse(arg("--sessions"), 10_000, "--sessions")?;
    let idle: u64 = parse(arg("--idle-seconds"), 5, "--idle-seconds")?;
    let write_ratio: f64 = parse(arg("--writes"), 0.2, "--writes")?;
    let churn: f64 = parse(arg("--churn"), 0.02, "--churn")?;
    if clients == 0 || sessions < clients || idle < 3 || churn <= 0.0 {
        bail!("need --clients ≥ 1, --sessions ≥ --clients, --idle-seconds ≥ 3, --churn > 0");
    }
    let store_mode = !matches!(mode.as_str(), "signed" | "sealed");
    // Store mode: a record lives at least idle seconds after each use (whole
    // seconds, hence - 1). Cookie modes: the cookie's issue time is what
    // ages, and it is renewed only once it is idle/2 old.
    let must_live = if store_mode {
        idle - 1
    } else {
        idle.saturating_sub(idle / 2 + 2)
    };
    let must_end = idle + TOUCH_SECS + 2;
    // Abandoned records must be gone this long after abandonment: the idle
    // timeout, the touch interval, a cleanup interval and some slack.
    let retention = Duration::from_secs(idle + TOUCH_SECS + 4);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let config = SessionConfig::default()
            .with_cookie(|c| c.with_secure(false))
            .with_lifetime(|l| l.with_idle_timeout(std::time::Duration::from_secs(idle)));
        let (sessions_layer, store, cleanup) = setup(&mode, config).await?;
        let app = Router::new()
            .route(
                "/get",
                get(|s: Session| async move {
                    s.get::<u64>("counter")
                        .ok()
                        .flatten()
                        .map_or(String::new(), |n| n.to_string())
                }),
            )
            .route(
                "/set/{n}",
                get(|s: Session, Path(n): Path<u64>| async move {
                    s.insert("counter", n).map(|()| "ok").unwrap_or("error")
                }),
            )
            .layer(SessionManagerLayer::new(sessions_layer));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });

        let run = Arc::new(Run {
            port,
            clients,
            sessions,
            store_mode,
            write_ratio,
            abandon_every: Duration::from_secs_f64(clients as f64 / (churn * sessions as f64))
                .min(Duration::from_secs(3600)),
            must_live: Duration::from_secs(must_live),
            must_end: Duration::from_secs(must_end),
            stats: Stats::default(),
            stop: AtomicBool::new(false),
            complaints: AtomicU64::new(0),
        });
        let tasks: Vec<_> = (0..clients)
            .map(|id| tokio::spawn(client(run.clone(), id)))
            .collect();
        let started = Instant::now();
        let mut samples: Vec<Sample> = Vec::new();
        let mut tick = tokio::time::interval_at(
            tokio::time::Instant::now() + Duration::from_secs(1),
            Duration::from_secs(1),
        );
        while started.elapsed() < Duration::from_secs(seconds) {
            tick.tick().await;
            let s = take_sample(started, &store, &run.stats).await;
            if samples.len() % 5 == 4 {
                eprintln!(
                    "{:>4.0} s: {} requests, RSS {} kB, store {:?}",
                    s.at.as_secs_f64(),
                    get_count(&run.stats.requests),
                    s.rss_kb,
                    s.store
                );
            }
            samples.push(s);
        }
        run.stop.store(true, Ordering::Relaxed);
        for t in tasks {
            let _ = t.await;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let last = take_sample(started, &store, &run.stats).await;
        if let Some(c) = cleanup {
            c.abort();
        }
        server.abort();
        if let Err(e) = store.clean().await {
            eprintln!("cleaning up: {e:#}");
        }

        // Memory is flat when the last third of the run stays within 20% +
        // 4 MB of the middle third's peak (the first third is warm-up: the
        // sessions are created and the first ones expire).
        let third = (samples.len() / 3).max(1);
        let rss = |range: std::ops::Range<usize>| {
            samples
                .get(range.start.min(samples.len())..range.end.min(samples.len()))
                .unwrap_or_default()
                .iter()
                .map(|s| s.rss_kb)
                .max()
                .unwrap_or(0)
        };
        let mid_max = rss(third..2 * third);
        let late_max = rss(2 * third..samples.len()).max(last.rss_kb);
        let memory_flat = late_max <= mid_max + mid_max / 5 + 4 * 1024;

        // The store holds at most one live record per slot, plus records
        // abandoned within `retention` of the end.
        let cutoff = last.at.checked_sub(retention);
        let abandoned_before = cutoff.and_then(|cutoff| {
            samples
                .iter()
                .rev()
                .find(|s| s.at <= cutoff)
                .map(|s| s.abandoned)
        });
        let expiry_checked = store_mode && abandoned_before.is_some();
        let recent = last.abandoned - abandoned_before.unwrap_or(0);
        let bound = (sessions as u64 + recent + sessions as u64 / 100).min(2 * sessions as u64);
        let store_flat = match last.store {
            None => !store_mode,
            Some(n) => !expiry_checked || n <= bound,
        };

        let stats = &run.stats;
        let report = serde_json::json!({
            "mode": mode,
            "clients": clients,
            "sessions": sessions,
            "idle_timeout_s": idle,
            "seconds": elapsed,
            "requests": get_count(&stats.requests),
            "req_per_s": (get_count(&stats.requests) as f64 / elapsed).round(),
            "reads": get_count(&stats.reads),
            "writes": get_count(&stats.writes),
            "sessions_created": get_count(&stats.creates),
            "reads_strictly_checked": get_count(&stats.strict_reads),
            "reads_expired_allowed": get_count(&stats.expired_reads),
            "abandoned": get_count(&stats.abandoned),
            "expiry_probes": get_count(&stats.probes),
            "errors": get_count(&stats.errors),
            "lost_writes": get_count(&stats.lost),
            "resurrected": get_count(&stats.resurrected),
            "rss_kb": summary(samples.iter().chain([&last]).map(|s| s.rss_kb)),
            "rss_kb_max_middle_third": mid_max,
            "rss_kb_max_last_third": late_max,
            "memory_flat": memory_flat,
            "store_size": summary(samples.iter().chain([&last]).filter_map(|s| s.store)),
            "store_size_bound": expiry_checked.then_some(bound),
            "store_flat": store_flat,
        });
        println!("{report}");
        if get_count(&stats.errors) > 0
            || get_count(&stats.lost) > 0
            || get_count(&stats.resurrected) > 0
            || !memory_flat
            || !store_flat
        {
            bail!("soak failed: {report}");
        }
        if get_count(&stats.strict_reads) * 10 < get_count(&stats.reads) * 9 {
            eprintln!(
                "note: under 90% of the reads came soon enough after the previous use to be \
                 checked strictly; raise --idle-seconds or lower --sessions"
            );
        }
        if store_mode && !expiry_checked {
            eprintln!("note: the run was too short to check the store's size after expiry");
        }
        Ok(())
    })
}
