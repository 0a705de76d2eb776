//! [`FlaskLogin`] and [`FlaskLoginConfig`]: Flask-Login's `LoginManager`,
//! its settings (the remember cookie, session protection) checked once, and
//! its after-request step that writes or deletes the remember cookie.

use std::fmt;
use std::sync::Arc;

use std::time::Duration;
use websession_core::flask_login::{RememberSigner, REMEMBER_COOKIE_NAME};
use websession_core::{Key, Value};

use crate::config::{secs, ConfigError, CookieAttributes, Lifetime, Transport};
use crate::outcome::CookieTemplate;

/// Flask-Login's `SESSION_PROTECTION`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SessionProtection {
    /// `None`: the client identifier is not checked.
    Off,
    /// `"basic"` (Flask-Login's default): a session used from another
    /// client (address or `User-Agent`) stays logged in but is no longer
    /// fresh.
    #[default]
    Basic,
    /// `"strong"`: a session used from another client loses every
    /// Flask-Login key (the user is logged out) and the remember cookie is
    /// deleted. A permanent session is treated as under `Basic`, as
    /// Flask-Login does.
    Strong,
}

/// Flask-Login's settings: the remember cookie's attributes, its duration
/// and refresh, and session protection. Plain data; [`FlaskLogin::new`]
/// checks it.
///
/// The defaults are Flask-Login's. The remember cookie's name and
/// attributes are a [`CookieAttributes`], as the session cookie's
/// ([`SessionConfig::with_cookie`](crate::SessionConfig::with_cookie)).
///
/// | Flask config key | here | default |
/// |---|---|---|
/// | `REMEMBER_COOKIE_NAME` | `with_cookie(\|c\| c.`[`with_name`](CookieAttributes::with_name)`)` | `remember_token` |
/// | `REMEMBER_COOKIE_DURATION` | [`with_duration`](Self::with_duration) | 365 days |
/// | `REMEMBER_COOKIE_DOMAIN` | `with_cookie(\|c\| c.`[`with_domain`](CookieAttributes::with_domain)`)` | none |
/// | `REMEMBER_COOKIE_PATH` | `with_cookie(\|c\| c.`[`with_path`](CookieAttributes::with_path)`)` | `/` |
/// | `REMEMBER_COOKIE_SECURE` | `with_cookie(\|c\| c.`[`with_secure`](CookieAttributes::with_secure)`)` | off |
/// | `REMEMBER_COOKIE_HTTPONLY = False` | `with_cookie(\|c\| c.`[`with_http_only(false)`](CookieAttributes::with_http_only)`)` | `HttpOnly` |
/// | `REMEMBER_COOKIE_SAMESITE` | `with_cookie(\|c\| c.`[`with_same_site`](CookieAttributes::with_same_site)`)` | none |
/// | `REMEMBER_COOKIE_REFRESH_EACH_REQUEST` | [`with_refresh_each_request`](Self::with_refresh_each_request) | off |
/// | `SESSION_PROTECTION` | [`with_session_protection`](Self::with_session_protection) | `"basic"` |
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use websession::flask::{FlaskLoginConfig, SessionProtection};
///
/// let config = FlaskLoginConfig::default()
///     .with_session_protection(SessionProtection::Strong)
///     .with_duration(Duration::from_secs(30 * 86_400))
///     .with_cookie(|c| c.with_secure(true));
/// ```
#[derive(Clone, Debug)]
pub struct FlaskLoginConfig {
    cookie: CookieAttributes,
    duration: Duration,
    refresh_each_request: bool,
    protection: SessionProtection,
}

impl Default for FlaskLoginConfig {
    fn default() -> Self {
        Self {
            cookie: CookieAttributes::flask().with_name(REMEMBER_COOKIE_NAME),
            duration: Duration::from_secs(365 * 86_400),
            refresh_each_request: false,
            protection: SessionProtection::Basic,
        }
    }
}

impl FlaskLoginConfig {
    /// Edits the remember cookie's name and attributes (`REMEMBER_COOKIE_NAME`,
    /// `_DOMAIN`, `_PATH`, `_SECURE`, `_HTTPONLY`, `_SAMESITE`), starting
    /// from Flask-Login's: `remember_token`, `HttpOnly`, `Path=/`, no
    /// `Secure` (turn it on in production), no `SameSite`.
    ///
    /// ```
    /// use websession::flask::FlaskLoginConfig;
    /// let config = FlaskLoginConfig::default().with_cookie(|c| c.with_name("remember").with_secure(true));
    /// assert_eq!(config.cookie().name(), "remember");
    /// ```
    #[must_use]
    pub fn with_cookie(mut self, edit: impl FnOnce(CookieAttributes) -> CookieAttributes) -> Self {
        self.cookie = edit(self.cookie);
        self
    }

    /// The remember cookie's name and attributes.
    ///
    /// ```
    /// let config = websession::flask::FlaskLoginConfig::default();
    /// assert_eq!(config.cookie().name(), "remember_token");
    /// ```
    #[must_use]
    pub fn cookie(&self) -> &CookieAttributes {
        &self.cookie
    }

    /// `REMEMBER_COOKIE_DURATION`: how long the browser keeps the cookie
    /// (its `Expires`), unless `login_user` gave its own duration.
    #[must_use]
    pub fn with_duration(mut self, duration: Duration) -> Self {
        self.duration = duration;
        self
    }

    /// `REMEMBER_COOKIE_REFRESH_EACH_REQUEST`: re-issue the remember cookie
    /// (with a new `Expires`) on every request of a logged-in user.
    #[must_use]
    pub fn with_refresh_each_request(mut self, refresh: bool) -> Self {
        self.refresh_each_request = refresh;
        self
    }

    /// `SESSION_PROTECTION`. Default [`SessionProtection::Basic`].
    #[must_use]
    pub fn with_session_protection(mut self, protection: SessionProtection) -> Self {
        self.protection = protection;
        self
    }
}

/// Flask-Login for an app: its settings with `SECRET_KEY`, checked once.
///
/// Cheap to clone. Install it with its middleware, inside the session
/// middleware (so it runs after the handler and before the session is
/// saved): [`FlaskLogin::layer`] for tower and axum,
/// [`FlaskLogin::middleware`] for actix-web. Handlers then take a [`Login`](super::Login).
///
/// # Examples
///
/// ```no_run
/// use axum::{routing::get, Router};
/// use websession::flask::{FlaskLogin, FlaskLoginConfig, Login};
/// use websession::{Key, KeyRing, SessionConfig, SessionManagerLayer, Sessions};
///
/// async fn home(login: Login) -> String {
///     match login.user_id() {
///         Some(id) => format!("Hello, user {id}"),
///         None => "Hello, stranger".into(),
///     }
/// }
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let secret = Key::from_utf8(&std::env::var("SECRET_KEY")?)?;
/// let sessions = Sessions::signed(KeyRing::new(secret.clone()), SessionConfig::flask())?;
/// let login = FlaskLogin::new(&secret, FlaskLoginConfig::default())?;
/// let app = Router::new()
///     .route("/", get(home))
///     .layer(login.layer())                       // inner: runs before the session is saved
///     .layer(SessionManagerLayer::new(sessions)); // outer
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
/// axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct FlaskLogin {
    pub(crate) inner: Arc<Settings>,
}

/// What [`FlaskLogin::new`] derived from the config, shared by every request.
pub(crate) struct Settings {
    pub(crate) signer: RememberSigner,
    pub(crate) cookie: CookieTemplate,
    cookie_name: String,
    pub(crate) removal: String,
    pub(crate) duration_secs: u64,
    pub(crate) refresh_each_request: bool,
    pub(crate) protection: SessionProtection,
}

impl fmt::Debug for FlaskLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlaskLogin")
            .field("cookie_name", &self.inner.cookie_name)
            .field("protection", &self.inner.protection)
            .field("refresh_each_request", &self.inner.refresh_each_request)
            .finish_non_exhaustive()
    }
}

impl FlaskLogin {
    /// Flask-Login with this `SECRET_KEY` (Flask-Login signs the remember
    /// cookie with the current key only; for a non-ASCII text key, see
    /// [`Key::from_latin1`]).
    ///
    /// # Errors
    ///
    /// A remember cookie name, path or domain a cookie can't have, a
    /// browser rule it breaks (`SameSite=None` without `Secure`), or a
    /// duration under a second or over 100 years.
    pub fn new(secret_key: &Key, config: FlaskLoginConfig) -> Result<Self, ConfigError> {
        config.cookie.validate()?;
        // The remember duration is checked as a session's permanent lifetime.
        Lifetime::default()
            .with_permanent_lifetime(config.duration)
            .validate()?;
        let c = &config.cookie;
        // Werkzeug's delete_cookie as Flask-Login calls it: domain and path only.
        let domain = c
            .domain
            .as_ref()
            .map_or_else(String::new, |d| format!("; Domain={d}"));
        let removal = format!(
            "{}={domain}; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path={}",
            c.name, c.path
        );
        Ok(Self {
            inner: Arc::new(Settings {
                signer: RememberSigner::new(secret_key),
                cookie: CookieTemplate::new(c, &Transport::Cookie),
                cookie_name: c.name.clone(),
                removal,
                duration_secs: secs(config.duration),
                refresh_each_request: config.refresh_each_request,
                protection: config.protection,
            }),
        })
    }

    /// The remember cookie's name.
    #[must_use]
    pub fn cookie_name(&self) -> &str {
        &self.inner.cookie_name
    }

    /// The remember cookie value Flask-Login writes for `user_id`
    /// (`encode_cookie`), before Werkzeug's quoting.
    #[must_use]
    pub fn remember_token(&self, user_id: &str) -> String {
        self.inner.signer.sign(user_id)
    }
}

/// `str(session["_user_id"])` for the ids Flask-Login apps store.
pub(crate) fn user_id_text(value: &Value) -> Option<String> {
    match value {
        Value::Str(s) => Some(s.clone()),
        Value::Int(n) => Some(n.to_string()),
        Value::BigInt(n) => Some(n.clone()),
        _ => None,
    }
}
