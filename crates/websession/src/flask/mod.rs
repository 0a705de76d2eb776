//! Flask's extensions, as Flask apps really use them: message flashing,
//! Flask-Login and Flask-WTF's CSRF tokens, on a [`Session`](crate::Session),
//! byte for byte with Flask 3.1, Flask-Login 0.6.3 and Flask-WTF 1.3.0.
//!
//! A Rust service beside a Flask app shares more than the session cookie:
//! the login (`_user_id`, `_fresh`, `_id`, the `remember_token` cookie),
//! the flashed messages (`_flashes`) and the CSRF token (`csrf_token`).
//! This module keeps each extension's rules, so a user logged in on one
//! side is logged in on the other, a message flashed on one side shows once
//! on either, and a form rendered by one side posts to the other.
//!
//! | Flask | here |
//! |---|---|
//! | `flash(message, category)` | [`FlashExt::flash`] |
//! | `get_flashed_messages(with_categories=True)` | [`FlashExt::take_flashes`] |
//! | `get_flashed_messages(category_filter=[...])` | [`FlashExt::take_flashes_in`] |
//! | `LoginManager(app)` | [`FlaskLogin::new`] + [`FlaskLogin::layer`] / [`FlaskLogin::middleware`] |
//! | `current_user.get_id()`, `.is_authenticated` | [`Login::user_id`], [`Login::is_authenticated`] |
//! | `login_user(user, remember, duration, fresh)` | [`Login::login_user`], [`Login::login_user_with`] |
//! | `logout_user()` | [`Login::logout_user`] |
//! | `login_fresh()`, `confirm_login()`, `login_remembered()` | [`Login::is_fresh`], [`Login::confirm_login`], [`Login::is_remembered`] |
//! | `generate_csrf()`, `validate_csrf(token)` | [`FlaskCsrf::generate`], [`FlaskCsrf::validate`] |
//! | `CSRFProtect(app)` | [`FlaskCsrf::protect`] in the handler |
//!
//! # Configuration names
//!
//! | Flask config key | here |
//! |---|---|
//! | `SECRET_KEY` | the current key of the [`KeyRing`](crate::KeyRing) given to [`Sessions`](crate::Sessions); the `Key` given to [`FlaskLogin::new`] and [`FlaskCsrf::new`] |
//! | `SECRET_KEY_FALLBACKS` | [`KeyRing::with_fallbacks`](crate::KeyRing::with_fallbacks) (the session only: Flask-Login and Flask-WTF use `SECRET_KEY` alone) |
//! | `SESSION_PROTECTION` | [`FlaskLoginConfig::with_session_protection`] |
//! | `REMEMBER_COOKIE_DURATION` | [`FlaskLoginConfig::with_duration`] |
//! | `REMEMBER_COOKIE_NAME`, `_DOMAIN`, `_PATH`, `_SECURE`, `_HTTPONLY`, `_SAMESITE` | [`FlaskLoginConfig::with_cookie`], the [`CookieAttributes`](crate::CookieAttributes) the session cookie has too |
//! | `REMEMBER_COOKIE_REFRESH_EACH_REQUEST` | [`FlaskLoginConfig::with_refresh_each_request`] |
//! | `WTF_CSRF_SECRET_KEY` | the `Key` given to [`FlaskCsrf::new`] |
//! | `WTF_CSRF_FIELD_NAME`, `_TIME_LIMIT`, `_HEADERS`, `_METHODS` | [`FlaskCsrf::with_field_name`], [`with_time_limit`](FlaskCsrf::with_time_limit), [`with_headers`](FlaskCsrf::with_headers), [`with_methods`](FlaskCsrf::with_methods) |
//! | `WTF_CSRF_SSL_STRICT = False` | [`FlaskCsrf::with_lax_https_referrer`] |
//!
//! The wire formats themselves (the identifier, the remember token, the CSRF
//! token) are framework-free, in [`websession_core::flask_login`] and
//! [`websession_core::flask_wtf`]; the walk-through is
//! [`docs::flask_login`](crate::docs::flask_login).
//!
//! # Examples
//!
//! ```no_run
//! use axum::{extract::State, routing::get, Router};
//! use websession::flask::{FlashExt, FlaskCsrf, FlaskLogin, FlaskLoginConfig, Login};
//! use websession::{Key, KeyRing, SessionConfig, SessionManagerLayer, Sessions};
//!
//! async fn home(login: Login, State(csrf): State<FlaskCsrf>) -> String {
//!     let messages: Vec<String> = login.session().take_flashes().into_iter().map(|f| f.message).collect();
//!     let token = csrf.generate(login.session());
//!     format!("user {:?}, messages {messages:?}, form token {token}", login.user_id())
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let secret = Key::from_utf8(&std::env::var("SECRET_KEY")?)?;
//! let sessions = Sessions::signed(KeyRing::new(secret.clone()), SessionConfig::flask())?;
//! let login = FlaskLogin::new(&secret, FlaskLoginConfig::default())?;
//! let app = Router::new()
//!     .route("/", get(home))
//!     .with_state(FlaskCsrf::new(&secret))
//!     .layer(login.layer())
//!     .layer(SessionManagerLayer::new(sessions));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
//! axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await?;
//! # Ok(()) }
//! ```

mod csrf;
mod flash;
mod login;
mod login_manager;
mod remember;

#[cfg(feature = "actix")]
mod actix;
#[cfg(feature = "axum")]
mod axum;
#[cfg(feature = "tower")]
mod tower;

#[cfg(feature = "actix")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
pub use actix::{FlaskLoginMiddleware, FlaskLoginMiddlewareService};
pub use csrf::{CsrfRejected, CsrfRequest, FlaskCsrf};
pub use flash::{Flash, FlashExt, DEFAULT_CATEGORY, FLASHES_KEY};
pub use login::{ClientInfo, Login, LoginOptions};
pub use login_manager::{FlaskLogin, FlaskLoginConfig, SessionProtection};
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub use tower::{FlaskLoginLayer, FlaskLoginService, ResponseFuture};
pub use websession_core::flask_wtf::CsrfError;
