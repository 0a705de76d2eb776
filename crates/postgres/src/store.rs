//! [`PostgresStore`]: connecting, and the schema.

use std::sync::Arc;

use websession_core::store::{StoreError, StoreErrorKind};

use crate::error::err;
use crate::pool::{no_table, Inner, Pool};
use crate::statements::{schema_sql, Statements};
#[cfg(doc)]
use crate::SCHEMA;
use crate::{tls, PostgresOptions, SslMode};

/// Sessions in a PostgreSQL table.
#[derive(Clone)]
pub struct PostgresStore {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.inner, f)
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host/db?sslmode=…`, or
    /// any form `tokio_postgres::Config` parses, plus libpq's
    /// `sslmode=verify-ca`/`verify-full` and `sslrootcert=FILE`: see "TLS"
    /// in the crate docs) with the default [`PostgresOptions`].
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Backend`] when the URL is invalid, the
    /// `sslrootcert` file can't be read or holds no certificate, or the
    /// server refuses the user or password;
    /// [`StoreErrorKind::Unavailable`] when the database can't be reached
    /// in time or its TLS certificate is refused.
    ///
    /// ```no_run
    /// use websession_postgres::PostgresStore;
    /// # async fn f() -> Result<(), websession_core::store::StoreError> {
    /// let store = PostgresStore::connect("postgres://app@db.internal/app").await?;
    /// store.migrate().await?; // once, at deploy time or start-up
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, PostgresOptions::default()).await
    }

    /// Connects to `url` with these options (which override the URL's
    /// `sslmode` and `sslrootcert`). One read and one write connection are
    /// made before this returns; the others when calls first need them.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use websession_postgres::{PostgresOptions, PostgresStore};
    /// # async fn f() -> Result<(), websession_core::store::StoreError> {
    /// let options = PostgresOptions::default().with_write_connections(8).with_response_timeout(Duration::from_secs(2));
    /// let store = PostgresStore::connect_with("postgres://app@db.internal/app", options).await?;
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    pub async fn connect_with(url: &str, options: PostgresOptions) -> Result<Self, StoreError> {
        let params = tls::take_tls_params(url)?;
        let config: tokio_postgres::Config = params
            .rest
            .parse()
            .map_err(|e| StoreError::new(StoreErrorKind::Backend, e))?;
        let mut options = options;
        if options.root_certificates.is_none() {
            if let Some(path) = &params.root_cert_file {
                let pem = std::fs::read(path).map_err(|e| {
                    StoreError::new(
                        StoreErrorKind::Backend,
                        format!("could not read sslrootcert {path:?}: {e}"),
                    )
                })?;
                options.root_certificates = Some(pem);
            }
        }
        let mode = options
            .ssl_mode
            .or(params.mode)
            .unwrap_or_else(|| SslMode::from_wire(config.get_ssl_mode()));
        Self::with_own_tls(config, mode, options).await
    }

    /// Connects with a `tokio_postgres::Config` (tokio-postgres 0.7, the
    /// re-exported [`tokio_postgres`]) you built, through the store's own
    /// TLS connector: the mode is [`PostgresOptions::with_ssl_mode`] if set, else
    /// the config's (`Disable`, `Prefer` or `Require`).
    ///
    /// The store takes a config, not a pool (`deadpool`, `bb8`, sqlx's
    /// `PgPool`): it keeps its own small sets of pipelined connections with
    /// every statement prepared on each (see "The client" in the crate
    /// docs), which a pool's checkout-per-call model would undo.
    ///
    /// ```no_run
    /// use websession_postgres::{tokio_postgres, PostgresOptions, PostgresStore, SslMode};
    /// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut config = tokio_postgres::Config::new();
    /// config.host("db.internal").user("app").dbname("app").password(std::env::var("PGPASSWORD")?);
    /// let options = PostgresOptions::default().with_ssl_mode(SslMode::VerifyFull);
    /// let store = PostgresStore::from_config(config, options).await?;
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`connect_with`](Self::connect_with).
    pub async fn from_config(
        config: tokio_postgres::Config,
        options: PostgresOptions,
    ) -> Result<Self, StoreError> {
        let mode = options
            .ssl_mode
            .unwrap_or_else(|| SslMode::from_wire(config.get_ssl_mode()));
        Self::with_own_tls(config, mode, options).await
    }

    /// Connects with a `tokio_postgres::Config` and a TLS connector you
    /// built (`postgres_native_tls::MakeTlsConnector`,
    /// `tokio_postgres_rustls::MakeRustlsConnect`, `NoTls`, …): the config's
    /// `ssl_mode` says when TLS is used and the connector how the server
    /// is checked. [`PostgresOptions::with_ssl_mode`] and
    /// [`PostgresOptions::with_root_certificates_pem`] are not used.
    ///
    /// ```no_run
    /// use websession_postgres::{tokio_postgres, PostgresOptions, PostgresStore};
    /// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// let config: tokio_postgres::Config = "host=/run/postgresql user=app dbname=app".parse()?;
    /// let store =
    ///     PostgresStore::from_config_with_tls(config, tokio_postgres::NoTls, PostgresOptions::default())
    ///         .await?;
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`connect_with`](Self::connect_with).
    pub async fn from_config_with_tls<T>(
        config: tokio_postgres::Config,
        tls: T,
        options: PostgresOptions,
    ) -> Result<Self, StoreError>
    where
        T: tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket>
            + Clone
            + Send
            + Sync
            + 'static,
        T::Stream: Send + 'static,
        T::TlsConnect: Send,
        <T::TlsConnect as tokio_postgres::tls::TlsConnect<tokio_postgres::Socket>>::Future: Send,
    {
        Self::start(config, tls::connector(tls), None, options).await
    }

    async fn with_own_tls(
        mut config: tokio_postgres::Config,
        mode: SslMode,
        options: PostgresOptions,
    ) -> Result<Self, StoreError> {
        config.ssl_mode(mode.wire());
        let connect = tls::own_connector(mode, options.root_certificates.as_deref())?;
        Self::start(config, connect, Some(mode), options).await
    }

    async fn start(
        mut config: tokio_postgres::Config,
        connect: tls::Connect,
        ssl_mode: Option<SslMode>,
        options: PostgresOptions,
    ) -> Result<Self, StoreError> {
        if let Some(timeout) = options.connect_timeout {
            config.connect_timeout(timeout);
        } else if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.response_timeout);
        }
        let store = Self {
            inner: Arc::new(Inner {
                config,
                connect,
                ssl_mode,
                statements: Statements::new(&options.table),
                table: options.table,
                readers: Pool::new(options.read_connections),
                writers: Pool::new(options.write_connections),
                timeout: options.response_timeout,
            }),
        };
        // One connection of each kind now, to report an unreachable server,
        // a refused password or certificate at once; the others when calls
        // first need them.
        let (readers, writers) = (&store.inner.readers, &store.inner.writers);
        for slot in readers
            .slots
            .iter()
            .take(1)
            .chain(writers.slots.iter().take(1))
        {
            match store.inner.with_deadline(store.inner.conn(slot)).await {
                // Connected, but the statements don't prepare: the table
                // is not there yet (`migrate` comes next). The first call
                // after it connects again.
                Err(e) if no_table(&e) => break,
                done => {
                    done?;
                }
            }
        }
        Ok(store)
    }

    /// The SQL that [`migrate`](Self::migrate) runs for these options'
    /// table, for people who run migrations themselves: idempotent, so it
    /// can be applied as it is at every deploy. For the default table it
    /// is [`SCHEMA`] (with the names quoted).
    ///
    /// ```
    /// use websession_postgres::{PostgresOptions, PostgresStore, TableName};
    /// let options = PostgresOptions::default().with_table(TableName::new("sessions")?.in_schema("auth")?);
    /// let sql = PostgresStore::schema_sql(&options);
    /// assert!(sql.contains(r#"CREATE TABLE IF NOT EXISTS "auth"."sessions" ("#));
    /// # Ok::<(), websession_postgres::InvalidTableName>(())
    /// ```
    #[must_use]
    pub fn schema_sql(options: &PostgresOptions) -> String {
        schema_sql(&options.table)
    }

    /// Creates the table and indexes, or brings a table made by the previous
    /// version up to date ([`SCHEMA`]; see the crate docs).
    ///
    /// # Errors
    ///
    /// When the database refuses the schema.
    ///
    /// ```no_run
    /// # async fn f(store: websession_postgres::PostgresStore) -> Result<(), websession_core::store::StoreError> {
    /// store.migrate().await?; // safe to run again: each step checks first
    /// # Ok(()) }
    /// ```
    pub async fn migrate(&self) -> Result<(), StoreError> {
        // Its own connection: the schema must not wait behind (nor hold up)
        // the pipelined session traffic, and a long table rewrite must not
        // trip the per-call timeout.
        let (client, task) = (self.inner.connect)(self.inner.config.clone())
            .await
            .map_err(err)?;
        let done = client
            .batch_execute(&schema_sql(&self.inner.table))
            .await
            .map_err(err);
        drop(client);
        let _ = task.await;
        done
    }
}
