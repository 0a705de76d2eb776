//! The PostgreSQL session store, for apps that run on many servers.
//!
//! # Setup
//!
//! Run [`PostgresStore::migrate`] once (or apply [`SCHEMA`] with your own
//! migration tool), then build the store from a URL or an existing pool:
//!
//! ```no_run
//! use websession::{SessionConfig, SessionManagerLayer, Sessions};
//! use websession_postgres::{ExpiredDeletion as _, PostgresStore};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = PostgresStore::connect("postgres://postgres@127.0.0.1/app").await?;
//! store.migrate().await?;
//! let _cleanup = store.spawn_cleanup(std::time::Duration::from_secs(600));
//! let layer = SessionManagerLayer::new(Sessions::with_store(store, SessionConfig::default())?);
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! One row per session, keyed by the SHA-256 of its id. The data is a
//! `jsonb` object mapping each session key to the key's value as Flask's
//! tagged JSON text (a string, so `NaN`, huge integers and lone surrogates
//! survive `jsonb`). An update is one statement,
//! `data = (data - removed) || set`, so overlapping requests that change
//! different keys both keep their writes, and it matches only a live row, so
//! a deleted session is never written back. Expired rows are hidden by every
//! query and deleted by [`ExpiredDeletion::spawn_cleanup`] through the
//! `expires_at` index.
//!
//! [`SessionStore::cycle_id`] moves the row to its new id and applies the
//! request's change set in one statement (the same SET list as an update),
//! inside one transaction: either both happen or neither does.
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
//! can't have been stored), and so is [`SessionStore::delete_all_for`] of a
//! user id that holds NUL.
#![warn(missing_docs)]

pub use websession_core::store::ExpiredDeletion;

use std::collections::BTreeMap;
use std::time::Duration;

use sqlx::postgres::{PgArguments, PgPool, PgPoolOptions};
use sqlx::query::Query;
use sqlx::{Postgres, Row};
use websession_core::store::{
    decode_value, ChangeSet, IdHash, Record, SessionStore, StoreError, StoreErrorKind,
};
use websession_core::Map;

/// The table and indexes, created by [`PostgresStore::migrate`].
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS websession_sessions (
    id         BYTEA PRIMARY KEY,
    data       JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    user_id    TEXT
);
CREATE INDEX IF NOT EXISTS websession_sessions_expires_idx ON websession_sessions (expires_at);
CREATE INDEX IF NOT EXISTS websession_sessions_user_idx ON websession_sessions (user_id) WHERE user_id IS NOT NULL;
";

/// Sessions in a PostgreSQL table.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
}

fn err(e: sqlx::Error) -> StoreError {
    let kind = match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreErrorKind::Collision,
        sqlx::Error::PoolTimedOut
        | sqlx::Error::Io(_)
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_) => StoreErrorKind::Unavailable,
        _ => StoreErrorKind::Backend,
    };
    StoreError::new(kind, e)
}

/// A column of a row read back; a value of the wrong type is a corrupt
/// record, not a panic.
fn column<'r, T>(row: &'r sqlx::postgres::PgRow, index: usize) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(index)
        .map_err(|e| StoreError::new(StoreErrorKind::Corrupt, e))
}

fn secs(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

/// The `data` column for a map: key -> tagged JSON text.
fn to_column(data: &Map) -> String {
    let texts: BTreeMap<&str, String> = data
        .iter()
        .map(|(k, v)| (k.as_str(), v.to_tagged_json()))
        .collect();
    serde_json::to_string(&texts).unwrap_or_else(|_| "{}".into())
}

fn from_column(text: &str) -> Result<Map, StoreError> {
    let texts: BTreeMap<String, String> =
        serde_json::from_str(text).map_err(|e| StoreError::new(StoreErrorKind::Corrupt, e))?;
    texts
        .into_iter()
        .map(|(k, v)| Ok((k, decode_value(&v)?)))
        .collect()
}

/// The SET list that applies a [`ChangeSet`], shared by `update` and
/// `cycle_id` (a macro so that `concat!` builds each statement at compile
/// time). Parameters as bound by [`apply_query`]: `$2` cleared, `$3` removed
/// keys, `$4` set keys, `$5` expiry, `$6`/`$7` the user change; `$1` and `$8`
/// (id and now) belong to the WHERE clause.
macro_rules! apply_changes {
    () => {
        "data = ((CASE WHEN $2 THEN '{}'::jsonb ELSE data END) - $3::text[]) || $4::jsonb,
         expires_at = $5,
         user_id = CASE WHEN $6 THEN $7 ELSE user_id END"
    };
}

/// `sql` (which uses [`apply_changes!`]) with `$1` = `id`, `$2`..`$7` from
/// `changes`, and `$8` = `now`.
fn apply_query<'q>(
    sql: &'q str,
    id: &'q IdHash,
    changes: &'q ChangeSet,
    now: u64,
) -> Query<'q, Postgres, PgArguments> {
    // A key holding NUL was never stored (see `check_changes`), so removing
    // it is a no-op; leaving it out keeps PostgreSQL from refusing the array.
    let removed: Vec<&str> = changes
        .removed
        .iter()
        .map(String::as_str)
        .filter(|k| !k.contains('\0'))
        .collect();
    let (set_user, user) = match &changes.user {
        Some(u) => (true, u.as_deref()),
        None => (false, None),
    };
    sqlx::query(sql)
        .bind(id.as_bytes())
        .bind(changes.cleared)
        .bind(removed)
        .bind(to_column(&changes.set))
        .bind(secs(changes.expires_at))
        .bind(set_user)
        .bind(user)
        .bind(secs(now))
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

impl PostgresStore {
    /// Connects a pool to `url` (`postgres://user@host/db`). Acquiring a
    /// connection waits at most 3 seconds, so an unreachable database gives a
    /// timely 503 instead of a hung request.
    ///
    /// # Errors
    ///
    /// When the URL is invalid or the database can't be reached.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(3))
            .connect(url)
            .await
            .map_err(err)?;
        Ok(Self { pool })
    }

    /// A store over an existing pool.
    #[must_use]
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Creates the table and indexes if they don't exist ([`SCHEMA`]).
    ///
    /// # Errors
    ///
    /// When the database refuses the schema.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::raw_sql(SCHEMA)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl SessionStore for PostgresStore {
    async fn load(&self, id: &IdHash, now: u64) -> Result<Option<Record>, StoreError> {
        let row = sqlx::query(
            "SELECT data::text, created_at, expires_at, user_id FROM websession_sessions
             WHERE id = $1 AND expires_at > $2",
        )
        .bind(id.as_bytes())
        .bind(secs(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(err)?;
        let Some(row) = row else { return Ok(None) };
        let data = from_column(&column::<String>(&row, 0)?)?;
        Ok(Some(
            Record::new(
                data,
                u64::try_from(column::<i64>(&row, 1)?).unwrap_or(0),
                u64::try_from(column::<i64>(&row, 2)?).unwrap_or(0),
            )
            .with_user(column::<Option<String>>(&row, 3)?),
        ))
    }

    async fn create(&self, id: &IdHash, record: &Record, now: u64) -> Result<(), StoreError> {
        check(&record.data, record.user.as_deref())?;
        // Replaces an expired row with the same id; refuses a live one.
        let done = sqlx::query(
            "INSERT INTO websession_sessions (id, data, created_at, expires_at, user_id)
             VALUES ($1, $2::jsonb, $3, $4, $5)
             ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, created_at = EXCLUDED.created_at,
                 expires_at = EXCLUDED.expires_at, user_id = EXCLUDED.user_id
             WHERE websession_sessions.expires_at <= $6",
        )
        .bind(id.as_bytes())
        .bind(to_column(&record.data))
        .bind(secs(record.created_at))
        .bind(secs(record.expires_at))
        .bind(record.user.as_deref())
        .bind(secs(now))
        .execute(&self.pool)
        .await
        .map_err(err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::from_kind(StoreErrorKind::Collision));
        }
        Ok(())
    }

    async fn update(&self, id: &IdHash, changes: &ChangeSet, now: u64) -> Result<(), StoreError> {
        check_changes(changes)?;
        let done = apply_query(
            concat!(
                "UPDATE websession_sessions SET ",
                apply_changes!(),
                " WHERE id = $1 AND expires_at > $8"
            ),
            id,
            changes,
            now,
        )
        .execute(&self.pool)
        .await
        .map_err(err)?;
        if done.rows_affected() == 0 {
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
        // One transaction: an error returns early and the drop rolls back,
        // so a failure leaves `old` live and as it was.
        let mut tx = self.pool.begin().await.map_err(err)?;
        sqlx::query("DELETE FROM websession_sessions WHERE id = $1 AND expires_at <= $2")
            .bind(new.as_bytes())
            .bind(secs(now))
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        // The move and the change set in one statement, with `update`'s SET
        // list. A live `new` is a unique violation (Collision); a racing
        // `delete(old)` either ran first (no row: NotFound) or waits for this
        // transaction and then finds no row under `old`.
        let moved = apply_query(
            concat!(
                "UPDATE websession_sessions SET id = $9, ",
                apply_changes!(),
                " WHERE id = $1 AND expires_at > $8"
            ),
            old,
            changes,
            now,
        )
        .bind(new.as_bytes())
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        if moved.rows_affected() == 0 {
            return Err(StoreError::from_kind(StoreErrorKind::NotFound));
        }
        tx.commit().await.map_err(err)
    }

    async fn delete(&self, id: &IdHash) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM websession_sessions WHERE id = $1")
            .bind(id.as_bytes())
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn delete_all_for(&self, user: &str) -> Result<u64, StoreError> {
        if user.contains('\0') {
            return Ok(0); // no stored session can have this user id
        }
        let done = sqlx::query("DELETE FROM websession_sessions WHERE user_id = $1")
            .bind(user)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(done.rows_affected())
    }
}

#[async_trait::async_trait]
impl ExpiredDeletion for PostgresStore {
    async fn delete_expired(&self, now: u64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM websession_sessions WHERE expires_at <= $1")
            .bind(secs(now))
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(done.rows_affected())
    }
}
