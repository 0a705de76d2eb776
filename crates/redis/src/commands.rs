//! Talking to Redis: one command, a script (loaded again after `NOSCRIPT`),
//! a script with its `WAIT`, and reading a record back; and the arguments
//! the scripts take.

use redis::{Cmd, FromRedisValue, Script};
use websession_core::store::{decode_value, ChangeSet, IdHash, Record, StoreError, StoreErrorKind};
use websession_core::Map;

use crate::conn::Conn;
use crate::error::err;
use crate::options::ReplicaAck;
use crate::RedisStore;

/// How long, in seconds, a cluster keeps a user-index member past its
/// score, and the index itself past its highest score: the tolerated clock
/// difference between the node of a session and the node of its user's
/// index.
pub(crate) const CLUSTER_INDEX_MARGIN_SECS: u64 = 600;

/// The most slack (seconds) a cluster adds to an index claim, on top of the
/// session's new expiry.
const CLAIM_SLACK_MAX: u64 = 86_400;

/// Sessions a single-Redis `delete_all_for` handles per script.
pub(crate) const REVOKE_BATCH: usize = 500;

/// Batches `delete_all_for` runs at most (500 000 sessions).
pub(crate) const REVOKE_MAX_BATCHES: usize = 1000;

/// How long (seconds) a cluster keeps the tombstone `cycle_id` leaves on
/// the old id, for the revocations in flight to follow.
pub(crate) const TOMBSTONE_SECS: u64 = 600;

/// How old a cluster `delete_all_for`'s reading of the index may get before
/// it reads it again: well within `TOMBSTONE_SECS`, so every tombstone it
/// may meet is still there.
pub(crate) const REVOKE_SNAPSHOT_MAX_AGE: std::time::Duration =
    std::time::Duration::from_secs(TOMBSTONE_SECS / 2);

/// Tombstones a cluster `delete_all_for` follows from one index member: a
/// session cycled this many times during one revocation is an error.
pub(crate) const REVOKE_MAX_HOPS: usize = 16;

/// Tries of a cluster `update` whose user keeps changing, and of a cluster
/// `cycle_id` whose old record keeps changing.
pub(crate) const ATTEMPTS: usize = 4;

/// A user as a script argument: `''` for none, else `u:<user>`.
pub(crate) fn user_arg(user: Option<&str>) -> String {
    user.map_or(String::new(), |u| format!("u:{u}"))
}

/// Adds a change set's arguments, in the order `APPLY` reads them.
pub(crate) fn push_changes(inv: &mut Cmd, changes: &ChangeSet) {
    inv.arg(changes.expires_at)
        .arg(if changes.cleared { "1" } else { "0" });
    inv.arg(match &changes.user {
        None => String::new(),
        Some(None) => "-".into(),
        Some(Some(u)) => user_arg(Some(u)),
    });
    inv.arg(changes.removed.len());
    for k in &changes.removed {
        inv.arg(k);
    }
    for (k, v) in &changes.set {
        inv.arg(k).arg(v.to_tagged_json());
    }
}

/// The score a cluster index claim gives a session that expires at
/// `expires`: that, plus as much again (at most a day) so that the next
/// touches fit in the claim.
pub(crate) fn claim(expires: u64, now: u64) -> u64 {
    expires.saturating_add(expires.saturating_sub(now).min(CLAIM_SLACK_MAX))
}

/// Fails a write that fewer replicas than `ack` asks for acknowledged
/// (`acked`, `WAIT`'s reply).
pub(crate) fn check_ack(ack: ReplicaAck, acked: redis::Value) -> Result<(), StoreError> {
    let acked = u32::from_redis_value(acked).map_err(err)?;
    if acked < ack.replicas {
        return Err(StoreError::new(
            StoreErrorKind::Unavailable,
            format!(
                "the write was acknowledged by {acked} of {} replicas within {} ms; \
                 it is applied on the primary and may or may not survive a failover",
                ack.replicas, ack.timeout_ms
            ),
        ));
    }
    Ok(())
}

impl RedisStore {
    /// Sends one command and reads its reply, an error reply as an error.
    /// On a single Redis the command joins the next batch as it is (no
    /// copy).
    pub(crate) async fn send(&self, cmd: Cmd) -> redis::RedisResult<redis::Value> {
        let reply = match &self.conn {
            Conn::Single(batcher) => batcher.send(cmd).await?,
            Conn::Cluster(c) => {
                use redis::aio::ConnectionLike;
                c.clone().req_packed_command(&cmd).await?
            }
        };
        reply.extract_error()
    }

    /// Runs `script` (`EVALSHA`) with `keys` keys: `build` appends the keys,
    /// then the arguments. When the server doesn't have the script
    /// (`NOSCRIPT`: restarted, flushed), loads it and runs it again.
    pub(crate) async fn eval<T: FromRedisValue>(
        &self,
        script: &Script,
        keys: usize,
        build: impl Fn(&mut Cmd),
    ) -> Result<T, StoreError> {
        let make = || {
            let mut cmd = redis::cmd("EVALSHA");
            cmd.arg(script.get_hash()).arg(keys);
            build(&mut cmd);
            cmd
        };
        // A write's `WAIT` goes right after it, in the same write on the
        // same connection: the count it returns covers the script.
        let ack = self.replica_ack.filter(|_| keys > 0);
        let (reply, acked) = match self.send_acked(make(), ack).await {
            Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
                let mut conn = self.conn.clone();
                script
                    .prepare_invoke()
                    .load_async(&mut conn)
                    .await
                    .map_err(err)?;
                self.send_acked(make(), ack).await
            }
            reply => reply,
        }
        .map_err(err)?;
        if let (Some(ack), Some(acked)) = (ack, acked) {
            check_ack(ack, acked)?;
        }
        T::from_redis_value(reply).map_err(err)
    }

    /// Sends the script invocation `cmd` (`EVALSHA sha n key …`), and with
    /// `ack` a `WAIT` right after it as one pipeline: on a single Redis in
    /// the same batch, on a cluster to the primary of the key's slot. Both
    /// travel in one write on one connection, so `WAIT` counts the replicas
    /// that have everything up to the script, whatever the connection
    /// manager does between two writes. Returns the script's reply (an
    /// error reply as an error) and `WAIT`'s.
    pub(crate) async fn send_acked(
        &self,
        cmd: Cmd,
        ack: Option<ReplicaAck>,
    ) -> redis::RedisResult<(redis::Value, Option<redis::Value>)> {
        let Some(ack) = ack else {
            return Ok((self.send(cmd).await?, None));
        };
        let mut wait = redis::cmd("WAIT");
        wait.arg(ack.replicas).arg(ack.timeout_ms);
        let (reply, acked) = match &self.conn {
            Conn::Single(batcher) => batcher.send_pair(cmd, wait).await?,
            Conn::Cluster(c) => {
                use redis::aio::ConnectionLike;
                // The pipeline goes where its one keyed command goes
                // (`WAIT` has no key), and fails as a whole on an error
                // reply, `NOSCRIPT` included.
                let mut pipe = redis::Pipeline::with_capacity(2);
                pipe.add_command(cmd).add_command(wait);
                let mut replies = c
                    .clone()
                    .req_packed_commands(&pipe, 0, 2)
                    .await?
                    .into_iter();
                match (replies.next(), replies.next()) {
                    (Some(reply), Some(acked)) => (reply, acked),
                    _ => {
                        return Err(redis::RedisError::from((
                            redis::ErrorKind::Server(redis::ServerErrorKind::ResponseError),
                            "a script and its WAIT got fewer than two replies",
                        )))
                    }
                }
            }
        };
        Ok((reply.extract_error()?, Some(acked.extract_error()?)))
    }

    /// The stored record, live or not, and its update counter (`m:ver`). A
    /// tombstone reads as a record that expired at 0.
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Corrupt`] when a field or value isn't UTF-8 or
    /// doesn't decode.
    pub(crate) async fn fetch(&self, id: &IdHash) -> Result<Option<(Record, String)>, StoreError> {
        // The reply as it was parsed: fields and values are read in place
        // (bytes: text that isn't UTF-8 is corrupt data, not a backend
        // error); only the keys and the decoded values are allocated.
        let mut cmd = redis::cmd("HGETALL");
        cmd.arg(self.key(id));
        let reply = self.send(cmd).await.map_err(err)?;
        let pairs = match &reply {
            redis::Value::Array(items) | redis::Value::Set(items) => {
                parse_pairs(items.chunks_exact(2).map(|p| (&p[0], &p[1])))?
            }
            redis::Value::Map(items) => parse_pairs(items.iter().map(|(f, v)| (f, v)))?,
            redis::Value::Nil => None,
            other => {
                return Err(StoreError::new(
                    StoreErrorKind::Backend,
                    format!("unexpected reply to HGETALL: {other:?}"),
                ))
            }
        };
        Ok(pairs)
    }
}

/// A record from the field/value pairs of its hash (none: no record), and
/// its update counter (`m:ver`).
fn parse_pairs<'a>(
    pairs: impl Iterator<Item = (&'a redis::Value, &'a redis::Value)>,
) -> Result<Option<(Record, String)>, StoreError> {
    let text = |v: &'a redis::Value| -> Result<&'a str, StoreError> {
        match v {
            redis::Value::BulkString(bytes) => {
                std::str::from_utf8(bytes).map_err(|e| StoreError::new(StoreErrorKind::Corrupt, e))
            }
            redis::Value::SimpleString(s) => Ok(s),
            other => Err(StoreError::new(
                StoreErrorKind::Backend,
                format!("unexpected item in an HGETALL reply: {other:?}"),
            )),
        }
    };
    let mut record = Record::new(Map::new(), 0, 0);
    let mut data = Map::new();
    let mut version = String::new();
    let mut any = false;
    for (field, value) in pairs {
        any = true;
        let (field, value) = (text(field)?, text(value)?);
        if let Some(key) = field.strip_prefix("d:") {
            data.insert(key.to_owned(), decode_value(value)?);
        } else {
            let number = || {
                value
                    .parse::<u64>()
                    .map_err(|e| StoreError::new(StoreErrorKind::Corrupt, e))
            };
            match field {
                "m:expires" => record.expires_at = number()?,
                "m:created" => record.created_at = number()?,
                "m:user" => record.user = Some(value.to_owned()),
                "m:ver" => value.clone_into(&mut version),
                _ => {}
            }
        }
    }
    record.data = data.into();
    Ok(any.then_some((record, version)))
}
