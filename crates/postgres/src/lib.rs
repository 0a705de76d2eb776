//! The PostgreSQL session store, for apps that run on many servers.
//!
//! # Setup
//!
//! Run [`PostgresStore::migrate`] at start-up (or apply [`SCHEMA`], or
//! [`PostgresStore::schema_sql`] for another table name, with your own
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
//! ([`PostgresOptions::with_read_connections`], 2 by default), each carrying many
//! loads at once: the statements of concurrent requests are pipelined
//! (written back to back, answered in order) instead of each request taking
//! a connection of its own and waiting for it. Writes go over their own
//! connections ([`PostgresOptions::with_write_connections`], 16 by default): each write
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
//! answer 503) within [`PostgresOptions::with_response_timeout`] (5 seconds by default),
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
//! `sslmode`, from the URL or [`PostgresOptions::with_ssl_mode`]:
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
//! the URL, or [`PostgresOptions::with_root_certificates_pem`]. (libpq reads
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
//! // or: PostgresOptions::default().with_ssl_mode(SslMode::VerifyFull).with_root_certificates_pem(pem)
//! # let _ = store;
//! # Ok(()) }
//! ```
//!
//! # The table
//!
//! `websession_sessions` in the `search_path` by default;
//! [`PostgresOptions::with_table`] takes another name and schema ([`TableName`],
//! checked once and always quoted). [`PostgresStore::migrate`] creates the
//! table in an existing schema; people who run migrations themselves apply
//! [`PostgresStore::schema_sql`] (for the default name, [`SCHEMA`]):
//!
//! ```
//! use websession_postgres::{PostgresOptions, PostgresStore, TableName};
//! let options = PostgresOptions::default().with_table(TableName::new("sessions")?.in_schema("auth")?);
//! std::fs::write(
//!     std::env::temp_dir().join("V7__websession.sql"),
//!     PostgresStore::schema_sql(&options),
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
//! [`PostgresStore::schema_sql`]) creates them; every connection
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
#[cfg(doc)]
use websession_core::store::{decode_value, SessionStore, StoreErrorKind};

mod error;
mod options;
mod pool;
mod revocations;
mod session_store;
mod statements;
mod store;
mod table;
mod tls;

pub use options::PostgresOptions;
pub use revocations::PostgresRevocations;
pub use store::PostgresStore;
pub use table::{InvalidTableName, TableName};
pub use tls::SslMode;
/// The tokio-postgres version this store is built on (0.7), for
/// [`PostgresStore::from_config`] and
/// [`PostgresStore::from_config_with_tls`] (whose connector implements
/// tokio-postgres 0.7's `MakeTlsConnect`).
pub use tokio_postgres;

/// The table, its indexes, the migration of a table created by the
/// previous version, and the revocation tables (see "Revocations" in the
/// crate docs); idempotent. [`PostgresStore::migrate`] runs it for the
/// default table name; for another, see [`PostgresStore::schema_sql`].
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
