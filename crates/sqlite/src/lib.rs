//! The SQLite session store: websession's embedded default.
//!
//! One file, no server, persistent across restarts.
//!
//! # Setup
//!
//! [`SqliteStore::open`] creates the file and the tables ([`SCHEMA`]) if they
//! are missing; nothing to run by hand. Call [`ExpiredDeletion::spawn_cleanup`]
//! once to delete expired rows in the background.
//!
//! ```no_run
//! use websession::{SessionConfig, SessionManagerLayer, Sessions};
//! use websession_sqlite::{ExpiredDeletion as _, SqliteStore};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = SqliteStore::open("sqlite://sessions.db").await?;
//! let _cleanup = store.spawn_cleanup(std::time::Duration::from_secs(600));
//! let layer = SessionManagerLayer::new(Sessions::store(store, SessionConfig::default())?);
//! # Ok(()) }
//! ```
//!
//! # How it runs
//!
//! SQLite calls block, so the ones that can wait (for a lock, for a write's
//! commit) never run on the async runtime's threads. The store owns its
//! threads and connections (rusqlite, with SQLite compiled in):
//!
//! - **one writer thread**. Every write (`create`, `update`, `cycle_id`,
//!   `delete`, ...) is queued to it; it takes whatever is queued (up to
//!   [`MAX_BATCH`] writes) and commits it in **one transaction** (group
//!   commit), each write inside its own savepoint, so one write's failure
//!   (a collision, a session that no longer exists) rolls back that write
//!   only. A caller is answered after the commit. Woken by a write, the
//!   writer first yields its core once, so that on a busy core the tasks
//!   about to write queue their writes into the same batch. If the transaction as a
//!   whole fails (the disk is full, say), each write of it is run again in a
//!   transaction of its own, so every caller gets its own answer. One writer
//!   means the store's writes never wait for each other's locks.
//! - **loads on the caller's thread** ([`SqliteOptions::direct_reads`], on
//!   by default): a load takes one of the store's read connections and runs
//!   its query right where it is called, with no thread hop (a few
//!   microseconds from the page cache). In WAL mode a reader never waits
//!   for the writer; should SQLite still answer "busy" (another process in
//!   exclusive locking mode, a log being recovered), the load doesn't wait
//!   on the async thread but goes to a reader thread, which waits up to the
//!   busy timeout. A page that isn't in the operating system's cache is
//!   read from disk on the caller's thread: on a slow disk, turn direct
//!   reads off.
//! - **reader threads** ([`SqliteOptions::readers`]): the loads that don't
//!   run directly (all of them with direct reads off) go to them, and run
//!   in parallel with the writer (WAL readers don't block and aren't
//!   blocked by the writer). A load made after a write was answered sees
//!   that write, either way.
//! - **a checkpoint thread**, which copies the write-ahead log into the
//!   database file (`wal_checkpoint(PASSIVE)`, at most every 100 ms while
//!   writes come in), so the writer's commits don't pay for it; the writer
//!   checkpoints by itself only if the log outgrows 10,000 pages.
//!
//! Callers wait on a `tokio::sync::oneshot` reply. A write that can't get the
//! database's write lock within [`SqliteOptions::busy_timeout`] (another
//! process holds it) fails with [`StoreErrorKind::Unavailable`], as does any
//! call that waited in the queue longer than that: the adapters answer 503.
//!
//! # rusqlite and sqlx versions
//!
//! `libsqlite3-sys`, the SQLite under rusqlite and under sqlx's SQLite
//! driver, declares `links = "sqlite3"`: one build holds one version of it.
//! No rusqlite type is part of this crate's API, and it takes any rusqlite
//! from 0.32 to 0.43 (libsqlite3-sys 0.30 to 0.40), so Cargo picks the
//! version your app's other SQLite crate needs:
//!
//! | your app also depends on | builds? | Cargo picks |
//! |---|---|---|
//! | no other SQLite crate | yes | rusqlite 0.43 |
//! | rusqlite 0.32 to 0.43 | yes | your rusqlite's libsqlite3-sys |
//! | sqlx 0.9 (`sqlite`), with or without rusqlite 0.32 to 0.43 | yes | libsqlite3-sys 0.40, or your rusqlite's |
//! | sqlx 0.8 (`sqlite`) | yes | rusqlite 0.32 (sqlx 0.8 needs libsqlite3-sys 0.30) |
//! | sqlx 0.8 and rusqlite 0.33 or later | no, with or without websession: the two need different libsqlite3-sys | |
//! | sqlx 0.7 or older, rusqlite 0.31 or older | no: their libsqlite3-sys (0.28 or older) is below the range | |
//!
//! The store enables rusqlite's `bundled` feature, so the build compiles
//! SQLite in, for your other SQLite crate too. The store builds with every
//! rusqlite of the range and its suite runs at both ends; a rusqlite after
//! 0.43 joins the range once the suite passes on it.
//!
//! # Durability
//!
//! The database runs in WAL mode (`journal_mode=WAL`), with
//! `synchronous=NORMAL` by default ([`Synchronous::Normal`]): a commit
//! appends to the write-ahead log without `fsync`; the log is synced when it
//! is checkpointed into the database file (by the checkpoint thread, about
//! every 100 ms under writes). So a crash of the application loses nothing
//! that was answered (the log is in the operating system's hands once a
//! write is answered); a power loss or an operating-system crash can lose
//! the writes answered since the last checkpoint, but never corrupts the file
//! or tears a write: each session write is all or nothing. [`Synchronous::Full`] syncs the log on every
//! commit, so an answered write survives a power loss too; with group commit
//! that is one `fsync` per batch, not per write.
//!
//! A full disk (or a `max_page_count` reached) fails the writes with
//! [`StoreErrorKind::Unavailable`] and leaves the file consistent; writes
//! succeed again once there is room.
//!
//! # Schema
//!
//! Each session is a row of `websession_sessions` keyed by the SHA-256 of its
//! id, and each of its keys a row of `websession_values`, so an update
//! touches only the keys a request changed, in one transaction.
//! [`SessionStore::cycle_id`] moves the session to its new id and applies the
//! request's change set in one transaction too: both happen or neither does.
//!
//! [`SqliteOptions::table_prefix`] names the tables (`{prefix}sessions`,
//! `{prefix}values`, and for revocations `{prefix}generations` and
//! `{prefix}denied`; default `websession_`), so the store can share a file
//! with an app's own tables, or two stores one file.
//! [`SqliteStore::schema_sql`] gives the SQL for a prefix (for the default
//! one, [`SCHEMA`]), for those who create tables with their own migrations;
//! it is idempotent, and the store runs it when it opens.
//!
//! ```no_run
//! use websession_sqlite::{SqliteOptions, SqliteStore, TablePrefix};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let options = SqliteOptions::default().with_table_prefix(TablePrefix::new("auth_")?);
//! println!("{}", SqliteStore::schema_sql(&options)); // for your migrations
//! let store = SqliteStore::open_with("sqlite://app.db", options).await?;
//! # drop(store); Ok(()) }
//! ```
//!
//! SQLite stores text with its length, so keys, values and user ids may hold
//! the NUL character (U+0000) and round-trip unchanged.
//!
//! # Revocations
//!
//! [`SqliteStore::revocations`] gives the store's
//! [`RevocationStore`](websession_core::store::RevocationStore),
//! [`SqliteRevocations`], for revoking cookie sessions: a generation per
//! user ("log out everywhere") and a deny-list of session id hashes ("log
//! out this session"). It uses the store's connections and threads: writes
//! go to the writer thread, reads the way `load` goes, each call one
//! statement.
//!
//! ```no_run
//! use websession_core::store::RevocationStore as _;
//! use websession_sqlite::SqliteStore;
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = SqliteStore::open("sqlite://sessions.db").await?;
//! let revocations = store.revocations();
//! revocations.bump_generation("alice").await?; // every cookie of alice's is refused
//! // Now and then, with the sessions' cleanup (Unix seconds):
//! let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
//! revocations.delete_expired_denials(now).await?;
//! # Ok(()) }
//! ```
//!
//! Two more tables of the store's prefix hold them (in [`SCHEMA`] and
//! [`SqliteStore::schema_sql`], created when the store opens): user ids and
//! counters, and id hashes with the time until which they are denied, never
//! session data. `bump_generation` is one upsert (`INSERT ... ON CONFLICT DO
//! UPDATE SET generation = generation + 1 RETURNING generation`); `check`
//! reads the generation and the denial in one `SELECT`. Entries whose time
//! has passed no longer count; `delete_expired_denials` deletes them.
//!
//! ```sql
//! CREATE TABLE websession_generations (
//!     user_id    TEXT PRIMARY KEY,
//!     generation INTEGER NOT NULL
//! ) WITHOUT ROWID;
//! CREATE TABLE websession_denied (
//!     id    BLOB PRIMARY KEY,
//!     until INTEGER NOT NULL
//! ) WITHOUT ROWID;
//! CREATE INDEX websession_denied_until ON websession_denied (until);
//! ```
#![warn(missing_docs)]

pub use websession_core::store::ExpiredDeletion;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, ErrorCode, OpenFlags};
use tokio::sync::oneshot;
use websession_core::store::{
    decode_value, ChangeSet, IdHash, Record, SessionStore, StoreError, StoreErrorKind, Verdict,
};
use websession_core::Map;

mod revocations;
mod tables;
pub use revocations::SqliteRevocations;
use tables::Statements;
pub use tables::{InvalidTablePrefix, TablePrefix};

/// The tables and indexes, created by [`SqliteStore::open`], for the
/// default [`TablePrefix`]; [`SqliteStore::schema_sql`] gives them for
/// another.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS websession_sessions (
    id         BLOB PRIMARY KEY,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    user_id    TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS websession_sessions_expires ON websession_sessions (expires_at);
CREATE INDEX IF NOT EXISTS websession_sessions_user ON websession_sessions (user_id) WHERE user_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS websession_values (
    id    BLOB NOT NULL REFERENCES websession_sessions (id) ON DELETE CASCADE ON UPDATE CASCADE,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (id, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS websession_generations (
    user_id    TEXT PRIMARY KEY,
    generation INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS websession_denied (
    id    BLOB PRIMARY KEY,
    until INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS websession_denied_until ON websession_denied (until);
";

/// How long a write waits for the database's write lock (held by another
/// process or another store on the same file), and how long any call may
/// wait in the store's queue, before failing with
/// [`StoreErrorKind::Unavailable`]: the default of
/// [`SqliteOptions::busy_timeout`].
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The most writes the writer thread commits in one transaction.
pub const MAX_BATCH: usize = 256;

/// SQLite's `synchronous` setting, in WAL mode: what a commit waits for.
/// See the crate docs' section on durability.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Synchronous {
    /// `synchronous=NORMAL`: no `fsync` per commit. Survives an application
    /// crash; a power loss can lose the last answered writes (never corrupts).
    #[default]
    Normal,
    /// `synchronous=FULL`: the log is synced on every commit (one per batch).
    /// Answered writes survive a power loss.
    Full,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Self::Normal => "NORMAL",
            Self::Full => "FULL",
        }
    }
}

/// How [`SqliteStore::open_with`] sets the store up.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// See [`BUSY_TIMEOUT`].
    pub busy_timeout: Duration,
    /// Reader threads (each with its own connection) serving `load`.
    /// Default: the CPUs this process may use, at most 4.
    pub readers: usize,
    /// The `synchronous` setting (default [`Synchronous::Normal`]).
    pub synchronous: Synchronous,
    /// The most the database file may grow to, in bytes (SQLite's
    /// `max_page_count`); a write that needs more fails as a full disk does.
    /// Default: no limit but SQLite's own. See [`SqliteStore::set_max_size`].
    pub max_size: Option<u64>,
    /// Whether loads run on the caller's thread (see "How it runs" in the
    /// crate docs). Default: on. There are as many direct read connections
    /// as reader threads; a load that finds them all in use goes to a
    /// reader thread.
    pub direct_reads: bool,
    /// The prefix of the table and index names (default `websession_`).
    pub table_prefix: TablePrefix,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            busy_timeout: BUSY_TIMEOUT,
            readers: std::thread::available_parallelism()
                .map_or(1, std::num::NonZeroUsize::get)
                .clamp(1, 4),
            synchronous: Synchronous::Normal,
            max_size: None,
            direct_reads: true,
            table_prefix: TablePrefix::default(),
        }
    }
}

impl SqliteOptions {
    /// Sets [`SqliteOptions::busy_timeout`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use websession_sqlite::SqliteOptions;
    /// let options = SqliteOptions::default().with_busy_timeout(Duration::from_secs(2));
    /// # let _ = options;
    /// ```
    #[must_use]
    pub fn with_busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Sets [`SqliteOptions::readers`] (at least 1).
    ///
    /// ```
    /// use websession_sqlite::SqliteOptions;
    /// let options = SqliteOptions::default().with_readers(2);
    /// # let _ = options;
    /// ```
    #[must_use]
    pub fn with_readers(mut self, readers: usize) -> Self {
        self.readers = readers.max(1);
        self
    }

    /// Sets [`SqliteOptions::max_size`].
    ///
    /// ```
    /// use websession_sqlite::SqliteOptions;
    /// // At most about 1 GiB of sessions; writes past it fail (503), reads go on.
    /// let options = SqliteOptions::default().with_max_size(Some(1 << 30));
    /// # let _ = options;
    /// ```
    #[must_use]
    pub fn with_max_size(mut self, bytes: Option<u64>) -> Self {
        self.max_size = bytes;
        self
    }

    /// Sets [`SqliteOptions::direct_reads`].
    ///
    /// ```
    /// use websession_sqlite::SqliteOptions;
    /// // Every load on a reader thread: the async threads never touch the disk.
    /// let options = SqliteOptions::default().with_direct_reads(false);
    /// assert!(!options.direct_reads);
    /// ```
    #[must_use]
    pub fn with_direct_reads(mut self, on: bool) -> Self {
        self.direct_reads = on;
        self
    }

    /// Sets [`SqliteOptions::table_prefix`]: the store keeps its sessions in
    /// `{prefix}sessions` and `{prefix}values` (its revocations in
    /// `{prefix}generations` and `{prefix}denied`), created by
    /// [`SqliteStore::open_with`] (or by you, from
    /// [`SqliteStore::schema_sql`]).
    ///
    /// ```
    /// use websession_sqlite::{SqliteOptions, TablePrefix};
    /// let options = SqliteOptions::default().with_table_prefix(TablePrefix::new("auth_")?);
    /// assert_eq!(options.table_prefix.to_string(), "auth_");
    /// # Ok::<(), websession_sqlite::InvalidTablePrefix>(())
    /// ```
    #[must_use]
    pub fn with_table_prefix(mut self, prefix: TablePrefix) -> Self {
        self.table_prefix = prefix;
        self
    }

    /// Sets [`SqliteOptions::synchronous`].
    ///
    /// ```
    /// use websession_sqlite::{SqliteOptions, Synchronous};
    /// // An fsync per commit batch: nothing answered is lost, even on power loss.
    /// let options = SqliteOptions::default().with_synchronous(Synchronous::Full);
    /// # let _ = options;
    /// ```
    #[must_use]
    pub fn with_synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }
}

/// Sessions in a SQLite database. Cloning is cheap: clones share the
/// threads, which stop when the last clone is dropped.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    busy_timeout: Duration,
    writes: flume::Sender<WriteJob>,
    reads: flume::Sender<ReadJob>,
    /// The read connections loads use on the caller's thread; empty when
    /// direct reads are off.
    direct: Mutex<Vec<Connection>>,
    /// The SQL of the configured tables.
    sql: Arc<Statements>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

enum Write {
    Create {
        id: IdHash,
        record: Record,
        now: i64,
    },
    Update {
        id: IdHash,
        changes: ChangeSet,
        now: i64,
    },
    Cycle {
        old: IdHash,
        new: IdHash,
        changes: ChangeSet,
        now: i64,
    },
    Delete {
        id: IdHash,
    },
    DeleteAllFor {
        user: String,
    },
    DeleteOthersOf {
        user: String,
        keep: IdHash,
        now: i64,
    },
    DeleteExpired {
        now: i64,
    },
    MaxSize(Option<u64>),
    /// Adds one to a user's generation; answers the new one.
    Bump {
        user: String,
    },
    Deny {
        id: IdHash,
        until: i64,
    },
    DeleteExpiredDenials {
        now: i64,
    },
}

struct WriteJob {
    op: Write,
    deadline: Instant,
    reply: Reply<u64>,
}

struct ReadJob {
    op: ReadOp,
    now: i64,
    deadline: Instant,
}

enum ReadOp {
    Load {
        id: IdHash,
        reply: Reply<Option<Record>>,
    },
    SessionsOf {
        user: String,
        reply: Reply<Vec<(IdHash, Record)>>,
    },
    Check {
        user: Option<String>,
        id: IdHash,
        reply: Reply<Verdict>,
    },
    Generation {
        user: String,
        reply: Reply<u64>,
    },
}

fn err(e: rusqlite::Error) -> StoreError {
    let kind = match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            ErrorCode::ConstraintViolation
                if matches!(
                    f.extended_code,
                    rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                        | rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                ) =>
            {
                StoreErrorKind::Collision
            }
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::DiskFull
            | ErrorCode::SystemIoFailure
            | ErrorCode::CannotOpen
            | ErrorCode::ReadOnly
            | ErrorCode::OutOfMemory
            | ErrorCode::FileLockingProtocolFailed => StoreErrorKind::Unavailable,
            _ => StoreErrorKind::Backend,
        },
        rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::Utf8Error(..) => StoreErrorKind::Corrupt,
        _ => StoreErrorKind::Backend,
    };
    StoreError::new(kind, e)
}

fn unavailable(why: &'static str) -> StoreError {
    StoreError::new(StoreErrorKind::Unavailable, why)
}

const STOPPED: &str = "the SQLite store's thread has stopped";
const QUEUED_TOO_LONG: &str = "waited longer than the busy timeout for the SQLite store";

fn secs(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

/// The file path in `url`: `sqlite://PATH`, `sqlite:PATH` or a plain path;
/// a query string (`?mode=rwc`, sqlx's form) is ignored.
fn path_of(url: &str) -> Result<PathBuf, StoreError> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    if path.is_empty() || path == ":memory:" {
        return Err(StoreError::new(
            StoreErrorKind::Backend,
            "the SQLite store needs a file (an in-memory database is not shared between connections; use MemoryStore)",
        ));
    }
    Ok(PathBuf::from(path))
}

fn connect(path: &Path, options: &SqliteOptions) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(options.busy_timeout)?;
    conn.set_prepared_statement_cache_capacity(32);
    // Pages read through a memory map, not copied by `read` into each
    // connection's cache (which a commit elsewhere empties).
    let _: i64 = conn.query_row(&format!("PRAGMA mmap_size = {MMAP_SIZE}"), [], |row| {
        row.get(0)
    })?;
    Ok(conn)
}

/// The writer's connection: WAL, `synchronous`, foreign keys, the schema.
fn connect_writer(path: &Path, options: &SqliteOptions) -> rusqlite::Result<Connection> {
    let conn = connect(path, options)?;
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
            Some(format!("WAL mode refused (journal_mode is {mode})")),
        ));
    }
    conn.pragma_update(None, "synchronous", options.synchronous.pragma())?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // The checkpoint thread copies the log into the database (and syncs);
    // the writer only does when the log grows past this.
    conn.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)?;
    conn.pragma_update(None, "journal_size_limit", 64_i64 << 20)?;
    conn.execute_batch(&options.table_prefix.schema_sql())?;
    set_max_size(&conn, options.max_size)?;
    Ok(conn)
}

/// Bytes of the file each connection maps into memory.
const MMAP_SIZE: u64 = 256 << 20;

/// WAL pages past which the writer checkpoints by itself, should the
/// checkpoint thread fall behind.
const WRITER_CHECKPOINT_PAGES: u32 = 10_000;

/// SQLite's own limit on `max_page_count`.
const MAX_PAGES: u64 = 4_294_967_294;

/// Sets `max_page_count` for `bytes` (rounded down to whole pages; SQLite
/// never sets it below the pages in use). Returns the limit now in force.
fn set_max_size(conn: &Connection, bytes: Option<u64>) -> rusqlite::Result<u64> {
    let pages = match bytes {
        Some(bytes) => {
            let page_size: i64 = conn.query_row("PRAGMA page_size", [], |row| row.get(0))?;
            bytes / u64::try_from(page_size).unwrap_or(4096).max(1)
        }
        None => MAX_PAGES,
    };
    conn.query_row(
        // 0 would only read the limit.
        &format!("PRAGMA max_page_count = {}", pages.clamp(1, MAX_PAGES)),
        [],
        |row| row.get::<_, i64>(0),
    )
    .map(|n| u64::try_from(n).unwrap_or(0))
}

fn connect_reader(path: &Path, options: &SqliteOptions) -> rusqlite::Result<Connection> {
    let conn = connect(path, options)?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

/// A read connection for loads on the caller's thread: one that never
/// waits for a lock (busy: the load goes to a reader thread instead).
fn connect_direct(path: &Path, options: &SqliteOptions) -> rusqlite::Result<Connection> {
    let conn = connect_reader(path, options)?;
    conn.busy_timeout(Duration::ZERO)?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://PATH`,
    /// `sqlite:PATH` or a plain path) with the default [`SqliteOptions`], in
    /// WAL mode, and creates the tables.
    ///
    /// # Errors
    ///
    /// When the file can't be opened or the schema can't be created.
    ///
    /// ```
    /// use websession_sqlite::SqliteStore;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let file = std::env::temp_dir().join(format!("websession-doc-{}.db", std::process::id()));
    /// let store = SqliteStore::open(&format!("sqlite://{}", file.display())).await?;
    /// assert_eq!(store.path(), file.as_path());
    /// # drop(store); let _ = std::fs::remove_file(&file);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?; Ok(()) }
    /// ```
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, SqliteOptions::default()).await
    }

    /// [`SqliteStore::open`] with these options.
    ///
    /// # Errors
    ///
    /// When the file can't be opened or the schema can't be created.
    ///
    /// ```
    /// use websession_sqlite::{SqliteOptions, SqliteStore};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let file = std::env::temp_dir().join(format!("websession-doc-{}.db", std::process::id()));
    /// let options = SqliteOptions::default().with_readers(1);
    /// let store = SqliteStore::open_with(&file.display().to_string(), options).await?;
    /// # drop(store); let _ = std::fs::remove_file(&file);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?; Ok(()) }
    /// ```
    pub async fn open_with(url: &str, options: SqliteOptions) -> Result<Self, StoreError> {
        let path = path_of(url)?;
        tokio::task::spawn_blocking(move || Self::start(path, &options))
            .await
            .map_err(|e| StoreError::new(StoreErrorKind::Unavailable, e))?
    }

    /// Opens the connections and starts the threads (blocking).
    fn start(path: PathBuf, options: &SqliteOptions) -> Result<Self, StoreError> {
        let sql = Arc::new(Statements::new(&options.table_prefix));
        let writer = connect_writer(&path, options).map_err(err)?;
        let mut readers = Vec::with_capacity(options.readers);
        for _ in 0..options.readers.max(1) {
            readers.push(connect_reader(&path, options).map_err(err)?);
        }
        let mut direct = Vec::new();
        if options.direct_reads {
            for _ in 0..options.readers.max(1) {
                direct.push(connect_direct(&path, options).map_err(err)?);
            }
        }
        let checkpointer = connect(&path, options).map_err(err)?;
        let (committed, commits) = flume::bounded(1);
        let (writes, write_queue) = flume::unbounded();
        let (reads, read_queue) = flume::unbounded();
        let spawn_error = |e| StoreError::new(StoreErrorKind::Unavailable, e);
        std::thread::Builder::new()
            .name("websession-sqlite-writer".into())
            .spawn({
                let sql = sql.clone();
                move || writer_loop(writer, &sql, &write_queue, &committed)
            })
            .map_err(spawn_error)?;
        std::thread::Builder::new()
            .name("websession-sqlite-checkpoint".into())
            .spawn(move || checkpoint_loop(&checkpointer, &commits))
            .map_err(spawn_error)?;
        for conn in readers {
            let queue = read_queue.clone();
            let sql = sql.clone();
            std::thread::Builder::new()
                .name("websession-sqlite-reader".into())
                .spawn(move || reader_loop(&conn, &sql, &queue))
                .map_err(spawn_error)?;
        }
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                busy_timeout: options.busy_timeout,
                writes,
                reads,
                direct: Mutex::new(direct),
                sql,
            }),
        })
    }

    /// Changes [`SqliteOptions::max_size`] while the store runs (`None`:
    /// SQLite's own limit); returns the limit now in force, in pages.
    /// SQLite never sets it below the pages in use.
    ///
    /// # Errors
    ///
    /// When the writer thread can't be reached or SQLite refuses.
    ///
    /// ```
    /// use websession_sqlite::SqliteStore;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let file = std::env::temp_dir().join(format!("websession-doc-{}.db", std::process::id()));
    /// let store = SqliteStore::open(&file.display().to_string()).await?;
    /// let pages = store.set_max_size(Some(64 << 20)).await?;
    /// assert!(pages > 0);
    /// # drop(store); let _ = std::fs::remove_file(&file);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?; Ok(()) }
    /// ```
    pub async fn set_max_size(&self, bytes: Option<u64>) -> Result<u64, StoreError> {
        self.write(Write::MaxSize(bytes)).await
    }

    /// The SQL that creates the store's tables and indexes for these options'
    /// [`TablePrefix`], for those who run their migrations themselves. It is
    /// idempotent, and [`SqliteStore::open_with`] runs it too; for the
    /// default prefix it is [`SCHEMA`].
    ///
    /// ```
    /// use websession_sqlite::{SqliteOptions, SqliteStore, TablePrefix};
    /// let options = SqliteOptions::default().with_table_prefix(TablePrefix::new("app_")?);
    /// let sql = SqliteStore::schema_sql(&options);
    /// assert!(sql.contains(r#"CREATE TABLE IF NOT EXISTS "app_values""#));
    /// # Ok::<(), websession_sqlite::InvalidTablePrefix>(())
    /// ```
    #[must_use]
    pub fn schema_sql(options: &SqliteOptions) -> String {
        options.table_prefix.schema_sql()
    }

    /// The database file.
    ///
    /// ```
    /// # async fn f(store: websession_sqlite::SqliteStore) {
    /// println!("sessions in {}", store.path().display());
    /// # }
    /// ```
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// A read on the caller's thread, if a direct connection is free and
    /// SQLite answers without waiting; `None` sends it to a reader thread.
    fn read_direct<T>(
        &self,
        read: impl FnOnce(&Connection, &Statements) -> Result<T, StoreError>,
    ) -> Option<Result<T, StoreError>> {
        let direct = || {
            self.inner
                .direct
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        };
        let conn = direct().pop()?;
        let result = read(&conn, &self.inner.sql);
        direct().push(conn);
        match result {
            // Busy, or any other refusal a reader thread might get past
            // by waiting: let one decide.
            Err(e) if e.kind() == StoreErrorKind::Unavailable => None,
            result => Some(result),
        }
    }

    /// A read the way `load` goes: `read` on the caller's thread when it
    /// can (see [`SqliteStore::read_direct`]), else the job `op` makes for
    /// a reader thread.
    async fn read_any<T>(
        &self,
        now: u64,
        read: impl FnOnce(&Connection, &Statements) -> Result<T, StoreError>,
        op: impl FnOnce(Reply<T>) -> ReadOp,
    ) -> Result<T, StoreError> {
        if let Some(result) = self.read_direct(read) {
            return result;
        }
        let (reply, answer) = oneshot::channel();
        self.read(op(reply), now)?;
        answer.await.map_err(|_| unavailable(STOPPED))?
    }

    /// Queues a read for the reader threads.
    fn read(&self, op: ReadOp, now: u64) -> Result<(), StoreError> {
        let job = ReadJob {
            op,
            now: secs(now),
            deadline: self.deadline(),
        };
        self.inner.reads.send(job).map_err(|_| unavailable(STOPPED))
    }

    fn deadline(&self) -> Instant {
        Instant::now() + self.inner.busy_timeout
    }

    async fn write(&self, op: Write) -> Result<u64, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = WriteJob {
            op,
            deadline: self.deadline(),
            reply,
        };
        self.inner
            .writes
            .send(job)
            .map_err(|_| unavailable(STOPPED))?;
        answer.await.map_err(|_| unavailable(STOPPED))?
    }
}

/// Runs queued reads until every store handle is gone.
fn reader_loop(conn: &Connection, sql: &Statements, queue: &flume::Receiver<ReadJob>) {
    while let Ok(ReadJob { op, now, deadline }) = queue.recv() {
        match op {
            ReadOp::Load { id, reply } => answer(reply, deadline, || load(conn, sql, &id, now)),
            ReadOp::SessionsOf { user, reply } => {
                answer(reply, deadline, || sessions_of(conn, sql, &user, now));
            }
            ReadOp::Check { user, id, reply } => {
                answer(reply, deadline, || {
                    revocations::check(conn, sql, user.as_deref(), &id, now)
                });
            }
            ReadOp::Generation { user, reply } => {
                answer(reply, deadline, || {
                    revocations::generation(conn, sql, &user)
                });
            }
        }
    }
}

/// Sends `read()`'s result, unless the caller gave up or waited too long.
fn answer<T>(reply: Reply<T>, deadline: Instant, read: impl FnOnce() -> Result<T, StoreError>) {
    if reply.is_closed() {
        return; // the caller gave up
    }
    let result = if Instant::now() >= deadline {
        Err(unavailable(QUEUED_TOO_LONG))
    } else {
        read()
    };
    let _ = reply.send(result);
}

/// The live sessions of `user`, each as `load` reads it.
fn sessions_of(
    conn: &Connection,
    sql: &Statements,
    user: &str,
    now: i64,
) -> Result<Vec<(IdHash, Record)>, StoreError> {
    let mut stmt = conn.prepare_cached(&sql.ids_of).map_err(err)?;
    let ids = stmt
        .query_map(params![user, now], |row| row.get::<_, Vec<u8>>(0))
        .map_err(err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(err)?;
    let mut found = Vec::with_capacity(ids.len());
    for bytes in ids {
        let id = IdHash::from_bytes(&bytes).ok_or_else(|| {
            StoreError::new(StoreErrorKind::Corrupt, "a session id that isn't 32 bytes")
        })?;
        // Gone or changed hands since the first query: not listed.
        if let Some(record) = load(conn, sql, &id, now)? {
            if record.user.as_deref() == Some(user) {
                found.push((id, record));
            }
        }
    }
    Ok(found)
}

/// A text column (or NULL); anything else is a corrupt record.
fn text<'r>(row: &'r rusqlite::Row<'_>, index: usize) -> Result<Option<&'r str>, StoreError> {
    let value = row.get_ref(index).map_err(err)?;
    value.as_str_or_null().map_err(|e| {
        err(rusqlite::Error::FromSqlConversionFailure(
            index,
            value.data_type(),
            Box::new(e),
        ))
    })
}

fn load(
    conn: &Connection,
    sql: &Statements,
    id: &IdHash,
    now: i64,
) -> Result<Option<Record>, StoreError> {
    let mut stmt = conn.prepare_cached(&sql.load).map_err(err)?;
    let mut rows = stmt.query(params![id.as_bytes(), now]).map_err(err)?;
    let mut record: Option<Record> = None;
    while let Some(row) = rows.next().map_err(err)? {
        let record = match &mut record {
            Some(record) => record,
            None => record.insert(
                Record::new(
                    Map::new(),
                    u64::try_from(row.get::<_, i64>(0).map_err(err)?).unwrap_or(0),
                    u64::try_from(row.get::<_, i64>(1).map_err(err)?).unwrap_or(0),
                )
                .with_user(row.get::<_, Option<String>>(2).map_err(err)?),
            ),
        };
        let (Some(key), Some(value)) = (text(row, 3)?, text(row, 4)?) else {
            continue; // a session without keys
        };
        record.data.insert(key.to_owned(), decode_value(value)?);
    }
    Ok(record)
}

/// How often at most the checkpoint thread checkpoints.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// Copies the log into the database file (`wal_checkpoint(PASSIVE)`: never
/// blocks the writer or the readers) after commits, at most every
/// [`CHECKPOINT_EVERY`], until the writer stops. The `fsync`s of a
/// checkpoint happen here, not in the writer's commits.
fn checkpoint_loop(conn: &Connection, commits: &flume::Receiver<()>) {
    while commits.recv().is_ok() {
        // Busy (another checkpoint runs) or failing: the next one catches up.
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        std::thread::sleep(CHECKPOINT_EVERY);
    }
}

/// Runs queued writes, in batches, until every store handle is gone.
fn writer_loop(
    mut conn: Connection,
    sql: &Statements,
    queue: &flume::Receiver<WriteJob>,
    committed: &flume::Sender<()>,
) {
    let mut batch: Vec<WriteJob> = Vec::with_capacity(MAX_BATCH);
    let mut busy_timeout = None;
    while let Ok(first) = queue.recv() {
        // Let the threads that are ready to run (on a busy core: the async
        // workers, with more writes to queue) go first, so this batch takes
        // them too: without it, on one core, each write woke the writer
        // and was committed alone. Free when the writer has a core of its own.
        std::thread::yield_now();
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let now = Instant::now();
        let mut jobs = Vec::with_capacity(batch.len());
        for job in batch.drain(..) {
            if job.reply.is_closed() {
                continue; // the caller gave up: nobody waits for the answer
            }
            if now >= job.deadline {
                let _ = job.reply.send(Err(unavailable(QUEUED_TOO_LONG)));
                continue;
            }
            jobs.push(job);
        }
        let Some(earliest) = jobs.iter().map(|j| j.deadline).min() else {
            continue;
        };
        // Wait for another process's lock no longer than the most patient
        // caller of this batch may still wait (whole milliseconds, at least 1).
        let wait = Duration::from_millis(
            u64::try_from(earliest.saturating_duration_since(now).as_millis())
                .unwrap_or(u64::MAX)
                .max(1),
        );
        if busy_timeout != Some(wait) && conn.busy_timeout(wait).is_ok() {
            busy_timeout = Some(wait);
        }
        let results = run(&mut conn, sql, &jobs);
        for (job, result) in jobs.into_iter().zip(results) {
            let _ = job.reply.send(result);
        }
        let _ = committed.try_send(()); // full: a checkpoint is due anyway
    }
}

/// How a transaction failed as a whole.
enum TxError {
    /// `BEGIN` failed (no write lock within the timeout): nothing ran.
    Begin(StoreError),
    /// Something after `BEGIN` failed: nothing was committed.
    Later(StoreError),
}

/// The batch in one transaction; if that fails after `BEGIN`, each write in
/// a transaction of its own, so each caller gets its own answer.
fn run(conn: &mut Connection, sql: &Statements, jobs: &[WriteJob]) -> Vec<Result<u64, StoreError>> {
    match transaction(conn, sql, jobs) {
        Ok(results) => results,
        Err(TxError::Begin(e) | TxError::Later(e)) if jobs.len() == 1 => vec![Err(e)],
        Err(TxError::Begin(e)) => {
            let kind = e.kind();
            let mut results = vec![Err(e)];
            results.extend(jobs[1..].iter().map(|_| {
                Err(StoreError::new(
                    kind,
                    "the SQLite write lock was not available",
                ))
            }));
            results
        }
        Err(TxError::Later(_)) => {
            let mut results = Vec::with_capacity(jobs.len());
            for job in jobs {
                let result = match transaction(conn, sql, std::slice::from_ref(job)) {
                    Ok(mut one) => one.pop().unwrap_or_else(|| Err(unavailable(STOPPED))),
                    Err(TxError::Begin(e) | TxError::Later(e)) => Err(e),
                };
                results.push(result);
            }
            results
        }
    }
}

/// A write's own failure (rolled back to its savepoint, the batch goes on),
/// or one that ends the transaction.
enum OpError {
    Own(StoreError),
    Fatal(rusqlite::Error),
}

impl From<rusqlite::Error> for OpError {
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            // A refused row (a collision, a trigger's RAISE): that statement
            // is undone, the transaction is intact.
            rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::ConstraintViolation => {
                Self::Own(err(e))
            }
            _ => Self::Fatal(e),
        }
    }
}

fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

fn rollback(conn: &Connection) {
    if !conn.is_autocommit() {
        let _ = exec(conn, "ROLLBACK");
    }
}

fn transaction(
    conn: &mut Connection,
    sql: &Statements,
    jobs: &[WriteJob],
) -> Result<Vec<Result<u64, StoreError>>, TxError> {
    exec(conn, "BEGIN IMMEDIATE").map_err(|e| TxError::Begin(err(e)))?;
    let single = jobs.len() == 1;
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        if !single {
            if let Err(e) = exec(conn, "SAVEPOINT job") {
                rollback(conn);
                return Err(TxError::Later(err(e)));
            }
        }
        match apply_write(conn, sql, &job.op) {
            Ok(n) => {
                if !single {
                    if let Err(e) = exec(conn, "RELEASE job") {
                        rollback(conn);
                        return Err(TxError::Later(err(e)));
                    }
                }
                results.push(Ok(n));
            }
            Err(OpError::Own(e)) if conn.is_autocommit() => {
                // SQLite rolled the whole transaction back.
                return Err(TxError::Later(e));
            }
            Err(OpError::Own(e)) => {
                if single {
                    rollback(conn);
                    return Ok(vec![Err(e)]);
                }
                if let Err(e) =
                    exec(conn, "ROLLBACK TO job").and_then(|()| exec(conn, "RELEASE job"))
                {
                    rollback(conn);
                    return Err(TxError::Later(err(e)));
                }
                results.push(Err(e));
            }
            Err(OpError::Fatal(e)) => {
                rollback(conn);
                return Err(TxError::Later(err(e)));
            }
        }
    }
    if let Err(e) = exec(conn, "COMMIT") {
        rollback(conn);
        return Err(TxError::Later(err(e)));
    }
    Ok(results)
}

fn apply_write(conn: &Connection, sql: &Statements, op: &Write) -> Result<u64, OpError> {
    match op {
        Write::Create { id, record, now } => {
            // An expired record with this id is dead: it may be replaced.
            conn.prepare_cached(&sql.delete_if_expired)?
                .execute(params![id.as_bytes(), now])?;
            conn.prepare_cached(&sql.insert)?.execute(params![
                id.as_bytes(),
                secs(record.created_at),
                secs(record.expires_at),
                record.user.as_deref()
            ])?;
            insert_values(conn, sql, id, &record.data)?;
            Ok(1)
        }
        Write::Update { id, changes, now } => {
            apply(conn, sql, id, changes, *now)?;
            Ok(1)
        }
        Write::Cycle {
            old,
            new,
            changes,
            now,
        } => {
            conn.prepare_cached(&sql.delete_if_expired)?
                .execute(params![new.as_bytes(), now])?;
            // Values follow through ON UPDATE CASCADE; a live `new` is a
            // unique violation (a collision, this write's own failure).
            let moved = conn.prepare_cached(&sql.move_id)?.execute(params![
                new.as_bytes(),
                old.as_bytes(),
                now
            ])?;
            if moved == 0 {
                return Err(OpError::Own(StoreError::from_kind(
                    StoreErrorKind::NotFound,
                )));
            }
            apply(conn, sql, new, changes, *now)?;
            Ok(1)
        }
        Write::Delete { id } => {
            let n = conn
                .prepare_cached(&sql.delete)?
                .execute(params![id.as_bytes()])?;
            Ok(n as u64)
        }
        Write::DeleteAllFor { user } => {
            let n = conn
                .prepare_cached(&sql.delete_user)?
                .execute(params![user])?;
            Ok(n as u64)
        }
        Write::DeleteOthersOf { user, keep, now } => {
            let n = conn.prepare_cached(&sql.delete_others)?.execute(params![
                user,
                keep.as_bytes(),
                now
            ])?;
            Ok(n as u64)
        }
        Write::MaxSize(bytes) => Ok(set_max_size(conn, *bytes)?),
        Write::DeleteExpired { now } => {
            let n = conn
                .prepare_cached(&sql.delete_expired)?
                .execute(params![now])?;
            Ok(n as u64)
        }
        Write::Bump { user } => {
            let generation: i64 = conn
                .prepare_cached(&sql.bump)?
                .query_row(params![user], |row| row.get(0))?;
            u64::try_from(generation)
                .map_err(|e| OpError::Own(StoreError::new(StoreErrorKind::Corrupt, e)))
        }
        Write::Deny { id, until } => {
            conn.prepare_cached(&sql.deny)?
                .execute(params![id.as_bytes(), until])?;
            Ok(1)
        }
        Write::DeleteExpiredDenials { now } => {
            let n = conn
                .prepare_cached(&sql.delete_expired_denials)?
                .execute(params![now])?;
            Ok(n as u64)
        }
    }
}

fn insert_values(
    conn: &Connection,
    sql: &Statements,
    id: &IdHash,
    data: &Map,
) -> Result<(), OpError> {
    if data.is_empty() {
        return Ok(());
    }
    let mut stmt = conn.prepare_cached(&sql.set_value)?;
    for (key, value) in data {
        stmt.execute(params![id.as_bytes(), key, value.to_tagged_json()])?;
    }
    Ok(())
}

/// Applies `changes` to the live record `id`: the expiry and user, then
/// `cleared`, `removed` and `set`, in that order. What `update` does, and
/// what `cycle_id` does after the move.
fn apply(
    conn: &Connection,
    sql: &Statements,
    id: &IdHash,
    changes: &ChangeSet,
    now: i64,
) -> Result<(), OpError> {
    let (set_user, user) = match &changes.user {
        Some(u) => (true, u.as_deref()),
        None => (false, None),
    };
    let updated = conn.prepare_cached(&sql.touch)?.execute(params![
        secs(changes.expires_at),
        set_user,
        user,
        id.as_bytes(),
        now
    ])?;
    if updated == 0 {
        // Deleted or expired: never recreated.
        return Err(OpError::Own(StoreError::from_kind(
            StoreErrorKind::NotFound,
        )));
    }
    if changes.cleared {
        conn.prepare_cached(&sql.clear_values)?
            .execute(params![id.as_bytes()])?;
    }
    if !changes.removed.is_empty() {
        let mut stmt = conn.prepare_cached(&sql.remove_value)?;
        for key in &changes.removed {
            stmt.execute(params![id.as_bytes(), key])?;
        }
    }
    insert_values(conn, sql, id, &changes.set)
}

#[async_trait::async_trait]
impl SessionStore for SqliteStore {
    async fn load(&self, id: &IdHash, now: u64) -> Result<Option<Record>, StoreError> {
        self.read_any(
            now,
            |conn, sql| load(conn, sql, id, secs(now)),
            |reply| ReadOp::Load { id: *id, reply },
        )
        .await
    }

    async fn sessions_of(&self, user: &str, now: u64) -> Result<Vec<(IdHash, Record)>, StoreError> {
        let (reply, answer) = oneshot::channel();
        let user = user.to_owned();
        self.read(ReadOp::SessionsOf { user, reply }, now)?;
        answer.await.map_err(|_| unavailable(STOPPED))?
    }

    async fn create(&self, id: &IdHash, record: &Record, now: u64) -> Result<(), StoreError> {
        self.write(Write::Create {
            id: *id,
            record: record.clone(),
            now: secs(now),
        })
        .await
        .map(drop)
    }

    async fn update(&self, id: &IdHash, changes: &ChangeSet, now: u64) -> Result<(), StoreError> {
        self.write(Write::Update {
            id: *id,
            changes: changes.clone(),
            now: secs(now),
        })
        .await
        .map(drop)
    }

    async fn cycle_id(
        &self,
        old: &IdHash,
        new: &IdHash,
        changes: &ChangeSet,
        now: u64,
    ) -> Result<(), StoreError> {
        // One savepoint (or transaction): the move and the change set commit
        // together or not at all, so a failure leaves `old` live and as it
        // was. The single writer runs it wholly before or after a racing
        // `delete(old)`.
        self.write(Write::Cycle {
            old: *old,
            new: *new,
            changes: changes.clone(),
            now: secs(now),
        })
        .await
        .map(drop)
    }

    async fn delete(&self, id: &IdHash) -> Result<(), StoreError> {
        self.write(Write::Delete { id: *id }).await.map(drop)
    }

    async fn delete_all_for(&self, user: &str) -> Result<u64, StoreError> {
        self.write(Write::DeleteAllFor {
            user: user.to_owned(),
        })
        .await
    }

    /// One `DELETE` on the writer thread (values go by cascade): a
    /// `cycle_id` of one of the sessions, also queued to the writer, runs
    /// wholly before it (the session is deleted under its new id) or after
    /// it (the cycle finds nothing to move).
    async fn delete_others_of(
        &self,
        user: &str,
        keep: &IdHash,
        now: u64,
    ) -> Result<u64, StoreError> {
        self.write(Write::DeleteOthersOf {
            user: user.to_owned(),
            keep: *keep,
            now: secs(now),
        })
        .await
    }
}

#[async_trait::async_trait]
impl ExpiredDeletion for SqliteStore {
    async fn delete_expired(&self, now: u64) -> Result<u64, StoreError> {
        self.write(Write::DeleteExpired { now: secs(now) }).await
    }
}
