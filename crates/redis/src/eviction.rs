//! The check of the servers' `maxmemory-policy` that guards the revocation
//! keys, which have no TTL (see "Memory limits" in the crate docs). It runs
//! once per store (its clones and its [`RedisRevocations`] share it), at
//! the first revocation call.

use std::sync::PoisonError;

use redis::cluster_routing::{MultipleNodeRoutingInfo, RoutingInfo};

use redis::{Cmd, FromRedisValue};
use websession_core::store::{StoreError, StoreErrorKind};

use crate::conn::Conn;
use crate::error::{err, unreachable};
use crate::RedisStore;

/// What the check found, kept for the store's life.
#[derive(Clone, Debug)]
pub(crate) enum Finding {
    /// Every node checked keeps the keys that have no TTL.
    Safe,
    /// This node's policy can evict keys that have no TTL.
    Evicts(UnsafeEvictionPolicy),
    /// The policy couldn't be read (the command refused, the field absent).
    Unknown,
}

/// A Redis node whose `maxmemory-policy` can evict keys that have no TTL
/// (`allkeys-lru`, `allkeys-lfu`, `allkeys-random`, or one this crate
/// doesn't know): it may evict a user's generation or a deny-list, and
/// with it revocations. The source of the [`StoreError`] (of kind
/// [`StoreErrorKind::Backend`]) that every revocation call of a store with
/// [`RedisOptions::with_safe_eviction_required`](crate::RedisOptions::with_safe_eviction_required) returns then.
///
/// ```no_run
/// use websession_core::store::RevocationStore as _;
/// use websession_redis::{RedisOptions, RedisStore, UnsafeEvictionPolicy};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let options = RedisOptions::default().with_safe_eviction_required(true);
/// let store = RedisStore::connect_with("redis://127.0.0.1:6379", options).await?;
/// if let Err(e) = store.revocations().bump_generation("alice").await {
///     if let Some(unsafe_policy) = std::error::Error::source(&e)
///         .and_then(|s| s.downcast_ref::<UnsafeEvictionPolicy>())
///     {
///         eprintln!("{} runs {}", unsafe_policy.node(), unsafe_policy.policy());
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsafeEvictionPolicy {
    node: String,
    policy: String,
}

impl UnsafeEvictionPolicy {
    /// The node: `host:port` on a Cluster, `the Redis server` on a single
    /// Redis.
    #[must_use]
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Its `maxmemory-policy`, as the node reported it.
    #[must_use]
    pub fn policy(&self) -> &str {
        &self.policy
    }
}

impl std::fmt::Display for UnsafeEvictionPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} runs maxmemory-policy {}, which can evict the revocation keys (they have no TTL) \
             and with them revocations; use noeviction or a volatile-* policy",
            self.node, self.policy
        )
    }
}

impl std::error::Error for UnsafeEvictionPolicy {}

/// Whether `policy` may evict a key that has no TTL: every policy but
/// `noeviction` and the `volatile-*` ones (which pick only among keys with
/// a TTL), including any this crate doesn't know.
pub(crate) fn evicts_keys_without_ttl(policy: &str) -> bool {
    let policy = policy.to_ascii_lowercase();
    !(policy == "noeviction" || policy.starts_with("volatile-"))
}

/// The node name of a single Redis in findings and logs.
const SINGLE_NODE: &str = "the Redis server";

/// How long after a failure to reach the server the check is tried again
/// (unless the store requires a safe policy: then at every call).
const RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

/// The check's state, shared by a store's clones.
#[derive(Default)]
pub(crate) struct EvictionCheck {
    finding: tokio::sync::OnceCell<Finding>,
    /// When a check that couldn't reach the server may be tried again.
    retry_at: std::sync::Mutex<Option<std::time::Instant>>,
}

impl EvictionCheck {
    /// The finding, once the check has run.
    pub(crate) fn finding(&self) -> Option<&Finding> {
        self.finding.get()
    }
}

impl RedisStore {
    /// Runs the check if it hasn't run (once per store), then answers for
    /// this store: `Err` when the store requires a safe policy and a node
    /// has one that evicts. When the server can't be reached, the check is
    /// left for a later call: the next one under the requirement (and this
    /// call fails), else one at least [`RETRY_AFTER`] later (and this call
    /// goes on).
    pub(crate) async fn guard_eviction(&self) -> Result<(), StoreError> {
        let state = &*self.eviction;
        let finding = match state.finding.get() {
            Some(finding) => finding,
            None => {
                let retry_at = || {
                    state
                        .retry_at
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                };
                if !self.require_safe_eviction
                    && retry_at().is_some_and(|at| std::time::Instant::now() < at)
                {
                    return Ok(());
                }
                match state
                    .finding
                    .get_or_try_init(|| self.check_eviction())
                    .await
                {
                    Ok(finding) => finding,
                    Err(e) => {
                        *retry_at() = Some(std::time::Instant::now() + RETRY_AFTER);
                        return if self.require_safe_eviction {
                            Err(e)
                        } else {
                            Ok(())
                        };
                    }
                }
            }
        };
        match finding {
            Finding::Evicts(policy) if self.require_safe_eviction => {
                Err(StoreError::new(StoreErrorKind::Backend, policy.clone()))
            }
            _ => Ok(()),
        }
    }

    /// Reads every node's policy (`CONFIG GET maxmemory-policy`; when that
    /// is refused, `INFO memory`) and logs what it found.
    async fn check_eviction(&self) -> Result<Finding, StoreError> {
        let mut config = redis::cmd("CONFIG");
        config.arg("GET").arg("maxmemory-policy");
        let policies = match self.each_node(config).await {
            Ok(replies) => replies
                .into_iter()
                .map(|(node, reply)| (node, policy_from_config(reply)))
                .collect::<Vec<_>>(),
            Err(e) if unreachable(&e) => return Err(err(e)),
            Err(refused) => {
                tracing::debug!(error = %refused, "CONFIG GET maxmemory-policy refused; trying INFO memory");
                let mut info = redis::cmd("INFO");
                info.arg("memory");
                match self.each_node(info).await {
                    Ok(replies) => replies
                        .into_iter()
                        .map(|(node, reply)| (node, policy_from_info(reply)))
                        .collect(),
                    Err(e) if unreachable(&e) => return Err(err(e)),
                    Err(e) => {
                        tracing::warn!(
                            target: "websession::security",
                            config_error = %refused,
                            info_error = %e,
                            "could not check the Redis maxmemory-policy (CONFIG GET and INFO \
                             refused): if it evicts keys without a TTL (allkeys-*), revocations \
                             can be silently undone; going on unchecked"
                        );
                        return Ok(Finding::Unknown);
                    }
                }
            }
        };
        if policies.is_empty() {
            tracing::warn!(
                target: "websession::security",
                "could not check the Redis maxmemory-policy (no node answered); going on unchecked"
            );
            return Ok(Finding::Unknown);
        }
        let mut unknown = Vec::new();
        for (node, policy) in policies {
            match policy {
                Some(policy) if evicts_keys_without_ttl(&policy) => {
                    tracing::warn!(
                        target: "websession::security",
                        node = %node,
                        policy = %policy,
                        refused = self.require_safe_eviction,
                        "the Redis maxmemory-policy can evict the revocation keys (generations and \
                         deny-lists have no TTL): an evicted key silently undoes revocations; use \
                         noeviction (or a volatile-* policy), on a Redis of its own"
                    );
                    return Ok(Finding::Evicts(UnsafeEvictionPolicy { node, policy }));
                }
                Some(_) => {}
                None => unknown.push(node),
            }
        }
        if unknown.is_empty() {
            tracing::debug!("the Redis maxmemory-policy keeps the revocation keys");
            Ok(Finding::Safe)
        } else {
            tracing::warn!(
                target: "websession::security",
                nodes = ?unknown,
                "could not check the Redis maxmemory-policy of these nodes (no policy in the \
                 reply); going on unchecked"
            );
            Ok(Finding::Unknown)
        }
    }

    /// Sends `cmd` to the single Redis, or to every node of the Cluster
    /// that its connection knows (primaries and replicas: a replica is
    /// promoted with its own policy); returns each node's reply.
    async fn each_node(&self, cmd: Cmd) -> redis::RedisResult<Vec<(String, redis::Value)>> {
        match &self.conn {
            Conn::Single(_) => Ok(vec![(SINGLE_NODE.to_owned(), self.send(cmd).await?)]),
            Conn::Cluster(c) => {
                // No response policy: the reply is a map of node to reply,
                // and any node's error is the command's.
                let routing = RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllNodes, None));
                match c.clone().route_command(cmd, routing).await? {
                    redis::Value::Map(replies) => Ok(replies
                        .into_iter()
                        .map(|(node, reply)| {
                            let node = String::from_redis_value(node)
                                .unwrap_or_else(|_| "a cluster node".to_owned());
                            (node, reply)
                        })
                        .collect()),
                    other => Err(redis::RedisError::from((
                        redis::ErrorKind::UnexpectedReturnType,
                        "unexpected reply from the cluster's nodes",
                        format!("{other:?}"),
                    ))),
                }
            }
        }
    }
}

/// The policy in a `CONFIG GET maxmemory-policy` reply (a name and a value,
/// as an array or a map).
fn policy_from_config(reply: redis::Value) -> Option<String> {
    let pairs =
        std::collections::HashMap::<String, String>::from_redis_value(reply.extract_error().ok()?)
            .ok()?;
    pairs.get("maxmemory-policy").cloned()
}

/// The policy in an `INFO memory` reply (its `maxmemory_policy:` line).
fn policy_from_info(reply: redis::Value) -> Option<String> {
    let text = String::from_redis_value(reply.extract_error().ok()?).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("maxmemory_policy:"))
        .map(|p| p.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_noeviction_and_volatile_policies_keep_keys_without_a_ttl() {
        for safe in [
            "noeviction",
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
            "NOEVICTION",
        ] {
            assert!(!evicts_keys_without_ttl(safe), "{safe}");
        }
        for evicting in [
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "something-new",
            "",
        ] {
            assert!(evicts_keys_without_ttl(evicting), "{evicting}");
        }
    }

    #[test]
    fn the_policy_is_read_from_either_reply() {
        let config = redis::Value::Array(vec![
            redis::Value::BulkString(b"maxmemory-policy".to_vec()),
            redis::Value::BulkString(b"allkeys-lru".to_vec()),
        ]);
        assert_eq!(policy_from_config(config).as_deref(), Some("allkeys-lru"));
        let map = redis::Value::Map(vec![(
            redis::Value::BulkString(b"maxmemory-policy".to_vec()),
            redis::Value::BulkString(b"noeviction".to_vec()),
        )]);
        assert_eq!(policy_from_config(map).as_deref(), Some("noeviction"));
        assert_eq!(policy_from_config(redis::Value::Array(vec![])), None);
        let info = redis::Value::BulkString(
            b"# Memory\r\nused_memory:1\r\nmaxmemory_policy:volatile-lru\r\nx:y\r\n".to_vec(),
        );
        assert_eq!(policy_from_info(info).as_deref(), Some("volatile-lru"));
        assert_eq!(
            policy_from_info(redis::Value::BulkString(b"# Memory\r\n".to_vec())),
            None
        );
    }
}
