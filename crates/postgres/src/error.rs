//! Error mapping: tokio-postgres's errors as [`StoreError`]s of the right
//! kind, and what PostgreSQL would refuse, refused before it is sent.

use tokio_postgres::error::SqlState;
use tokio_postgres::Row;
use websession_core::store::{ChangeSet, StoreError, StoreErrorKind};

use crate::tls;

pub(crate) fn unavailable(why: impl Into<String>) -> StoreError {
    StoreError::new(StoreErrorKind::Unavailable, why.into())
}

/// The kind of a PostgreSQL error: a broken or refused connection (and a
/// server shutting down, starting up, or out of connections) is
/// `Unavailable`, a duplicate id is `Collision`, the rest `Backend`.
pub(crate) fn err(e: tokio_postgres::Error) -> StoreError {
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
        // The connection closed, or it could not be made (refused, timed
        // out, the server's certificate refused: rustls reports it as an
        // I/O error, native-tls as its own).
        None if e.is_closed()
            || std::error::Error::source(&e)
                .is_some_and(|s| s.is::<std::io::Error>() || tls::is_tls_error(s)) =>
        {
            StoreErrorKind::Unavailable
        }
        None => StoreErrorKind::Backend,
    };
    StoreError::new(kind, e)
}

/// A column of a row read back; a value of the wrong type is a corrupt
/// record, not a panic.
pub(crate) fn column<'r, T: tokio_postgres::types::FromSql<'r>>(
    row: &'r Row,
    index: usize,
) -> Result<T, StoreError> {
    row.try_get(index)
        .map_err(|e| StoreError::new(StoreErrorKind::Corrupt, e))
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
pub(crate) fn check<'a>(
    mut keys: impl Iterator<Item = &'a str>,
    user: Option<&str>,
) -> Result<(), StoreError> {
    if let Some(key) = keys.find(|k| k.contains('\0')) {
        return Err(nul_error(&format!("a session key ({key:?})")));
    }
    if user.is_some_and(|u| u.contains('\0')) {
        return Err(nul_error("a user id"));
    }
    Ok(())
}

/// [`check`] for the keys a change set writes and the user it assigns.
pub(crate) fn check_changes(changes: &ChangeSet) -> Result<(), StoreError> {
    check(
        changes.set.keys().map(String::as_str),
        changes.user.as_ref().and_then(Option::as_deref),
    )
}
