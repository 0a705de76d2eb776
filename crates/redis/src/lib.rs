//! The Redis session store, on a single Redis or a Redis Cluster.
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
//! ([`RedisOptions::with_response_timeout`], 2 s by default; one timer per
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

#[cfg(doc)]
use websession_core::store::{SessionStore, StoreErrorKind};

mod cluster;
mod commands;
mod conn;
mod error;
mod eviction;
mod options;
mod revocations;
mod scripts;
mod session_store;
mod store;

pub use eviction::UnsafeEvictionPolicy;
pub use options::RedisOptions;
/// The redis-rs version this store is built on (1.x), for
/// [`RedisStore::from_client`] and [`RedisStore::from_cluster_client`].
pub use redis;
pub use revocations::RedisRevocations;
pub use store::RedisStore;
