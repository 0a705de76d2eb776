//! Server-side sessions: the cookie holds only a random [`SessionId`]; the
//! data lives in a [`SessionStore`].
//!
//! websession's stores never see raw ids: every operation takes the
//! [`IdHash`] (SHA-256 of the id, [`HashedIds`]), so a leaked table or a
//! Redis dump holds no usable session ids. A store that shares its records
//! with a Python app (`websession-python`) names another [`IdFormat`], and
//! is keyed by the raw id, as the Python side is.
//!
//! Updates are change sets, not whole records: a [`ChangeSet`] lists the
//! keys set and removed in one request, and the store applies exactly those,
//! atomically. Two overlapping requests of one user that touch different keys
//! both keep their writes (the peers we studied write the whole record back
//! and the last writer wins). An update of a record that is gone fails with
//! [`StoreErrorKind::NotFound`], so a logged-out session is never written back
//! to life.
//!
//! Implementations: [`MemoryStore`] here; SQLite, Redis and PostgreSQL in
//! their own crates. Each runs the conformance suite in `conformance`
//! (feature `test-util`).

mod error;
mod id;
mod memory;
mod record;
mod revocation;
mod session_store;

#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod conformance;

pub use error::{StoreError, StoreErrorKind};
pub use id::{HashedIds, IdFormat, IdHash, SessionId, SESSION_ID_LEN};
pub use memory::MemoryStore;
pub use record::{ChangeSet, Record};
pub use revocation::{MemoryRevocations, RevocationStore, Verdict};
pub use session_store::{ExpiredDeletion, SessionStore};

/// Reads a stored value. Every store keeps a value as
/// [`Value::to_tagged_json`](crate::Value::to_tagged_json) writes it:
/// Flask's tagged JSON, the text the signed cookie carries, so it reads back
/// exactly, every Python type included.
///
/// # Errors
///
/// [`StoreErrorKind::Corrupt`] when the text is not tagged JSON.
pub fn decode_value(text: &str) -> Result<crate::Value, StoreError> {
    crate::Value::from_tagged_json(text).map_err(|e| StoreError::new(StoreErrorKind::Corrupt, e))
}
