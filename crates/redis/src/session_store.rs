//! The [`SessionStore`] of [`RedisStore`]: a read is one `HGETALL`, a
//! write one script (on a Cluster, a few: see "Layout" in the crate docs).

use redis::FromRedisValue;
use websession_core::store::{ChangeSet, IdHash, Record, SessionStore, StoreError, StoreErrorKind};

use crate::commands::{push_changes, user_arg, REVOKE_BATCH, REVOKE_MAX_BATCHES};
use crate::error::{err, not_found};
use crate::RedisStore;

#[async_trait::async_trait]
impl SessionStore for RedisStore {
    async fn load(&self, id: &IdHash, now: u64) -> Result<Option<Record>, StoreError> {
        Ok(self
            .fetch(id)
            .await?
            .map(|(record, _)| record)
            .filter(|r| r.expires_at > now))
    }

    async fn create(&self, id: &IdHash, record: &Record, now: u64) -> Result<(), StoreError> {
        if self.is_cluster() {
            return self.create_cluster(id, record, now).await;
        }
        let hex = id.to_hex();
        let key = self.key_hex(&hex);
        let done: i64 = self
            .eval(&self.scripts.single_create, 1, |cmd| {
                cmd.arg(&key)
                    .arg(&self.prefix)
                    .arg(now)
                    .arg(&hex)
                    .arg(record.expires_at)
                    .arg(record.created_at)
                    .arg(user_arg(record.user.as_deref()));
                for (k, v) in record.data.iter() {
                    cmd.arg(k).arg(v.to_value().to_tagged_json());
                }
            })
            .await?;
        if done == 0 {
            return Err(StoreError::from_kind(StoreErrorKind::Collision));
        }
        Ok(())
    }

    async fn update(&self, id: &IdHash, changes: &ChangeSet, now: u64) -> Result<(), StoreError> {
        if self.is_cluster() {
            return self.update_cluster(id, changes, now).await;
        }
        let hex = id.to_hex();
        let key = self.key_hex(&hex);
        let done: i64 = self
            .eval(&self.scripts.single_update, 1, |cmd| {
                cmd.arg(&key).arg(&self.prefix).arg(now).arg(&hex);
                push_changes(cmd, changes);
            })
            .await?;
        if done == 0 {
            return Err(not_found());
        }
        Ok(())
    }

    async fn cycle_id(
        &self,
        old: &IdHash,
        new: &IdHash,
        changes: &ChangeSet,
        now: u64,
    ) -> Result<(), StoreError> {
        if self.is_cluster() {
            return self.cycle_cluster(old, new, changes, now).await;
        }
        let (old_hex, new_hex) = (old.to_hex(), new.to_hex());
        let reply: i64 = self
            .eval(&self.scripts.single_cycle, 2, |cmd| {
                cmd.arg(self.key_hex(&old_hex))
                    .arg(self.key_hex(&new_hex))
                    .arg(&self.prefix)
                    .arg(now)
                    .arg(&old_hex)
                    .arg(&new_hex);
                push_changes(cmd, changes);
            })
            .await?;
        match reply {
            0 => Err(not_found()),
            -1 => Err(StoreError::from_kind(StoreErrorKind::Collision)),
            _ => Ok(()),
        }
    }

    async fn delete(&self, id: &IdHash) -> Result<(), StoreError> {
        if self.is_cluster() {
            // The index member stays until its score passes (see "Layout").
            return self.delete_key(id).await;
        }
        let hex = id.to_hex();
        self.eval::<i64>(&self.scripts.single_delete, 1, |cmd| {
            cmd.arg(self.key_hex(&hex)).arg(&self.prefix).arg(&hex);
        })
        .await?;
        Ok(())
    }

    async fn delete_all_for(&self, user: &str) -> Result<u64, StoreError> {
        if self.is_cluster() {
            return self.revoke_cluster(user, None).await;
        }
        let user_key = self.user_key(user);
        let mut deleted = 0;
        for _ in 0..REVOKE_MAX_BATCHES {
            let (n, processed): (u64, usize) = self
                .eval(&self.scripts.single_revoke, 1, |cmd| {
                    cmd.arg(&user_key)
                        .arg(&self.prefix)
                        .arg(user)
                        .arg(REVOKE_BATCH);
                })
                .await?;
            deleted += n;
            if processed < REVOKE_BATCH {
                break;
            }
        }
        Ok(deleted)
    }

    /// On a single Redis, `delete_all_for`'s batches, sparing `keep`: each
    /// batch one script over the user's index, until one finds fewer
    /// members than a batch, so a session cycled meanwhile (relisted under
    /// its new id in the same script as its move) is deleted under its
    /// new id. On a Cluster, what `delete_all_for` does there (see
    /// "Layout"), sparing `keep`.
    async fn delete_others_of(
        &self,
        user: &str,
        keep: &IdHash,
        now: u64,
    ) -> Result<u64, StoreError> {
        let keep = keep.to_hex();
        if self.is_cluster() {
            return self.revoke_cluster(user, Some((&keep, now))).await;
        }
        let user_key = self.user_key(user);
        let mut deleted = 0;
        for _ in 0..REVOKE_MAX_BATCHES {
            let (n, processed): (u64, usize) = self
                .eval(&self.scripts.single_revoke_others, 1, |cmd| {
                    cmd.arg(&user_key)
                        .arg(&self.prefix)
                        .arg(user)
                        .arg(REVOKE_BATCH)
                        .arg(&keep)
                        .arg(now);
                })
                .await?;
            deleted += n;
            if processed < REVOKE_BATCH {
                break;
            }
        }
        Ok(deleted)
    }

    /// Reads the user's index (`ZRANGE`), then loads each member: on a
    /// single Redis the loads go out together, in one batch. Members that
    /// expired, moved (a Cluster's tombstone) or changed user are left out.
    async fn sessions_of(&self, user: &str, now: u64) -> Result<Vec<(IdHash, Record)>, StoreError> {
        let mut range = redis::cmd("ZRANGE");
        range.arg(self.user_key(user)).arg(0).arg(-1);
        let members = self.send(range).await.map_err(err)?;
        let members = Vec::<String>::from_redis_value(members).map_err(err)?;
        let mut loads = tokio::task::JoinSet::new();
        for id in members.iter().filter_map(|hex| IdHash::from_hex(hex)) {
            let store = self.clone();
            loads.spawn(async move { store.load(&id, now).await.map(|r| (id, r)) });
        }
        let mut found = Vec::with_capacity(members.len());
        while let Some(loaded) = loads.join_next().await {
            let (id, record) =
                loaded.map_err(|e| StoreError::new(StoreErrorKind::Backend, e))??;
            if let Some(record) = record.filter(|r| r.user.as_deref() == Some(user)) {
                found.push((id, record));
            }
        }
        Ok(found)
    }
}
