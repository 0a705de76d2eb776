//! The SQLite session store: websession's embedded default.
//!
//! One file, no server, persistent across restarts.
//!
//! # Setup
//!
//! [`SqliteStore::connect`] creates the file and the tables ([`SCHEMA`]) if they
//! are missing; nothing to run by hand. Call [`ExpiredDeletion::spawn_cleanup`]
//! once to delete expired rows in the background.
//!
//! ```no_run
//! use websession::{SessionConfig, SessionManagerLayer, Sessions};
//! use websession_sqlite::{ExpiredDeletion as _, SqliteStore};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = SqliteStore::connect("sqlite://sessions.db").await?;
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
//! - **loads on the caller's thread** ([`SqliteOptions::with_direct_reads`], on
//!   by default): a load takes one of the store's read connections and runs
//!   its query right where it is called, with no thread hop (a few
//!   microseconds from the page cache). In WAL mode a reader never waits
//!   for the writer; should SQLite still answer "busy" (another process in
//!   exclusive locking mode, a log being recovered), the load doesn't wait
//!   on the async thread but goes to a reader thread, which waits up to the
//!   busy timeout. A page that isn't in the operating system's cache is
//!   read from disk on the caller's thread: on a slow disk, turn direct
//!   reads off.
//! - **reader threads** ([`SqliteOptions::with_readers`]): the loads that don't
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
//! database's write lock within [`SqliteOptions::with_busy_timeout`] (another
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
//! [`SqliteOptions::with_table_prefix`] names the tables (`{prefix}sessions`,
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
//! let store = SqliteStore::connect_with("sqlite://app.db", options).await?;
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
//! let store = SqliteStore::connect("sqlite://sessions.db").await?;
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
#[cfg(doc)]
use websession_core::store::{SessionStore, StoreErrorKind};

mod connection;
mod error;
mod jobs;
mod options;
mod reads;
mod revocations;
mod session_store;
mod statements;
mod store;
mod table;
mod threads;
mod writes;

pub use jobs::MAX_BATCH;
pub use options::{SqliteOptions, Synchronous, BUSY_TIMEOUT};
pub use revocations::SqliteRevocations;
pub use store::SqliteStore;
pub use table::{InvalidTablePrefix, TablePrefix};

/// The tables and indexes, created by [`SqliteStore::connect`], for the
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
