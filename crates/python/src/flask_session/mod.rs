//! Flask-Session 0.8: its records, its ids, its cookie.
//!
//! [`FlaskSessionStore`] reads and writes the records a Flask app using
//! [Flask-Session](https://flask-session.readthedocs.io/) 0.8 keeps, in
//! place, under the Flask app's own cookie: a Rust service and the Flask
//! app serve one session.
//!
//! # What is shared
//!
//! - **The record.** Flask-Session stores `dict(session)` encoded with
//!   msgspec, msgpack by default ([`Serialization::Msgpack`]) or JSON
//!   ([`Serialization::Json`], `SESSION_SERIALIZATION_FORMAT = "json"`),
//!   under `SESSION_KEY_PREFIX + sid` ([`FlaskSessionOptions::with_key_prefix`]).
//!   Both formats are read whichever is configured, as Flask-Session does;
//!   records are written in the configured one.
//! - **The id and the cookie.** A sid is `secrets.token_urlsafe(32)` (43
//!   characters); the cookie holds it, or `sid.signature` with
//!   `SESSION_USE_SIGNER` ([`FlaskSessionOptions::with_signer`], the
//!   Flask app's `SECRET_KEY`). Use `SessionConfig::flask()` with the
//!   Flask app's cookie name for the engine. A cookie whose signature
//!   doesn't verify when the signer is on (forged, or unsigned) is an
//!   unknown session: an empty one, and a `websession::security` log line.
//! - **The values.** Strings, integers, floats, booleans, `None`, lists and
//!   dicts go both ways as they are. Bytes are msgpack `bin` (base64 text
//!   in JSON, which Python reads back as a `str`); an aware `datetime` is a
//!   msgpack timestamp (RFC 3339 text in JSON, read back as a `str`); a
//!   naive `datetime`, a `date`, a `UUID` arrive as strings and stay
//!   strings; tuples and sets arrive as lists. Rust's
//!   [`Value::Tuple`](websession_core::Value::Tuple) is written as a list,
//!   [`Value::Uuid`](websession_core::Value::Uuid) and
//!   [`Value::Markup`](websession_core::Value::Markup) as strings.
//! - **Logins.** Flask-Login's keys (`_user_id`, `_fresh`, `_id`) are plain
//!   session keys both sides read and write; `Session::log_in` keeps its
//!   user under `_ws_login`, which Flask sees as a plain key.
//! - **The expiry.** Flask-Session gives every record a Redis TTL of
//!   `PERMANENT_SESSION_LIFETIME` (permanent or not); the Rust side writes
//!   the session's expiry as the TTL. Configure the same lifetime on both
//!   sides (`with_permanent_lifetime`) and a record expires at the same
//!   instant for both. A TTL counts real time: the store reads and writes
//!   expiries against the system clock, so a Rust clock set elsewhere (a
//!   test's) sees a record expire when Redis drops it.
//! - **Permanence.** `_permanent` lives in the dict, as in Flask.
//!   Flask-Session makes every new session permanent
//!   (`SESSION_PERMANENT = True`, its default); a session the Rust side
//!   makes is permanent (its cookie has `Expires`) once the handler calls
//!   `Session::set_permanent(true)`.
//!
//! # What differs from websession's own stores
//!
//! - **Raw ids at rest.** The Redis key is the sid itself, as Flask-Session
//!   looks it up: a Redis dump holds usable session ids, as it does for the
//!   Flask app.
//! - **Whole records, compare-and-set.** Every write replaces the whole
//!   record, and only if it still holds the bytes the Rust side read, so
//!   two overlapping Rust requests keep both their changes. Flask-Session
//!   has no compare-and-set: against a Flask request, the last write wins.
//! - **`_ws_created`.** The session's creation time (for websession's
//!   absolute timeout) travels as the key `_ws_created`, which the Flask
//!   app sees and keeps. A record the Flask app made has none; its absolute
//!   timeout starts at its first Rust write.
//! - **`Logins` scan.** Flask-Session keeps no index of a user's sessions,
//!   so "log out everywhere" and the device list read every record under
//!   the prefix (`SCAN` in steps, so Redis keeps serving; SQL: one query),
//!   a time that grows with the number of sessions. The sweeps list again
//!   until a pass finds none of the user's sessions left, and a session this
//!   process rotates meanwhile is deleted instead of moved; another
//!   process's rotation at that instant can outlast the sweep.
//! - **Plain TCP, Redis 6 or newer**: the Redis and PostgreSQL connections
//!   have no TLS (no `rediss://`, no `sslmode=require`); the `Logins`
//!   listing uses `SCAN … TYPE`, which Redis has since 6.0.
//! - **Pickles are never read.** Records of Flask-Session before 0.7 are
//!   pickles; unpickling runs code, so they are refused (an empty session,
//!   a security log line, the record left in place for the Flask app). To
//!   migrate, let the Flask app read and rewrite each session once (any
//!   request with `SESSION_REFRESH_EACH_REQUEST`, Flask's default), or let
//!   such sessions expire.
//! - **Only 32-byte sids** (`SESSION_ID_LENGTH`, default 32): a cookie
//!   holding a sid of another length is an unknown session.
//!
//! # Examples
//!
//! ```no_run
//! use websession_core::{Key, KeyRing};
//! use websession_python::flask_session::{FlaskSessionOptions, FlaskSessionStore, Serialization};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // SESSION_TYPE = "redis", SESSION_SERIALIZATION_FORMAT = "json", SESSION_USE_SIGNER = True
//! let options = FlaskSessionOptions::new()
//!     .with_serialization(Serialization::Json)
//!     .with_signer(Key::from_utf8("the Flask app's SECRET_KEY, 32+ bytes")?);
//! let store = FlaskSessionStore::redis("redis://127.0.0.1:6379", options).await?;
//! # let _ = store;
//! # Ok(()) }
//! ```

mod format;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod sql;

use std::fmt;

use websession_core::KeyRing;

use crate::bridge::{bridge_store, Backend, Bridge};
pub(crate) use format::FlaskSessionFormat;

/// How Flask-Session encodes a record (`SESSION_SERIALIZATION_FORMAT`).
/// Records in either format are read; this one is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Serialization {
    /// `"msgpack"`, Flask-Session's default.
    #[default]
    Msgpack,
    /// `"json"`.
    Json,
}

/// How a Flask app configures Flask-Session: the key prefix, the
/// serialization, the cookie's signer, the SQL table.
///
/// ```
/// use websession_python::flask_session::{FlaskSessionOptions, Serialization};
/// let options = FlaskSessionOptions::new()
///     .with_key_prefix("myapp:")
///     .with_serialization(Serialization::Json);
/// # let _ = options;
/// ```
#[derive(Clone)]
pub struct FlaskSessionOptions {
    pub(crate) key_prefix: String,
    pub(crate) serialization: Serialization,
    pub(crate) signer: Option<KeyRing>,
    pub(crate) table: String,
    pub(crate) create_table: bool,
    pub(crate) max_record_bytes: usize,
}

impl fmt::Debug for FlaskSessionOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlaskSessionOptions")
            .field("key_prefix", &self.key_prefix)
            .field("serialization", &self.serialization)
            .field("signer", &self.signer.as_ref().map(|_| "<redacted>"))
            .field("table", &self.table)
            .field("create_table", &self.create_table)
            .field("max_record_bytes", &self.max_record_bytes)
            .finish()
    }
}

impl Default for FlaskSessionOptions {
    fn default() -> Self {
        Self {
            key_prefix: "session:".to_owned(),
            serialization: Serialization::Msgpack,
            signer: None,
            table: "sessions".to_owned(),
            create_table: true,
            max_record_bytes: 1 << 20,
        }
    }
}

impl FlaskSessionOptions {
    /// Flask-Session's defaults: prefix `session:`, msgpack, no signer,
    /// table `sessions`, records of at most 1 MiB.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// `SESSION_KEY_PREFIX`: what goes before the sid in the Redis key
    /// (and in the SQL `session_id` column). Default `session:`.
    #[must_use]
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// `SESSION_SERIALIZATION_FORMAT`: the format records are written in.
    /// Default [`Serialization::Msgpack`].
    #[must_use]
    pub fn with_serialization(mut self, serialization: Serialization) -> Self {
        self.serialization = serialization;
        self
    }

    /// `SESSION_USE_SIGNER = True`, with the Flask app's `SECRET_KEY`: the
    /// cookie holds `sid.signature` (itsdangerous' `Signer`, salt
    /// `flask-session`, HMAC key derivation, SHA-1). Fallback keys of the
    /// ring are accepted when reading (Flask-Session itself checks only
    /// `SECRET_KEY`).
    ///
    /// # Security
    ///
    /// The signature adds little: the sid is 256 random bits already.
    /// Flask-Session 0.8 deprecates the option; it is here so a Flask app
    /// that has it on can share its sessions.
    #[must_use]
    pub fn with_signer(mut self, secret_key: impl Into<KeyRing>) -> Self {
        self.signer = Some(secret_key.into());
        self
    }

    /// `SESSION_SQLALCHEMY_TABLE`: the SQL table. Default `sessions`.
    #[must_use]
    pub fn with_table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// Whether the SQL constructors make the table when it is missing, as
    /// Flask-Session does at start-up (`db.create_all()`). Default `true`;
    /// `false` for an app whose migrations own the schema (then a missing
    /// table is an error at connect), and for read-only tools.
    #[must_use]
    pub fn with_create_table(mut self, create: bool) -> Self {
        self.create_table = create;
        self
    }

    /// The largest record read or written, in bytes. Default 1 MiB; a
    /// larger record reads as an empty session (a security log line), and
    /// writing one fails.
    #[must_use]
    pub fn with_max_record_bytes(mut self, max: usize) -> Self {
        self.max_record_bytes = max;
        self
    }
}

/// A [`SessionStore`](websession_core::store::SessionStore) over the
/// records of a Flask app using Flask-Session 0.8: see the
/// [module docs](self) for what is shared and what differs.
///
/// ```no_run
/// use websession::{SessionConfig, SessionManagerLayer, Sessions};
/// use websession_python::flask_session::{FlaskSessionOptions, FlaskSessionStore};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = FlaskSessionStore::redis("redis://127.0.0.1:6379", FlaskSessionOptions::new()).await?;
/// // Flask's cookie (`session`) and PERMANENT_SESSION_LIFETIME (31 days).
/// let sessions = Sessions::store(store, SessionConfig::flask())?;
/// let layer = SessionManagerLayer::new(sessions);
/// # let _ = layer;
/// # Ok(()) }
/// ```
pub struct FlaskSessionStore(Bridge<FlaskSessionFormat>);

bridge_store!(FlaskSessionStore);

impl fmt::Debug for FlaskSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlaskSessionStore")
            .field("format", &self.0.format)
            .finish_non_exhaustive()
    }
}

impl FlaskSessionStore {
    /// A store over `backend` with these options (the SQL and Redis
    /// constructors end here).
    #[cfg_attr(
        not(any(feature = "redis", feature = "postgres", feature = "sqlite")),
        allow(dead_code)
    )]
    pub(crate) fn with_backend(backend: Box<dyn Backend>, options: &FlaskSessionOptions) -> Self {
        Self(Bridge {
            backend,
            format: FlaskSessionFormat::new(options),
            seen: crate::bridge::Seen::default(),
            name: "flask-session",
        })
    }

    /// Flask-Session's Redis interface (`SESSION_TYPE = "redis"`): one key
    /// per session, `SESSION_KEY_PREFIX + sid`, with a TTL.
    ///
    /// ```no_run
    /// use websession_python::flask_session::{FlaskSessionOptions, FlaskSessionStore};
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let options = FlaskSessionOptions::new().with_key_prefix("myapp:");
    /// let store = FlaskSessionStore::redis("redis://127.0.0.1:6379/0", options).await?;
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Unavailable`](websession_core::store::StoreErrorKind::Unavailable)
    /// when Redis can't be reached, `Backend` for a malformed URL.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub async fn redis(
        url: &str,
        options: FlaskSessionOptions,
    ) -> Result<Self, websession_core::store::StoreError> {
        let backend =
            crate::backend::redis::RedisBackend::connect(url, &options.key_prefix).await?;
        Ok(Self::with_backend(Box::new(backend), &options))
    }
}
