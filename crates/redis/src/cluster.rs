//! The Redis Cluster half of [`RedisStore`]: a session's record and its
//! user's index live in different slots, so writes claim the index first
//! (see the crate docs' "Layout" and "`cycle_id`" sections).

use websession_core::store::{ChangeSet, IdHash, Record, StoreError};

use super::*;

impl RedisStore {
    /// Cluster: lists `id` in `user`'s index with a claim covering `expires`
    /// (before the record is written); returns the claim.
    pub(crate) async fn claim_index(
        &self,
        user: &str,
        id: &IdHash,
        expires: u64,
        now: u64,
    ) -> Result<u64, StoreError> {
        let claim = claim(expires, now);
        let mut conn = self.conn.clone();
        self.scripts
            .cluster_index
            .key(self.user_key(user))
            .arg(id.to_hex())
            .arg(claim)
            .arg(CLUSTER_INDEX_MARGIN_SECS)
            .invoke_async::<i64>(&mut conn)
            .await
            .map_err(err)?;
        Ok(claim)
    }

    pub(crate) async fn create_cluster(
        &self,
        id: &IdHash,
        record: &Record,
        now: u64,
    ) -> Result<(), StoreError> {
        let claim = match &record.user {
            Some(user) => self.claim_index(user, id, record.expires_at, now).await?,
            None => 0,
        };
        let mut conn = self.conn.clone();
        let mut inv = self.scripts.cluster_create.key(self.key(id));
        inv.arg(now)
            .arg(record.expires_at)
            .arg(record.created_at)
            .arg(user_arg(record.user.as_deref()))
            .arg(claim);
        for (k, v) in &record.data {
            inv.arg(k).arg(encode_value(v));
        }
        let done: i64 = inv.invoke_async(&mut conn).await.map_err(err)?;
        if done == 0 {
            return Err(StoreError::from_kind(StoreErrorKind::Collision));
        }
        Ok(())
    }

    pub(crate) async fn update_cluster(
        &self,
        id: &IdHash,
        changes: &ChangeSet,
        now: u64,
    ) -> Result<(), StoreError> {
        let mut claimed = None;
        if let Some(Some(user)) = &changes.user {
            let claim = self.claim_index(user, id, changes.expires_at, now).await?;
            claimed = Some((user.clone(), claim));
        }
        for _ in 0..ATTEMPTS {
            let mut conn = self.conn.clone();
            let mut inv = self.scripts.cluster_update.key(self.key(id));
            inv.arg(now)
                .arg(user_arg(claimed.as_ref().map(|(u, _)| u.as_str())))
                .arg(claimed.as_ref().map_or(0, |(_, c)| *c));
            push_changes(&mut inv, changes);
            let reply: Vec<String> = inv.invoke_async(&mut conn).await.map_err(err)?;
            match reply.as_slice() {
                [done] if done == "1" => return Ok(()),
                [gone] if gone == "0" => return Err(not_found()),
                // The record's user needs a (longer) claim first; nothing
                // was written.
                [claim_first, user] if claim_first == "2" => {
                    let claim = self.claim_index(user, id, changes.expires_at, now).await?;
                    claimed = Some((user.clone(), claim));
                }
                _ => {
                    return Err(StoreError::new(
                        StoreErrorKind::Backend,
                        format!("unexpected reply from the update script: {reply:?}"),
                    ))
                }
            }
        }
        Err(StoreError::new(
            StoreErrorKind::Backend,
            "the session's user kept changing during the update",
        ))
    }

    pub(crate) async fn cycle_cluster(
        &self,
        old: &IdHash,
        new: &IdHash,
        changes: &ChangeSet,
        now: u64,
    ) -> Result<(), StoreError> {
        for _ in 0..ATTEMPTS {
            let (mut record, version) = self
                .fetch(old)
                .await?
                .filter(|(r, _)| r.expires_at > now)
                .ok_or_else(not_found)?;
            record.apply(changes);
            self.create_cluster(new, &record, now).await?;
            let mut conn = self.conn.clone();
            let finished = self
                .scripts
                .cluster_cycle_finish
                .key(self.key(old))
                .arg(now)
                .arg(&version)
                .invoke_async::<i64>(&mut conn)
                .await;
            match finished {
                Ok(1) => return Ok(()),
                // Deleted (or expired) since it was read: no resurrection.
                Ok(0) => {
                    self.delete_key(new).await?;
                    return Err(not_found());
                }
                // Updated since it was read: start over from the new state.
                Ok(_) => self.delete_key(new).await?,
                Err(e) => {
                    // Unknown whether the old id is gone; the new id was
                    // never handed out, so drop it (fail closed).
                    if let Err(rollback) = self.delete_key(new).await {
                        tracing::warn!(error = %rollback, "could not delete the new id of a failed cycle_id");
                    }
                    return Err(err(e));
                }
            }
        }
        Err(StoreError::new(
            StoreErrorKind::Backend,
            "the session kept changing during cycle_id",
        ))
    }

    pub(crate) async fn delete_key(&self, id: &IdHash) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        redis::cmd("DEL")
            .arg(self.key(id))
            .query_async::<()>(&mut conn)
            .await
            .map_err(err)
    }
}
