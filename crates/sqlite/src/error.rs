//! Error mapping: rusqlite's errors as [`StoreError`]s of the right kind.

use rusqlite::ErrorCode;
use websession_core::store::{StoreError, StoreErrorKind};

pub(crate) fn err(e: rusqlite::Error) -> StoreError {
    let kind = match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            ErrorCode::ConstraintViolation
                if matches!(
                    f.extended_code,
                    rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                        | rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                ) =>
            {
                StoreErrorKind::Collision
            }
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::DiskFull
            | ErrorCode::SystemIoFailure
            | ErrorCode::CannotOpen
            | ErrorCode::ReadOnly
            | ErrorCode::OutOfMemory
            | ErrorCode::FileLockingProtocolFailed => StoreErrorKind::Unavailable,
            _ => StoreErrorKind::Backend,
        },
        rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::Utf8Error(..) => StoreErrorKind::Corrupt,
        _ => StoreErrorKind::Backend,
    };
    StoreError::new(kind, e)
}

pub(crate) fn unavailable(why: &'static str) -> StoreError {
    StoreError::new(StoreErrorKind::Unavailable, why)
}

pub(crate) const STOPPED: &str = "the SQLite store's thread has stopped";
pub(crate) const QUEUED_TOO_LONG: &str = "waited longer than the busy timeout for the SQLite store";

/// Seconds as SQLite's INTEGER (a time past its range saturates).
pub(crate) fn secs(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}
