//! [`SqliteOptions`] and [`Synchronous`]: the threads, timeouts,
//! durability, size limit and table prefix a store is set up with.

use std::time::Duration;

use crate::TablePrefix;

/// How long a write waits for the database's write lock (held by another
/// process or another store on the same file), and how long any call may
/// wait in the store's queue, before failing with
/// [`StoreErrorKind::Unavailable`]: the default of
/// [`SqliteOptions::with_busy_timeout`].
///
/// [`StoreErrorKind::Unavailable`]: websession_core::store::StoreErrorKind::Unavailable
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

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
    pub(crate) fn pragma(self) -> &'static str {
        match self {
            Self::Normal => "NORMAL",
            Self::Full => "FULL",
        }
    }
}

/// How [`SqliteStore::connect_with`] sets the store up: its threads,
/// timeouts, durability, size limit and tables.
///
/// | setting | default |
/// |---|---|
/// | [`with_busy_timeout`](Self::with_busy_timeout) | [`BUSY_TIMEOUT`] (5 s) |
/// | [`with_readers`](Self::with_readers) | the CPUs this process may use, at most 4 |
/// | [`with_synchronous`](Self::with_synchronous) | [`Synchronous::Normal`] |
/// | [`with_max_size`](Self::with_max_size) | no limit but SQLite's own |
/// | [`with_direct_reads`](Self::with_direct_reads) | on |
/// | [`with_table_prefix`](Self::with_table_prefix) | `websession_` |
///
/// [`SqliteStore::connect_with`]: crate::SqliteStore::connect_with
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SqliteOptions {
    pub(crate) busy_timeout: Duration,
    pub(crate) readers: usize,
    pub(crate) synchronous: Synchronous,
    pub(crate) max_size: Option<u64>,
    pub(crate) direct_reads: bool,
    pub(crate) table_prefix: TablePrefix,
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
    /// How long a write waits for the database's write lock, and any call
    /// in the store's queue (default [`BUSY_TIMEOUT`]).
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

    /// Reader threads (each with its own connection) serving `load` (at
    /// least 1; default: the CPUs this process may use, at most 4).
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

    /// The most the database file may grow to, in bytes (SQLite's
    /// `max_page_count`); a write that needs more fails as a full disk does.
    /// Default: no limit but SQLite's own. See
    /// [`SqliteStore::set_max_size`](crate::SqliteStore::set_max_size).
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

    /// Whether loads run on the caller's thread (see "How it runs" in the
    /// crate docs). Default: on. There are as many direct read connections
    /// as reader threads; a load that finds them all in use goes to a
    /// reader thread.
    ///
    /// ```
    /// use websession_sqlite::SqliteOptions;
    /// // Every load on a reader thread: the async threads never touch the disk.
    /// let options = SqliteOptions::default().with_direct_reads(false);
    /// # let _ = options;
    /// ```
    #[must_use]
    pub fn with_direct_reads(mut self, on: bool) -> Self {
        self.direct_reads = on;
        self
    }

    /// The prefix of the table and index names (default `websession_`): the store keeps its sessions in
    /// `{prefix}sessions` and `{prefix}values` (its revocations in
    /// `{prefix}generations` and `{prefix}denied`), created by
    /// [`SqliteStore::connect_with`](crate::SqliteStore::connect_with) (or by you, from
    /// [`SqliteStore::schema_sql`](crate::SqliteStore::schema_sql)).
    ///
    /// ```
    /// use websession_sqlite::{SqliteOptions, TablePrefix};
    /// let options = SqliteOptions::default().with_table_prefix(TablePrefix::new("auth_")?);
    /// # let _ = options;
    /// # Ok::<(), websession_sqlite::InvalidTablePrefix>(())
    /// ```
    #[must_use]
    pub fn with_table_prefix(mut self, prefix: TablePrefix) -> Self {
        self.table_prefix = prefix;
        self
    }

    /// The `synchronous` setting (default [`Synchronous::Normal`]).
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
