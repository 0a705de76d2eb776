//! Error mapping: redis-rs's errors as [`StoreError`]s of the right kind.

use websession_core::store::{StoreError, StoreErrorKind};

/// Whether `e` says the server wasn't reached (or didn't answer in time),
/// rather than what it answered.
pub(crate) fn unreachable(e: &redis::RedisError) -> bool {
    e.is_io_error() || e.is_connection_refusal() || e.is_timeout() || e.is_connection_dropped()
}

pub(crate) fn err(e: impl Into<redis::RedisError>) -> StoreError {
    let e = e.into();
    let kind = if unreachable(&e) {
        StoreErrorKind::Unavailable
    } else {
        StoreErrorKind::Backend
    };
    StoreError::new(kind, e)
}

pub(crate) fn not_found() -> StoreError {
    StoreError::from_kind(StoreErrorKind::NotFound)
}
