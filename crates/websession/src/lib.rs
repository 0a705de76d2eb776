//! Sessions for Rust web apps, the way Flask does them, and then further.
//!
//! A session keeps a user's temporary state across requests. websession
//! offers three ways to keep it behind one [`Session`] API:
//!
//! | mode | constructor | the cookie holds | |
//! |---|---|---|---|
//! | signed cookie | [`SessionManagerLayer::signed`] | the data, signed (readable by the client) | byte-compatible with Flask |
//! | sealed cookie | [`SessionManagerLayer::sealed`] | the data, encrypted (XChaCha20-Poly1305) | secrets can live in it |
//! | server-side store | [`SessionManagerLayer::with_store`] | a random id; the data is in a [`core::store::SessionStore`] | revocable, no size limit |
//!
//! Every mode takes the same [`SessionConfig`]: Flask's cookie settings and
//! lifetime model (browser-session vs permanent, refresh on each request),
//! plus idle and absolute timeouts.
//!
//! # Quick start (axum)
//!
//! ```no_run
//! use axum::{response::Redirect, routing::{get, post}, Form, Router};
//! use websession::{Key, KeyRing, Session, SessionManagerLayer};
//!
//! #[derive(serde::Deserialize)]
//! struct Pet { pet: String }
//!
//! async fn home(session: Session) -> String {
//!     match session.get::<String>("pet_name").ok().flatten() {
//!         Some(name) => format!("Your pet's name is {name}."),
//!         None => "I do not know your pet's name.".into(),
//!     }
//! }
//!
//! async fn set_pet(session: Session, Form(form): Form<Pet>) -> Result<Redirect, websession::SessionError> {
//!     session.insert("pet_name", &form.pet)?;
//!     session.set_permanent(true);
//!     Ok(Redirect::to("/"))
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let keys = KeyRing::new(Key::from_utf8(&std::env::var("SECRET_KEY")?)?);
//! let app = Router::new()
//!     .route("/", get(home))
//!     .route("/petname", post(set_pet))
//!     .layer(SessionManagerLayer::signed(keys).with_permanent_lifetime(time::Duration::minutes(1)));
//! axum::serve(tokio::net::TcpListener::bind("127.0.0.1:5000").await?, app).await?;
//! # Ok(()) }
//! ```
//!
//! The long-form guides live in [`docs`].
#![warn(missing_docs)]

mod config;
pub mod docs;
mod engine;
mod error;
mod service;
mod session;

#[cfg(feature = "axum")]
pub mod axum;

#[cfg(feature = "actix")]
pub mod actix;

pub use config::{ConfigError, SameSite, SessionConfig, MAX_COOKIE_SIZE, MAX_LIFETIME};
pub use error::SessionError;
pub use service::{ResponseFuture, SessionManager, SessionManagerLayer};
pub use session::{Session, PERMANENT_KEY};
pub use websession_core::{
    Clock, DecodeError, FlaskCodec, Key, KeyError, KeyRing, Map, SealedCodec, Value, ValueError,
};

/// The framework-free core, re-exported: codecs, keys, values.
pub use websession_core as core;
