//! Server-side sessions shared with Python apps: the records of
//! [Flask-Session](https://flask-session.readthedocs.io/) 0.8 (Redis, and
//! SQLAlchemy on PostgreSQL or SQLite) and of Django's database session
//! backend (`django.contrib.sessions.backends.db`, the `django_session`
//! table on PostgreSQL or SQLite), read and written in place, under the
//! Python app's own cookie. A team moving such an app to Rust route by
//! route serves one session from both.
//!
//! | store | the Python side | backends (features) |
//! |---|---|---|
//! | [`flask_session::FlaskSessionStore`] | Flask-Session 0.8: msgpack or JSON records, `SESSION_KEY_PREFIX`, plain or signed (`SESSION_USE_SIGNER`) id cookies | `redis`, `postgres`, `sqlite` |
//! | [`django::DjangoStore`] | Django 5.2's `db` backend: signed, compressed `session_data`, `SECRET_KEY_FALLBACKS`, `expire_date`, `cycle_key`; [`django::session_auth_matches`] for `_auth_user_hash` | `postgres`, `sqlite` |
//!
//! Each store is a [`SessionStore`](websession_core::store::SessionStore)
//! for websession's store mode, so handlers, adapters, timeouts, rotation
//! and fail-closed behaviour are the ones every store has:
//!
//! ```no_run
//! use websession::{SessionConfig, SessionManagerLayer, Sessions};
//! use websession_python::flask_session::{FlaskSessionOptions, FlaskSessionStore};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Flask: SESSION_TYPE = "redis", the default SESSION_KEY_PREFIX.
//! let store = FlaskSessionStore::redis("redis://127.0.0.1:6379", FlaskSessionOptions::new()).await?;
//! let layer = SessionManagerLayer::new(Sessions::store(store, SessionConfig::flask())?);
//! # let _ = layer;
//! # Ok(()) }
//! ```
//!
//! The constructors are named by backend (`FlaskSessionStore::redis`,
//! `::postgres`, `::sqlite`; `DjangoStore::postgres`, `::sqlite`) where
//! websession's own stores have `connect(url)`: one type here spans several
//! backends, and a Python app's setting names its backend, not a URL
//! scheme. The table's DDL comes per dialect
//! (`FlaskSessionStore::postgres_schema_sql`, `::sqlite_schema_sql`); for
//! Django, `manage.py migrate` makes it and these stores never do.
//!
//! What differs from websession's own stores, because the Python side must
//! read the same records (each module says more):
//!
//! - **Raw ids at rest.** The Python side looks a record up by the id its
//!   cookie holds, so these stores key records by the raw id, not by its
//!   SHA-256 (their [`IdFormat`](websession_core::store::IdFormat) is the
//!   Python app's). A leaked table or Redis dump holds usable session ids,
//!   as it does for the Python app.
//! - **Whole records.** The Python side writes a whole record back at the
//!   end of a request. These stores write whole records too, with a
//!   compare-and-set, so two overlapping Rust requests keep both their
//!   changes; against a Python request the last write wins.
//! - **`Logins` sweep.** The Python formats keep no index of a user's
//!   sessions: "log out everywhere" and the device list read every live
//!   record (sessions logged in with websession's `Session::log_in`), in
//!   passes until none is left; a session that this process moves to a new
//!   id meanwhile is deleted instead.
//! - **Hidden keys.** The creation time (for websession's absolute timeout)
//!   travels as `_ws_created`, and a user set without a login as
//!   `_ws_user`; the Python app sees and keeps them. A record the Python app
//!   made starts its absolute timeout at its first Rust write.
//! - **Unreadable records are left alone.** A record this side can't read
//!   (a pickle from Flask-Session before 0.7, another `SECRET_KEY`, a column
//!   of the wrong type, a record over the size limit) is an empty session
//!   and a `websession::security` log line, never an outage; it is not
//!   deleted, since the Python app may still read it.

mod backend;
mod bridge;
pub mod django;
pub mod flask_session;
