//! The SQLite session store: websession's embedded default.
//!
//! One file, no server, persistent across restarts. The database runs in WAL
//! mode with a busy timeout, so several processes (or a pool of connections)
//! can share it without lock errors.
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
//! let layer = SessionManagerLayer::new(Sessions::with_store(store, SessionConfig::default())?);
//! # Ok(()) }
//! ```
//!
//! Each session is a row of `websession_sessions` keyed by the SHA-256 of its
//! id, and each of its keys a row of `websession_values`, so an update
//! touches only the keys a request changed, in one transaction.
//! [`SessionStore::cycle_id`] moves the session to its new id and applies the
//! request's change set in one transaction too: both happen or neither does.
//!
//! SQLite stores text with its length, so keys, values and user ids may hold
//! the NUL character (U+0000) and round-trip unchanged.
#![warn(missing_docs)]

pub use websession_core::store::ExpiredDeletion;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};
use websession_core::store::{
    decode_value, ChangeSet, IdHash, Record, SessionStore, StoreError, StoreErrorKind,
};
use websession_core::Map;

/// The tables and indexes, created by [`SqliteStore::migrate`].
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
";

/// How long a connection waits for another writer before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Sessions in a SQLite database.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
}

fn err(e: sqlx::Error) -> StoreError {
    let kind = match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreErrorKind::Collision,
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
            StoreErrorKind::Unavailable
        }
        _ => StoreErrorKind::Backend,
    };
    StoreError::new(kind, e)
}

/// A column of a row read back; a value of the wrong type is a corrupt
/// record, not a panic.
fn column<'r, T>(row: &'r sqlx::sqlite::SqliteRow, index: usize) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
{
    row.try_get(index)
        .map_err(|e| StoreError::new(StoreErrorKind::Corrupt, e))
}

fn secs(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://PATH`, or
    /// a plain path), in WAL mode with a busy timeout, and creates the tables.
    ///
    /// # Errors
    ///
    /// When the file can't be opened or the schema can't be created.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let url = if url.starts_with("sqlite:") {
            url.to_owned()
        } else {
            format!("sqlite://{url}")
        };
        let options = SqliteConnectOptions::from_str(&url)
            .map_err(err)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(BUSY_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(err)?;
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// A store over an existing pool. Call [`SqliteStore::migrate`] once.
    #[must_use]
    pub fn from_pool(pool: SqlitePool) -> Self {
        Self { pool }
    }

    /// Creates the tables and indexes if they don't exist ([`SCHEMA`]).
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

    async fn insert_values(
        tx: &mut Transaction<'_, Sqlite>,
        id: &IdHash,
        data: &Map,
    ) -> Result<(), StoreError> {
        for (k, v) in data {
            let text = v.to_tagged_json();
            sqlx::query(
                "INSERT OR REPLACE INTO websession_values (id, key, value) VALUES (?, ?, ?)",
            )
            .bind(id.as_bytes())
            .bind(k)
            .bind(text)
            .execute(&mut **tx)
            .await
            .map_err(err)?;
        }
        Ok(())
    }

    /// Applies `changes` to the live record `id` inside `tx`: the expiry and
    /// user, then `cleared`, `removed` and `set`, in that order. What `update`
    /// does, and what `cycle_id` does after the move.
    async fn apply(
        tx: &mut Transaction<'_, Sqlite>,
        id: &IdHash,
        changes: &ChangeSet,
        now: u64,
    ) -> Result<(), StoreError> {
        let (set_user, user) = match &changes.user {
            Some(u) => (true, u.as_deref()),
            None => (false, None),
        };
        let updated = sqlx::query(
            "UPDATE websession_sessions SET expires_at = ?, user_id = CASE WHEN ? THEN ? ELSE user_id END
             WHERE id = ? AND expires_at > ?",
        )
        .bind(secs(changes.expires_at))
        .bind(set_user)
        .bind(user)
        .bind(id.as_bytes())
        .bind(secs(now))
        .execute(&mut **tx)
        .await
        .map_err(err)?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::from_kind(StoreErrorKind::NotFound)); // rolls back on drop
        }
        if changes.cleared {
            sqlx::query("DELETE FROM websession_values WHERE id = ?")
                .bind(id.as_bytes())
                .execute(&mut **tx)
                .await
                .map_err(err)?;
        }
        for key in &changes.removed {
            sqlx::query("DELETE FROM websession_values WHERE id = ? AND key = ?")
                .bind(id.as_bytes())
                .bind(key)
                .execute(&mut **tx)
                .await
                .map_err(err)?;
        }
        Self::insert_values(tx, id, &changes.set).await
    }
}

#[async_trait::async_trait]
impl SessionStore for SqliteStore {
    async fn load(&self, id: &IdHash, now: u64) -> Result<Option<Record>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.created_at, s.expires_at, s.user_id, v.key, v.value
             FROM websession_sessions s LEFT JOIN websession_values v ON v.id = s.id
             WHERE s.id = ? AND s.expires_at > ?",
        )
        .bind(id.as_bytes())
        .bind(secs(now))
        .fetch_all(&self.pool)
        .await
        .map_err(err)?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let mut record = Record::new(
            Map::new(),
            u64::try_from(column::<i64>(first, 0)?).unwrap_or(0),
            u64::try_from(column::<i64>(first, 1)?).unwrap_or(0),
        )
        .with_user(column::<Option<String>>(first, 2)?);
        for row in &rows {
            let (Some(key), Some(value)) = (
                column::<Option<String>>(row, 3)?,
                column::<Option<String>>(row, 4)?,
            ) else {
                continue;
            };
            record.data.insert(key, decode_value(&value)?);
        }
        Ok(Some(record))
    }

    async fn create(&self, id: &IdHash, record: &Record, now: u64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(err)?;
        // The first statement writes, so the transaction takes the write lock
        // at once (waiting up to the busy timeout) instead of failing later.
        sqlx::query("DELETE FROM websession_sessions WHERE id = ? AND expires_at <= ?")
            .bind(id.as_bytes())
            .bind(secs(now))
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        sqlx::query("INSERT INTO websession_sessions (id, created_at, expires_at, user_id) VALUES (?, ?, ?, ?)")
            .bind(id.as_bytes())
            .bind(secs(record.created_at))
            .bind(secs(record.expires_at))
            .bind(record.user.as_deref())
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        Self::insert_values(&mut tx, id, &record.data).await?;
        tx.commit().await.map_err(err)
    }

    async fn update(&self, id: &IdHash, changes: &ChangeSet, now: u64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(err)?;
        Self::apply(&mut tx, id, changes, now).await?;
        tx.commit().await.map_err(err)
    }

    async fn cycle_id(
        &self,
        old: &IdHash,
        new: &IdHash,
        changes: &ChangeSet,
        now: u64,
    ) -> Result<(), StoreError> {
        // One transaction: the move and the change set commit together or
        // not at all (an error returns early and the drop rolls back), so a
        // failure leaves `old` live and as it was.
        let mut tx = self.pool.begin().await.map_err(err)?;
        // The first statement writes, so the transaction holds the write lock
        // from here on: a racing `delete(old)` runs wholly before or after.
        sqlx::query("DELETE FROM websession_sessions WHERE id = ? AND expires_at <= ?")
            .bind(new.as_bytes())
            .bind(secs(now))
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        // Values follow through ON UPDATE CASCADE; a live `new` is a unique violation.
        let moved =
            sqlx::query("UPDATE websession_sessions SET id = ? WHERE id = ? AND expires_at > ?")
                .bind(new.as_bytes())
                .bind(old.as_bytes())
                .bind(secs(now))
                .execute(&mut *tx)
                .await
                .map_err(err)?;
        if moved.rows_affected() == 0 {
            return Err(StoreError::from_kind(StoreErrorKind::NotFound));
        }
        Self::apply(&mut tx, new, changes, now).await?;
        tx.commit().await.map_err(err)
    }

    async fn delete(&self, id: &IdHash) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM websession_sessions WHERE id = ?")
            .bind(id.as_bytes())
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn delete_all_for(&self, user: &str) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM websession_sessions WHERE user_id = ?")
            .bind(user)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(done.rows_affected())
    }
}

#[async_trait::async_trait]
impl ExpiredDeletion for SqliteStore {
    async fn delete_expired(&self, now: u64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM websession_sessions WHERE expires_at <= ?")
            .bind(secs(now))
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(done.rows_affected())
    }
}
