//! [`RedisStore`]: its constructors and its keys.

use std::sync::Arc;

use redis::aio::ConnectionManager;
#[cfg(doc)]
use websession_core::store::StoreErrorKind;
use websession_core::store::{IdHash, StoreError};

use crate::conn::{self, Conn};
use crate::error::err;
use crate::eviction;
use crate::options::ReplicaAck;
use crate::scripts::Scripts;
use crate::RedisOptions;

/// Sessions in Redis hashes with native TTL.
#[derive(Clone)]
pub struct RedisStore {
    pub(crate) conn: Conn,
    pub(crate) prefix: String,
    pub(crate) scripts: Arc<Scripts>,
    pub(crate) replica_ack: Option<ReplicaAck>,
    /// The `maxmemory-policy` check, run once, at the first revocation
    /// call (see "Memory limits").
    pub(crate) eviction: Arc<eviction::EvictionCheck>,
    /// Whether revocation calls fail when the check finds an evicting
    /// policy.
    pub(crate) require_safe_eviction: bool,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.conn {
            Conn::Single(_) => "single",
            Conn::Cluster(_) => "cluster",
        };
        f.debug_struct("RedisStore")
            .field("mode", &mode)
            .field("key_prefix", &self.prefix)
            .field("replica_ack", &self.replica_ack)
            .field("safe_eviction_required", &self.require_safe_eviction)
            .field("eviction_policy", &self.eviction.finding())
            .finish()
    }
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

    pub(crate) fn key(&self, id: &IdHash) -> String {
        self.key_hex(&id.to_hex())
    }

    pub(crate) fn key_hex(&self, hex: &str) -> String {
        format!("{}{{{hex}}}", self.prefix)
    }

    pub(crate) fn user_key(&self, user: &str) -> String {
        format!("{}user-sessions:{{{user}}}", self.prefix)
    }

    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self.conn, Conn::Cluster(_))
    }
}
