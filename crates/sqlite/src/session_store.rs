//! The [`SessionStore`] and [`ExpiredDeletion`] of [`SqliteStore`]: each
//! call a job for the writer or a read.

use tokio::sync::oneshot;
use websession_core::store::{
    ChangeSet, ExpiredDeletion, IdHash, Record, SessionStore, StoreError,
};

use crate::error::{secs, unavailable, STOPPED};
use crate::jobs::{ReadOp, Write};
use crate::reads::load;
use crate::SqliteStore;

#[async_trait::async_trait]
impl SessionStore for SqliteStore {
    async fn load(&self, id: &IdHash, now: u64) -> Result<Option<Record>, StoreError> {
        self.read_any(
            now,
            |conn, sql| load(conn, sql, id, secs(now)),
            |reply| ReadOp::Load { id: *id, reply },
        )
        .await
    }

    async fn sessions_of(&self, user: &str, now: u64) -> Result<Vec<(IdHash, Record)>, StoreError> {
        let (reply, answer) = oneshot::channel();
        let user = user.to_owned();
        self.read(ReadOp::SessionsOf { user, reply }, now)?;
        answer.await.map_err(|_| unavailable(STOPPED))?
    }

    async fn create(&self, id: &IdHash, record: &Record, now: u64) -> Result<(), StoreError> {
        self.write(Write::Create {
            id: *id,
            record: record.clone(),
            now: secs(now),
        })
        .await
        .map(drop)
    }

    async fn update(&self, id: &IdHash, changes: &ChangeSet, now: u64) -> Result<(), StoreError> {
        self.write(Write::Update {
            id: *id,
            changes: changes.clone(),
            now: secs(now),
        })
        .await
        .map(drop)
    }

    async fn cycle_id(
        &self,
        old: &IdHash,
        new: &IdHash,
        changes: &ChangeSet,
        now: u64,
    ) -> Result<(), StoreError> {
        // One savepoint (or transaction): the move and the change set commit
        // together or not at all, so a failure leaves `old` live and as it
        // was. The single writer runs it wholly before or after a racing
        // `delete(old)`.
        self.write(Write::Cycle {
            old: *old,
            new: *new,
            changes: changes.clone(),
            now: secs(now),
        })
        .await
        .map(drop)
    }

    async fn delete(&self, id: &IdHash) -> Result<(), StoreError> {
        self.write(Write::Delete { id: *id }).await.map(drop)
    }

    async fn delete_all_for(&self, user: &str) -> Result<u64, StoreError> {
        self.write(Write::DeleteAllFor {
            user: user.to_owned(),
        })
        .await
    }

    /// One `DELETE` on the writer thread (values go by cascade): a
    /// `cycle_id` of one of the sessions, also queued to the writer, runs
    /// wholly before it (the session is deleted under its new id) or after
    /// it (the cycle finds nothing to move).
    async fn delete_others_of(
        &self,
        user: &str,
        keep: &IdHash,
        now: u64,
    ) -> Result<u64, StoreError> {
        self.write(Write::DeleteOthersOf {
            user: user.to_owned(),
            keep: *keep,
            now: secs(now),
        })
        .await
    }
}

#[async_trait::async_trait]
impl ExpiredDeletion for SqliteStore {
    async fn delete_expired(&self, now: u64) -> Result<u64, StoreError> {
        self.write(Write::DeleteExpired { now: secs(now) }).await
    }
}
