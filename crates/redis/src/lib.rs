//! The Redis session store, on a single Redis or a Redis Cluster. (Over 400 lines: half of it is the layout docs the scripts must follow.)
//!
//! # Setup
//!
//! Nothing to create: records expire through Redis' own TTL. Redis 4 or
//! later (multi-field `HSET`; the scripts read the server clock, `TIME`,
//! so they ask for effects replication, the default since Redis 5).
//!
//! ```no_run
//! use websession::{SessionConfig, SessionManagerLayer, Sessions};
//! use websession_redis::RedisStore;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = RedisStore::connect("redis://127.0.0.1:6379").await?;
//! // or, a Cluster through any of its nodes:
//! // RedisStore::connect_cluster(&["redis://10.0.0.1:7000"], websession_redis::RedisOptions::default()).await?
//! let layer = SessionManagerLayer::new(Sessions::store(store, SessionConfig::default())?);
//! # Ok(()) }
//! ```
//!
//! # Connecting
//!
//! | constructor | for |
//! |---|---|
//! | [`RedisStore::connect`], [`RedisStore::connect_with`] | a single Redis, from a URL |
//! | [`RedisStore::connect_cluster`] | a Cluster, from the URL of any one node (or several) |
//! | [`RedisStore::from_client`] | a `redis::Client` you built |
//! | [`RedisStore::from_cluster_client`] | a `ClusterClient` you built |
//!
//! The `from_*` constructors take redis 1.x's types (redis-rs 1.8 or
//! later). The `redis` crate is re-exported ([`redis`]), so your client is
//! of the version the store takes; an app on redis 0.x (two majors in one
//! build) hands the store a URL instead. Every constructor but
//! [`RedisStore::connect`] takes [`RedisOptions`]: the timeouts, with
//! these defaults: connect 2 s, response 2 s (a store built from your own
//! cluster client uses its settings instead), the key prefix, the replica
//! acknowledgement and the eviction requirement.
//!
//! ## TLS
//!
//! `rediss://` URLs connect over TLS, with one of two features: `rustls`
//! (the default: rustls with the *ring* provider; a build that also
//! enables rustls's `aws-lc-rs` installs a process-wide provider first,
//! `rustls::crypto::CryptoProvider::install_default`) or `native-tls` (the
//! platform's library, OpenSSL on Linux; with both features, rustls is
//! used). The server's certificate must chain to a trusted root and name
//! the URL's host; by default the system's root certificates are trusted.
//! For a private certificate authority (most managed Redis services,
//! self-hosted ones), give its certificate with
//! [`RedisOptions::with_root_certificates_pem`] (feature `rustls`; it replaces the system
//! roots). With `native-tls` alone, add the CA to the system's store or
//! point `SSL_CERT_FILE` at it.
//!
//! A server whose certificate is not trusted is refused: the constructor
//! fails with [`StoreErrorKind::Unavailable`] (the store can't reach a
//! server it can trust; the error's source says why, e.g. `UnknownIssuer`),
//! as does every call if a running server's certificate changes to an
//! untrusted one (adapters answer 503).
//!
//! ```no_run
//! use websession_redis::{RedisOptions, RedisStore};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let options = RedisOptions::default().with_root_certificates_pem(std::fs::read("ca.pem")?);
//! let store = RedisStore::connect_with("rediss://sessions:s3cret@cache.internal:6380", options.clone()).await?;
//! // A Cluster: the certificate of every node must chain to the same CA.
//! let cluster = RedisStore::connect_cluster(&["rediss://10.0.0.1:7000"], options).await?;
//! # let _ = (store, cluster);
//! # Ok(()) }
//! ```
//!
//! ## Access control
//!
//! `redis://USER:PASSWORD@HOST` logs in as a Redis 6+ ACL user
//! (`redis://:PASSWORD@HOST` as the default user, for `requirepass`). A
//! refused user or password is [`StoreErrorKind::Backend`] (retrying won't
//! help). The store needs these commands and only its own keys; with the
//! default prefix:
//!
//! ```text
//! ACL SETUSER sessions on >PASSWORD resetkeys ~websession:* resetchannels -@all
//!     +hgetall +evalsha +script|load +wait +zrange +get +incr +info
//!     +hmget +hget +hset +hdel +hexists +hincrby +hkeys +del +rename +expire +expireat
//!     +zadd +zrem +zscore +zremrangebyscore +time
//!     +cluster|slots +asking +readonly
//! ```
//!
//! The second and third lines are what the store's Lua scripts call (Redis
//! checks them too); `+wait` only matters with
//! [`RedisOptions::with_replica_ack`], the last line only on a Cluster (slot
//! discovery and redirects). `+info` lets the first revocation call read
//! the eviction policy (`INFO memory`, see "Memory limits"): without it,
//! the store logs that it could not check, and goes on. The store tries
//! `CONFIG GET maxmemory-policy` first (one refusal, once per store); don't
//! grant `+config|get` for it: that reads every setting, `requirepass` and
//! `masterauth` included. (redis-rs also sends `CLIENT SETINFO` on Redis
//! 7.2+ and ignores its refusal.) With another prefix, use `~<prefix>*`.
//!
//! # Layout
//!
//! A session is one hash, `websession:{<sha256 of the id, hex>}`: fields
//! `d:<key>` hold the values as Flask's tagged JSON text, `m:created`,
//! `m:expires` and `m:user` the metadata, and `EXPIREAT` the deadline. The
//! braces are a hash tag, so everything of a session is in one cluster slot.
//! `load` is one `HGETALL`; every write is a Lua script, so it is atomic
//! (see "Round trips").
//!
//! A user's sessions are listed for [`SessionStore::delete_all_for`] (and
//! [`SessionStore::delete_others_of`], [`SessionStore::sessions_of`]) in the
//! sorted set `websession:user-sessions:{<user>}`: members are the session
//! hashes (hex), scores their expiry. The rule: every live session of a
//! user is listed there with a score no earlier than its expiry, and the
//! set never expires before its highest score, so no session can escape a
//! later "log out everywhere".
//!
//! **Single Redis.** The scripts that write a session write the index in
//! the same atomic step. `create`, `update` and `cycle_id` list the session
//! under its (new) user with its new expiry as the score and remove it from
//! the user it had (the index writes come first, so if one fails nothing
//! is written); `delete` removes the record, then its member. Every index
//! write also drops the members whose score is past by the server's clock
//! (sessions Redis has expired) and sets the set's `EXPIREAT` to its
//! highest score. `delete_all_for` works through the set in batches, each
//! one script that deletes the sessions that still belong to the user and
//! removes exactly the members it processed (never the whole set), so a
//! session created meanwhile stays listed for the next call.
//! `delete_others_of` ("log out my other sessions") runs the same batches,
//! skipping the member it keeps, and so is as atomic: it ends only after a
//! script has found fewer members than a batch and deleted all of them but
//! the kept one, and a `cycle_id` moves a session's member in the same
//! script as the session, so a session cycled while it runs is deleted
//! under its new id (or its cycle finds the old one gone); it never
//! survives.
//!
//! **Cluster.** The set and the session hash are in different slots, so no
//! script can write both, and the index is written first. Before a record
//! is created for a user, given to a user, or extended past what its index
//! entry covers, a script on the set's slot raises the member's score to a
//! claim (the new expiry plus as much again as the session has left, at
//! most a day, so that most touches don't need a new claim) and extends the
//! set's TTL; the record script then stores the claim (`m:idx`) and, if a
//! write would take the session past it, writes nothing and asks for a new
//! claim. So a create for a user is two round trips, and an update three
//! when it needs a claim. A failure between the two steps leaves at worst
//! a member whose session is missing, shorter-lived, or someone else's;
//! `delete_all_for` lists the members and deletes each session that still
//! belongs to the user, following tombstones (see "`cycle_id`"). Members
//! are dropped only once their score is ten minutes past by the clock of
//! the set's node, and the set expires ten minutes after its highest score,
//! so a claim can't be undone while its record write is in flight; this
//! assumes the nodes' clocks agree within ten minutes. Nothing else
//! removes members (not `delete`, not `delete_all_for`): dropping a member
//! whose session is missing or someone else's could race a write that has
//! claimed it but not yet written the record. Stale members (deleted,
//! cycled or reassigned sessions) therefore linger until their score has
//! passed.
//!
//! `delete_others_of` on a Cluster is `delete_all_for`'s walk, skipping the
//! kept id (as a member, and as the end of a tombstone chain: an earlier id
//! of the kept session), with the same guarantees and caveats. It is not
//! one atomic step, but a session cycled while it runs does not survive
//! it: the walk reaches the session under whichever id it has when its
//! member is processed (through tombstones), and deleting it before a
//! cycle's retirement step makes that cycle fail and delete its copy (see
//! "`cycle_id`"). What may survive: a session created (or given to the
//! user) after the walk read the index; and, from a cycle that was in its
//! copy step, the new id if the cycling process crashes or loses Redis
//! before deleting it (that id was never sent to anyone, as above). A
//! session caught between its copy and its retirement can be counted twice
//! (both copies deleted). Like `delete_all_for`, it fails after following
//! sixteen tombstones from one member (a session cycled that often within
//! their ten minutes).
//!
//! # `cycle_id`
//!
//! On a single Redis, `cycle_id` is one script: it checks that the old id is
//! live and the new one free, `RENAME`s, applies the change set and moves
//! the index entry. A cluster can't rename across slots, so there it reads
//! the old record, writes it with the changes applied under the new id (one
//! script on the new id's slot, after the index), then retires the old id
//! only if it is still live and unchanged since it was read (an update
//! counter, `m:ver`). If the old id was deleted meanwhile (a logout, a
//! revocation), the new id is deleted and the call fails with
//! [`StoreErrorKind::NotFound`]; if it was updated meanwhile, the new id is
//! deleted and the move starts over, so the update isn't lost. What remains:
//! between the copy and the retirement both ids hold the session (only the
//! caller knows the new one), and a crash or an outage in that window, or
//! while deleting the new id on a failure, leaves the new id alive until
//! it expires: the old id is then still valid or already dead, the new id
//! is listed in the user's index, and its cookie was never sent.
//!
//! **Tombstones.** Retiring the old id leaves a tombstone, not nothing: the
//! old hash becomes just `m:moved` = the new id (hash, hex), expiring ten
//! minutes later. A `delete_all_for` may have read the user's index before
//! the new id was listed and reach the old id only after the move; it
//! follows the pointer (and a chain of them, at most 16; more is an error)
//! and deletes the session there if it still belongs to the user. A
//! revocation reads the index again once its reading is five minutes old,
//! so every tombstone it may need is still there. Having no `m:expires`, a
//! tombstone is an absent session to everything else: `load` finds
//! nothing, `create` takes the id (no collision), `update` and `cycle_id`
//! fail with [`StoreErrorKind::NotFound`] and write nothing, so it can't
//! come back to life, and `delete` leaves it (a late logout with the old
//! cookie must not cut a revocation's path to the new id). A single Redis
//! needs none: each revocation batch is one script.
//!
//! # Round trips
//!
//! `load` is one `HGETALL`, parsed straight from the reply into the record
//! (the values are Flask's tagged JSON text, decoded once). `update` is
//! one `EVALSHA` of the update script, which reads the metadata with one
//! `HMGET` and writes the change set with one `HDEL` and one `HSET` (per
//! 1000 items) and `EXPIREAT`; an update that involves no user doesn't
//! touch the user index. `create`, `cycle_id` and `delete` are one
//! `EVALSHA` each on a single Redis (see "Layout" for the cluster). The
//! scripts are cached by the server: after a restart or a `SCRIPT FLUSH`
//! the first call of each gets `NOSCRIPT`, loads it (`SCRIPT LOAD`) and
//! runs it again.
//!
//! **Batches (single Redis).** The store's calls share one multiplexed
//! connection. The calls that the tasks of one scheduler turn make are
//! written together, as one pipeline in one write: the first call queued
//! spawns a task that yields once (so every task that is ready queues its
//! command too), then sends the queue. Each call still gets its own reply,
//! and an error reply (a script error, a key of the wrong type) fails only
//! its call; a lost connection or a response timeout
//! ([`RedisOptions::response_timeout`], 2 s by default; one timer per
//! batch) fails every call of the batch with
//! [`StoreErrorKind::Unavailable`]. Batching changes no semantics: each
//! command is still atomic on its own, and nothing orders two requests'
//! commands that the two requests didn't order themselves. A Cluster
//! connection sends each command as it comes (redis-rs multiplexes per
//! node).
//!
//! # Replica acknowledgement
//!
//! Redis replicates asynchronously: a primary answers a write before its
//! replicas have it, so a failover can lose writes the store already
//! reported as done. [`RedisOptions::with_replica_ack`] (off by default)
//! sends Redis' `WAIT replicas timeout` right behind every write script, in
//! the same pipeline: one write on one connection (a single Redis' batch,
//! or the connection to the primary of the key's slot), so the count that
//! `WAIT` returns always covers the script, even when the connection
//! manager reconnects between two requests. A write that fewer replicas
//! acknowledged in time fails with [`StoreErrorKind::Unavailable`] (503).
//! The revocation writes ([`RedisStore::revocations`]) are writes like
//! any other: `bump_generation` (an `INCR`) and `deny` (a script) each
//! travel with their `WAIT` and fail the same way, so a "log out
//! everywhere" or a logout that returned `Ok` is on the replicas asked
//! for. (`delete_expired_denials` sends no `WAIT`: losing it only brings
//! back entries that no longer count.)
//!
//! What it does and doesn't promise:
//! - It narrows the loss window; it doesn't close it. `WAIT` is not
//!   consensus: a failover can still promote a replica that hadn't
//!   acknowledged, and a write can be lost between the primary and its
//!   replicas if both fail.
//! - A write that fails this way **was applied on the primary**, and may or
//!   may not survive a failover: the caller can't tell which.
//! - While a shard has fewer healthy replicas than asked for, its writes
//!   fail (reads go on). Ask for fewer replicas than each shard has.
//! - It costs about one replica round trip per write, and the `WAIT` holds
//!   the node's connection until the replica answers (figures in
//!   BENCHMARKS.md, "Redis Cluster failover").
//!
//! # Revocations
//!
//! [`RedisStore::revocations`] gives the store's
//! [`RevocationStore`](websession_core::store::RevocationStore),
//! [`RedisRevocations`], for revoking cookie sessions: a generation per
//! user ("log out everywhere") and a deny-list of session id hashes ("log
//! out this session"). It uses the store's connection (and its
//! [`with_replica_ack`](RedisOptions::with_replica_ack), for its writes: see
//! "Replica acknowledgement"). Its first call checks that the server's
//! `maxmemory-policy` can't evict the revocation keys (see "Memory
//! limits").
//!
//! ```no_run
//! use websession_core::store::RevocationStore as _;
//! use websession_redis::RedisStore;
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = RedisStore::connect("redis://127.0.0.1:6379").await?;
//! let revocations = store.revocations();
//! revocations.bump_generation("alice").await?; // every cookie of alice's is refused
//! // Now and then, with the sessions' cleanup (Unix seconds):
//! let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
//! revocations.delete_expired_denials(now).await?;
//! # Ok(()) }
//! ```
//!
//! Keys, with the default prefix:
//!
//! - `websession:gen:{<user>}`, a string: the user's generation (absent:
//!   0). `bump_generation` is one `INCR` (atomic). It has **no TTL**: a
//!   generation must outlive every cookie that recorded an older one.
//! - `websession:denied:{<h>}`, 16 sorted sets, `<h>` a hex digit (so they
//!   spread over a Cluster's slots): the id hashes (hex) whose first digit
//!   is `<h>`, scored by the time until which each is denied. `deny` is one
//!   script (`ZSCORE`, then `ZADD` unless the id is there with a later
//!   time); `delete_expired_denials` one `ZREMRANGEBYSCORE` per set, all
//!   sent at once (one batch on a single Redis), and returns how many
//!   entries it removed. Entries whose time has passed no longer count, but
//!   stay until then: Redis can't expire the members of a set, so call
//!   `delete_expired_denials` now and then (the sets have no TTL either; an
//!   emptied set is gone).
//!
//! `check` sends a `GET` of the generation and a `ZSCORE` of the id
//! together: on a single Redis in one batch (one round trip); on a Cluster
//! the two keys are in different slots (and usually on different nodes),
//! so they go side by side to their nodes, each read atomic on its own.
//! `generation` is one `GET`.
//!
//! **What undoes revocations.** The revocation keys are the only record
//! that a cookie was revoked: whatever removes them accepts the cookie
//! again, silently. `FLUSHALL`, a `FLUSHDB` of the store's database, a
//! `DEL` of the keys, an eviction (see "Memory limits"), a restart of a
//! Redis that doesn't persist, and a failover that lost the write (see
//! "Replica acknowledgement") all do: an absent generation reads as 0, an
//! absent deny-list as empty, so every revoked cookie that hasn't expired
//! is accepted again ("log out everywhere" undone). Worse, a later
//! `bump_generation` counts from 1 again, so it doesn't revoke the cookies
//! that recorded a higher generation before the loss. (A websession
//! process that cached the higher generation keeps refusing until it
//! restarts; don't count on it.) So:
//!
//! - keep sessions and revocations in a Redis of their own, or at least a
//!   database of their own (`redis://host/2`; a Cluster has only database
//!   0), not in the cache that gets flushed or runs an evicting policy
//!   (websession's `Revocation` can take the revocations of another store
//!   than the sessions': `Revocation::new(other.revocations())`);
//! - run it with `maxmemory-policy noeviction`, persistence (AOF) and, on
//!   a Cluster or with replicas, [`RedisOptions::with_replica_ack`];
//! - deny `FLUSHALL`, `FLUSHDB` and `DEL` on its keys to everyone else
//!   (the ACL above grants the store no flush);
//! - if it happens anyway, replace the cookies' signing key without
//!   keeping the old one as a fallback: every cookie session ends, revoked
//!   or not, and the guarantee is back.
//!
//! # Memory limits
//!
//! Run the sessions' Redis with `maxmemory-policy noeviction` (a full Redis
//! then refuses writes: requests that write answer 500, and nothing is
//! lost). Which keys have a TTL decides what the other policies can evict:
//!
//! | keys | TTL |
//! |---|---|
//! | sessions `{<hash>}`, user indexes `user-sessions:{<user>}`, cluster tombstones | yes |
//! | generations `gen:{<user>}`, deny-lists `denied:{<h>}` | **none** |
//!
//! - `allkeys-lru`, `allkeys-lfu`, `allkeys-random` may evict any key:
//!   a generation or a deny-list too, which undoes revocations (see
//!   "What undoes revocations" above), and a user's index (below).
//! - `volatile-lru`, `volatile-lfu`, `volatile-random`, `volatile-ttl`
//!   evict only keys with a TTL: never a revocation key, but a user's
//!   index may go before its sessions, and sessions whose index is gone
//!   can't be found by [`SessionStore::delete_all_for`] (an evicted
//!   session itself is just logged out).
//! - Whatever `maxmemory` is: 0 (no limit) can be changed at run time, and
//!   managed Redis services always set one.
//!
//! **The check.** At its first revocation call (any
//! [`RedisRevocations`] method; [`RedisRevocations::check_eviction_policy`]
//! runs it earlier), a store reads the policy with `CONFIG GET
//! maxmemory-policy`, or with `INFO memory` when `CONFIG` is refused: on a
//! single Redis from the server it is connected to (not from its replicas
//! behind Sentinel), on a Cluster from every node its connection knows,
//! replicas included (a promoted replica evicts by its own policy). A
//! policy that can evict a key without a TTL (every one but `noeviction`
//! and `volatile-*`) is logged as a warning (target
//! `websession::security`); with [`RedisOptions::with_safe_eviction_required`]
//! every revocation call then
//! fails with [`StoreErrorKind::Backend`] whose source is an
//! [`UnsafeEvictionPolicy`] (a websession app answers 503). What the check
//! does not do:
//!
//! - It runs once per store (its clones and its revocations share it): a
//!   policy changed later isn't seen. A server it can't reach leaves the
//!   check for a later call.
//! - When both commands are refused (an ACL without `+info`, a managed
//!   Redis), it logs that it could not check and goes on, with the
//!   requirement too.
//! - It guards the revocation keys only: it says nothing about the user
//!   indexes under `volatile-*`, and nothing about flushes.
#![warn(missing_docs)]

use std::sync::Arc;

use redis::aio::ConnectionManager;
use redis::{Cmd, FromRedisValue, Script};
use websession_core::store::{
    decode_value, ChangeSet, IdHash, Record, SessionStore, StoreError, StoreErrorKind,
};
use websession_core::Map;

mod cluster;
mod conn;
mod eviction;
mod options;
mod revocations;
mod scripts;

pub use eviction::UnsafeEvictionPolicy;
pub use options::RedisOptions;
use options::ReplicaAck;
/// The redis-rs version this store is built on (1.x), for
/// [`RedisStore::from_client`] and [`RedisStore::from_cluster_client`].
pub use redis;
pub use revocations::RedisRevocations;

use conn::Conn;
use scripts::Scripts;

/// How long, in seconds, a cluster keeps a user-index member past its
/// score, and the index itself past its highest score: the tolerated clock
/// difference between the node of a session and the node of its user's
/// index.
const CLUSTER_INDEX_MARGIN_SECS: u64 = 600;

/// The most slack (seconds) a cluster adds to an index claim, on top of the
/// session's new expiry.
const CLAIM_SLACK_MAX: u64 = 86_400;

/// Sessions a single-Redis `delete_all_for` handles per script.
const REVOKE_BATCH: usize = 500;

/// Batches `delete_all_for` runs at most (500 000 sessions).
const REVOKE_MAX_BATCHES: usize = 1000;

/// How long (seconds) a cluster keeps the tombstone `cycle_id` leaves on
/// the old id, for the revocations in flight to follow.
const TOMBSTONE_SECS: u64 = 600;

/// How old a cluster `delete_all_for`'s reading of the index may get before
/// it reads it again: well within `TOMBSTONE_SECS`, so every tombstone it
/// may meet is still there.
const REVOKE_SNAPSHOT_MAX_AGE: std::time::Duration =
    std::time::Duration::from_secs(TOMBSTONE_SECS / 2);

/// Tombstones a cluster `delete_all_for` follows from one index member: a
/// session cycled this many times during one revocation is an error.
const REVOKE_MAX_HOPS: usize = 16;

/// Tries of a cluster `update` whose user keeps changing, and of a cluster
/// `cycle_id` whose old record keeps changing.
const ATTEMPTS: usize = 4;

/// Sessions in Redis hashes with native TTL.
#[derive(Clone)]
pub struct RedisStore {
    conn: Conn,
    prefix: String,
    scripts: Arc<Scripts>,
    replica_ack: Option<ReplicaAck>,
    /// The `maxmemory-policy` check, run once, at the first revocation
    /// call (see "Memory limits").
    eviction: Arc<eviction::EvictionCheck>,
    /// Whether revocation calls fail when the check finds an evicting
    /// policy.
    require_safe_eviction: bool,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.conn {
            Conn::Single(_) => "single",
            Conn::Cluster(_) => "cluster",
        };
        f.debug_struct("RedisStore")
            .field("mode", &mode)
            .field("prefix", &self.prefix)
            .field("replica_ack", &self.replica_ack)
            .field("require_safe_eviction", &self.require_safe_eviction)
            .field("eviction_policy", &self.eviction.finding())
            .finish()
    }
}

/// Whether `e` says the server wasn't reached (or didn't answer in time),
/// rather than what it answered.
fn unreachable(e: &redis::RedisError) -> bool {
    e.is_io_error() || e.is_connection_refusal() || e.is_timeout() || e.is_connection_dropped()
}

fn err(e: impl Into<redis::RedisError>) -> StoreError {
    let e = e.into();
    let kind = if unreachable(&e) {
        StoreErrorKind::Unavailable
    } else {
        StoreErrorKind::Backend
    };
    StoreError::new(kind, e)
}

fn not_found() -> StoreError {
    StoreError::from_kind(StoreErrorKind::NotFound)
}

/// A user as a script argument: `''` for none, else `u:<user>`.
fn user_arg(user: Option<&str>) -> String {
    user.map_or(String::new(), |u| format!("u:{u}"))
}

/// Adds a change set's arguments, in the order `APPLY` reads them.
fn push_changes(inv: &mut Cmd, changes: &ChangeSet) {
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
fn claim(expires: u64, now: u64) -> u64 {
    expires.saturating_add(expires.saturating_sub(now).min(CLAIM_SLACK_MAX))
}

/// Fails a write that fewer replicas than `ack` asks for acknowledged
/// (`acked`, `WAIT`'s reply).
fn check_ack(ack: ReplicaAck, acked: redis::Value) -> Result<(), StoreError> {
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
    /// Connects to one Redis server with the default [`RedisOptions`]
    /// (2-second connect and response timeouts, the system's root
    /// certificates). The connection reconnects by itself after an outage.
    ///
    /// `url` is redis-rs' form: `redis://[USER][:PASSWORD@]HOST[:PORT][/DB]`,
    /// `rediss://…` for TLS (feature `rustls`, the default, or
    /// `native-tls`), `redis+unix:///path`. A user and password are sent
    /// with `AUTH` (Redis 6 ACL users: see "Access control" in the crate
    /// docs); neither appears in the store's `Debug` or in its errors.
    ///
    /// ```no_run
    /// use websession_redis::RedisStore;
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = RedisStore::connect("rediss://sessions:s3cret@cache.internal:6380").await?;
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Backend`] when the URL is invalid or the server
    /// refuses the user or password; [`StoreErrorKind::Unavailable`] when
    /// the server can't be reached in time, or its TLS certificate doesn't
    /// chain to a trusted root or doesn't name the host.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, RedisOptions::default()).await
    }

    /// Connects to one Redis server with these options (timeouts, a
    /// custom root CA for `rediss://`, the key prefix, ...).
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use websession_redis::{RedisOptions, RedisStore};
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let options = RedisOptions::default().with_response_timeout(Duration::from_millis(500));
    /// let store = RedisStore::connect_with("redis://127.0.0.1:6379", options).await?;
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect); also [`StoreErrorKind::Backend`] when
    /// the root CA PEM holds no certificate.
    pub async fn connect_with(url: &str, options: RedisOptions) -> Result<Self, StoreError> {
        #[cfg(feature = "rustls")]
        let client = match options.certificates()? {
            Some(certs) => redis::Client::build_with_tls(url, certs),
            None => redis::Client::open(url),
        };
        #[cfg(not(feature = "rustls"))]
        let client = redis::Client::open(url);
        Self::from_client(client.map_err(err)?, options).await
    }

    /// Uses a `redis::Client` (redis 1.x) you built (with your own TLS
    /// certificates, say), with these options (their root certificates are
    /// not used: the client's own TLS settings apply). The store makes its
    /// own `ConnectionManager` from it, with the options' timeouts.
    ///
    /// ```no_run
    /// use websession_redis::{redis, RedisOptions, RedisStore};
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = redis::Client::open("redis://127.0.0.1:6379")?;
    /// let store = RedisStore::from_client(client, RedisOptions::default()).await?;
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect), for the first connection.
    pub async fn from_client(
        client: redis::Client,
        options: RedisOptions,
    ) -> Result<Self, StoreError> {
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.connect_timeout))
            .set_response_timeout(Some(options.response_timeout))
            .set_number_of_retries(1);
        let manager = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(err)?;
        Ok(Self::with_conn(
            Conn::Single(conn::Batcher::new(manager)),
            options,
        ))
    }

    /// Connects to a Redis Cluster through any of its nodes, with these
    /// options: one reachable node's URL is enough, the others are
    /// discovered from it (`CLUSTER SLOTS`). The URLs' user, password and
    /// scheme (`rediss://` for TLS) apply to every node.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use websession_redis::{RedisOptions, RedisStore};
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = RedisStore::connect_cluster(&["redis://10.0.0.1:7000"], RedisOptions::default()).await?;
    /// let options = RedisOptions::default().with_connect_timeout(Duration::from_secs(5));
    /// let patient = RedisStore::connect_cluster(&["redis://10.0.0.1:7000"], options).await?;
    /// # let _ = (store, patient);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Unavailable`] when no node can be reached;
    /// [`StoreErrorKind::Backend`] when a URL is invalid, a node refuses
    /// the user or password, or the root CA PEM holds no certificate.
    pub async fn connect_cluster(urls: &[&str], options: RedisOptions) -> Result<Self, StoreError> {
        let builder = redis::cluster::ClusterClient::builder(urls.iter().copied())
            .connection_timeout(options.connect_timeout)
            .response_timeout(options.response_timeout)
            // redis 1.x also bounds a call's whole time (its wait behind a
            // topology refresh, its retries) by the response timeout unless
            // told otherwise; with that, calls to healthy primaries failed
            // while another primary failed over. Each reply is still bounded.
            .overall_response_timeout(None);
        #[cfg(feature = "rustls")]
        let builder = match options.certificates()? {
            Some(certs) => builder.certs(certs),
            None => builder,
        };
        Self::from_cluster_client(builder.build().map_err(err)?, options).await
    }

    /// Uses a `redis::cluster::ClusterClient` (redis 1.x) you built (its
    /// timeouts, TLS and credentials apply, not the options'), with the
    /// options' key prefix, replica acknowledgement and eviction
    /// requirement.
    ///
    /// ```no_run
    /// use websession_redis::{redis, RedisOptions, RedisStore};
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = redis::cluster::ClusterClient::new(vec!["redis://10.0.0.1:7000"])?;
    /// let store = RedisStore::from_cluster_client(client, RedisOptions::default()).await?;
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`connect_cluster`](Self::connect_cluster).
    pub async fn from_cluster_client(
        client: redis::cluster::ClusterClient,
        options: RedisOptions,
    ) -> Result<Self, StoreError> {
        let conn = client.get_async_connection().await.map_err(err)?;
        Ok(Self::with_conn(Conn::Cluster(conn), options))
    }

    fn with_conn(conn: Conn, options: RedisOptions) -> Self {
        Self {
            conn,
            prefix: options.key_prefix,
            scripts: Arc::new(Scripts::new()),
            replica_ack: options.replica_ack,
            eviction: Arc::default(),
            require_safe_eviction: options.safe_eviction_required,
        }
    }

    fn key(&self, id: &IdHash) -> String {
        self.key_hex(&id.to_hex())
    }

    fn key_hex(&self, hex: &str) -> String {
        format!("{}{{{hex}}}", self.prefix)
    }

    fn user_key(&self, user: &str) -> String {
        format!("{}user-sessions:{{{user}}}", self.prefix)
    }

    fn is_cluster(&self) -> bool {
        matches!(self.conn, Conn::Cluster(_))
    }

    /// Sends one command and reads its reply, an error reply as an error.
    /// On a single Redis the command joins the next batch as it is (no
    /// copy).
    async fn send(&self, cmd: Cmd) -> redis::RedisResult<redis::Value> {
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
    async fn eval<T: FromRedisValue>(
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
    async fn send_acked(
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
    async fn fetch(&self, id: &IdHash) -> Result<Option<(Record, String)>, StoreError> {
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
    let mut version = String::new();
    let mut any = false;
    for (field, value) in pairs {
        any = true;
        let (field, value) = (text(field)?, text(value)?);
        if let Some(key) = field.strip_prefix("d:") {
            record.data.insert(key.to_owned(), decode_value(value)?);
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
    Ok(any.then_some((record, version)))
}

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
                for (k, v) in &record.data {
                    cmd.arg(k).arg(v.to_tagged_json());
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
