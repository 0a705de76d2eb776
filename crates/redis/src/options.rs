//! [`RedisOptions`]: the timeouts and the TLS trust the store connects
//! with, its key prefix, the replica acknowledgement of its writes, and
//! whether it requires a safe eviction policy.

use std::time::Duration;

/// How [`RedisStore`](crate::RedisStore) connects and keeps its keys:
/// timeouts, with the `rustls` feature the certificate authority a
/// `rediss://` server must chain to, the key prefix, the replica
/// acknowledgement of writes, and whether revocations require a safe
/// eviction policy.
///
/// | setting | default |
/// |---|---|
/// | [`with_connect_timeout`](Self::with_connect_timeout) | 2 s |
/// | [`with_response_timeout`](Self::with_response_timeout) | 2 s |
/// | [`with_root_certificates_pem`](Self::with_root_certificates_pem) (feature `rustls`) | none: the system's root certificates |
/// | [`with_key_prefix`](Self::with_key_prefix) | `websession:` |
/// | [`with_replica_ack`](Self::with_replica_ack) | off: a write is answered once the primary applied it |
/// | [`with_safe_eviction_required`](Self::with_safe_eviction_required) | off: an evicting `maxmemory-policy` is only logged |
///
/// The timeouts and the root certificates are for the connections the
/// store makes: [`RedisStore::from_client`](crate::RedisStore::from_client)
/// takes the timeouts only, [`RedisStore::from_cluster_client`](crate::RedisStore::from_cluster_client)
/// neither (your client's settings apply). The key prefix, the replica
/// acknowledgement and the eviction requirement apply to every store.
///
/// ```
/// use std::time::Duration;
/// use websession_redis::RedisOptions;
///
/// let options = RedisOptions::default()
///     .with_connect_timeout(Duration::from_secs(5))
///     .with_response_timeout(Duration::from_millis(500))
///     .with_key_prefix("shop:sessions:");
/// # let _ = options;
/// ```
#[derive(Clone)]
pub struct RedisOptions {
    pub(crate) connect_timeout: Duration,
    pub(crate) response_timeout: Duration,
    #[cfg_attr(not(feature = "rustls"), allow(dead_code))]
    pub(crate) root_certificates: Option<Vec<u8>>,
    pub(crate) key_prefix: String,
    pub(crate) replica_ack: Option<ReplicaAck>,
    pub(crate) safe_eviction_required: bool,
}

/// The longest `WAIT` [`RedisOptions::with_replica_ack`] allows, in
/// milliseconds: well under the default response timeout (2 s).
const REPLICA_ACK_MAX_TIMEOUT_MS: u64 = 1000;

/// The opt-in `WAIT` after each write (see "Replica acknowledgement" in the
/// crate docs).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReplicaAck {
    pub(crate) replicas: u32,
    pub(crate) timeout_ms: u64,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(2),
            root_certificates: None,
            key_prefix: "websession:".into(),
            replica_ack: None,
            safe_eviction_required: false,
        }
    }
}

impl std::fmt::Debug for RedisOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisOptions")
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field(
                "root_certificates",
                &self.root_certificates.as_ref().map(|_| "custom"),
            )
            .field("key_prefix", &self.key_prefix)
            .field("replica_ack", &self.replica_ack)
            .field("safe_eviction_required", &self.safe_eviction_required)
            .finish()
    }
}

impl RedisOptions {
    /// How long making a connection (TCP, TLS, `AUTH`) may take: 2 seconds
    /// by default. Past it, the connection attempt fails with
    /// [`StoreErrorKind::Unavailable`](websession_core::store::StoreErrorKind::Unavailable).
    ///
    /// ```
    /// use std::time::Duration;
    /// let options = websession_redis::RedisOptions::default().with_connect_timeout(Duration::from_secs(5));
    /// # let _ = options;
    /// ```
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a reply may take: 2 seconds by default. On a single Redis
    /// one timer covers a whole batch (see "Round trips" in the crate
    /// docs); past it, every call of the batch fails with
    /// [`StoreErrorKind::Unavailable`](websession_core::store::StoreErrorKind::Unavailable).
    /// On a Cluster it bounds each reply, not a call's retries (a
    /// `ClusterClient` of your own, redis 1.x, bounds the whole call by its
    /// response timeout unless you set `overall_response_timeout`).
    /// Keep it above the `WAIT` timeout of
    /// [`with_replica_ack`](Self::with_replica_ack).
    ///
    /// ```
    /// use std::time::Duration;
    /// let options = websession_redis::RedisOptions::default().with_response_timeout(Duration::from_secs(1));
    /// # let _ = options;
    /// ```
    #[must_use]
    pub fn with_response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// Refuses revocations while a Redis node's `maxmemory-policy` can
    /// evict the revocation keys (off by default).
    ///
    /// At its first revocation call, a store reads the policy of its Redis
    /// (of every node its Cluster connection knows, replicas included):
    /// `CONFIG GET maxmemory-policy`, or `INFO memory` when `CONFIG` is
    /// refused. The generations and deny-lists have no TTL, so every policy
    /// but `noeviction` and the `volatile-*` ones can evict them, which
    /// silently undoes revocations (see "Memory limits" in the crate docs).
    /// Such a policy is always logged (`tracing::warn!`, target
    /// `websession::security`); with this option, every revocation call of
    /// the store then fails with [`StoreErrorKind::Backend`], whose source
    /// is an [`UnsafeEvictionPolicy`](crate::UnsafeEvictionPolicy) (a
    /// websession app answers 503, unless its `Revocation` fails open).
    ///
    /// It is checked once per store: a policy changed afterwards isn't
    /// seen. When neither command is allowed (an ACL, a managed Redis), the
    /// store logs that it could not check and goes on, even with this
    /// option.
    ///
    /// ```
    /// let options = websession_redis::RedisOptions::default().with_safe_eviction_required(true);
    /// # let _ = options;
    /// ```
    ///
    /// [`StoreErrorKind::Backend`]: websession_core::store::StoreErrorKind::Backend
    #[must_use]
    pub fn with_safe_eviction_required(mut self, require: bool) -> Self {
        self.safe_eviction_required = require;
        self
    }

    /// Trusts only the certificate authorities in `pem` (one or more PEM
    /// `CERTIFICATE` blocks) for `rediss://` servers, instead of the
    /// system's root certificates. The server's certificate must chain to
    /// one of them and name the host of the URL. (A URL ending in
    /// `#insecure` turns every check off: don't.)
    ///
    /// Only with the `rustls` feature: with `native-tls` alone, Redis
    /// servers are checked against the system's store (OpenSSL reads
    /// `SSL_CERT_FILE` and `SSL_CERT_DIR`).
    ///
    /// A PEM that holds no certificate fails the connection with
    /// [`StoreErrorKind::Backend`](websession_core::store::StoreErrorKind::Backend).
    ///
    /// ```no_run
    /// use websession_redis::{RedisOptions, RedisStore};
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let ca = std::fs::read("/etc/redis/ca.pem")?;
    /// let options = RedisOptions::default().with_root_certificates_pem(ca);
    /// let store = RedisStore::connect_with("rediss://cache.internal:6380", options).await?;
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "rustls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
    #[must_use]
    pub fn with_root_certificates_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates = Some(pem.into());
        self
    }

    /// Uses `prefix` (default `websession:`) for every key, to share a Redis
    /// (or a Cluster) with other apps or other session sets. A session is
    /// `<prefix>{<id hash>}` and a user's index `<prefix>user-sessions:{<user>}`
    /// (revocations: `<prefix>gen:{<user>}`, `<prefix>denied:{<h>}`);
    /// give a restricted ACL user the key pattern `~<prefix>*` (see "Access
    /// control" in the crate docs).
    ///
    /// On a Cluster the braces are the hash tag that spreads sessions over
    /// the slots, and Redis hashes only the *first* `{…}` of a key: a prefix
    /// holding `{` would put every session in one slot, on one node. Keep
    /// `{` and `}` out of the prefix.
    ///
    /// ```no_run
    /// use websession_redis::{RedisOptions, RedisStore};
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let options = RedisOptions::default().with_key_prefix("shop:sessions:");
    /// let store = RedisStore::connect_with("redis://127.0.0.1:6379", options).await?;
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// Makes every write wait until at least `replicas` replicas of the
    /// node that took it have acknowledged it (Redis' `WAIT`), for at most
    /// `timeout`; a write that fewer replicas acknowledged in time fails
    /// with [`StoreErrorKind::Unavailable`](websession_core::store::StoreErrorKind::Unavailable).
    /// Off by default (and with `replicas` 0). This narrows the window in
    /// which a failover loses an acknowledged write; it doesn't close it,
    /// and a failed write may still have been applied (see "Replica
    /// acknowledgement" in the crate docs).
    ///
    /// `timeout` is capped at one second (the default response timeout is
    /// two) and at least one millisecond (`WAIT 0` would wait forever).
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// use websession_redis::{RedisOptions, RedisStore};
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let options = RedisOptions::default().with_replica_ack(1, Duration::from_millis(500));
    /// let store = RedisStore::connect_cluster(&["redis://10.0.0.1:7000"], options).await?;
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn with_replica_ack(mut self, replicas: u32, timeout: Duration) -> Self {
        let timeout_ms = u64::try_from(timeout.as_millis())
            .unwrap_or(u64::MAX)
            .clamp(1, REPLICA_ACK_MAX_TIMEOUT_MS);
        self.replica_ack = (replicas > 0).then_some(ReplicaAck {
            replicas,
            timeout_ms,
        });
        self
    }

    /// The certificates for redis-rs, after checking the PEM holds one.
    #[cfg(feature = "rustls")]
    pub(crate) fn certificates(
        &self,
    ) -> Result<Option<redis::TlsCertificates>, websession_core::store::StoreError> {
        let Some(pem) = &self.root_certificates else {
            return Ok(None);
        };
        if !pem
            .windows(b"-----BEGIN CERTIFICATE-----".len())
            .any(|w| w == b"-----BEGIN CERTIFICATE-----")
        {
            return Err(websession_core::store::StoreError::new(
                websession_core::store::StoreErrorKind::Backend,
                "the root CA PEM holds no CERTIFICATE block",
            ));
        }
        Ok(Some(redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(pem.clone()),
        }))
    }
}
