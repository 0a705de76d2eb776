//! Sessions for Rust web apps, the way Flask does them, and then further.
//!
//! A session keeps a user's temporary state across requests. websession
//! offers three ways to keep it behind one [`Session`] API:
//!
//! | mode | constructor | the cookie holds | |
//! |---|---|---|---|
//! | signed cookie | [`Sessions::signed`] | the data, signed (readable by the client) | byte-compatible with Flask |
//! | sealed cookie | [`Sessions::sealed`] | the data, encrypted (AES-256-GCM-SIV) | secrets can live in it |
//! | server-side store | [`Sessions::store`] | a random id; the data is in a [`store::SessionStore`] | revocable, no size limit |
//!
//! Every mode takes the same [`SessionConfig`]: Flask's cookie settings and
//! lifetime model (browser-session vs permanent, refreshed on use: see
//! [`Refresh`]),
//! plus idle and absolute timeouts. [`Sessions`] checks it once, at start-up;
//! the middleware of each framework takes it and can't fail:
//!
//! | framework | feature | middleware | in handlers |
//! |---|---|---|---|
//! | axum | `axum` (default) | [`SessionManagerLayer`] | the [`Session`] extractor |
//! | any tower stack | `tower` | [`SessionManagerLayer`] | a [`PendingSession`] in the request's extensions |
//! | actix-web | `actix` | `actix::SessionMiddleware` | the [`Session`] extractor |
//!
//! The other crates' types in this API are of these majors: axum 0.8,
//! actix-web 4, `http` 1 (the tower middleware's requests and responses),
//! `time` 0.3 (only the date of `SessionConfig::with_sealed_v1_cutoff`;
//! every duration is `std::time::Duration`). The stores say theirs: redis 1.x (`websession-redis`),
//! tokio-postgres 0.7 (`websession-postgres`); `websession-sqlite` exposes
//! no rusqlite type and takes a range of rusqlite versions.
//!
//! Every flavour is a feature. Signed cookies (Flask's format) are always
//! there; `axum`, `compression` and `sealed` are on by default (turn off
//! what an app doesn't use with `default-features = false`); the other
//! Python flavours are opt-in:
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `compression` | on | zlib: reading and writing Flask's and Django's compressed cookies (Flask compresses whenever that saves two bytes, so an app sharing cookies with Flask needs it) |
//! | `sealed` | on | sealed (encrypted) cookies: [`Sessions::sealed`] |
//! | `flask` | off | Flask's extensions: [`flask`] (flashes, Flask-Login, Flask-WTF's CSRF tokens) |
//! | `starlette` | off | Starlette's (FastAPI's) cookie: [`Sessions::starlette`] |
//! | `django` | off | Django's `signed_cookies` cookie: [`Sessions::django`] |
//! | `metrics` | off | counters and histograms through the `metrics` facade |
//!
//! # Quick start (axum)
//!
//! ```no_run
//! use axum::{response::Redirect, routing::get, Form, Router};
//! use websession::{Key, Session, SessionConfig, SessionManagerLayer, Sessions};
//!
//! #[derive(serde::Deserialize)]
//! struct Pet { pet: String }
//!
//! async fn home(session: Session) -> String {
//!     match session.get::<String>("pet_name") {
//!         Ok(Some(name)) => format!("Your pet's name is {name}."),
//!         _ => "I do not know your pet's name.".into(),
//!     }
//! }
//!
//! async fn set_pet(session: Session, Form(f): Form<Pet>) -> Redirect {
//!     session.insert_value("pet_name", f.pet.into());
//!     session.set_permanent(true); // "remember me": 31 days, renewed on use
//!     Redirect::to("/")
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Flask's SECRET_KEY. Unset, a random key: sessions end on restart.
//! let key = Key::from_env_or_generate("SECRET_KEY")?;
//! // Checked once, here: a bad config is an error, not a panic later.
//! let sessions = Sessions::signed(key, SessionConfig::default())?;
//! let app = Router::new()
//!     .route("/", get(home).post(set_pet))
//!     .layer(SessionManagerLayer::new(sessions));
//! axum::serve(tokio::net::TcpListener::bind("127.0.0.1:5000").await?, app).await?;
//! # Ok(()) }
//! ```
//!
//! "Remember me" has three switches (`set_permanent`, `set_lifetime`,
//! Flask-Login's remember cookie): [`docs::remember_me`] says which to use
//! when, what caps them, and that idle and absolute timeouts still end them.
//!
//! Beside a Flask app that uses Flask's extensions, [`flask`] shares more
//! than the cookie: flashed messages, the Flask-Login login (with its
//! remember-me cookie and session protection) and Flask-WTF's CSRF tokens.
//!
//! The long-form guides live in [`docs`].
#![cfg_attr(docsrs, feature(doc_cfg))]
// Links to the opt-in flavours resolve in docs built with them (docs.rs
// builds every feature); built without them, they render as plain text.
#![cfg_attr(
    not(all(
        feature = "flask",
        feature = "starlette",
        feature = "django",
        feature = "actix"
    )),
    allow(rustdoc::broken_intra_doc_links)
)]
#![warn(missing_docs)]
// Without an adapter feature, the request path (used only by adapters) is idle.
#![cfg_attr(not(any(feature = "tower", feature = "actix")), allow(dead_code))]
// Without the Flask extensions, the handle's hooks for Flask-Login are idle.
#![cfg_attr(not(feature = "flask"), allow(dead_code))]

mod config;
pub mod docs;
mod engine;
mod error;
#[cfg(feature = "flask")]
#[cfg_attr(docsrs, doc(cfg(feature = "flask")))]
pub mod flask;
mod logins;
mod metrics;
mod outcome;
mod overflow;
mod raw;
mod revocation;
#[cfg(feature = "tower")]
mod service;
mod session;
mod sessions;
mod state;

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;

#[cfg(feature = "actix")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
pub mod actix;

pub use config::{
    ConfigError, CookieAttributes, Lifetime, Refresh, SameSite, SessionConfig, Transport,
    MAX_COOKIE_SIZE, MAX_LIFETIME,
};
pub use error::{SessionError, StoreOutage};
pub use logins::{Device, Logins};
pub use overflow::Overflow;
pub use revocation::{Revocation, DEFAULT_STALENESS};
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub use service::{ResponseFuture, SessionManager, SessionManagerLayer};
pub use session::{PendingSession, Session};
pub use sessions::{CookieSessions, Sessions, StoreSessions};
pub use state::LOGIN_KEY;
pub use websession_core::{Clock, Compression, Key, KeyError, KeyRing, Map, Value, ValueError};

/// Server-side stores: the [`SessionStore`](store::SessionStore) trait, the
/// in-memory store and the revocation stores (websession-core's `store`).
/// SQLite, PostgreSQL and Redis live in their own crates.
pub use websession_core::store;
