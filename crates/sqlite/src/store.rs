//! [`SqliteStore`]: opening the store, starting its threads, and handing
//! calls to them.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::oneshot;
use websession_core::store::{StoreError, StoreErrorKind};

use crate::connection::{connect_direct, connect_reader, connect_writer, open_connection, path_of};
use crate::error::{err, secs, unavailable, STOPPED};
use crate::jobs::{ReadJob, ReadOp, Reply, Write, WriteJob};
use crate::statements::Statements;
use crate::threads::{checkpoint_loop, reader_loop, writer_loop};
use crate::SqliteOptions;
#[cfg(doc)]
use crate::{TablePrefix, SCHEMA};

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
    /// let store = SqliteStore::connect(&format!("sqlite://{}", file.display())).await?;
    /// assert_eq!(store.path(), file.as_path());
    /// # drop(store); let _ = std::fs::remove_file(&file);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?; Ok(()) }
    /// ```
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, SqliteOptions::default()).await
    }

    /// [`SqliteStore::connect`] with these options.
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
    /// let store = SqliteStore::connect_with(&file.display().to_string(), options).await?;
    /// # drop(store); let _ = std::fs::remove_file(&file);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?; Ok(()) }
    /// ```
    pub async fn connect_with(url: &str, options: SqliteOptions) -> Result<Self, StoreError> {
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
        let checkpointer = open_connection(&path, options).map_err(err)?;
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

    /// Changes [`SqliteOptions::with_max_size`] while the store runs (`None`:
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
    /// let store = SqliteStore::connect(&file.display().to_string()).await?;
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
    /// idempotent, and [`SqliteStore::connect_with`] runs it too; for the
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
        crate::statements::schema_sql(&options.table_prefix)
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
    pub(crate) async fn read_any<T>(
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
    pub(crate) fn read(&self, op: ReadOp, now: u64) -> Result<(), StoreError> {
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

    pub(crate) async fn write(&self, op: Write) -> Result<u64, StoreError> {
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
