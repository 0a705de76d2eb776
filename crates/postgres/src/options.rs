//! [`PostgresOptions`]: connections, timeouts, TLS and the table.

use std::time::Duration;

use crate::{SslMode, TableName};

/// How the store connects, how long a call may take, how it checks the
/// server's TLS certificate, and which table it uses.
///
/// | setting | default |
/// |---|---|
/// | [`with_read_connections`](Self::with_read_connections) | 2 |
/// | [`with_write_connections`](Self::with_write_connections) (writes) | 16 |
/// | [`with_response_timeout`](Self::with_response_timeout) (a call, reconnecting included) | 5 s |
/// | [`with_connect_timeout`](Self::with_connect_timeout) | the URL's `connect_timeout`, else the call timeout |
/// | [`with_ssl_mode`](Self::with_ssl_mode) | the URL's `sslmode`, else [`SslMode::Prefer`] |
/// | [`with_root_certificates_pem`](Self::with_root_certificates_pem) | the URL's `sslrootcert` file, else the system's roots |
/// | [`with_table`](Self::with_table) | `websession_sessions` in the `search_path` |
///
/// ```
/// use std::time::Duration;
/// use websession_postgres::{PostgresOptions, SslMode, TableName};
/// let options = PostgresOptions::default()
///     .with_response_timeout(Duration::from_secs(2))
///     .with_ssl_mode(SslMode::VerifyFull)
///     .with_table(TableName::new("sessions")?.in_schema("auth")?);
/// # let _ = options;
/// # Ok::<(), websession_postgres::InvalidTableName>(())
/// ```
#[derive(Clone)]
pub struct PostgresOptions {
    pub(crate) read_connections: usize,
    pub(crate) write_connections: usize,
    pub(crate) response_timeout: Duration,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) ssl_mode: Option<SslMode>,
    pub(crate) root_certificates: Option<Vec<u8>>,
    pub(crate) table: TableName,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            read_connections: 2,
            write_connections: 16,
            response_timeout: Duration::from_secs(5),
            connect_timeout: None,
            ssl_mode: None,
            root_certificates: None,
            table: TableName::default(),
        }
    }
}

impl std::fmt::Debug for PostgresOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresOptions")
            .field("read_connections", &self.read_connections)
            .field("write_connections", &self.write_connections)
            .field("response_timeout", &self.response_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("ssl_mode", &self.ssl_mode)
            .field(
                "root_certificates",
                &self.root_certificates.as_ref().map(|_| "custom"),
            )
            .field("table", &self.table)
            .finish()
    }
}

impl PostgresOptions {
    /// How many connections carry loads (at least 1; 2 by default).
    /// Concurrent loads share them, pipelined, so a few suffice: more
    /// connections mean more PostgreSQL backends competing for the CPU.
    ///
    /// ```
    /// use websession_postgres::PostgresOptions;
    /// let options = PostgresOptions::default().with_read_connections(4);
    /// # let _ = options;
    /// ```
    #[must_use]
    pub fn with_read_connections(mut self, n: usize) -> Self {
        self.read_connections = n.max(1);
        self
    }

    /// How many connections carry writes (at least 1; 16 by default). Each
    /// write is its own transaction, and a connection commits one at a time
    /// (waiting for the WAL flush), so concurrent writes need connections of
    /// their own to be flushed together.
    ///
    /// ```
    /// use websession_postgres::PostgresOptions;
    /// let options = PostgresOptions::default().with_write_connections(32);
    /// # let _ = options;
    /// ```
    #[must_use]
    pub fn with_write_connections(mut self, n: usize) -> Self {
        self.write_connections = n.max(1);
        self
    }

    /// The longest a store call may take, reconnecting included (5 seconds
    /// by default); past it the call fails with
    /// [`StoreErrorKind::Unavailable`](websession_core::store::StoreErrorKind::Unavailable).
    ///
    /// ```
    /// use std::time::Duration;
    /// use websession_postgres::PostgresOptions;
    /// let options = PostgresOptions::default().with_response_timeout(Duration::from_secs(2));
    /// # let _ = options;
    /// ```
    #[must_use]
    pub fn with_response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// How long making a connection (TCP, TLS, authentication) may take:
    /// by default the URL's `connect_timeout`, or else the call
    /// [`with_response_timeout`](Self::with_response_timeout) (5 s). A call that must reconnect still
    /// ends within the call timeout.
    ///
    /// ```
    /// use std::time::Duration;
    /// let options = websession_postgres::PostgresOptions::default().with_connect_timeout(Duration::from_secs(3));
    /// # let _ = options;
    /// ```
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How the store's connector uses TLS and checks the server's
    /// certificate (see [`SslMode`] for each mode); overrides the URL's
    /// `sslmode`. Not used by [`PostgresStore::from_config_with_tls`],
    /// whose connector decides.
    ///
    /// ```
    /// use websession_postgres::{PostgresOptions, SslMode};
    /// let options = PostgresOptions::default().with_ssl_mode(SslMode::VerifyFull);
    /// # let _ = options;
    /// ```
    ///
    /// [`PostgresStore::from_config_with_tls`]: crate::PostgresStore::from_config_with_tls
    #[must_use]
    pub fn with_ssl_mode(mut self, mode: SslMode) -> Self {
        self.ssl_mode = Some(mode);
        self
    }

    /// Trusts only the certificate authorities in `pem` (one or more PEM
    /// `CERTIFICATE` blocks) instead of the system's roots, as libpq's
    /// `sslrootcert` (which a URL may give as a file path instead). With it,
    /// [`SslMode::Require`] checks the chain too, as libpq does.
    ///
    /// A PEM that holds no certificate fails the connection with
    /// [`StoreErrorKind::Backend`](websession_core::store::StoreErrorKind::Backend).
    ///
    /// ```no_run
    /// use websession_postgres::{PostgresOptions, PostgresStore, SslMode};
    /// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// let options = PostgresOptions::default()
    ///     .with_ssl_mode(SslMode::VerifyFull)
    ///     .with_root_certificates_pem(std::fs::read("/etc/ssl/db-ca.pem")?);
    /// let store = PostgresStore::connect_with("postgres://app@db.internal/app", options).await?;
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn with_root_certificates_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates = Some(pem.into());
        self
    }

    /// The table the sessions live in (`websession_sessions` by default);
    /// the revocation tables are named after it (`{table}_generations`,
    /// `{table}_denied`, in its schema). [`PostgresStore::migrate`] creates
    /// them, and every statement uses them;
    /// [`PostgresStore::schema_sql`] gives its schema for your own
    /// migrations.
    ///
    /// ```
    /// use websession_postgres::{PostgresOptions, TableName};
    /// let options = PostgresOptions::default().with_table(TableName::new("sessions")?.in_schema("auth")?);
    /// # let _ = options;
    /// # Ok::<(), websession_postgres::InvalidTableName>(())
    /// ```
    ///
    /// [`PostgresStore::migrate`]: crate::PostgresStore::migrate
    /// [`PostgresStore::schema_sql`]: crate::PostgresStore::schema_sql
    #[must_use]
    pub fn with_table(mut self, table: TableName) -> Self {
        self.table = table;
        self
    }
}
