//! `websession stored`: print a session a Python app keeps server-side
//! (Flask-Session's record, or a row of Django's `django_session`), given
//! its store, the cookie and the key. Read-only: one `load`, nothing written.

use anyhow::{anyhow, bail, Context as _};
use clap::ValueEnum;
use websession_core::store::{SessionStore, StoreErrorKind};
use websession_core::{KeyRing, Value};
use websession_python::django::{DjangoOptions, DjangoStore};
use websession_python::flask_session::{FlaskSessionOptions, FlaskSessionStore, Serialization};

/// Whose records the store holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum StoredFormat {
    /// Flask-Session 0.8 (Redis, or its SQLAlchemy table on PostgreSQL or SQLite).
    FlaskSession,
    /// Django 5.2's database backend (the `django_session` table on PostgreSQL or SQLite).
    Django,
}

/// Where the records are, from the `--store` argument.
enum Location<'a> {
    Redis(&'a str),
    Postgres(&'a str),
    Sqlite(&'a str),
}

impl<'a> Location<'a> {
    fn parse(store: &'a str) -> anyhow::Result<Self> {
        if store.starts_with("redis://") {
            Ok(Self::Redis(store))
        } else if store.starts_with("rediss://") {
            bail!("the stores speak plain TCP to Redis: rediss:// (TLS) is not supported")
        } else if store.starts_with("postgres://") || store.starts_with("postgresql://") {
            Ok(Self::Postgres(store))
        } else if let Some(path) = store.strip_prefix("sqlite:///") {
            // SQLAlchemy's form: sqlite:///relative.db, sqlite:////absolute.db.
            Ok(Self::Sqlite(path))
        } else if let Some(path) = store.strip_prefix("sqlite:") {
            Ok(Self::Sqlite(path))
        } else {
            // Not echoed: a URL may hold a password.
            bail!("--store must be redis://…, postgres://…, sqlite:PATH or sqlite:///PATH")
        }
    }
}

/// What `stored` was asked.
pub(crate) struct Request<'a> {
    pub(crate) format: StoredFormat,
    pub(crate) store: &'a str,
    /// The secret key and its fallbacks: Django's SECRET_KEY (required),
    /// Flask's for SESSION_USE_SIGNER.
    pub(crate) keys: Option<KeyRing>,
    pub(crate) key_prefix: Option<&'a str>,
    pub(crate) json: bool,
    pub(crate) table: Option<&'a str>,
    pub(crate) session_class: Option<&'a str>,
    pub(crate) cookie: &'a str,
}

/// What was found.
pub(crate) enum Found {
    /// The session (tagged JSON) and its expiry, Unix seconds.
    Session(String, u64),
    /// Why nothing was printed.
    Nothing(String),
}

/// Loads the session; never writes.
pub(crate) fn load(request: &Request<'_>, now: u64) -> anyhow::Result<Found> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let store = open(request).await?;
        let ids = store.id_format();
        let Some(id) = ids.parse(request.cookie) else {
            return Ok(Found::Nothing(match (request.format, &request.keys) {
                (StoredFormat::FlaskSession, Some(_)) => "the cookie is not a signed Flask-Session id (SESSION_USE_SIGNER): a bad signature, another key, or unsigned".into(),
                (StoredFormat::FlaskSession, None) => "the cookie is not a Flask-Session id (43 url-safe characters; signed ids need --signed and the key)".into(),
                (StoredFormat::Django, _) => "the cookie is not a Django session key (32 characters a-z, 0-9)".into(),
            }));
        };
        match store.load(&ids.key(&id), now).await {
            Ok(Some(record)) => Ok(Found::Session(
                Value::Dict(record.data.into_map()).to_tagged_json(),
                record.expires_at,
            )),
            Ok(None) => Ok(Found::Nothing(
                "no live, readable record for this id (unknown, expired, or refused: see the warning above)".into(),
            )),
            Err(e) if e.kind() == StoreErrorKind::Unavailable => {
                Err(anyhow!(e).context("the store can't be reached"))
            }
            Err(e) => Err(anyhow!(e).context("reading the record")),
        }
    })
}

async fn open(request: &Request<'_>) -> anyhow::Result<Box<dyn SessionStore>> {
    let location = Location::parse(request.store)?;
    let store: Box<dyn SessionStore> = match request.format {
        StoredFormat::FlaskSession => {
            // Read-only: never make a missing table.
            let mut options = FlaskSessionOptions::new().with_create_table(false);
            if let Some(prefix) = request.key_prefix {
                options = options.with_key_prefix(prefix);
            }
            if request.json {
                options = options.with_serialization(Serialization::Json);
            }
            if let Some(table) = request.table {
                options = options.with_table(table);
            }
            if let Some(keys) = &request.keys {
                options = options.with_signer(keys.clone());
            }
            Box::new(match location {
                Location::Redis(url) => FlaskSessionStore::redis(url, options).await?,
                Location::Postgres(url) => {
                    FlaskSessionStore::postgres(&read_only_postgres(url), options).await?
                }
                Location::Sqlite(path) => {
                    FlaskSessionStore::sqlite(read_only(path), options).await?
                }
            })
        }
        StoredFormat::Django => {
            let keys = request
                .keys
                .clone()
                .ok_or_else(|| anyhow!("a Django session needs the key (SECRET_KEY)"))?;
            let mut options = DjangoOptions::new(keys);
            if let Some(table) = request.table {
                options = options.with_table(table);
            }
            if let Some(class) = request.session_class {
                options = options.with_session_class(class);
            }
            Box::new(match location {
                Location::Redis(_) => {
                    bail!("Django's database backend is on PostgreSQL or SQLite, not Redis")
                }
                Location::Postgres(url) => {
                    DjangoStore::postgres(&read_only_postgres(url), options).await?
                }
                Location::Sqlite(path) => DjangoStore::sqlite(read_only(path), options).await?,
            })
        }
    };
    Ok(store)
}

/// `url` with PostgreSQL's read-only transactions as the session default
/// (unless the URL sets `options` itself): the server refuses any write.
fn read_only_postgres(url: &str) -> String {
    if url.contains("options=") {
        return url.to_owned();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20default_transaction_read_only%3Don")
}

/// The SQLite URI that opens `path` read-only (SQLite's own guarantee that
/// nothing is written, the journal included).
fn read_only(path: &str) -> String {
    // A URI's path escapes only what would end it or start an escape.
    let escaped = path
        .replace('%', "%25")
        .replace('?', "%3f")
        .replace('#', "%23");
    format!("file:{escaped}?mode=ro")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls() {
        assert!(matches!(
            Location::parse("redis://h:1"),
            Ok(Location::Redis(_))
        ));
        assert!(matches!(
            Location::parse("postgresql://u@h/db"),
            Ok(Location::Postgres(_))
        ));
        assert!(matches!(
            Location::parse("sqlite:db.sqlite3"),
            Ok(Location::Sqlite("db.sqlite3"))
        ));
        assert!(matches!(
            Location::parse("sqlite:///x.db"),
            Ok(Location::Sqlite("x.db"))
        ));
        assert!(matches!(
            Location::parse("sqlite:////tmp/x.db"),
            Ok(Location::Sqlite("/tmp/x.db"))
        ));
        assert!(Location::parse("rediss://h:1").is_err());
        assert!(Location::parse("mysql://h/db").is_err());
        assert!(Location::parse("db.sqlite3").is_err());
    }
}
