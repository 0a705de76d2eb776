//! FlaskSessionStore on Flask-SQLAlchemy's `sessions` table (PostgreSQL, SQLite).

use websession_core::store::{StoreError, StoreErrorKind};

use super::{FlaskSessionOptions, FlaskSessionStore};
use crate::backend::SqlLayout;

impl FlaskSessionStore {
    /// Flask-Session's SQLAlchemy interface (`SESSION_TYPE =
    /// "sqlalchemy"`) on PostgreSQL: one row per session in the table
    /// `SESSION_SQLALCHEMY_TABLE` ([`FlaskSessionOptions::with_table`],
    /// default `sessions`), `session_id` = `SESSION_KEY_PREFIX + sid`,
    /// `data` the record's bytes, `expiry` a naive UTC time.
    ///
    /// The table is made when it isn't there, as Flask-Session makes it at
    /// start-up ([`postgres_schema_sql`](Self::postgres_schema_sql));
    /// expired rows are hidden at once and deleted by `delete_expired`
    /// (Flask-Session deletes one when it reads it). Connections are plain
    /// TCP (no TLS).
    ///
    /// ```no_run
    /// use websession_python::flask_session::{FlaskSessionOptions, FlaskSessionStore};
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// // SQLALCHEMY_DATABASE_URI = "postgresql://app@127.0.0.1/app"
    /// let store = FlaskSessionStore::postgres("postgres://app@127.0.0.1/app", FlaskSessionOptions::new()).await?;
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Unavailable`] when the server can't be reached;
    /// `Backend` for a malformed URL, a table name that isn't a plain
    /// identifier (ASCII letters, digits, `_`), or a table that can't be made.
    #[cfg(feature = "postgres")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn postgres(url: &str, options: FlaskSessionOptions) -> Result<Self, StoreError> {
        let backend =
            crate::backend::PgBackend::connect(url, layout(&options)?, options.create_table)
                .await?;
        Ok(Self::with_backend(Box::new(backend), &options))
    }

    /// The same on SQLite, in the database file at `path` (the path of
    /// `SQLALCHEMY_DATABASE_URI = "sqlite:///path"`), or an SQLite URI
    /// (`file:app.db?mode=ro`). The file's journal mode is the Flask app's:
    /// nothing but the table (when missing) and the records is written. In
    /// WAL mode (`PRAGMA journal_mode=WAL`, set once in the file) the Flask
    /// app's reads don't wait for Rust's writes.
    ///
    /// ```no_run
    /// use websession_python::flask_session::{FlaskSessionOptions, FlaskSessionStore};
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = FlaskSessionStore::sqlite("instance/app.db", FlaskSessionOptions::new()).await?;
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Unavailable`] when the file can't be opened or
    /// stays locked; `Backend` for a table name that isn't a plain
    /// identifier, or a table that can't be made.
    #[cfg(feature = "sqlite")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub async fn sqlite(
        path: impl AsRef<std::path::Path>,
        options: FlaskSessionOptions,
    ) -> Result<Self, StoreError> {
        let backend =
            crate::backend::SqliteBackend::open(path, layout(&options)?, options.create_table)
                .await?;
        Ok(Self::with_backend(Box::new(backend), &options))
    }

    /// The `CREATE TABLE` Flask-SQLAlchemy runs for Flask-Session's table
    /// on PostgreSQL (`IF NOT EXISTS`), for an app that makes its tables
    /// by migration rather than at start-up.
    ///
    /// ```
    /// use websession_python::flask_session::{FlaskSessionOptions, FlaskSessionStore};
    /// let sql = FlaskSessionStore::postgres_schema_sql(&FlaskSessionOptions::new())?;
    /// assert!(sql.starts_with(r#"CREATE TABLE IF NOT EXISTS "sessions" ("#));
    /// # Ok::<(), websession_core::store::StoreError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// `Backend` when the table name isn't a plain identifier.
    pub fn postgres_schema_sql(options: &FlaskSessionOptions) -> Result<String, StoreError> {
        Ok(layout(options)?.postgres_schema())
    }

    /// The same on SQLite.
    ///
    /// ```
    /// use websession_python::flask_session::{FlaskSessionOptions, FlaskSessionStore};
    /// let sql = FlaskSessionStore::sqlite_schema_sql(&FlaskSessionOptions::new().with_table("web_sessions"))?;
    /// assert!(sql.contains("data BLOB"));
    /// # Ok::<(), websession_core::store::StoreError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// `Backend` when the table name isn't a plain identifier.
    pub fn sqlite_schema_sql(options: &FlaskSessionOptions) -> Result<String, StoreError> {
        Ok(layout(options)?.sqlite_schema())
    }
}

/// The table of `options`, checked.
fn layout(options: &FlaskSessionOptions) -> Result<SqlLayout, StoreError> {
    SqlLayout::flask_session(&options.table)
        .map_err(|e| StoreError::new(StoreErrorKind::Backend, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_name_is_checked() {
        let bad = FlaskSessionOptions::new().with_table("sessions; DROP TABLE users");
        for result in [
            FlaskSessionStore::postgres_schema_sql(&bad),
            FlaskSessionStore::sqlite_schema_sql(&bad),
        ] {
            assert_eq!(result.expect_err("refused").kind(), StoreErrorKind::Backend);
        }
    }
}
