//! The PostgreSQL session store, for apps that run on many servers.
//!
//! # Setup
//!
//! Run [`PostgresStore::migrate`] at start-up (or apply [`SCHEMA`], or
//! [`PostgresStore::migration_sql`] for another table name, with your own
//! migration tool), then serve:
//!
//! ```no_run
//! use websession::{SessionConfig, SessionManagerLayer, Sessions};
//! use websession_postgres::{ExpiredDeletion as _, PostgresStore};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = PostgresStore::connect("postgres://postgres@127.0.0.1/app").await?;
//! store.migrate().await?;
//! let _cleanup = store.spawn_cleanup(std::time::Duration::from_secs(600));
//! let layer = SessionManagerLayer::new(Sessions::store(store, SessionConfig::default())?);
//! # Ok(()) }
//! ```
//!
//! # The client: pipelined connections, one round trip per call
//!
//! The store talks to PostgreSQL with `tokio-postgres` over two small,
//! fixed sets of connections. Loads go over a few read connections
//! ([`PostgresOptions::read_connections`], 2 by default), each carrying many
//! loads at once: the statements of concurrent requests are pipelined
//! (written back to back, answered in order) instead of each request taking
//! a connection of its own and waiting for it. Writes go over their own
//! connections ([`PostgresOptions::connections`], 16 by default): each write
//! is a transaction of its own, a connection commits one at a time and waits
//! for the WAL flush, so concurrent writes need as many connections to be
//! flushed together (group commit); and a load never waits behind a write
//! that waits for a row lock or a flush. Every statement is prepared once per
//! connection, so each store call is one round trip: `Bind`/`Execute`/`Sync`
//! and the answer. A call takes the connection of its kind with the fewest
//! calls in flight. There is no health-check query before a call (sqlx's
//! `test_before_acquire` costs one more round trip) and no `BEGIN`/`COMMIT`:
//! every operation is a single statement, atomic on its own, committed (and
//! flushed, with PostgreSQL's default `synchronous_commit`) before it
//! returns `Ok`.
//!
//! A connection that breaks (PostgreSQL restarted, the network cut) is
//! replaced by the next call that picks it; meanwhile, and while PostgreSQL
//! is down, calls fail with [`StoreErrorKind::Unavailable`] (the adapters
//! answer 503) within [`PostgresOptions::timeout`] (5 seconds by default),
//! and the same store recovers by itself once PostgreSQL is back.
//!
//! [`PostgresStore::connect`] takes a URL (or libpq's `key=value` form);
//! [`PostgresStore::from_config`] a `tokio_postgres::Config` you built, and
//! [`PostgresStore::from_config_with_tls`] that plus your own TLS connector.
//! The store takes no pool (sqlx's `PgPool`, `deadpool`, `bb8`): its own
//! pipelined connections with their prepared statements are the point of
//! this design. Timeouts ([`PostgresOptions`]): a call 5 s, reconnecting
//! included; a connection attempt the URL's `connect_timeout`, else the
//! call timeout.
//!
//! # TLS
//!
//! With the `rustls` feature (the default: rustls with the *ring*
//! provider) or `native-tls` (the platform's library, OpenSSL on Linux;
//! with both, rustls is used), the store's connections honour libpq's
//! `sslmode`, from the URL or [`PostgresOptions::ssl_mode`]:
//!
//! | `sslmode` | TLS | the server's certificate |
//! |---|---|---|
//! | `disable` | never | — |
//! | `prefer` (default) | if the server offers it, else plaintext | not checked |
//! | `require` | always; a server without TLS is refused | not checked, unless you give a root CA: then as `verify-ca` |
//! | `verify-ca` | always | must chain to a trusted root |
//! | `verify-full` | always | must chain to a trusted root and name the host |
//!
//! Only `verify-full` keeps a machine on the network path from posing as
//! the database; use it whenever the network isn't yours. The trusted roots
//! are the system's, or only the CA you give: `sslrootcert=/path/ca.pem` in
//! the URL, or [`PostgresOptions::root_certificates_pem`]. (libpq reads
//! `~/.postgresql/root.crt` by default; this store doesn't.) Without either
//! feature only `disable` and `prefer` (then plaintext) connect.
//!
//! A refused certificate (untrusted CA, wrong host name) fails the
//! connection with [`StoreErrorKind::Unavailable`], the error's source
//! saying why (e.g. `invalid peer certificate: UnknownIssuer`): at
//! [`PostgresStore::connect`], or on calls if a running server's
//! certificate changes (adapters answer 503). A refused password is
//! [`StoreErrorKind::Backend`]; the password never appears in the store's
//! `Debug` or its errors.
//!
//! ```no_run
//! use websession_postgres::{PostgresOptions, PostgresStore};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = PostgresStore::connect(
//!     "postgres://app:s3cret@db.internal/app?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem",
//! )
//! .await?;
//! // or: PostgresOptions::default().ssl_mode(SslMode::VerifyFull).root_certificates_pem(pem)
//! # let _ = store;
//! # Ok(()) }
//! ```
//!
//! # The table
//!
//! `websession_sessions` in the `search_path` by default;
//! [`PostgresOptions::table`] takes another name and schema ([`TableName`],
//! checked once and always quoted). [`PostgresStore::migrate`] creates the
//! table in an existing schema; people who run migrations themselves apply
//! [`PostgresStore::migration_sql`] (for the default name, [`SCHEMA`]):
//!
//! ```
//! use websession_postgres::{PostgresOptions, PostgresStore, TableName};
//! let options = PostgresOptions::default().table(TableName::new("sessions")?.in_schema("auth")?);
//! std::fs::write(
//!     std::env::temp_dir().join("V7__websession.sql"),
//!     PostgresStore::migration_sql(&options),
//! )?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Layout
//!
//! One row per session, keyed by the SHA-256 of its id ([`SCHEMA`]). The
//! data is a `jsonb` object mapping each session key to the key's value as
//! Flask's tagged JSON text (a string, so `NaN`, huge integers and lone
//! surrogates survive `jsonb`). A load asks PostgreSQL for the keys and the
//! value texts as two `text[]` arrays, so each value is parsed once, by
//! [`decode_value`]. An update is one statement,
//! `data = (data - removed) || jsonb_object(keys, values)`, so overlapping
//! requests that change different keys both keep their writes, and it matches
//! only a live row, so a deleted session is never written back. Expired rows
//! are hidden by every query and deleted by
//! [`ExpiredDeletion::spawn_cleanup`].
//!
//! [`SessionStore::cycle_id`] moves the row to its new id and applies the
//! request's change set in one `UPDATE` (the same SET list as an update):
//! either both happen or neither does.
//!
//! # In-place (HOT) updates
//!
//! PostgreSQL rewrites a row in place, on the same page and without touching
//! any index (a "heap-only tuple" update), when no indexed column changes
//! and the page has room. Each request that writes a session also moves its
//! expiry (by the seconds since its last write), so the store does not index
//! `expires_at` itself: the cleanup finds expired rows through an index on
//! `expires_bucket`, the expiry in whole hours (a generated column,
//! `expires_at / 3600`). An update is therefore in place unless the user id
//! changes or the expiry crosses into another hour (at most once an hour per
//! session). The table is created with `fillfactor = 70`, leaving 30% of
//! each page free for the new versions of its rows. `pg_stat_user_tables`
//! shows the share: `n_tup_hot_upd` against `n_tup_upd`.
//!
//! # Migrating from the previous schema
//!
//! Tables created by websession-postgres 0.1 (with an index on
//! `expires_at`, no `expires_bucket`, the default fillfactor) are brought up
//! to date by [`PostgresStore::migrate`], which runs [`SCHEMA`]: it sets the
//! fillfactor, adds `expires_bucket` (this rewrites the table once, under an
//! exclusive lock: a table of a million sessions takes seconds), drops the
//! `expires_at` index and creates the bucket index. Each step runs only if
//! it is still needed, so `migrate` is cheap and takes no lock beyond a
//! catalog look-up on an up-to-date table; concurrent calls wait for each
//! other (an advisory lock). Servers still running the previous version keep
//! working on the migrated table (they only read and write the old
//! columns), but their `migrate` adds the `expires_at` index back, which
//! makes updates non-HOT again until this version's `migrate` drops it. If you run migrations yourself, apply [`SCHEMA`] as it is: it
//! is idempotent. Its substance, for a new table:
//!
//! ```sql
//! CREATE TABLE websession_sessions (
//!     id             BYTEA PRIMARY KEY,
//!     data           JSONB NOT NULL DEFAULT '{}'::jsonb,
//!     created_at     BIGINT NOT NULL,
//!     expires_at     BIGINT NOT NULL,
//!     user_id        TEXT,
//!     expires_bucket BIGINT GENERATED ALWAYS AS (expires_at / 3600) STORED
//! ) WITH (fillfactor = 70);
//! CREATE INDEX websession_sessions_bucket_idx ON websession_sessions (expires_bucket);
//! CREATE INDEX websession_sessions_user_idx ON websession_sessions (user_id)
//!     WHERE user_id IS NOT NULL;
//! ```
//!
//! and for a table made by the previous version:
//!
//! ```sql
//! ALTER TABLE websession_sessions SET (fillfactor = 70);
//! ALTER TABLE websession_sessions
//!     ADD COLUMN expires_bucket BIGINT GENERATED ALWAYS AS (expires_at / 3600) STORED;
//! DROP INDEX websession_sessions_expires_idx;
//! CREATE INDEX websession_sessions_bucket_idx ON websession_sessions (expires_bucket);
//! ```
//!
//! # NUL characters
//!
//! PostgreSQL can't store the NUL character (U+0000) in a `jsonb` object key
//! or a TEXT column. A session key or a user id holding NUL is therefore
//! refused up front by `create`, `update` and `cycle_id` with
//! [`StoreErrorKind::Unsupported`] (its source says why), and nothing is
//! written. Values are not affected: they are stored as tagged JSON text,
//! which escapes NUL, so strings holding NUL (nested ones and keys of nested
//! dicts included) round-trip. Removing a key that holds NUL is a no-op (it
//! can't have been stored), and so are [`SessionStore::delete_all_for`] and
//! [`SessionStore::delete_others_of`] of a user id that holds NUL.
//!
//! # Revocations
//!
//! [`PostgresStore::revocations`] gives the store's
//! [`RevocationStore`](websession_core::store::RevocationStore),
//! [`PostgresRevocations`], for revoking cookie sessions: a generation per
//! user ("log out everywhere") and a deny-list of session id hashes ("log
//! out this session"). It uses the store's connections and prepared
//! statements, one statement (one round trip) per call: `check` over the
//! read connections, the writes over the write connections.
//!
//! ```no_run
//! use websession_core::store::RevocationStore as _;
//! use websession_postgres::PostgresStore;
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = PostgresStore::connect("postgres://postgres@127.0.0.1/app").await?;
//! store.migrate().await?;
//! let revocations = store.revocations();
//! revocations.bump_generation("alice").await?; // every cookie of alice's is refused
//! // Now and then, with the sessions' cleanup (Unix seconds):
//! let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
//! revocations.delete_expired_denials(now).await?;
//! # Ok(()) }
//! ```
//!
//! Two tables next to the sessions table, named after it
//! (`{table}_generations` and `{table}_denied`, in its schema), hold user
//! ids and counters, and id hashes with the time until which they are
//! denied, never session data. [`PostgresStore::migrate`] (and [`SCHEMA`],
//! [`PostgresStore::migration_sql`]) creates them; every connection
//! prepares their statements on its first revocation call, so an app that
//! doesn't use revocations needs no new tables; one that does must run
//! `migrate` (or the new SQL) first: revocation calls fail until the
//! tables exist.
//! `bump_generation` is one `INSERT ... ON CONFLICT DO UPDATE SET
//! generation = generation + 1 RETURNING generation` (atomic under
//! concurrent bumps); `check` one `SELECT` of two scalar subqueries; `deny`
//! an upsert that keeps the later time. Entries whose time has passed no
//! longer count; `delete_expired_denials` deletes them. A user id holding
//! NUL can't be stored: it is at generation 0, and bumping it fails with
//! [`StoreErrorKind::Unsupported`].
//!
//! ```sql
//! CREATE TABLE websession_sessions_generations (
//!     user_id    TEXT PRIMARY KEY,
//!     generation BIGINT NOT NULL
//! );
//! CREATE TABLE websession_sessions_denied (
//!     id    BYTEA PRIMARY KEY,
//!     until BIGINT NOT NULL
//! );
//! CREATE INDEX websession_sessions_denied_idx ON websession_sessions_denied (until);
//! ```
#![warn(missing_docs)]

pub use websession_core::store::ExpiredDeletion;

mod options;
mod revocations;
mod table;
mod tls;

pub use options::PostgresOptions;
pub use revocations::PostgresRevocations;

pub use table::{InvalidTableName, TableName};
pub use tls::SslMode;
/// The tokio-postgres version this store is built on (0.7), for
/// [`PostgresStore::from_config`] and
/// [`PostgresStore::from_config_with_tls`] (whose connector implements
/// tokio-postgres 0.7's `MakeTlsConnect`).
pub use tokio_postgres;

use table::Statements;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row, Statement};
use websession_core::store::{
    decode_value, ChangeSet, IdHash, Record, SessionStore, StoreError, StoreErrorKind,
};
use websession_core::Map;

/// The table, its indexes, the migration of a table created by the
/// previous version, and the revocation tables (see "Revocations" in the
/// crate docs); idempotent. [`PostgresStore::migrate`] runs it for the
/// default table name; for another, see [`PostgresStore::migration_sql`].
pub const SCHEMA: &str = "
SELECT pg_advisory_xact_lock(7305463015744167236);
CREATE TABLE IF NOT EXISTS websession_sessions (
    id             BYTEA PRIMARY KEY,
    data           JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    user_id        TEXT,
    expires_bucket BIGINT GENERATED ALWAYS AS (expires_at / 3600) STORED
) WITH (fillfactor = 70);
DO $$
DECLARE
    t regclass := 'websession_sessions'::regclass;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_class
                   WHERE oid = t AND 'fillfactor=70' = ANY (coalesce(reloptions, '{}'))) THEN
        ALTER TABLE websession_sessions SET (fillfactor = 70);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attribute
                   WHERE attrelid = t AND attname = 'expires_bucket' AND NOT attisdropped) THEN
        ALTER TABLE websession_sessions
            ADD COLUMN expires_bucket BIGINT GENERATED ALWAYS AS (expires_at / 3600) STORED;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
               WHERE x.indrelid = t AND i.relname = 'websession_sessions_expires_idx') THEN
        DROP INDEX websession_sessions_expires_idx;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                   WHERE x.indrelid = t AND i.relname = 'websession_sessions_bucket_idx') THEN
        CREATE INDEX websession_sessions_bucket_idx ON websession_sessions (expires_bucket);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                   WHERE x.indrelid = t AND i.relname = 'websession_sessions_user_idx') THEN
        CREATE INDEX websession_sessions_user_idx ON websession_sessions (user_id)
            WHERE user_id IS NOT NULL;
    END IF;
END $$;
CREATE TABLE IF NOT EXISTS websession_sessions_generations (
    user_id    TEXT PRIMARY KEY,
    generation BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS websession_sessions_denied (
    id    BYTEA PRIMARY KEY,
    until BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS websession_sessions_denied_idx ON websession_sessions_denied (until);
";

/// Sessions in a PostgreSQL table.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.inner, f)
    }
}

struct Inner {
    /// Secrets stay out of its `Debug` (tokio-postgres redacts the
    /// password).
    config: tokio_postgres::Config,
    connect: tls::Connect,
    /// How the connector checks the server, for `Debug` (`None`: the
    /// caller's connector).
    ssl_mode: Option<SslMode>,
    statements: Statements,
    table: TableName,
    readers: Pool,
    writers: Pool,
    timeout: Duration,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("config", &self.config)
            .field("ssl_mode", &self.ssl_mode)
            .field("table", &self.table)
            .field("read_connections", &self.readers.slots.len())
            .field("connections", &self.writers.slots.len())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Connections used in turn.
#[derive(Debug)]
struct Pool {
    slots: Box<[Slot]>,
    next: AtomicUsize,
}

impl Pool {
    fn new(n: usize) -> Self {
        Self {
            slots: (0..n).map(|_| Slot::default()).collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// The connection with the fewest calls in flight, looking from the
    /// next one in turn (so ties rotate), marked busy until the guard drops.
    fn pick(&self) -> Busy<'_> {
        let n = self.slots.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let mut best = &self.slots[start % n];
        let mut least = best.in_flight.load(Ordering::Relaxed);
        for i in 1..n {
            if least == 0 {
                break;
            }
            let slot = &self.slots[(start + i) % n];
            let busy = slot.in_flight.load(Ordering::Relaxed);
            if busy < least {
                (best, least) = (slot, busy);
            }
        }
        best.in_flight.fetch_add(1, Ordering::Relaxed);
        Busy(best)
    }
}

/// A slot picked for a call; counted in flight until dropped.
struct Busy<'a>(&'a Slot);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One connection, replaced when it breaks.
#[derive(Debug, Default)]
struct Slot {
    live: Mutex<Option<Arc<Conn>>>,
    /// Calls using this connection now.
    in_flight: AtomicUsize,
    /// Held while (re)connecting; the time of the last failed attempt, so
    /// calls fail fast for a moment instead of each trying again.
    connecting: tokio::sync::Mutex<Option<Instant>>,
}

/// After a failed connection attempt, calls on that slot fail at once for
/// this long.
const RETRY_AFTER: Duration = Duration::from_millis(200);

/// A connection and its prepared statements.
#[derive(Debug)]
struct Conn {
    client: Client,
    load: Statement,
    create: Statement,
    update: Statement,
    cycle: Statement,
    delete_if_expired: Statement,
    delete: Statement,
    delete_user: Statement,
    delete_expired: Statement,
    /// The revocation statements, prepared by the connection's first
    /// revocation call: a deployment that doesn't use revocations needs
    /// no revocation tables.
    revocations: tokio::sync::OnceCell<RevocationStatements>,
}

/// The prepared statements of [`PostgresRevocations`].
#[derive(Debug)]
struct RevocationStatements {
    check: Statement,
    generation: Statement,
    bump: Statement,
    deny: Statement,
    delete_expired_denials: Statement,
}

impl Conn {
    /// The revocation statements, prepared on first use (all in one round
    /// trip).
    async fn revocations(
        &self,
        sql: &Statements,
    ) -> Result<&RevocationStatements, tokio_postgres::Error> {
        self.revocations
            .get_or_try_init(|| async {
                let (check, generation, bump, deny, delete_expired_denials) = tokio::try_join!(
                    self.client.prepare(&sql.check),
                    self.client.prepare(&sql.generation),
                    self.client.prepare(&sql.bump),
                    self.client.prepare(&sql.deny),
                    self.client.prepare(&sql.delete_expired_denials),
                )?;
                Ok(RevocationStatements {
                    check,
                    generation,
                    bump,
                    deny,
                    delete_expired_denials,
                })
            })
            .await
    }
}

fn unavailable(why: impl Into<String>) -> StoreError {
    StoreError::new(StoreErrorKind::Unavailable, why.into())
}

/// The kind of a PostgreSQL error: a broken or refused connection (and a
/// server shutting down, starting up, or out of connections) is
/// `Unavailable`, a duplicate id is `Collision`, the rest `Backend`.
fn err(e: tokio_postgres::Error) -> StoreError {
    let kind = match e.code() {
        Some(code) if *code == SqlState::UNIQUE_VIOLATION => StoreErrorKind::Collision,
        Some(code)
            if code.code().starts_with("08")
                || code.code().starts_with("53")
                || code.code().starts_with("57P") =>
        {
            StoreErrorKind::Unavailable
        }
        Some(_) => StoreErrorKind::Backend,
        // The connection closed, or it could not be made (refused, timed
        // out, the server's certificate refused: rustls reports it as an
        // I/O error, native-tls as its own).
        None if e.is_closed()
            || std::error::Error::source(&e)
                .is_some_and(|s| s.is::<std::io::Error>() || tls::is_tls_error(s)) =>
        {
            StoreErrorKind::Unavailable
        }
        None => StoreErrorKind::Backend,
    };
    StoreError::new(kind, e)
}

/// A column of a row read back; a value of the wrong type is a corrupt
/// record, not a panic.
fn column<'r, T: tokio_postgres::types::FromSql<'r>>(
    row: &'r Row,
    index: usize,
) -> Result<T, StoreError> {
    row.try_get(index)
        .map_err(|e| StoreError::new(StoreErrorKind::Corrupt, e))
}

fn secs(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

/// A map's keys and their values as tagged JSON text, for `jsonb_object`.
fn key_texts(data: &Map) -> (Vec<&str>, Vec<String>) {
    data.iter()
        .map(|(k, v)| (k.as_str(), v.to_tagged_json()))
        .unzip()
}

/// [`StoreErrorKind::Unsupported`], explaining what PostgreSQL refuses.
fn nul_error(what: &str) -> StoreError {
    StoreError::new(
        StoreErrorKind::Unsupported,
        format!(
            "PostgreSQL can't store the NUL character (U+0000) in {what}: \
             jsonb object keys and TEXT columns refuse it"
        ),
    )
}

/// Refuses, before anything is sent, what PostgreSQL would refuse with a
/// generic error: NUL in a top-level session key (a `jsonb` object key) or in
/// the user id (a TEXT column). Values need no check: each is stored as its
/// tagged JSON text, which writes NUL as the escape `\u0000`, and nested
/// dict keys are inside that text too.
fn check(data: &Map, user: Option<&str>) -> Result<(), StoreError> {
    if let Some(key) = data.keys().find(|k| k.contains('\0')) {
        return Err(nul_error(&format!("a session key ({key:?})")));
    }
    if user.is_some_and(|u| u.contains('\0')) {
        return Err(nul_error("a user id"));
    }
    Ok(())
}

/// [`check`] for the keys a change set writes and the user it assigns.
fn check_changes(changes: &ChangeSet) -> Result<(), StoreError> {
    check(
        &changes.set,
        changes.user.as_ref().and_then(Option::as_deref),
    )
}

/// The values of a change set, bound as `$2`..`$9` of [`apply_changes!`].
struct ChangeParams<'a> {
    changes_data: bool,
    cleared: bool,
    removed: Vec<&'a str>,
    keys: Vec<&'a str>,
    texts: Vec<String>,
    expires_at: i64,
    set_user: bool,
    user: Option<&'a str>,
}

fn change_params(changes: &ChangeSet) -> ChangeParams<'_> {
    // A key holding NUL was never stored (see `check_changes`), so removing
    // it is a no-op; leaving it out keeps PostgreSQL from refusing the array.
    let removed = changes
        .removed
        .iter()
        .map(String::as_str)
        .filter(|k| !k.contains('\0'))
        .collect();
    let (keys, texts) = key_texts(&changes.set);
    let (set_user, user) = match &changes.user {
        Some(u) => (true, u.as_deref()),
        None => (false, None),
    };
    ChangeParams {
        changes_data: changes.changes_data(),
        cleared: changes.cleared,
        removed,
        keys,
        texts,
        expires_at: secs(changes.expires_at),
        set_user,
        user,
    }
}

impl ChangeParams<'_> {
    /// The parameters of `update` and `cycle_id`, in their statements'
    /// order: the record's id (`$1`), the change set (`$2`..`$9`) and the
    /// time (`$10`).
    fn with<'a>(&'a self, id: &'a &'a [u8], now: &'a i64) -> [&'a (dyn ToSql + Sync); 10] {
        [
            id,
            &self.changes_data,
            &self.cleared,
            &self.removed,
            &self.keys,
            &self.texts,
            &self.expires_at,
            &self.set_user,
            &self.user,
            now,
        ]
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host/db?sslmode=…`, or
    /// any form `tokio_postgres::Config` parses, plus libpq's
    /// `sslmode=verify-ca`/`verify-full` and `sslrootcert=FILE`: see "TLS"
    /// in the crate docs) with the default [`PostgresOptions`].
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Backend`] when the URL is invalid, the
    /// `sslrootcert` file can't be read or holds no certificate, or the
    /// server refuses the user or password;
    /// [`StoreErrorKind::Unavailable`] when the database can't be reached
    /// in time or its TLS certificate is refused.
    ///
    /// ```no_run
    /// use websession_postgres::PostgresStore;
    /// # async fn f() -> Result<(), websession_core::store::StoreError> {
    /// let store = PostgresStore::connect("postgres://app@db.internal/app").await?;
    /// store.migrate().await?; // once, at deploy time or start-up
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, PostgresOptions::default()).await
    }

    /// Connects to `url` with these options (which override the URL's
    /// `sslmode` and `sslrootcert`). One read and one write connection are
    /// made before this returns; the others when calls first need them.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use websession_postgres::{PostgresOptions, PostgresStore};
    /// # async fn f() -> Result<(), websession_core::store::StoreError> {
    /// let options = PostgresOptions::default().connections(8).timeout(Duration::from_secs(2));
    /// let store = PostgresStore::connect_with("postgres://app@db.internal/app", options).await?;
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    pub async fn connect_with(url: &str, options: PostgresOptions) -> Result<Self, StoreError> {
        let params = tls::take_tls_params(url)?;
        let config: tokio_postgres::Config = params
            .rest
            .parse()
            .map_err(|e| StoreError::new(StoreErrorKind::Backend, e))?;
        let mut options = options;
        if options.root_certificates.is_none() {
            if let Some(path) = &params.root_cert_file {
                let pem = std::fs::read(path).map_err(|e| {
                    StoreError::new(
                        StoreErrorKind::Backend,
                        format!("could not read sslrootcert {path:?}: {e}"),
                    )
                })?;
                options.root_certificates = Some(pem);
            }
        }
        let mode = options
            .ssl_mode
            .or(params.mode)
            .unwrap_or_else(|| SslMode::from_wire(config.get_ssl_mode()));
        Self::with_own_tls(config, mode, options).await
    }

    /// Connects with a `tokio_postgres::Config` (tokio-postgres 0.7, the
    /// re-exported [`tokio_postgres`]) you built, through the store's own
    /// TLS connector: the mode is [`PostgresOptions::ssl_mode`] if set, else
    /// the config's (`Disable`, `Prefer` or `Require`).
    ///
    /// The store takes a config, not a pool (`deadpool`, `bb8`, sqlx's
    /// `PgPool`): it keeps its own small sets of pipelined connections with
    /// every statement prepared on each (see "The client" in the crate
    /// docs), which a pool's checkout-per-call model would undo.
    ///
    /// ```no_run
    /// use websession_postgres::{tokio_postgres, PostgresOptions, PostgresStore, SslMode};
    /// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut config = tokio_postgres::Config::new();
    /// config.host("db.internal").user("app").dbname("app").password(std::env::var("PGPASSWORD")?);
    /// let options = PostgresOptions::default().ssl_mode(SslMode::VerifyFull);
    /// let store = PostgresStore::from_config(config, options).await?;
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`connect_with`](Self::connect_with).
    pub async fn from_config(
        config: tokio_postgres::Config,
        options: PostgresOptions,
    ) -> Result<Self, StoreError> {
        let mode = options
            .ssl_mode
            .unwrap_or_else(|| SslMode::from_wire(config.get_ssl_mode()));
        Self::with_own_tls(config, mode, options).await
    }

    /// Connects with a `tokio_postgres::Config` and a TLS connector you
    /// built (`postgres_native_tls::MakeTlsConnector`,
    /// `tokio_postgres_rustls::MakeRustlsConnect`, `NoTls`, …): the config's
    /// `ssl_mode` says when TLS is used and the connector how the server
    /// is checked. [`PostgresOptions::ssl_mode`] and
    /// [`PostgresOptions::root_certificates_pem`] are not used.
    ///
    /// ```no_run
    /// use websession_postgres::{tokio_postgres, PostgresOptions, PostgresStore};
    /// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// let config: tokio_postgres::Config = "host=/run/postgresql user=app dbname=app".parse()?;
    /// let store =
    ///     PostgresStore::from_config_with_tls(config, tokio_postgres::NoTls, PostgresOptions::default())
    ///         .await?;
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`connect_with`](Self::connect_with).
    pub async fn from_config_with_tls<T>(
        config: tokio_postgres::Config,
        tls: T,
        options: PostgresOptions,
    ) -> Result<Self, StoreError>
    where
        T: tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket>
            + Clone
            + Send
            + Sync
            + 'static,
        T::Stream: Send + 'static,
        T::TlsConnect: Send,
        <T::TlsConnect as tokio_postgres::tls::TlsConnect<tokio_postgres::Socket>>::Future: Send,
    {
        Self::start(config, tls::connector(tls), None, options).await
    }

    async fn with_own_tls(
        mut config: tokio_postgres::Config,
        mode: SslMode,
        options: PostgresOptions,
    ) -> Result<Self, StoreError> {
        config.ssl_mode(mode.wire());
        let connect = tls::own_connector(mode, options.root_certificates.as_deref())?;
        Self::start(config, connect, Some(mode), options).await
    }

    async fn start(
        mut config: tokio_postgres::Config,
        connect: tls::Connect,
        ssl_mode: Option<SslMode>,
        options: PostgresOptions,
    ) -> Result<Self, StoreError> {
        if let Some(timeout) = options.connect_timeout {
            config.connect_timeout(timeout);
        } else if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.timeout);
        }
        let store = Self {
            inner: Arc::new(Inner {
                config,
                connect,
                ssl_mode,
                statements: Statements::new(&options.table),
                table: options.table,
                readers: Pool::new(options.read_connections),
                writers: Pool::new(options.connections),
                timeout: options.timeout,
            }),
        };
        // One connection of each kind now, to report an unreachable server,
        // a refused password or certificate at once; the others when calls
        // first need them.
        let (readers, writers) = (&store.inner.readers, &store.inner.writers);
        for slot in readers
            .slots
            .iter()
            .take(1)
            .chain(writers.slots.iter().take(1))
        {
            match store.inner.with_deadline(store.inner.conn(slot)).await {
                // Connected, but the statements don't prepare: the table
                // is not there yet (`migrate` comes next). The first call
                // after it connects again.
                Err(e) if no_table(&e) => break,
                done => {
                    done?;
                }
            }
        }
        Ok(store)
    }

    /// The SQL that [`migrate`](Self::migrate) runs for these options'
    /// table, for people who run migrations themselves: idempotent, so it
    /// can be applied as it is at every deploy. For the default table it
    /// is [`SCHEMA`] (with the names quoted).
    ///
    /// ```
    /// use websession_postgres::{PostgresOptions, PostgresStore, TableName};
    /// let options = PostgresOptions::default().table(TableName::new("sessions")?.in_schema("auth")?);
    /// let sql = PostgresStore::migration_sql(&options);
    /// assert!(sql.contains(r#"CREATE TABLE IF NOT EXISTS "auth"."sessions" ("#));
    /// # Ok::<(), websession_postgres::InvalidTableName>(())
    /// ```
    #[must_use]
    pub fn migration_sql(options: &PostgresOptions) -> String {
        options.table.migration_sql()
    }

    /// Creates the table and indexes, or brings a table made by the previous
    /// version up to date ([`SCHEMA`]; see the crate docs).
    ///
    /// # Errors
    ///
    /// When the database refuses the schema.
    ///
    /// ```no_run
    /// # async fn f(store: websession_postgres::PostgresStore) -> Result<(), websession_core::store::StoreError> {
    /// store.migrate().await?; // safe to run again: each step checks first
    /// # Ok(()) }
    /// ```
    pub async fn migrate(&self) -> Result<(), StoreError> {
        // Its own connection: the schema must not wait behind (nor hold up)
        // the pipelined session traffic, and a long table rewrite must not
        // trip the per-call timeout.
        let (client, task) = (self.inner.connect)(self.inner.config.clone())
            .await
            .map_err(err)?;
        let done = client
            .batch_execute(&self.inner.table.migration_sql())
            .await
            .map_err(err);
        drop(client);
        let _ = task.await;
        done
    }
}

impl Inner {
    /// `fut`, failing with `Unavailable` past the call timeout.
    async fn with_deadline<T>(
        &self,
        fut: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.timeout, fut)
            .await
            .unwrap_or_else(|_| {
                Err(unavailable(format!(
                    "PostgreSQL did not answer within {:?}",
                    self.timeout
                )))
            })
    }

    /// The slot's connection, made (or remade) if it has none or it broke.
    async fn conn(&self, slot: &Slot) -> Result<Arc<Conn>, StoreError> {
        if let Some(conn) = live(slot) {
            return Ok(conn);
        }
        let mut last_failure = slot.connecting.lock().await;
        if let Some(conn) = live(slot) {
            return Ok(conn); // another call reconnected meanwhile
        }
        if last_failure.is_some_and(|t| t.elapsed() < RETRY_AFTER) {
            return Err(unavailable(
                "PostgreSQL is unreachable (the last connection attempt failed just now)",
            ));
        }
        match self.open().await {
            Ok(conn) => {
                let conn = Arc::new(conn);
                *last_failure = None;
                *slot.live.lock().unwrap_or_else(|e| e.into_inner()) = Some(conn.clone());
                Ok(conn)
            }
            Err(e) => {
                if e.kind() == StoreErrorKind::Unavailable {
                    *last_failure = Some(Instant::now());
                }
                Err(e)
            }
        }
    }

    /// A new connection, its task spawned, its statements prepared.
    async fn open(&self) -> Result<Conn, StoreError> {
        // The task ends when the connection closes; `Client::is_closed` then
        // tells the next call to reconnect.
        let (client, _task) = (self.connect)(self.config.clone()).await.map_err(err)?;
        let sql = &self.statements;
        // All written at once: a connection is ready after one round trip
        // of prepares, however many statements there are. (Boxed: side by
        // side, the futures would outgrow a test thread's stack.)
        macro_rules! prepared {
            ($($name:ident),*) => {{
                let ($($name,)*) =
                    tokio::try_join!($(Box::pin(client.prepare(&sql.$name)),)*).map_err(err)?;
                Conn { client, $($name,)* revocations: tokio::sync::OnceCell::new() }
            }};
        }
        Ok(prepared!(
            load,
            create,
            update,
            cycle,
            delete_if_expired,
            delete,
            delete_user,
            delete_expired
        ))
    }

    /// Runs `f` on the next connection, within the call timeout. A
    /// connection that failed or timed out is dropped, so the next call on
    /// its slot reconnects.
    async fn call<T, F, Fut>(&self, pool: &Pool, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(Arc<Conn>) -> Fut,
        Fut: Future<Output = Result<T, tokio_postgres::Error>>,
    {
        let busy = pool.pick();
        let slot = busy.0;
        let started = tokio::time::Instant::now();
        let conn = self.with_deadline(self.conn(slot)).await?;
        let left = self.timeout.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, f(conn.clone())).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                let e = err(e);
                if e.kind() == StoreErrorKind::Unavailable {
                    forget(slot, &conn);
                }
                Err(e)
            }
            Err(_) => {
                forget(slot, &conn);
                Err(unavailable(format!(
                    "PostgreSQL did not answer within {:?}",
                    self.timeout
                )))
            }
        }
    }
}

/// The slot's connection if it has one that is still open.
fn live(slot: &Slot) -> Option<Arc<Conn>> {
    let guard = slot.live.lock().unwrap_or_else(|e| e.into_inner());
    guard.as_ref().filter(|c| !c.client.is_closed()).cloned()
}

/// Drops `conn` from its slot (unless it was replaced already).
fn forget(slot: &Slot, conn: &Arc<Conn>) {
    let mut guard = slot.live.lock().unwrap_or_else(|e| e.into_inner());
    if guard.as_ref().is_some_and(|c| Arc::ptr_eq(c, conn)) {
        *guard = None;
    }
}

/// Whether a connection attempt failed only because the table (or its
/// schema) is missing: the server is reachable and took the login.
fn no_table(e: &StoreError) -> bool {
    std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<tokio_postgres::Error>())
        .and_then(tokio_postgres::Error::code)
        .is_some_and(|c| *c == SqlState::UNDEFINED_TABLE || *c == SqlState::INVALID_SCHEMA_NAME)
}

/// The record in a row of the load statement.
fn record(row: &Row) -> Result<Record, StoreError> {
    let keys: Option<Vec<&str>> = column(row, 3)?;
    let texts: Option<Vec<&str>> = column(row, 4)?;
    let (keys, texts) = (keys.unwrap_or_default(), texts.unwrap_or_default());
    if keys.len() != texts.len() {
        return Err(StoreError::new(
            StoreErrorKind::Corrupt,
            "the session's keys and values don't pair up",
        ));
    }
    let data = keys
        .into_iter()
        .zip(texts)
        .map(|(k, v)| Ok((k.to_owned(), decode_value(v)?)))
        .collect::<Result<Map, StoreError>>()?;
    Ok(Record::new(
        data,
        u64::try_from(column::<i64>(row, 0)?).unwrap_or(0),
        u64::try_from(column::<i64>(row, 1)?).unwrap_or(0),
    )
    .with_user(column::<Option<String>>(row, 2)?))
}

#[async_trait::async_trait]
impl SessionStore for PostgresStore {
    async fn load(&self, id: &IdHash, now: u64) -> Result<Option<Record>, StoreError> {
        let now = secs(now);
        let row = self
            .inner
            .call(&self.inner.readers, |c| async move {
                c.client.query_opt(&c.load, &[&id.as_bytes(), &now]).await
            })
            .await?;
        row.as_ref().map(record).transpose()
    }

    async fn create(&self, id: &IdHash, record: &Record, now: u64) -> Result<(), StoreError> {
        check(&record.data, record.user.as_deref())?;
        let (keys, texts) = key_texts(&record.data);
        let (created, expires, user, now) = (
            secs(record.created_at),
            secs(record.expires_at),
            record.user.as_deref(),
            secs(now),
        );
        let params: [&(dyn ToSql + Sync); 7] = [
            &id.as_bytes(),
            &keys,
            &texts,
            &created,
            &expires,
            &user,
            &now,
        ];
        let done = self
            .inner
            .call(&self.inner.writers, |c| async move {
                c.client.execute(&c.create, &params).await
            })
            .await?;
        if done == 0 {
            return Err(StoreError::from_kind(StoreErrorKind::Collision));
        }
        Ok(())
    }

    async fn update(&self, id: &IdHash, changes: &ChangeSet, now: u64) -> Result<(), StoreError> {
        check_changes(changes)?;
        let p = change_params(changes);
        let now = secs(now);
        let id = id.as_bytes();
        let params = p.with(&id, &now);
        let done = self
            .inner
            .call(&self.inner.writers, |c| async move {
                c.client.execute(&c.update, &params).await
            })
            .await?;
        if done == 0 {
            return Err(StoreError::from_kind(StoreErrorKind::NotFound));
        }
        Ok(())
    }

    async fn cycle_id(
        &self,
        old: &IdHash,
        new: &IdHash,
        changes: &ChangeSet,
        now: u64,
    ) -> Result<(), StoreError> {
        check_changes(changes)?;
        let p = change_params(changes);
        let now = secs(now);
        let (old_id, new_id) = (old.as_bytes(), new.as_bytes());
        let [a, b, c, d, e, f, g, h, i, j] = p.with(&old_id, &now);
        let params: [&(dyn ToSql + Sync); 11] = [a, b, c, d, e, f, g, h, i, j, &new_id];
        // The move and the change set in one statement, with `update`'s SET
        // list: atomic without a transaction. A live `new` is a unique
        // violation (Collision) and changes nothing; a racing `delete(old)`
        // either ran first (no row: NotFound) or waits for this statement
        // and then finds no row under `old`.
        let mut moved = self
            .inner
            .call(&self.inner.writers, |c| async move {
                c.client.execute(&c.cycle, &params).await
            })
            .await;
        if moved
            .as_ref()
            .is_err_and(|e| e.kind() == StoreErrorKind::Collision)
        {
            // `new` is taken, maybe by an expired row (a 2^-256 chance for a
            // random id, unless a caller picks it): delete it if so, and try
            // once more. A live row stays, and the retry reports Collision.
            let gone = self
                .inner
                .call(&self.inner.writers, |c| async move {
                    c.client
                        .execute(&c.delete_if_expired, &[&new.as_bytes(), &now])
                        .await
                })
                .await?;
            if gone > 0 {
                moved = self
                    .inner
                    .call(&self.inner.writers, |c| async move {
                        c.client.execute(&c.cycle, &params).await
                    })
                    .await;
            }
        }
        if moved? == 0 {
            return Err(StoreError::from_kind(StoreErrorKind::NotFound));
        }
        Ok(())
    }

    async fn delete(&self, id: &IdHash) -> Result<(), StoreError> {
        self.inner
            .call(&self.inner.writers, |c| async move {
                c.client.execute(&c.delete, &[&id.as_bytes()]).await
            })
            .await?;
        Ok(())
    }

    async fn delete_all_for(&self, user: &str) -> Result<u64, StoreError> {
        if user.contains('\0') {
            return Ok(0); // no stored session can have this user id
        }
        self.inner
            .call(&self.inner.writers, |c| async move {
                c.client.execute(&c.delete_user, &[&user]).await
            })
            .await
    }

    /// One `DELETE`. Under PostgreSQL's row locks a racing `cycle_id` (an
    /// `UPDATE` of the row's id) either commits first, and the `DELETE`
    /// follows the row to its new version and deletes it there, or waits
    /// for the `DELETE` and then finds no row to move.
    async fn delete_others_of(
        &self,
        user: &str,
        keep: &IdHash,
        now: u64,
    ) -> Result<u64, StoreError> {
        if user.contains('\0') {
            return Ok(0); // no stored session can have this user id
        }
        let now = secs(now);
        let sql = &self.inner.statements.delete_others;
        self.inner
            .call(&self.inner.writers, |c| async move {
                c.client
                    .execute(sql.as_str(), &[&user, &keep.as_bytes(), &now])
                    .await
            })
            .await
    }

    async fn sessions_of(&self, user: &str, now: u64) -> Result<Vec<(IdHash, Record)>, StoreError> {
        if user.contains('\0') {
            return Ok(Vec::new()); // no stored session can have this user id
        }
        let now = secs(now);
        let sql = &self.inner.statements.sessions_of;
        let rows = self
            .inner
            .call(&self.inner.readers, |c| async move {
                c.client.query(sql.as_str(), &[&user, &now]).await
            })
            .await?;
        rows.iter()
            .map(|row| {
                let id: Vec<u8> = column(row, 5)?;
                let id = IdHash::from_bytes(&id).ok_or_else(|| {
                    StoreError::new(StoreErrorKind::Corrupt, "a session id that isn't 32 bytes")
                })?;
                Ok((id, record(row)?))
            })
            .collect()
    }
}

#[async_trait::async_trait]
impl ExpiredDeletion for PostgresStore {
    async fn delete_expired(&self, now: u64) -> Result<u64, StoreError> {
        let now = secs(now);
        self.inner
            .call(&self.inner.writers, |c| async move {
                c.client.execute(&c.delete_expired, &[&now]).await
            })
            .await
    }
}
