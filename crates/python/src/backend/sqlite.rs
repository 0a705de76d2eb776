//! The SQL layouts on SQLite (rusqlite): [`SqliteBackend`], a [`Backend`]
//! over a product's table in a database file the Python app shares.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode, OpenFlags, Row, TransactionBehavior};
use websession_core::store::{StoreError, StoreErrorKind};

use super::sql::{collision, parse_sqlite_time, DataColumn, Dialect, SqlLayout, Statements};
use crate::bridge::{Backend, Stored};

/// How long a statement waits for another process's lock (the Python app
/// writes the same file) before the store counts as unavailable.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A product's table in a SQLite file as a bridge [`Backend`].
///
/// One connection (a busy timeout), used from tokio's blocking pool:
/// SQLite runs one writer at a time anyway, and the Python app's
/// connections wait on the same locks. The file's journal mode is the
/// Python app's to choose (WAL lets readers and the writer overlap; it is
/// set once, in the file, by `PRAGMA journal_mode=WAL`): opening the
/// store changes nothing in the file but what the store itself writes.
#[derive(Clone)]
pub(crate) struct SqliteBackend {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SqliteBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteBackend")
            .field("table", &self.inner.layout.table())
            .finish_non_exhaustive()
    }
}

struct Inner {
    conn: Mutex<Connection>,
    layout: SqlLayout,
    sql: Statements,
}

impl SqliteBackend {
    /// Opens the SQLite file at `path` and checks the table is there; with
    /// `create_missing`, first makes the file and the table (the product's
    /// own `CREATE TABLE`, [`SqlLayout::sqlite_schema`]) when they aren't,
    /// as Flask-Session does at start-up. `path` may be an SQLite URI
    /// (`file:db.sqlite3?mode=ro` opens it read-only, as the CLI does).
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Unavailable`] when the file can't be opened or
    /// stays locked; [`StoreErrorKind::Backend`] for a missing table.
    pub(crate) async fn open(
        path: impl AsRef<Path>,
        layout: SqlLayout,
        create_missing: bool,
    ) -> Result<Self, StoreError> {
        let path = path.as_ref().to_owned();
        tokio::task::spawn_blocking(move || {
            let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            if create_missing {
                flags |= OpenFlags::SQLITE_OPEN_CREATE;
            }
            let conn = Connection::open_with_flags(&path, flags).map_err(sqlite_error)?;
            conn.busy_timeout(BUSY_TIMEOUT).map_err(sqlite_error)?;
            if create_missing {
                conn.execute_batch(&layout.sqlite_schema())
                    .map_err(sqlite_error)?;
            }
            let sql = layout.statements(Dialect::Sqlite);
            // Preparing a statement checks the table and its columns exist.
            conn.prepare_cached(&sql.get).map_err(sqlite_error)?;
            Ok(Self {
                inner: Arc::new(Inner {
                    conn: Mutex::new(conn),
                    layout,
                    sql,
                }),
            })
        })
        .await
        .map_err(|e| StoreError::new(StoreErrorKind::Backend, e))?
    }

    /// Runs `f` on the connection, off the async workers.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection, &Inner) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner.conn.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut conn, &inner)
        })
        .await
        .map_err(|e| StoreError::new(StoreErrorKind::Backend, e))?
    }
}

impl Inner {
    /// A time bound to the expiry column.
    fn time(&self, unix: u64) -> String {
        self.layout.sqlite_time(unix)
    }

    /// Bytes bound to the data column: a BLOB or TEXT value as the
    /// layout's column holds it.
    fn data<'a>(&self, bytes: &'a [u8]) -> ToSqlOutput<'a> {
        ToSqlOutput::Borrowed(match self.layout.data_kind {
            DataColumn::Bytes => ValueRef::Blob(bytes),
            DataColumn::Text => ValueRef::Text(bytes),
        })
    }

    /// Runs `insert` (on a connection or in a transaction): how many rows
    /// it wrote (0 when a live row has the key).
    fn insert(
        &self,
        conn: &Connection,
        key: &str,
        data: &[u8],
        expires_at: u64,
        now: u64,
    ) -> Result<usize, StoreError> {
        conn.prepare_cached(&self.sql.insert)
            .and_then(|mut st| {
                st.execute(rusqlite::params![
                    key,
                    self.data(data),
                    self.time(expires_at),
                    self.time(now)
                ])
            })
            .map_err(sqlite_error)
    }

    /// A row's data (column `i`) and expiry (column `i + 1`); a value of
    /// the wrong storage class or an unreadable time is
    /// [`StoreErrorKind::Corrupt`].
    fn stored(&self, row: &Row<'_>, i: usize) -> Result<Stored, StoreError> {
        let data = match (self.layout.data_kind, row.get_ref(i).map_err(corrupt)?) {
            (DataColumn::Bytes, ValueRef::Blob(b)) | (DataColumn::Text, ValueRef::Text(b)) => {
                b.to_vec()
            }
            (_, other) => {
                return Err(StoreError::new(
                    StoreErrorKind::Corrupt,
                    format!("the data column holds a {}", other.data_type()),
                ))
            }
        };
        let expires_at = match row.get_ref(i + 1).map_err(corrupt)? {
            ValueRef::Text(t) => std::str::from_utf8(t).ok().and_then(parse_sqlite_time),
            _ => None,
        }
        .ok_or_else(|| {
            StoreError::new(StoreErrorKind::Corrupt, "the expiry column holds no time")
        })?;
        Ok(Stored { data, expires_at })
    }
}

fn corrupt(e: rusqlite::Error) -> StoreError {
    StoreError::new(StoreErrorKind::Corrupt, e)
}

/// The kind of a SQLite error: a lock held too long or a file that can't
/// be read is `Unavailable`, a duplicate key `Collision`, the rest `Backend`.
fn sqlite_error(e: rusqlite::Error) -> StoreError {
    let kind = match e.sqlite_error_code() {
        Some(
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::CannotOpen
            | ErrorCode::SystemIoFailure
            | ErrorCode::DiskFull
            | ErrorCode::OutOfMemory,
        ) => StoreErrorKind::Unavailable,
        Some(ErrorCode::ConstraintViolation) => StoreErrorKind::Collision,
        _ => StoreErrorKind::Backend,
    };
    StoreError::new(kind, e)
}

#[async_trait::async_trait]
impl Backend for SqliteBackend {
    async fn get(&self, key: &str, now: u64) -> Result<Option<Stored>, StoreError> {
        let key = key.to_owned();
        self.run(move |conn, inner| {
            let mut st = conn.prepare_cached(&inner.sql.get).map_err(sqlite_error)?;
            let mut rows = st
                .query(rusqlite::params![key, inner.time(now)])
                .map_err(sqlite_error)?;
            match rows.next().map_err(sqlite_error)? {
                Some(row) => inner.stored(row, 0).map(Some),
                None => Ok(None),
            }
        })
        .await
    }

    async fn insert(
        &self,
        key: &str,
        data: &[u8],
        expires_at: u64,
        now: u64,
    ) -> Result<(), StoreError> {
        let (key, data) = (key.to_owned(), data.to_vec());
        self.run(move |conn, inner| {
            if inner.insert(conn, &key, &data, expires_at, now)? == 0 {
                Err(collision())
            } else {
                Ok(())
            }
        })
        .await
    }

    async fn replace(
        &self,
        key: &str,
        old: &[u8],
        new: &[u8],
        expires_at: u64,
        now: u64,
    ) -> Result<bool, StoreError> {
        let (key, old, new) = (key.to_owned(), old.to_vec(), new.to_vec());
        self.run(move |conn, inner| {
            let n = conn
                .prepare_cached(&inner.sql.replace)
                .and_then(|mut st| {
                    st.execute(rusqlite::params![
                        key,
                        inner.data(&old),
                        inner.data(&new),
                        inner.time(expires_at),
                        inner.time(now)
                    ])
                })
                .map_err(sqlite_error)?;
            Ok(n > 0)
        })
        .await
    }

    async fn replace_moving(
        &self,
        old_key: &str,
        old: &[u8],
        new_key: &str,
        new: &[u8],
        expires_at: u64,
        now: u64,
    ) -> Result<bool, StoreError> {
        let (old_key, old, new_key, new) = (
            old_key.to_owned(),
            old.to_vec(),
            new_key.to_owned(),
            new.to_vec(),
        );
        self.run(move |conn, inner| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sqlite_error)?;
            let deleted = tx
                .prepare_cached(&inner.sql.delete_unchanged)
                .and_then(|mut st| {
                    st.execute(rusqlite::params![
                        old_key,
                        inner.data(&old),
                        inner.time(now)
                    ])
                })
                .map_err(sqlite_error)?;
            if deleted == 0 {
                tx.rollback().map_err(sqlite_error)?;
                return Ok(false);
            }
            let inserted = inner.insert(&tx, &new_key, &new, expires_at, now)?;
            if inserted == 0 {
                tx.rollback().map_err(sqlite_error)?;
                return Err(collision());
            }
            tx.commit().map_err(sqlite_error)?;
            Ok(true)
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.run(move |conn, inner| {
            conn.prepare_cached(&inner.sql.delete)
                .and_then(|mut st| st.execute([key]))
                .map_err(sqlite_error)
                .map(drop)
        })
        .await
    }

    async fn delete_if(&self, key: &str, data: &[u8]) -> Result<bool, StoreError> {
        let (key, data) = (key.to_owned(), data.to_vec());
        self.run(move |conn, inner| {
            let n = conn
                .prepare_cached(&inner.sql.delete_if)
                .and_then(|mut st| st.execute(rusqlite::params![key, inner.data(&data)]))
                .map_err(sqlite_error)?;
            Ok(n > 0)
        })
        .await
    }

    async fn scan(&self, now: u64) -> Result<Vec<(String, Stored)>, StoreError> {
        self.run(move |conn, inner| {
            let mut st = conn.prepare_cached(&inner.sql.scan).map_err(sqlite_error)?;
            let mut rows = st.query([inner.time(now)]).map_err(sqlite_error)?;
            let (mut found, mut unreadable) = (Vec::new(), 0_usize);
            while let Some(row) = rows.next().map_err(sqlite_error)? {
                let key = match row.get_ref(0) {
                    Ok(ValueRef::Text(k)) => std::str::from_utf8(k).ok().map(str::to_owned),
                    _ => None,
                };
                match (key, inner.stored(row, 1)) {
                    (Some(key), Ok(stored)) => found.push((key, stored)),
                    _ => unreadable += 1,
                }
            }
            if unreadable > 0 {
                tracing::warn!(
                    target: "websession::security",
                    table = inner.layout.table(),
                    unreadable,
                    "session rows of the wrong type skipped"
                );
            }
            Ok(found)
        })
        .await
    }

    async fn delete_expired(&self, now: u64) -> Result<u64, StoreError> {
        self.run(move |conn, inner| {
            let n = conn
                .prepare_cached(&inner.sql.delete_expired)
                .and_then(|mut st| st.execute([inner.time(now)]))
                .map_err(sqlite_error)?;
            Ok(u64::try_from(n).unwrap_or(u64::MAX))
        })
        .await
    }
}
