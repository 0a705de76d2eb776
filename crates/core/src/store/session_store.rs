//! The [`SessionStore`] contract, and [`ExpiredDeletion`] for stores that
//! must sweep expired records themselves.

#[cfg(doc)]
use super::StoreErrorKind;
use super::{ChangeSet, HashedIds, IdFormat, IdHash, Record, StoreError};

/// Where server-side sessions live.
///
/// Every method receives the current time (`now`, Unix seconds) so expiry is
/// testable with an injected clock; records whose `expires_at <= now` are
/// treated as absent by every operation.
#[async_trait::async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// How this store's ids look in the cookie and which key it files a
    /// record under: websession's [`HashedIds`] unless the store shares its
    /// records with another program that has ids of its own.
    fn id_format(&self) -> &dyn IdFormat {
        &HashedIds
    }

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

    /// The live sessions of `user`, for a "where you're logged in" page: each
    /// record's id hash (never the id itself, which the store doesn't have),
    /// creation time, expiry and data (whatever the app records there, such
    /// as a user agent or a last-seen time). In no particular order. A
    /// session created while this runs may be missing.
    ///
    /// The default implementation returns [`StoreErrorKind::Unsupported`];
    /// every store in this workspace implements it.
    ///
    /// ```
    /// use websession_core::store::{MemoryStore, Record, SessionId, SessionStore};
    /// # block_on(async {
    /// let store = MemoryStore::new();
    /// let (phone, laptop) = (SessionId::generate().hash(), SessionId::generate().hash());
    /// for id in [&phone, &laptop] {
    ///     let record = Record::new(websession_core::Map::new(), 100, 200).with_user(Some("alice".into()));
    ///     store.create(id, &record, 100).await?;
    /// }
    /// assert_eq!(store.sessions_of("alice", 150).await?.len(), 2);
    /// // "Log out my other sessions", from the laptop:
    /// assert_eq!(store.delete_others_of("alice", &laptop, 150).await?, 1);
    /// assert_eq!(store.sessions_of("alice", 150).await?[0].0, laptop);
    /// # Ok::<(), websession_core::store::StoreError>(()) });
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     let waker = std::task::Waker::noop();
    /// #     let mut cx = std::task::Context::from_waker(&waker);
    /// #     let mut f = std::pin::pin!(f);
    /// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
    /// # }
    /// ```
    async fn sessions_of(&self, user: &str, now: u64) -> Result<Vec<(IdHash, Record)>, StoreError> {
        let _ = (user, now);
        Err(StoreError::new(
            super::StoreErrorKind::Unsupported,
            "this session store can't list a user's sessions",
        ))
    }

    /// Deletes every live session of `user` except `keep` ("log out my
    /// other sessions"); returns how many.
    ///
    /// The default implementation lists the sessions with
    /// [`sessions_of`](Self::sessions_of), then [`delete`](Self::delete)s
    /// each but `keep`, one by one. That is not atomic: a session whose id
    /// is cycled ([`cycle_id`](Self::cycle_id), which every login does)
    /// between the listing and its delete survives under its new id, so a
    /// stolen cookie on an app that rotates ids could outrun the logout.
    /// Every store in this workspace overrides it so that cycling can't
    /// outrun it: the memory store under one lock, SQLite and PostgreSQL
    /// with one `DELETE`, a single Redis with scripts over the user's index
    /// that end only when one of them has deleted every listed session but
    /// `keep`, and a Redis Cluster with the walk
    /// [`delete_all_for`](Self::delete_all_for) takes there (not one
    /// atomic step; same guarantee and caveats, see that crate's docs). A
    /// session cycled while it runs is deleted under its new id or its old
    /// one, and never survives. A session created after the call started
    /// may survive it, as for `delete_all_for` (use `delete_all_for`, then
    /// a new login, when that matters). Other stores should override it
    /// likewise.
    async fn delete_others_of(
        &self,
        user: &str,
        keep: &IdHash,
        now: u64,
    ) -> Result<u64, StoreError> {
        let mut deleted = 0;
        for (id, _) in self.sessions_of(user, now).await? {
            if id != *keep {
                self.delete(&id).await?;
                deleted += 1;
            }
        }
        Ok(deleted)
    }
}

#[async_trait::async_trait]
impl<S: SessionStore + ?Sized> SessionStore for std::sync::Arc<S> {
    fn id_format(&self) -> &dyn IdFormat {
        (**self).id_format()
    }
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
    async fn sessions_of(&self, user: &str, now: u64) -> Result<Vec<(IdHash, Record)>, StoreError> {
        (**self).sessions_of(user, now).await
    }
    async fn delete_others_of(
        &self,
        user: &str,
        keep: &IdHash,
        now: u64,
    ) -> Result<u64, StoreError> {
        (**self).delete_others_of(user, keep, now).await
    }
}

/// Stores whose expired records stay until someone deletes them (SQL
/// tables, memory) implement this; stores that expire records by themselves
/// (Redis TTLs) don't, so there is nothing to schedule for them.
/// [`spawn_cleanup`](ExpiredDeletion::spawn_cleanup) runs it periodically.
///
/// Expired records are invisible to every [`SessionStore`] operation either
/// way; deleting them only reclaims space.
#[async_trait::async_trait]
pub trait ExpiredDeletion: SessionStore {
    /// Deletes the records whose `expires_at <= now`; returns how many.
    async fn delete_expired(&self, now: u64) -> Result<u64, StoreError>;

    /// Deletes expired records every `interval`, in a tokio task, until the
    /// returned handle is aborted (feature `tokio`). Errors are logged and
    /// the task goes on; the first sweep runs at once.
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    #[must_use = "dropping the handle does not stop the task; abort it to stop"]
    fn spawn_cleanup(&self, interval: std::time::Duration) -> tokio::task::JoinHandle<()>
    where
        Self: Clone + Sized,
    {
        let store = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            loop {
                tick.tick().await;
                let now = crate::Clock::system().unix_seconds();
                match store.delete_expired(now).await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(deleted = n, "expired sessions deleted"),
                    Err(e) => tracing::warn!(
                        error = %e,
                        "session cleanup failed; retrying at the next tick"
                    ),
                }
            }
        })
    }
}

#[async_trait::async_trait]
impl<S: ExpiredDeletion + ?Sized> ExpiredDeletion for std::sync::Arc<S> {
    async fn delete_expired(&self, now: u64) -> Result<u64, StoreError> {
        (**self).delete_expired(now).await
    }
}
