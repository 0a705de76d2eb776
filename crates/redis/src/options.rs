//! [`RedisOptions`]: the timeouts and the TLS trust the store connects
//! with, and whether it requires a safe eviction policy.

use std::time::Duration;

/// How [`RedisStore`](crate::RedisStore) connects: timeouts, with the
/// `rustls` feature the certificate authority a `rediss://` server must
/// chain to, and whether revocations require a safe eviction policy.
///
/// | setting | default |
/// |---|---|
/// | [`connect_timeout`](Self::connect_timeout) | 2 s |
/// | [`response_timeout`](Self::response_timeout) | 2 s |
/// | [`root_ca_pem`](Self::root_ca_pem) (feature `rustls`) | none: the system's root certificates |
/// | [`require_safe_eviction`](Self::require_safe_eviction) | off: an evicting `maxmemory-policy` is only logged |
///
/// ```
/// use std::time::Duration;
/// use websession_redis::RedisOptions;
///
/// let options = RedisOptions::default()
///     .connect_timeout(Duration::from_secs(5))
///     .response_timeout(Duration::from_millis(500));
/// # let _ = options;
/// ```
#[derive(Clone)]
pub struct RedisOptions {
    pub(crate) connect_timeout: Duration,
    pub(crate) response_timeout: Duration,
    #[cfg_attr(not(feature = "rustls"), allow(dead_code))]
    pub(crate) root_ca_pem: Option<Vec<u8>>,
    pub(crate) require_safe_eviction: bool,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(2),
            root_ca_pem: None,
            require_safe_eviction: false,
        }
    }
}

impl std::fmt::Debug for RedisOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisOptions")
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("root_ca_pem", &self.root_ca_pem.as_ref().map(|_| "custom"))
            .field("require_safe_eviction", &self.require_safe_eviction)
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
    /// let options = websession_redis::RedisOptions::default().connect_timeout(Duration::from_secs(5));
    /// # let _ = options;
    /// ```
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
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
    /// [`RedisStore::with_replica_ack`](crate::RedisStore::with_replica_ack).
    ///
    /// ```
    /// use std::time::Duration;
    /// let options = websession_redis::RedisOptions::default().response_timeout(Duration::from_secs(1));
    /// # let _ = options;
    /// ```
    #[must_use]
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
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
    /// option. For a store made from your own manager or connection, use
    /// [`RedisStore::require_safe_eviction`](crate::RedisStore::require_safe_eviction).
    ///
    /// ```
    /// let options = websession_redis::RedisOptions::default().require_safe_eviction(true);
    /// # let _ = options;
    /// ```
    ///
    /// [`StoreErrorKind::Backend`]: websession_core::store::StoreErrorKind::Backend
    #[must_use]
    pub fn require_safe_eviction(mut self, require: bool) -> Self {
        self.require_safe_eviction = require;
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
    /// let options = RedisOptions::default().root_ca_pem(ca);
    /// let store = RedisStore::connect_with("rediss://cache.internal:6380", &options).await?;
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "rustls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
    #[must_use]
    pub fn root_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_ca_pem = Some(pem.into());
        self
    }

    /// The certificates for redis-rs, after checking the PEM holds one.
    #[cfg(feature = "rustls")]
    pub(crate) fn certificates(
        &self,
    ) -> Result<Option<redis::TlsCertificates>, websession_core::store::StoreError> {
        let Some(pem) = &self.root_ca_pem else {
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
