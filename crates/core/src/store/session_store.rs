//! The [`SessionStore`] contract, and [`ExpiredDeletion`] for stores that
//! must sweep expired records themselves.

#[cfg(doc)]
use super::StoreErrorKind;
use super::{ChangeSet, IdHash, Record, StoreError};

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
    async fn delete_all_for(&self, user: &str) -> Result<u64, StoreError> {
        (**self).delete_all_for(user).await
    }
}

/// Stores whose expired records stay until someone deletes them (SQL
/// tables, memory) implement this; stores that expire records by themselves
/// (Redis TTLs) don't, so there is nothing to schedule for them.
/// [`spawn_cleanup`](super::spawn_cleanup) runs it periodically.
///
/// Expired records are invisible to every [`SessionStore`] operation either
/// way; deleting them only reclaims space.
#[async_trait::async_trait]
pub trait ExpiredDeletion: SessionStore {
    /// Deletes the records whose `expires_at <= now`; returns how many.
    async fn delete_expired(&self, now: u64) -> Result<u64, StoreError>;

    /// Deletes expired records every `interval`, in a tokio task, until the
    /// returned handle is aborted (feature `tokio`); see
    /// [`spawn_cleanup`](super::spawn_cleanup).
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    #[must_use = "dropping the handle does not stop the task; abort it to stop"]
    fn spawn_cleanup(&self, interval: std::time::Duration) -> tokio::task::JoinHandle<()>
    where
        Self: Clone + Sized,
    {
        super::spawn_cleanup(self.clone(), interval)
    }
}

#[async_trait::async_trait]
impl<S: ExpiredDeletion + ?Sized> ExpiredDeletion for std::sync::Arc<S> {
    async fn delete_expired(&self, now: u64) -> Result<u64, StoreError> {
        (**self).delete_expired(now).await
    }
}
