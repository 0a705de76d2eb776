//! The Redis Cluster half of [`RedisStore`]: a session's record and its
//! user's index live in different slots, so writes claim the index first
//! (see the crate docs' "Layout" and "`cycle_id`" sections).

use std::collections::HashSet;
use std::time::Instant;

use websession_core::store::{ChangeSet, IdHash, Record, StoreError, StoreErrorKind};

use crate::commands::{
    claim, push_changes, user_arg, ATTEMPTS, CLUSTER_INDEX_MARGIN_SECS, REVOKE_MAX_HOPS,
    REVOKE_SNAPSHOT_MAX_AGE, TOMBSTONE_SECS,
};
use crate::error::{err, not_found};
use crate::RedisStore;

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
        let user_key = self.user_key(user);
        let hex = id.to_hex();
        self.eval::<i64>(&self.scripts.cluster_index, 1, |cmd| {
            cmd.arg(&user_key)
                .arg(&hex)
                .arg(claim)
                .arg(CLUSTER_INDEX_MARGIN_SECS);
        })
        .await?;
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
        let key = self.key(id);
        let done: i64 = self
            .eval(&self.scripts.cluster_create, 1, |cmd| {
                cmd.arg(&key)
                    .arg(now)
                    .arg(record.expires_at)
                    .arg(record.created_at)
                    .arg(user_arg(record.user.as_deref()))
                    .arg(claim);
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
            let key = self.key(id);
            let reply: Vec<String> = self
                .eval(&self.scripts.cluster_update, 1, |cmd| {
                    cmd.arg(&key)
                        .arg(now)
                        .arg(user_arg(claimed.as_ref().map(|(u, _)| u.as_str())))
                        .arg(claimed.as_ref().map_or(0, |(_, c)| *c));
                    push_changes(cmd, changes);
                })
                .await?;
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
            let (old_key, new_hex) = (self.key(old), new.to_hex());
            let finished = self
                .eval::<i64>(&self.scripts.cluster_cycle_finish, 1, |cmd| {
                    cmd.arg(&old_key)
                        .arg(now)
                        .arg(&version)
                        .arg(&new_hex)
                        .arg(TOMBSTONE_SECS);
                })
                .await;
            match finished {
                // The old id is now a tombstone pointing to the new one.
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
                    return Err(e);
                }
            }
        }
        Err(StoreError::new(
            StoreErrorKind::Backend,
            "the session kept changing during cycle_id",
        ))
    }

    /// Deletes a record; a tombstone is an absent session, so it stays.
    pub(crate) async fn delete_key(&self, id: &IdHash) -> Result<(), StoreError> {
        let key = self.key(id);
        self.eval::<i64>(&self.scripts.cluster_delete, 1, |cmd| {
            cmd.arg(&key);
        })
        .await?;
        Ok(())
    }

    /// Cluster `delete_all_for` (`spare` none) and `delete_others_of`
    /// (`spare`: the id to keep, hex, and the time that decides which
    /// deleted sessions count): one script per listed session (they live
    /// in other slots), from a reading of the index at most
    /// `REVOKE_SNAPSHOT_MAX_AGE` old, so that the tombstones of the sessions
    /// cycled since it was read are still there to follow. The kept id is
    /// skipped, listed or reached through a tombstone.
    pub(crate) async fn revoke_cluster(
        &self,
        user: &str,
        spare: Option<(&str, u64)>,
    ) -> Result<u64, StoreError> {
        let mut conn = self.conn.clone();
        let user_key = self.user_key(user);
        let mut done = HashSet::new();
        if let Some((keep, _)) = spare {
            done.insert(keep.to_owned());
        }
        let mut deleted = 0;
        loop {
            let read = Instant::now();
            let ids: Vec<String> = redis::cmd("ZRANGE")
                .arg(&user_key)
                .arg(0)
                .arg(-1)
                .query_async(&mut conn)
                .await
                .map_err(err)?;
            let mut outdated = false;
            for hex in ids {
                if done.contains(&hex) {
                    continue;
                }
                deleted += self.revoke_member(user, &hex, spare).await?;
                done.insert(hex);
                if read.elapsed() >= REVOKE_SNAPSHOT_MAX_AGE {
                    outdated = true;
                    break;
                }
            }
            if !outdated {
                return Ok(deleted);
            }
        }
    }

    /// Deletes the session listed as `hex` if it still belongs to `user`
    /// (a member can be stale: deleted, cycled or given to someone else);
    /// members are never removed here (see "Layout"). A tombstone leads to
    /// the id the session was cycled to, and on, unless that is the id
    /// `spare` keeps.
    async fn revoke_member(
        &self,
        user: &str,
        hex: &str,
        spare: Option<(&str, u64)>,
    ) -> Result<u64, StoreError> {
        let mut hex = hex.to_owned();
        for _ in 0..REVOKE_MAX_HOPS {
            if spare.is_some_and(|(keep, _)| keep == hex) {
                return Ok(0);
            }
            let key = self.key_hex(&hex);
            let (n, moved): (u64, String) = self
                .eval(&self.scripts.cluster_delete_if_user, 1, |cmd| {
                    cmd.arg(&key).arg(user);
                    if let Some((_, now)) = spare {
                        cmd.arg(now);
                    }
                })
                .await?;
            if moved.is_empty() {
                return Ok(n);
            }
            hex = moved;
        }
        Err(StoreError::new(
            StoreErrorKind::Backend,
            "a session was cycled too many times during delete_all_for (or delete_others_of)",
        ))
    }
}
