//! Opening the store's connections: the file path in a URL, the pragmas of
//! the writer, the readers and the direct read connections.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use websession_core::store::{StoreError, StoreErrorKind};

use crate::statements::schema_sql;
use crate::SqliteOptions;

/// The file path in `url`: `sqlite://PATH`, `sqlite:PATH` or a plain path;
/// a query string (`?mode=rwc`, sqlx's form) is ignored.
pub(crate) fn path_of(url: &str) -> Result<PathBuf, StoreError> {
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

pub(crate) fn open_connection(
    path: &Path,
    options: &SqliteOptions,
) -> rusqlite::Result<Connection> {
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
pub(crate) fn connect_writer(path: &Path, options: &SqliteOptions) -> rusqlite::Result<Connection> {
    let conn = open_connection(path, options)?;
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
    conn.execute_batch(&schema_sql(&options.table_prefix))?;
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
pub(crate) fn set_max_size(conn: &Connection, bytes: Option<u64>) -> rusqlite::Result<u64> {
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

pub(crate) fn connect_reader(path: &Path, options: &SqliteOptions) -> rusqlite::Result<Connection> {
    let conn = open_connection(path, options)?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

/// A read connection for loads on the caller's thread: one that never
/// waits for a lock (busy: the load goes to a reader thread instead).
pub(crate) fn connect_direct(path: &Path, options: &SqliteOptions) -> rusqlite::Result<Connection> {
    let conn = connect_reader(path, options)?;
    conn.busy_timeout(Duration::ZERO)?;
    Ok(conn)
}
