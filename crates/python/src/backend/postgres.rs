//! The SQL layouts on PostgreSQL (tokio-postgres): [`PgBackend`], a
//! [`Backend`] over a product's table with a small pool of connections.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Statement};
use websession_core::store::{StoreError, StoreErrorKind};

use super::sql::{collision, epoch_seconds, DataColumn, Dialect, SqlLayout, Statements};
use crate::bridge::{Backend, Stored};

/// How many connections the pool opens at most (each on first need): one
/// operation holds one, so this bounds the queries in flight (websession's
/// own PostgreSQL store keeps 16 for writes).
const POOL_SIZE: usize = 16;
/// How long a connection may take to open, unless the URL says.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one operation may take before the store counts as down (its
/// connection is then dropped: the operation's state is unknown).
const OP_TIMEOUT: Duration = Duration::from_secs(10);
/// The latest time written: 9999-12-31 23:59:59 UTC (Python's `datetime`
/// and SQLite's text times end there).
const MAX_SECS: u64 = 253_402_300_799;

/// A product's table on PostgreSQL as a bridge [`Backend`].
///
/// Statements are prepared on each connection as it opens; a connection
/// that breaks or times out is dropped and opened again on next use.
/// Connections are plain TCP (`NoTls`).
pub(crate) struct PgBackend {
    config: tokio_postgres::Config,
    layout: SqlLayout,
    sql: Statements,
    slots: Vec<Mutex<Option<Conn>>>,
    next: AtomicUsize,
}

impl std::fmt::Debug for PgBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The config holds the password: only the table is shown.
        f.debug_struct("PgBackend")
            .field("table", &self.layout.table())
            .finish_non_exhaustive()
    }
}

/// One connection and its prepared statements.
struct Conn {
    client: Client,
    st: Prepared,
    /// Set when an operation failed in a way that leaves the connection's
    /// state unknown (a timeout, a lost connection): reopened on next use.
    broken: bool,
}

struct Prepared {
    get: Statement,
    insert: Statement,
    replace: Statement,
    delete_unchanged: Statement,
    delete: Statement,
    delete_if: Statement,
    scan: Statement,
    delete_expired: Statement,
}

impl PgBackend {
    /// Connects to `url` (a libpq URL or key=value string) and checks the
    /// table is there; with `create_missing`, first makes it (the product's
    /// own `CREATE TABLE`, [`SqlLayout::postgres_schema`]) when it isn't,
    /// as Flask-Session does at start-up.
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Unavailable`] when the server can't be reached;
    /// [`StoreErrorKind::Backend`] for a bad URL or a missing table.
    pub(crate) async fn connect(
        url: &str,
        layout: SqlLayout,
        create_missing: bool,
    ) -> Result<Self, StoreError> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::new(StoreErrorKind::Backend, e))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let backend = Self {
            config,
            sql: layout.statements(Dialect::Postgres),
            layout,
            slots: (0..POOL_SIZE).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
        };
        let client = backend.open_client().await?;
        if create_missing {
            let exists: bool = bounded(client.query_one(
                "SELECT to_regclass($1) IS NOT NULL",
                &[&backend.layout.table()],
            ))
            .await?
            .try_get(0)
            .map_err(|e| StoreError::new(StoreErrorKind::Backend, e))?;
            if !exists {
                bounded(client.batch_execute(&backend.layout.postgres_schema())).await?;
            }
        }
        let st = backend.prepare(&client).await?;
        if let Some(slot) = backend.slots.first() {
            *slot.lock().await = Some(Conn {
                client,
                st,
                broken: false,
            });
        }
        Ok(backend)
    }

    /// A new connection, its driver task spawned.
    async fn open_client(&self) -> Result<Client, StoreError> {
        let (client, connection) =
            tokio::time::timeout(CONNECT_TIMEOUT * 2, self.config.connect(NoTls))
                .await
                .map_err(|_| {
                    StoreError::new(
                        StoreErrorKind::Unavailable,
                        "connecting to PostgreSQL timed out",
                    )
                })?
                .map_err(pg_error)?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "a PostgreSQL session-store connection closed");
            }
        });
        Ok(client)
    }

    async fn prepare(&self, client: &Client) -> Result<Prepared, StoreError> {
        let s = &self.sql;
        let prepare = |text: &str| {
            let text = text.to_owned();
            async move { bounded(client.prepare(&text)).await }
        };
        Ok(Prepared {
            get: prepare(&s.get).await?,
            insert: prepare(&s.insert).await?,
            replace: prepare(&s.replace).await?,
            delete_unchanged: prepare(&s.delete_unchanged).await?,
            delete: prepare(&s.delete).await?,
            delete_if: prepare(&s.delete_if).await?,
            scan: prepare(&s.scan).await?,
            delete_expired: prepare(&s.delete_expired).await?,
        })
    }

    /// A connection of the pool (a free one if any), opened if needed.
    async fn lease(&self) -> Result<MappedMutexGuard<'_, Conn>, StoreError> {
        let n = self.slots.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let free = (0..n).find_map(|i| self.slots.get((start + i) % n)?.try_lock().ok());
        let mut guard: MutexGuard<'_, Option<Conn>> = match free {
            Some(guard) => guard,
            None => match self.slots.get(start % n) {
                Some(slot) => slot.lock().await,
                None => {
                    return Err(StoreError::new(
                        StoreErrorKind::Backend,
                        "no connection slots",
                    ))
                }
            },
        };
        if guard
            .as_ref()
            .is_none_or(|c| c.broken || c.client.is_closed())
        {
            *guard = None;
            let client = self.open_client().await?;
            let st = self.prepare(&client).await?;
            *guard = Some(Conn {
                client,
                st,
                broken: false,
            });
        }
        MutexGuard::try_map(guard, Option::as_mut)
            .map_err(|_| StoreError::new(StoreErrorKind::Backend, "no connection"))
    }

    /// The data column's value for `bytes`.
    fn data<'a>(&self, bytes: &'a [u8]) -> Result<Data<'a>, StoreError> {
        match self.layout.data_kind {
            DataColumn::Bytes => Ok(Data::Bytes(bytes)),
            DataColumn::Text => std::str::from_utf8(bytes)
                .map(Data::Text)
                .map_err(|e| StoreError::new(StoreErrorKind::Unsupported, e)),
        }
    }

    /// A row's data (column `i`) and expiry (column `i + 1`); a value of
    /// the wrong type is [`StoreErrorKind::Corrupt`].
    fn stored(&self, row: &Row, i: usize) -> Result<Stored, StoreError> {
        let corrupt = |e| StoreError::new(StoreErrorKind::Corrupt, e);
        let data = match self.layout.data_kind {
            DataColumn::Bytes => row.try_get::<_, Vec<u8>>(i).map_err(corrupt)?,
            DataColumn::Text => row.try_get::<_, String>(i).map_err(corrupt)?.into_bytes(),
        };
        let epoch: f64 = row.try_get(i + 1).map_err(corrupt)?;
        Ok(Stored {
            data,
            expires_at: epoch_seconds(epoch),
        })
    }
}

/// Unix seconds as bound to the statements (`float8`, at most
/// [`MAX_SECS`]).
#[allow(clippy::cast_precision_loss)] // exact: at most MAX_SECS < 2^53
fn secs(t: u64) -> f64 {
    t.min(MAX_SECS) as f64
}

/// A record's data as bound to the data column: bytes for `bytea`, text
/// for `text`. Binding it to a column of the other type is an error
/// (tokio-postgres checks the type), not a conversion.
#[derive(Debug)]
enum Data<'a> {
    Bytes(&'a [u8]),
    Text(&'a str),
}

impl Data<'_> {
    fn param(&self) -> &(dyn ToSql + Sync) {
        match self {
            Data::Bytes(b) => b,
            Data::Text(s) => s,
        }
    }
}

/// `op` with [`OP_TIMEOUT`], its error mapped.
async fn bounded<T>(
    op: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(OP_TIMEOUT, op)
        .await
        .map_err(|_| StoreError::new(StoreErrorKind::Unavailable, "PostgreSQL timed out"))?
        .map_err(pg_error)
}

/// `result` of an operation on `conn`; a connection that timed out or
/// broke is dropped (reopened on next use).
fn settle<T>(conn: &mut Conn, result: Result<T, StoreError>) -> Result<T, StoreError> {
    if let Err(e) = &result {
        if e.kind() == StoreErrorKind::Unavailable || conn.client.is_closed() {
            conn.broken = true;
        }
    }
    result
}

/// The kind of a PostgreSQL error: a broken or refused connection (and a
/// server shutting down, starting up, or out of connections) is
/// `Unavailable`, a duplicate key `Collision`, the rest `Backend`.
fn pg_error(e: tokio_postgres::Error) -> StoreError {
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
        None if e.is_closed()
            || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>()) =>
        {
            StoreErrorKind::Unavailable
        }
        None => StoreErrorKind::Backend,
    };
    StoreError::new(kind, e)
}

#[async_trait::async_trait]
impl Backend for PgBackend {
    async fn get(&self, key: &str, now: u64) -> Result<Option<Stored>, StoreError> {
        let mut conn = self.lease().await?;
        let result = bounded(conn.client.query_opt(&conn.st.get, &[&key, &secs(now)])).await;
        settle(&mut conn, result)?
            .map(|row| self.stored(&row, 0))
            .transpose()
    }

    async fn insert(
        &self,
        key: &str,
        data: &[u8],
        expires_at: u64,
        now: u64,
    ) -> Result<(), StoreError> {
        let data = self.data(data)?;
        let mut conn = self.lease().await?;
        let result = bounded(conn.client.execute(
            &conn.st.insert,
            &[&key, data.param(), &secs(expires_at), &secs(now)],
        ))
        .await;
        match settle(&mut conn, result)? {
            0 => Err(collision()),
            _ => Ok(()),
        }
    }

    async fn replace(
        &self,
        key: &str,
        old: &[u8],
        new: &[u8],
        expires_at: u64,
        now: u64,
    ) -> Result<bool, StoreError> {
        let (old, new) = (self.data(old)?, self.data(new)?);
        let mut conn = self.lease().await?;
        let result = bounded(conn.client.execute(
            &conn.st.replace,
            &[
                &key,
                old.param(),
                new.param(),
                &secs(expires_at),
                &secs(now),
            ],
        ))
        .await;
        Ok(settle(&mut conn, result)? > 0)
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
        let (old, new) = (self.data(old)?, self.data(new)?);
        let mut conn = self.lease().await?;
        let Conn { client, st, .. } = &mut *conn;
        let st = &*st;
        let moved = async {
            let tx = bounded(client.transaction()).await?;
            let deleted =
                bounded(tx.execute(&st.delete_unchanged, &[&old_key, old.param(), &secs(now)]))
                    .await?;
            if deleted == 0 {
                bounded(tx.rollback()).await?;
                return Ok(false);
            }
            let inserted = bounded(tx.execute(
                &st.insert,
                &[&new_key, new.param(), &secs(expires_at), &secs(now)],
            ))
            .await?;
            if inserted == 0 {
                bounded(tx.rollback()).await?;
                return Err(collision());
            }
            bounded(tx.commit()).await?;
            Ok(true)
        }
        .await;
        settle(&mut conn, moved)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let mut conn = self.lease().await?;
        let result = bounded(conn.client.execute(&conn.st.delete, &[&key])).await;
        settle(&mut conn, result).map(drop)
    }

    async fn delete_if(&self, key: &str, data: &[u8]) -> Result<bool, StoreError> {
        let data = self.data(data)?;
        let mut conn = self.lease().await?;
        let result = bounded(
            conn.client
                .execute(&conn.st.delete_if, &[&key, data.param()]),
        )
        .await;
        Ok(settle(&mut conn, result)? > 0)
    }

    async fn scan(&self, now: u64) -> Result<Vec<(String, Stored)>, StoreError> {
        let mut conn = self.lease().await?;
        let result = bounded(conn.client.query(&conn.st.scan, &[&secs(now)])).await;
        let rows = settle(&mut conn, result)?;
        drop(conn);
        let mut found = Vec::with_capacity(rows.len());
        let mut unreadable = 0_usize;
        for row in &rows {
            match (row.try_get::<_, String>(0), self.stored(row, 1)) {
                (Ok(key), Ok(stored)) => found.push((key, stored)),
                _ => unreadable += 1,
            }
        }
        if unreadable > 0 {
            tracing::warn!(
                target: "websession::security",
                table = self.layout.table(),
                unreadable,
                "session rows of the wrong type skipped"
            );
        }
        Ok(found)
    }

    async fn delete_expired(&self, now: u64) -> Result<u64, StoreError> {
        let mut conn = self.lease().await?;
        let result = bounded(conn.client.execute(&conn.st.delete_expired, &[&secs(now)])).await;
        settle(&mut conn, result)
    }
}
