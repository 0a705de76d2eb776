//! Server-side sessions: the cookie holds only a random [`SessionId`]; the
//! data lives in a [`SessionStore`].
//!
//! Stores never see raw ids: every operation takes the [`IdHash`] (SHA-256 of
//! the id), so a leaked table or a Redis dump holds no usable session ids.
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
//! their own crates. Each runs the conformance suite in [`conformance`]
//! (feature `test-util`).

use std::collections::BTreeSet;
use std::fmt;

use crate::value::{Map, Value};

mod id;
mod memory;

#[cfg(feature = "test-util")]
pub mod conformance;

/// Deletes `store`'s expired records every `interval`, in a tokio task,
/// until the returned handle is aborted (feature `tokio`). Errors are logged
/// and the task goes on; the first sweep runs at once.
#[cfg(feature = "tokio")]
#[must_use = "dropping the handle does not stop the task; abort it to stop"]
pub fn spawn_cleanup<S: SessionStore>(
    store: S,
    interval: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        loop {
            tick.tick().await;
            let now = crate::Clock::system().unix_seconds();
            match store.delete_expired(now).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(deleted = n, "expired sessions deleted"),
                Err(e) => {
                    tracing::warn!(error = %e, "session cleanup failed; retrying at the next tick")
                }
            }
        }
    })
}

pub use id::{IdHash, SessionId, SESSION_ID_LEN};
pub use memory::MemoryStore;

/// A stored session.
///
/// Its `Debug` shows the number of keys and the times, never the data or the user.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct Record {
    /// The session data.
    pub data: Map,
    /// When it was created, Unix seconds (for the absolute timeout).
    pub created_at: u64,
    /// When it expires, Unix seconds. Stores hide expired records.
    pub expires_at: u64,
    /// The user it belongs to, for [`SessionStore::delete_all_for`].
    pub user: Option<String>,
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Record")
            .field("data", &format_args!("<{} keys redacted>", self.data.len()))
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("user", &self.user.as_ref().map(|_| Redacted))
            .finish()
    }
}

/// Prints `<redacted>` in `Debug` output.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Record {
    /// A record with this data, creation and expiry time, and no user.
    #[must_use]
    pub fn new(data: Map, created_at: u64, expires_at: u64) -> Self {
        Self {
            data,
            created_at,
            expires_at,
            user: None,
        }
    }

    /// Sets the user.
    #[must_use]
    pub fn with_user(mut self, user: Option<String>) -> Self {
        self.user = user;
        self
    }

    /// Applies a change set to this record (what every store does, in its own way).
    pub fn apply(&mut self, changes: &ChangeSet) {
        if changes.cleared {
            self.data.clear();
        }
        for key in &changes.removed {
            self.data.remove(key);
        }
        for (k, v) in &changes.set {
            self.data.insert(k.clone(), v.clone());
        }
        self.expires_at = changes.expires_at;
        if let Some(user) = &changes.user {
            self.user.clone_from(user);
        }
    }
}

/// What one request changed in a session.
///
/// Applied in this order: `cleared` (drop every key), `removed`, `set`.
///
/// Its `Debug` shows how many keys are set and removed, never the values or the user.
#[derive(Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ChangeSet {
    /// Keys written, with their new values.
    pub set: Map,
    /// Keys removed (and not written again).
    pub removed: BTreeSet<String>,
    /// Every key was dropped first (`Session::clear`).
    pub cleared: bool,
    /// The new expiry, Unix seconds.
    pub expires_at: u64,
    /// `Some(user)` when the request called `set_user`.
    pub user: Option<Option<String>>,
}

impl fmt::Debug for ChangeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChangeSet")
            .field("set", &format_args!("<{} keys redacted>", self.set.len()))
            .field(
                "removed",
                &format_args!("<{} keys redacted>", self.removed.len()),
            )
            .field("cleared", &self.cleared)
            .field("expires_at", &self.expires_at)
            .field(
                "user",
                &self.user.as_ref().map(|u| u.as_ref().map(|_| Redacted)),
            )
            .finish()
    }
}

impl ChangeSet {
    /// A change set that only moves the expiry.
    #[must_use]
    pub fn touch(expires_at: u64) -> Self {
        Self {
            expires_at,
            ..Self::default()
        }
    }

    /// Sets `key` to `value`.
    #[must_use]
    pub fn with_set(mut self, key: impl Into<String>, value: Value) -> Self {
        let key = key.into();
        self.removed.remove(&key);
        self.set.insert(key, value);
        self
    }

    /// Removes `key`.
    #[must_use]
    pub fn with_removed(mut self, key: impl Into<String>) -> Self {
        let key = key.into();
        self.set.remove(&key);
        self.removed.insert(key);
        self
    }

    /// Drops every key before the sets are applied.
    #[must_use]
    pub fn with_cleared(mut self) -> Self {
        self.cleared = true;
        self
    }

    /// Assigns the session to `user` (or to nobody).
    #[must_use]
    pub fn with_user(mut self, user: Option<String>) -> Self {
        self.user = Some(user);
        self
    }

    /// Whether the data changes (not only the expiry).
    #[must_use]
    pub fn changes_data(&self) -> bool {
        self.cleared || !self.set.is_empty() || !self.removed.is_empty()
    }
}

/// What went wrong in a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// `create` found a record with that id.
    Collision,
    /// `update` or `cycle_id` found no (live) record: it was deleted or expired.
    NotFound,
    /// The backend could not be reached or timed out.
    Unavailable,
    /// A stored record could not be decoded.
    Corrupt,
    /// The backend can't store this data as given (PostgreSQL's `jsonb`
    /// refuses the NUL character in keys, values and user ids).
    Unsupported,
    /// Anything else the backend reported.
    Backend,
}

impl fmt::Display for StoreErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Collision => "a session with this id already exists",
            Self::NotFound => "the session no longer exists",
            Self::Unavailable => "the session store is unavailable",
            Self::Corrupt => "a stored session could not be decoded",
            Self::Unsupported => "the session store can't hold this data",
            Self::Backend => "the session store failed",
        })
    }
}

/// An error from a [`SessionStore`], keeping the driver's own error as its source.
#[derive(Debug)]
pub struct StoreError {
    kind: StoreErrorKind,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StoreError {
    /// An error of this kind with the driver's error as its source.
    pub fn new(
        kind: StoreErrorKind,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            kind,
            source: Some(source.into()),
        }
    }

    /// An error of this kind with no further source.
    #[must_use]
    pub fn from_kind(kind: StoreErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// The kind of failure.
    #[must_use]
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.kind, f)
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Where server-side sessions live.
///
/// Every method receives the current time (`now`, Unix seconds) so expiry is
/// testable with an injected clock; records whose `expires_at <= now` are
/// treated as absent by every operation.
#[async_trait::async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// The live record, or `None`. Never creates anything.
    async fn load(&self, id: &IdHash, now: u64) -> Result<Option<Record>, StoreError>;

    /// Stores a new record.
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Collision`] when a live record has this id.
    async fn create(&self, id: &IdHash, record: &Record, now: u64) -> Result<(), StoreError>;

    /// Applies a change set to a live record, atomically.
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::NotFound`] when there is no live record: it is never recreated.
    async fn update(&self, id: &IdHash, changes: &ChangeSet, now: u64) -> Result<(), StoreError>;

    /// Moves a live record to a new id and applies `changes` to it, in one
    /// atomic step: afterwards the old id is dead and the new id holds the
    /// record with the changes (and `changes.expires_at`), or nothing
    /// happened at all. Rotation and the request's writes are never split, so
    /// a failure can't leave the user without a live id.
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::NotFound`] when `old` is not live (deleted, revoked
    /// or expired, also when that happens while the call runs: the new id
    /// then holds nothing), [`StoreErrorKind::Collision`] when `new` is taken.
    async fn cycle_id(
        &self,
        old: &IdHash,
        new: &IdHash,
        changes: &ChangeSet,
        now: u64,
    ) -> Result<(), StoreError>;

    /// Deletes a record (no error if it is absent).
    async fn delete(&self, id: &IdHash) -> Result<(), StoreError>;

    /// Deletes expired records; returns how many. Stores with native expiry return 0.
    async fn delete_expired(&self, now: u64) -> Result<u64, StoreError>;

    /// Whether the backend deletes expired records by itself (Redis TTL), so
    /// that [`SessionStore::delete_expired`] has nothing to do. Default `false`.
    fn expires_natively(&self) -> bool {
        false
    }

    /// Deletes every session of `user` ("log out everywhere"); returns how many.
    async fn delete_all_for(&self, user: &str) -> Result<u64, StoreError>;
}

#[async_trait::async_trait]
impl<S: SessionStore + ?Sized> SessionStore for std::sync::Arc<S> {
    async fn load(&self, id: &IdHash, now: u64) -> Result<Option<Record>, StoreError> {
        (**self).load(id, now).await
    }
    async fn create(&self, id: &IdHash, record: &Record, now: u64) -> Result<(), StoreError> {
        (**self).create(id, record, now).await
    }
    async fn update(&self, id: &IdHash, changes: &ChangeSet, now: u64) -> Result<(), StoreError> {
        (**self).update(id, changes, now).await
    }
    async fn cycle_id(
        &self,
        old: &IdHash,
        new: &IdHash,
        changes: &ChangeSet,
        now: u64,
    ) -> Result<(), StoreError> {
        (**self).cycle_id(old, new, changes, now).await
    }
    async fn delete(&self, id: &IdHash) -> Result<(), StoreError> {
        (**self).delete(id).await
    }
    async fn delete_expired(&self, now: u64) -> Result<u64, StoreError> {
        (**self).delete_expired(now).await
    }
    fn expires_natively(&self) -> bool {
        (**self).expires_natively()
    }
    async fn delete_all_for(&self, user: &str) -> Result<u64, StoreError> {
        (**self).delete_all_for(user).await
    }
}
