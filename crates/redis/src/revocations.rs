//! [`RedisRevocations`]: the [`RevocationStore`] of a [`RedisStore`], on the
//! store's own connection (see "Revocations" in the crate docs).

use websession_core::store::{RevocationStore, Verdict};

use redis::{Cmd, FromRedisValue};
use websession_core::store::{IdHash, StoreError, StoreErrorKind};

use crate::commands::check_ack;
use crate::conn::Conn;
use crate::error::err;
use crate::RedisStore;

/// Buckets of the deny-list: an id hash goes to the one named by its first
/// hex digit.
const DENY_BUCKETS: &str = "0123456789abcdef";

/// The latest time a denial keeps exactly: sorted-set scores are doubles,
/// exact up to 2^53.
const MAX_UNTIL: u64 = (1 << 53) - 1;

/// The revocations of cookie sessions (per-user generations and the
/// deny-list of session id hashes) in a [`RedisStore`]'s Redis, under the
/// store's key prefix (see "Revocations" in the crate docs). Made by
/// [`RedisStore::revocations`].
///
/// It uses the store's connection (on a single Redis its calls join the
/// store's batches) and its replica acknowledgement, if set
/// ([`RedisOptions::with_replica_ack`](crate::RedisOptions::with_replica_ack)): `bump_generation` and `deny` each
/// send their `WAIT` in the same write, as a session write does, and fail
/// with [`StoreErrorKind::Unavailable`] when fewer replicas acknowledged in
/// time (the revocation is then applied on the primary, and may or may not
/// survive a failover: retry it). `delete_expired_denials` waits for none
/// (losing it only brings back entries that no longer count).
///
/// Its first call checks the servers' `maxmemory-policy` (once per store;
/// see [`RedisOptions::with_safe_eviction_required`](crate::RedisOptions::with_safe_eviction_required)
/// and "Memory limits" in the crate docs). Cloning is cheap.
#[derive(Clone)]
pub struct RedisRevocations {
    store: RedisStore,
}

/// Shows the store (its mode and prefix, never a user or an id).
impl std::fmt::Debug for RedisRevocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRevocations")
            .field("store", &self.store)
            .finish()
    }
}

impl RedisStore {
    /// The store's [`RevocationStore`]: generations and denials kept in
    /// this Redis (or Cluster), under this store's prefix, through this
    /// store's connection (none is opened for it).
    ///
    /// ```no_run
    /// use websession_core::store::{RevocationStore, SessionId};
    /// use websession_redis::RedisStore;
    /// # async fn f() -> Result<(), websession_core::store::StoreError> {
    /// let store = RedisStore::connect("redis://127.0.0.1:6379").await?;
    /// let revocations = store.revocations();
    /// revocations.bump_generation("alice").await?; // log out everywhere
    /// let id = SessionId::generate().hash();
    /// revocations.deny(&id, 2_000_000_000).await?; // log out this session
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn revocations(&self) -> RedisRevocations {
        RedisRevocations {
            store: self.clone(),
        }
    }

    /// The key of `user`'s generation: a string holding the counter, in
    /// the slot of the user's index.
    fn generation_key(&self, user: &str) -> String {
        format!("{}gen:{{{user}}}", self.prefix)
    }

    /// The deny-list bucket `digit` (a hex digit): a sorted set of id hashes
    /// (hex) scored by the time until which they are denied.
    fn deny_bucket(&self, digit: char) -> String {
        format!("{}denied:{{{digit}}}", self.prefix)
    }
}

/// A reply that doesn't parse as what the key should hold: corrupt data.
fn corrupt(e: impl Into<redis::RedisError>) -> StoreError {
    StoreError::new(StoreErrorKind::Corrupt, e.into())
}

impl RedisRevocations {
    /// Runs the store's `maxmemory-policy` check now, instead of at the
    /// first revocation call (so an app can refuse to start); once it has
    /// run, this answers from what it found. See
    /// [`RedisOptions::with_safe_eviction_required`](crate::RedisOptions::with_safe_eviction_required).
    ///
    /// ```no_run
    /// use websession_redis::{RedisOptions, RedisStore};
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let options = RedisOptions::default().with_safe_eviction_required(true);
    /// let store = RedisStore::connect_with("redis://127.0.0.1:6379", options).await?;
    /// store.revocations().check_eviction_policy().await?; // fails on allkeys-lru
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// Only with the requirement: [`StoreErrorKind::Backend`] (source:
    /// [`UnsafeEvictionPolicy`](crate::UnsafeEvictionPolicy)) when a node's
    /// policy can evict the revocation keys;
    /// [`StoreErrorKind::Unavailable`] when the server can't be reached.
    /// Without it, always `Ok` (an evicting policy is logged).
    pub async fn check_eviction_policy(&self) -> Result<(), StoreError> {
        self.store.guard_eviction().await
    }

    /// The bucket of `id` and its member.
    fn denial(&self, id: &IdHash) -> (String, String) {
        let hex = id.to_hex();
        let digit = hex.chars().next().unwrap_or('0');
        (self.store.deny_bucket(digit), hex)
    }

    /// Sends a write (not a script), with the store's `WAIT` if it asks for
    /// one, in the same write ([`RedisStore::send_acked`]); returns its
    /// reply, or [`StoreErrorKind::Unavailable`] when fewer replicas
    /// acknowledged it in time.
    async fn write(&self, cmd: Cmd) -> Result<redis::Value, StoreError> {
        let ack = self.store.replica_ack;
        let (reply, acked) = self.store.send_acked(cmd, ack).await.map_err(err)?;
        if let (Some(ack), Some(acked)) = (ack, acked) {
            check_ack(ack, acked)?;
        }
        Ok(reply)
    }

    /// Sends two reads at once: on a single Redis in one batch (one write,
    /// one round trip); on a Cluster, where their keys are in different
    /// slots, side by side to their nodes.
    async fn read_two(&self, a: Cmd, b: Cmd) -> redis::RedisResult<(redis::Value, redis::Value)> {
        match &self.store.conn {
            Conn::Single(batcher) => {
                let (a, b) = batcher.send_pair(a, b).await?;
                Ok((a.extract_error()?, b.extract_error()?))
            }
            Conn::Cluster(_) => tokio::try_join!(self.store.send(a), self.store.send(b)),
        }
    }
}

#[async_trait::async_trait]
impl RevocationStore for RedisRevocations {
    async fn check(
        &self,
        user: Option<&str>,
        session: &IdHash,
        now: u64,
    ) -> Result<Verdict, StoreError> {
        self.store.guard_eviction().await?;
        let (bucket, member) = self.denial(session);
        let mut score = redis::cmd("ZSCORE");
        score.arg(bucket).arg(member);
        let (generation, until) = match user {
            Some(user) => {
                let mut get = redis::cmd("GET");
                get.arg(self.store.generation_key(user));
                let (generation, until) = self.read_two(get, score).await.map_err(err)?;
                let generation = Option::<u64>::from_redis_value(generation)
                    .map_err(corrupt)?
                    .unwrap_or(0);
                (Some(generation), until)
            }
            None => (None, self.store.send(score).await.map_err(err)?),
        };
        let until = Option::<f64>::from_redis_value(until).map_err(corrupt)?;
        // Exact: both are below 2^53.
        let denied = until.is_some_and(|until| until > now.min(MAX_UNTIL) as f64);
        Ok(Verdict::new(generation, denied))
    }

    async fn generation(&self, user: &str) -> Result<u64, StoreError> {
        self.store.guard_eviction().await?;
        let mut get = redis::cmd("GET");
        get.arg(self.store.generation_key(user));
        let reply = self.store.send(get).await.map_err(err)?;
        Ok(Option::<u64>::from_redis_value(reply)
            .map_err(corrupt)?
            .unwrap_or(0))
    }

    async fn bump_generation(&self, user: &str) -> Result<u64, StoreError> {
        self.store.guard_eviction().await?;
        let mut incr = redis::cmd("INCR");
        incr.arg(self.store.generation_key(user));
        u64::from_redis_value(self.write(incr).await?).map_err(corrupt)
    }

    /// One script; with the store's replica acknowledgement, its `WAIT`
    /// goes in the same write, as a session write's does (see "Replica
    /// acknowledgement" in the crate docs).
    async fn deny(&self, session: &IdHash, until: u64) -> Result<(), StoreError> {
        self.store.guard_eviction().await?;
        let (bucket, member) = self.denial(session);
        self.store
            .eval::<i64>(&self.store.scripts.deny, 1, |cmd| {
                cmd.arg(&bucket).arg(&member).arg(until.min(MAX_UNTIL));
            })
            .await?;
        Ok(())
    }

    /// Removes the passed entries from each of the 16 buckets
    /// (`ZREMRANGEBYSCORE`), all sent at once: one batch on a single Redis.
    async fn delete_expired_denials(&self, now: u64) -> Result<u64, StoreError> {
        self.store.guard_eviction().await?;
        let mut removals = tokio::task::JoinSet::new();
        for digit in DENY_BUCKETS.chars() {
            let store = self.store.clone();
            let mut remove = redis::cmd("ZREMRANGEBYSCORE");
            remove
                .arg(store.deny_bucket(digit))
                .arg("-inf")
                .arg(now.min(MAX_UNTIL));
            removals.spawn(async move { store.send(remove).await });
        }
        let mut removed = 0;
        while let Some(done) = removals.join_next().await {
            let reply = done
                .map_err(|e| StoreError::new(StoreErrorKind::Backend, e))?
                .map_err(err)?;
            removed += u64::from_redis_value(reply).map_err(corrupt)?;
        }
        Ok(removed)
    }
}
