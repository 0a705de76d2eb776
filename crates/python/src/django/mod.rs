//! Django 5.2's database session backend
//! (`SESSION_ENGINE = "django.contrib.sessions.backends.db"`): the
//! `django_session` table on PostgreSQL or SQLite, shared with the Django
//! app under its `sessionid` cookie.
//!
//! Use [`DjangoStore`] in store mode with
//! [`SessionConfig::django`](https://docs.rs/websession/latest/websession/struct.SessionConfig.html#method.django):
//! the cookie's name, attributes and `Expires` are Django's.
//!
//! # What is shared
//!
//! - **Keys**: 32 characters of `[a-z0-9]` from the OS CSPRNG, as Django's
//!   `get_random_string(32, VALID_KEY_CHARS)`; the cookie holds the key,
//!   the `session_key` column holds it as it is. A cookie of any other
//!   shape is an unknown session (empty).
//! - **`session_data`**: `SessionBase.encode`: compact JSON, zlib when it
//!   is shorter, signed with `SECRET_KEY` under the salt
//!   `"django.contrib.sessions." + the session class's __qualname__`
//!   ([`DjangoOptions::with_session_class`]). Records signed with any key of
//!   `SECRET_KEY_FALLBACKS` are read (and written back with `SECRET_KEY`).
//!   No maximum age: `expire_date` is the expiry.
//! - **`expire_date`**: a live row is one whose `expire_date` is in the
//!   future, on both sides. Rust writes the engine's expiry (the
//!   preset's `SESSION_COOKIE_AGE`, two weeks), or, when the Django app
//!   called `set_expiry`, Django's own: `_session_expiry` seconds after
//!   the write, or the date it names.
//! - **Login**: `django.contrib.auth.login`'s `_auth_user_id`,
//!   `_auth_user_backend` and `_auth_user_hash` are plain keys a handler
//!   reads; [`session_auth_matches`] is Django's check of the hash, which
//!   logs the user out when their password changed.
//! - **`cycle_key`** (Django, at login) moves the row to a new key; the
//!   Rust side follows the new cookie. `Session::cycle_id` does the same
//!   the other way, in one transaction.
//! - **`flush`** on either side deletes the row and the cookie.
//!
//! # What differs
//!
//! - **Values**: Django's JSON holds only JSON: strings, numbers (any
//!   integer, floats), booleans, `None`, lists and dicts. Writing a session
//!   that holds bytes, a datetime, a UUID, a tuple or `Markup` fails with
//!   an error of kind `Unsupported` (a 500), rather than storing what
//!   Django would read back as something else. Keep dates as ISO strings
//!   and bytes as base64.
//! - **Key order**: Rust writes a record's keys sorted; Django writes them
//!   in insertion order. Both read either.
//! - **Hidden key**: the creation time travels as `_ws_created` (seconds),
//!   which the Django app sees and keeps.
//! - **A session's own expiry in the cookie**: the cookie Rust sets always
//!   carries the engine's lifetime; a session the Django app gave its own
//!   (`set_expiry`) keeps that expiry in the row, but Rust's cookie may
//!   outlive it (the row then is gone and the session is empty, as it
//!   would be in Django). `set_expiry(0)` (expire at browser close) is not
//!   seen: Rust's cookie has `Expires` unless the config says
//!   `with_expire_at_browser_close`. A Rust request that uses a session
//!   with an integer `_session_expiry` writes its row again (a sliding
//!   expiry, as Django's docs describe it).
//! - **Sliding expiry**: Django moves `expire_date` only when it saves a
//!   session (on a change, or on every request with
//!   `SESSION_SAVE_EVERY_REQUEST`); Rust also writes an unchanged session's
//!   row (and cookie) again once half its lifetime has gone, so a session
//!   in use on the Rust side doesn't expire.
//! - **Unreadable rows** (a bad signature, a forged or corrupt
//!   `session_data`, a record over [`DjangoOptions::with_max_record_bytes`])
//!   give an empty session and a `websession::security` log line; the row
//!   is left as it is.
//! - **`USE_TZ = True`** (Django's default since 5.0) is assumed on
//!   SQLite, where `expire_date` is text: Rust reads and writes it as UTC.
//!   With `USE_TZ = False` Django writes local time there, and both sides'
//!   expiries would differ by the UTC offset. (On PostgreSQL the column is
//!   `timestamptz` and either setting works.) A naive `_session_expiry`
//!   date is read as UTC too.
//! - **Plain TCP**: the PostgreSQL connection has no TLS (a URL with
//!   `sslmode=require` fails at connect); reach a remote server through a
//!   local proxy or tunnel.
//! - **Logins read every row.** `Logins` ("log out everywhere", the
//!   device list) decodes every live row (an HMAC check and an inflate
//!   each), at least twice per call: a cost that grows with the table.
//! - **Ids at rest and last write wins**: see the [crate docs](crate).

mod auth;
mod format;
mod options;

pub use auth::{
    session_auth_hash, session_auth_matches, AuthHashCheck, HASH_SESSION_KEY, SESSION_KEY,
};
pub use options::DjangoOptions;

use crate::bridge::{bridge_store, Bridge};
use format::DjangoFormat;

/// A [`SessionStore`](websession_core::store::SessionStore) over Django's
/// `django_session` table: the sessions of a Django app using
/// `django.contrib.sessions.backends.db`, read and written in place.
///
/// See the [module docs](self) for what is shared and what differs.
pub struct DjangoStore(Bridge<DjangoFormat>);

bridge_store!(DjangoStore);

impl std::fmt::Debug for DjangoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DjangoStore")
            .field("format", &self.0.format)
            .finish_non_exhaustive()
    }
}

impl DjangoStore {
    /// A store over `backend` with these options (the SQL constructors end
    /// here).
    #[cfg_attr(not(any(feature = "postgres", feature = "sqlite")), allow(dead_code))]
    pub(crate) fn with_backend(
        backend: Box<dyn crate::bridge::Backend>,
        options: &DjangoOptions,
    ) -> Self {
        Self(Bridge {
            backend,
            format: DjangoFormat::new(options),
            seen: crate::bridge::Seen::default(),
            name: "django",
        })
    }

    /// The `django_session` table of a Django app on PostgreSQL
    /// (`ENGINE = "django.db.backends.postgresql"`), at `url` (a libpq URL:
    /// the database Django's `DATABASES["default"]` names; a non-default
    /// schema goes in `?options=-csearch_path%3Dmyschema`).
    ///
    /// The table must exist: Django's `manage.py migrate` makes it (Rust
    /// doesn't, or Django's migrations would find it there and fail).
    ///
    /// ```no_run
    /// use websession::{Sessions, SessionConfig};
    /// use websession_core::{Key, KeyRing};
    /// use websession_python::django::{DjangoOptions, DjangoStore};
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let keys = KeyRing::new(Key::from_utf8(&std::env::var("DJANGO_SECRET_KEY")?)?);
    /// let store = DjangoStore::postgres("postgres://app@127.0.0.1/app", DjangoOptions::new(keys)).await?;
    /// let sessions = Sessions::store(store, SessionConfig::django())?;
    /// # let _ = sessions;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Unavailable`](websession_core::store::StoreErrorKind::Unavailable)
    /// when the server can't be reached; `Backend` for a malformed URL, a
    /// table name that isn't a plain identifier, or a missing table.
    #[cfg(feature = "postgres")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn postgres(
        url: &str,
        options: DjangoOptions,
    ) -> Result<Self, websession_core::store::StoreError> {
        let backend = crate::backend::PgBackend::connect(url, layout(&options)?, false).await?;
        Ok(Self::with_backend(Box::new(backend), &options))
    }

    /// The `django_session` table of a Django app on SQLite
    /// (`ENGINE = "django.db.backends.sqlite3"`), in the database file at
    /// `path` (Django's `DATABASES["default"]["NAME"]`).
    ///
    /// The table must exist: Django's `manage.py migrate` makes it.
    ///
    /// ```no_run
    /// use websession_core::{Key, KeyRing};
    /// use websession_python::django::{DjangoOptions, DjangoStore};
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let keys = KeyRing::new(Key::from_utf8("the Django SECRET_KEY")?);
    /// let store = DjangoStore::sqlite("db.sqlite3", DjangoOptions::new(keys)).await?;
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Unavailable`](websession_core::store::StoreErrorKind::Unavailable)
    /// when the file can't be opened; `Backend` for a table name that isn't
    /// a plain identifier, or a missing table.
    #[cfg(feature = "sqlite")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub async fn sqlite(
        path: impl AsRef<std::path::Path>,
        options: DjangoOptions,
    ) -> Result<Self, websession_core::store::StoreError> {
        let backend = crate::backend::SqliteBackend::open(path, layout(&options)?, false).await?;
        Ok(Self::with_backend(Box::new(backend), &options))
    }
}

/// The table of `options`, checked.
#[cfg(any(feature = "postgres", feature = "sqlite"))]
fn layout(
    options: &DjangoOptions,
) -> Result<crate::backend::SqlLayout, websession_core::store::StoreError> {
    crate::backend::SqlLayout::django(&options.table).map_err(|e| {
        websession_core::store::StoreError::new(websession_core::store::StoreErrorKind::Backend, e)
    })
}
