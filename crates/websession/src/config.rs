//! Session configuration: the cookie's attributes and the lifetime policy. (Over 400 lines: one documented builder method per Flask setting, kept together.)

use std::fmt;

use time::Duration;
#[cfg(feature = "sealed")]
use websession_core::sealed::MIN_SEALING_KEY_LEN;
use websession_core::{Clock, Compression, KeyWeakness};

/// The `SameSite` attribute of the session cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Sent only with same-site requests.
    Strict,
    /// Sent with same-site requests and top-level cross-site navigations (the safe default).
    Lax,
    /// Sent with every request; requires `Secure`.
    None,
}

impl SameSite {
    fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "Strict",
            Self::Lax => "Lax",
            Self::None => "None",
        }
    }
}

impl fmt::Display for SameSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When an unchanged cookie is sent again, with a fresh issue time (and for
/// a permanent session a fresh `Expires`).
///
/// Re-issuing costs a signature (or a seal) and a `Set-Cookie` header on the
/// response; not re-issuing lets the cookie's `Expires`, and the idle
/// timeout's clock, lag behind the last use by up to the interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refresh {
    /// On every request that uses the session: Flask's
    /// `SESSION_REFRESH_EACH_REQUEST = True` (what [`SessionConfig::flask`]
    /// uses, so both apps send the same headers).
    EveryRequest,
    /// When the incoming cookie was issued at least this long ago (capped at
    /// half the permanent lifetime and half the idle timeout, so a session in
    /// use never expires). The default, with one minute: a permanent
    /// session's `Expires` and an idle timeout lag the last use by at most
    /// that, and a busy user's requests carry no `Set-Cookie` in between.
    Interval(Duration),
    /// Only when the data changed: Flask's `SESSION_REFRESH_EACH_REQUEST =
    /// False`. A cookie under an idle timeout is still re-issued every half
    /// idle timeout, or the timeout would end sessions in use.
    OnChange,
}

/// Signed mode's default: deflate is tried only for JSON payloads of at
/// least this many bytes.
pub const DEFAULT_COMPRESSION_THRESHOLD: usize = 256;

/// The default refresh interval.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::minutes(1);

/// How the session travels between client and server: a cookie (the
/// default, what browsers and Flask use) or a token in a request header, for
/// API and mobile clients that keep the token themselves. The engine, the
/// modes, expiry and rotation are the same; only where the value is read and
/// written changes.
///
/// With a header, the response carries the session's value (the signed or
/// sealed cookie value, or the store id) in a response header whenever a
/// cookie would have been set: the client must send that value from then on.
/// An **empty** value in that header means the session ended (where a cookie
/// would have been deleted): the client drops its token. There is no
/// `Expires`; the server enforces the lifetime and timeouts. Browsers don't
/// send these headers by themselves, so header tokens need no CSRF defence,
/// and the cookie attributes (`Domain`, `Path`, `Secure`, `SameSite`…) don't
/// apply. The `Cookie` header is ignored, by the session and by
/// [`FlaskLogin`](crate::flask::FlaskLogin) alike: with a header transport
/// no remember cookie is read or written, so no cookie a browser sends by
/// itself can log anyone in. (A route that reads a cookie of its own
/// to authenticate brings the CSRF question back; don't.)
///
/// ```
/// use websession::{SessionConfig, Transport};
/// // Requests send `Authorization: Bearer <token>`; new tokens come back in
/// // `x-session-token`.
/// let config = SessionConfig::default().with_transport(Transport::bearer("x-session-token"));
/// config.validate()?;
/// # Ok::<(), websession::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Transport {
    /// The session cookie ([`SessionConfig::with_cookie_name`]).
    #[default]
    Cookie,
    /// The token in this header on requests and on responses (lowercase,
    /// e.g. `x-session-token`).
    Header(String),
    /// `Authorization: Bearer <token>` on requests; new tokens in the
    /// response header `response` (lowercase).
    Bearer {
        /// The response header that carries a new token.
        response: String,
    },
}

impl Transport {
    /// The token in the header `name`, both ways.
    ///
    /// ```
    /// let t = websession::Transport::header("x-session-token");
    /// assert_eq!(t, websession::Transport::Header("x-session-token".into()));
    /// ```
    #[must_use]
    pub fn header(name: &str) -> Self {
        Self::Header(name.to_ascii_lowercase())
    }

    /// `Authorization: Bearer` on requests, new tokens in the response
    /// header `response`.
    ///
    /// ```
    /// let t = websession::Transport::bearer("x-session-token");
    /// assert!(matches!(t, websession::Transport::Bearer { .. }));
    /// ```
    #[must_use]
    pub fn bearer(response: &str) -> Self {
        Self::Bearer {
            response: response.to_ascii_lowercase(),
        }
    }

    /// The header a request's token is read from (`None`: the cookie).
    pub(crate) fn request_header(&self) -> Option<&str> {
        match self {
            Self::Cookie => None,
            Self::Header(name) => Some(name),
            Self::Bearer { .. } => Some("authorization"),
        }
    }

    /// The header a new token is written to (`None`: `Set-Cookie`).
    pub(crate) fn response_header(&self) -> Option<&str> {
        match self {
            Self::Cookie => None,
            Self::Header(name) | Self::Bearer { response: name } => Some(name),
        }
    }
}

/// Whether `name` is a header name a token may travel in: an HTTP token,
/// lowercase, and none of the headers with a meaning of their own.
fn valid_token_header(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$%&'*+-.^_`|~".contains(&b)
        })
        && !matches!(
            name,
            "cookie"
                | "set-cookie"
                | "authorization"
                | "vary"
                | "cache-control"
                | "content-length"
                | "host"
        )
}

/// A configuration that can't work, found when the session layer is built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The cookie name is empty or has characters a cookie name can't have.
    #[error("invalid cookie name {0:?}: use letters, digits and !#$%&'*+-.^_`|~")]
    CookieName(String),
    /// The path does not start with `/` or holds `;`, spaces or control characters.
    #[error("invalid cookie path {0:?}: it must start with '/' and hold no ';', spaces or control characters")]
    CookiePath(String),
    /// The domain is empty or not plain ASCII (IDNA-encode it first).
    #[error(
        "invalid cookie domain {0:?}: give an ASCII host name (punycode for international names)"
    )]
    CookieDomain(String),
    /// A `__Host-` or `__Secure-` name, `SameSite=None` or `Partitioned` without `Secure`,
    /// or `__Host-` with a Domain or a Path other than `/`.
    #[error("the cookie settings break a browser rule: {0}")]
    BrowserRule(&'static str),
    /// The lifetime is under a second, or longer than [`MAX_LIFETIME`].
    #[error("the permanent session lifetime must be at least a second and at most 100 years")]
    Lifetime,
    /// A key is short or well known and the config asked for strict keys.
    #[error("weak secret key refused (strict keys): key {index} ({}): {weakness}", key_role(*index))]
    WeakKey {
        /// Position in [`crate::KeyRing::verification_order`]: 0 is the current key.
        index: usize,
        /// What is wrong with it.
        weakness: KeyWeakness,
    },
    /// A key is too short to seal cookies with.
    #[cfg(feature = "sealed")]
    #[error("a sealing key must be at least {MIN_SEALING_KEY_LEN} bytes of random data; key {index} ({}) has {len}", key_role(*index))]
    SealingKey {
        /// Position in [`crate::KeyRing::verification_order`]: 0 is the current key.
        index: usize,
        /// Its length in bytes.
        len: usize,
    },
    /// An idle or absolute timeout is under a second, or longer than [`MAX_LIFETIME`].
    #[error("session timeouts must be at least a second and at most 100 years")]
    Timeout,
    /// A token header name that isn't a lowercase HTTP token, or is one of
    /// the headers with a meaning of their own (`cookie`, `authorization`…).
    #[error("invalid session token header {0:?}: use a lowercase header name of your own, such as x-session-token")]
    TokenHeader(String),
    /// An [`Overflow`](crate::Overflow) whose return threshold is not below
    /// the cookie limit: a session would move back and out again at once.
    #[error("the overflow's return threshold ({return_below} bytes) must be below the cookie limit ({max_cookie_size} bytes)")]
    OverflowThreshold {
        /// [`Overflow::with_return_below`](crate::Overflow::with_return_below).
        return_below: usize,
        /// [`SessionConfig::with_max_cookie_size`].
        max_cookie_size: usize,
    },
    /// The mode can't do what the configuration asks (an absolute timeout
    /// in the Starlette and Django modes).
    #[error("not supported in this mode: {0}")]
    Unsupported(&'static str),
}

/// Whole seconds of a duration; negative ones are 0 (`validate` refuses them).
pub(crate) fn secs(d: Duration) -> u64 {
    u64::try_from(d.whole_seconds()).unwrap_or(0)
}

fn key_role(index: usize) -> &'static str {
    if index == 0 {
        "the current key"
    } else {
        "a fallback"
    }
}

/// How sessions behave: the cookie's name and attributes, and their lifetime.
///
/// [`SessionConfig::default`] is the secure choice: `HttpOnly`, `Secure`,
/// `SameSite=Lax`, `Path=/`, no `Domain`. [`SessionConfig::flask`] is Flask's
/// own defaults, and with it websession sends exactly Flask's `Set-Cookie`
/// and `Vary` headers.
///
/// | Flask config key | here |
/// |---|---|
/// | `SESSION_COOKIE_NAME` | [`with_cookie_name`](Self::with_cookie_name) |
/// | `SESSION_COOKIE_DOMAIN` | [`with_domain`](Self::with_domain) |
/// | `SESSION_COOKIE_PATH` / `APPLICATION_ROOT` | [`with_path`](Self::with_path) |
/// | `SESSION_COOKIE_HTTPONLY = False` | [`with_http_only(false)`](Self::with_http_only) |
/// | `SESSION_COOKIE_SECURE` | [`with_secure(bool)`](Self::with_secure) |
/// | `SESSION_COOKIE_SAMESITE` | [`with_same_site`](Self::with_same_site) |
/// | `SESSION_COOKIE_PARTITIONED` | [`with_partitioned`](Self::with_partitioned) |
/// | `SESSION_REFRESH_EACH_REQUEST` | [`with_refresh`](Self::with_refresh): [`Refresh::EveryRequest`] (`True`), [`Refresh::OnChange`] (`False`), or an interval (the default) |
/// | `PERMANENT_SESSION_LIFETIME` | [`with_permanent_lifetime`](Self::with_permanent_lifetime); one session's own: [`Session::set_lifetime`](crate::Session::set_lifetime), up to [`with_max_session_lifetime`](Self::with_max_session_lifetime) |
/// | `MAX_COOKIE_SIZE` | [`with_max_cookie_size`](Self::with_max_cookie_size) (an error, not a warning) |
///
/// # Examples
///
/// ```
/// use websession::{SameSite, SessionConfig};
/// use time::Duration;
///
/// let config = SessionConfig::default()
///     .with_cookie_name("__Host-session")
///     .with_same_site(Some(SameSite::Strict))
///     .with_permanent_lifetime(Duration::hours(12));
/// config.validate()?;
/// # Ok::<(), websession::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct SessionConfig {
    pub(crate) cookie_name: String,
    pub(crate) domain: Option<String>,
    pub(crate) path: String,
    pub(crate) http_only: bool,
    pub(crate) secure: bool,
    pub(crate) same_site: Option<SameSite>,
    pub(crate) partitioned: bool,
    pub(crate) refresh: Refresh,
    pub(crate) permanent_lifetime: Duration,
    pub(crate) max_session_lifetime: Option<Duration>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) absolute_timeout: Option<Duration>,
    pub(crate) max_cookie_size: usize,
    pub(crate) no_store_on_write: bool,
    pub(crate) strict_keys: bool,
    #[cfg(feature = "sealed")]
    pub(crate) sealed_compression: Compression,
    pub(crate) signed_compression: Compression,
    #[cfg(feature = "sealed")]
    pub(crate) sealed_v1_cutoff: Option<time::OffsetDateTime>,
    pub(crate) clock: Clock,
    pub(crate) transport: Transport,
    pub(crate) expire_at_browser_close: bool,
}

/// The longest lifetime or timeout a configuration may have: 100 years.
///
/// Longer ones would put expiry dates past the year 9999, which cookies
/// (and the `time` crate) can't express; [`SessionConfig::validate`]
/// refuses them.
pub const MAX_LIFETIME: Duration = Duration::days(36_525);

/// Flask's `MAX_COOKIE_SIZE`: the longest `Set-Cookie` value browsers keep.
pub const MAX_COOKIE_SIZE: usize = 4093;

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            cookie_name: "session".into(),
            domain: None,
            path: "/".into(),
            http_only: true,
            secure: true,
            same_site: Some(SameSite::Lax),
            partitioned: false,
            refresh: Refresh::Interval(DEFAULT_REFRESH_INTERVAL),
            permanent_lifetime: Duration::days(31),
            max_session_lifetime: None,
            idle_timeout: None,
            absolute_timeout: None,
            max_cookie_size: MAX_COOKIE_SIZE,
            no_store_on_write: true,
            strict_keys: false,
            #[cfg(feature = "sealed")]
            sealed_compression: Compression::Never,
            signed_compression: Compression::Above(DEFAULT_COMPRESSION_THRESHOLD),
            #[cfg(feature = "sealed")]
            sealed_v1_cutoff: None,
            clock: Clock::system(),
            transport: Transport::Cookie,
            expire_at_browser_close: false,
        }
    }
}

impl SessionConfig {
    /// Flask's defaults: `HttpOnly`, `Path=/`, no `Secure`, no `SameSite`, 31
    /// days, refresh each request, and no `Cache-Control` added.
    ///
    /// ```
    /// use websession::SessionConfig;
    /// // Flask's exact headers and bytes: refresh on every request, zlib as Flask tries it.
    /// let config = SessionConfig::flask();
    /// # config.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn flask() -> Self {
        Self {
            secure: false,
            same_site: None,
            no_store_on_write: false,
            refresh: Refresh::EveryRequest,
            signed_compression: Compression::Flask,
            ..Self::default()
        }
    }

    #[cfg(feature = "starlette")]
    #[cfg_attr(docsrs, doc(cfg(feature = "starlette")))]
    /// Starlette's (and FastAPI's) `SessionMiddleware` defaults, for
    /// [`Sessions::starlette`](crate::Sessions::starlette): cookie
    /// `session`, `Path=/`, `HttpOnly`, `SameSite=Lax`, no `Secure`
    /// (`https_only=False`), `max_age` 14 days on every cookie, written only
    /// when the session changed (Starlette 1.10 sets no cookie for an
    /// unchanged session), no `Cache-Control` added.
    ///
    /// | `SessionMiddleware` argument | here |
    /// |---|---|
    /// | `session_cookie` | [`with_cookie_name`](Self::with_cookie_name) |
    /// | `max_age` | [`with_permanent_lifetime`](Self::with_permanent_lifetime) |
    /// | `path` | [`with_path`](Self::with_path) |
    /// | `same_site` | [`with_same_site`](Self::with_same_site) |
    /// | `https_only=True` | [`with_secure(true)`](Self::with_secure) |
    /// | `domain` | [`with_domain`](Self::with_domain) |
    /// | `partitioned` | [`with_partitioned`](Self::with_partitioned) |
    ///
    /// ```
    /// use websession::SessionConfig;
    /// let config = SessionConfig::starlette();
    /// assert_eq!(config.cookie_name(), "session");
    /// assert_eq!(config.permanent_lifetime(), time::Duration::days(14));
    /// # config.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn starlette() -> Self {
        Self::python_framework()
    }

    #[cfg(feature = "django")]
    #[cfg_attr(docsrs, doc(cfg(feature = "django")))]
    /// Django's session defaults, for [`Sessions::django`](crate::Sessions::django):
    /// `SESSION_COOKIE_NAME = "sessionid"`, `SESSION_COOKIE_AGE` two weeks
    /// (`Max-Age` and `Expires` on every cookie, and the oldest cookie
    /// accepted), `HttpOnly`, `SameSite=Lax`, `Path=/`, no `Secure`, written
    /// only when the session changed (`SESSION_SAVE_EVERY_REQUEST = False`),
    /// no `Cache-Control` added.
    ///
    /// | Django setting | here |
    /// |---|---|
    /// | `SESSION_COOKIE_NAME` | [`with_cookie_name`](Self::with_cookie_name) |
    /// | `SESSION_COOKIE_AGE` | [`with_permanent_lifetime`](Self::with_permanent_lifetime) |
    /// | `SESSION_COOKIE_DOMAIN` / `_PATH` | [`with_domain`](Self::with_domain) / [`with_path`](Self::with_path) |
    /// | `SESSION_COOKIE_SECURE` | [`with_secure`](Self::with_secure) |
    /// | `SESSION_COOKIE_HTTPONLY = False` | [`with_http_only(false)`](Self::with_http_only) |
    /// | `SESSION_COOKIE_SAMESITE` | [`with_same_site`](Self::with_same_site) |
    /// | `SESSION_SAVE_EVERY_REQUEST = True` | [`with_refresh(Refresh::EveryRequest)`](Self::with_refresh) |
    /// | `SESSION_EXPIRE_AT_BROWSER_CLOSE = True` | [`with_expire_at_browser_close`](Self::with_expire_at_browser_close) |
    ///
    /// ```
    /// use websession::SessionConfig;
    /// let config = SessionConfig::django();
    /// assert_eq!(config.cookie_name(), "sessionid");
    /// assert_eq!(config.permanent_lifetime(), time::Duration::seconds(1_209_600));
    /// # config.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn django() -> Self {
        Self {
            cookie_name: "sessionid".into(),
            ..Self::python_framework()
        }
    }

    /// What Starlette's and Django's defaults share: no `Secure`, no
    /// `Cache-Control`, written only when changed, two weeks.
    #[cfg(any(feature = "starlette", feature = "django"))]
    fn python_framework() -> Self {
        Self {
            secure: false,
            no_store_on_write: false,
            refresh: Refresh::OnChange,
            permanent_lifetime: Duration::days(14),
            ..Self::default()
        }
    }

    #[cfg(any(feature = "starlette", feature = "django"))]
    #[cfg_attr(docsrs, doc(cfg(any(feature = "starlette", feature = "django"))))]
    /// Starlette and Django modes: the cookie has no `Max-Age`/`Expires`,
    /// so the browser drops it when it closes (Django's
    /// `SESSION_EXPIRE_AT_BROWSER_CLOSE = True`). The server still refuses
    /// cookies older than the lifetime. Flask mode ignores it: there a
    /// session is permanent or not by its `_permanent` key
    /// ([`Session::set_permanent`](crate::Session::set_permanent)).
    ///
    /// ```
    /// use websession::SessionConfig;
    /// let config = SessionConfig::django().with_expire_at_browser_close();
    /// # config.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_expire_at_browser_close(mut self) -> Self {
        self.expire_at_browser_close = true;
        self
    }

    /// The cookie's name. Default `session`.
    ///
    /// ```
    /// use websession::SessionConfig;
    /// let config = SessionConfig::default().with_cookie_name("__Host-session");
    /// assert_eq!(config.cookie_name(), "__Host-session");
    /// # config.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = name.into();
        self
    }

    /// The cookie's `Domain`. Default none (the cookie goes to this host only,
    /// the safe choice). A leading `.` and a `:port` are dropped, as Werkzeug does.
    ///
    /// ```
    /// use websession::SessionConfig;
    /// // Shared by app.example.com and api.example.com:
    /// let config = SessionConfig::default().with_domain("example.com");
    /// # config.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_domain(mut self, domain: impl Into<String>) -> Self {
        let domain = domain.into();
        let domain = domain.trim_start_matches('.');
        let domain = domain.split(':').next().unwrap_or(domain);
        self.domain = Some(domain.to_owned());
        self
    }

    /// The cookie's `Path`. Default `/`.
    ///
    /// ```
    /// use websession::SessionConfig;
    /// let config = SessionConfig::default().with_path("/app");
    /// # config.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Sets `Secure` (`true`, the default): the browser sends the cookie over
    /// HTTPS only (and to `http://localhost` / `127.0.0.1`, which browsers
    /// treat as secure). Turn it off for plain-HTTP development only.
    /// Flask's `SESSION_COOKIE_SECURE`.
    ///
    /// ```
    /// # use websession::SessionConfig;
    /// let from_env = std::env::var("COOKIE_SECURE").map_or(true, |v| v != "0");
    /// let config = SessionConfig::default().with_secure(from_env);
    /// # let _ = config;
    /// ```
    #[must_use]
    pub fn with_secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// Sets `HttpOnly` (`true`, the default): scripts can't read the cookie.
    /// `false` lets scripts read it (Flask's `SESSION_COOKIE_HTTPONLY = False`).
    /// Flask's `SESSION_COOKIE_HTTPONLY`.
    ///
    /// ```
    /// use websession::SessionConfig;
    /// let config = SessionConfig::default().with_http_only(true);
    /// # config.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_http_only(mut self, http_only: bool) -> Self {
        self.http_only = http_only;
        self
    }

    /// The `SameSite` attribute; `None` (the Rust value) sends no attribute.
    ///
    /// ```
    /// use websession::{SameSite, SessionConfig};
    /// let config = SessionConfig::default().with_same_site(Some(SameSite::Strict));
    /// # config.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_same_site(mut self, same_site: Option<SameSite>) -> Self {
        self.same_site = same_site;
        self
    }

    /// Adds `Partitioned` (CHIPS), which also forces `Secure`, as in Flask.
    ///
    /// ```
    /// use websession::SessionConfig;
    /// // A session for an embedded third-party iframe (CHIPS):
    /// let config = SessionConfig::default()
    ///     .with_same_site(Some(websession::SameSite::None))
    ///     .with_partitioned();
    /// # config.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_partitioned(mut self) -> Self {
        self.partitioned = true;
        self
    }

    /// When an unchanged permanent or idle-timed cookie is sent again.
    /// Default [`Refresh::Interval`] of one minute ([`Refresh::EveryRequest`]
    /// in [`SessionConfig::flask`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use websession::{Refresh, SessionConfig};
    ///
    /// let every_five_minutes =
    ///     SessionConfig::default().with_refresh(Refresh::Interval(time::Duration::minutes(5)));
    /// # every_five_minutes.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_refresh(mut self, refresh: Refresh) -> Self {
        self.refresh = refresh;
        self
    }

    /// Flask's `PERMANENT_SESSION_LIFETIME`: the `Expires` of permanent
    /// cookies, and the maximum age the server accepts for **every** cookie.
    /// Default 31 days.
    ///
    /// ```
    /// use websession::SessionConfig;
    /// // Flask's PERMANENT_SESSION_LIFETIME = timedelta(days=7):
    /// let config = SessionConfig::default().with_permanent_lifetime(time::Duration::days(7));
    /// assert_eq!(config.permanent_lifetime(), time::Duration::days(7));
    /// # config.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_permanent_lifetime(mut self, lifetime: Duration) -> Self {
        self.permanent_lifetime = lifetime;
        self
    }

    /// Where the session travels: the cookie (the default) or a header
    /// token for API clients; see [`Transport`].
    ///
    /// ```
    /// use websession::{SessionConfig, Transport};
    /// let config = SessionConfig::default().with_transport(Transport::header("x-session-token"));
    /// assert_eq!(config.transport(), &Transport::header("x-session-token"));
    /// ```
    #[must_use]
    pub fn with_transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// Where the session travels; see [`with_transport`](Self::with_transport).
    ///
    /// ```
    /// assert_eq!(websession::SessionConfig::default().transport(), &websession::Transport::Cookie);
    /// ```
    #[must_use]
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The longest lifetime one session may be given with
    /// [`Session::set_lifetime`](crate::Session::set_lifetime) ("remember me
    /// for 90 days" on one session, without changing
    /// [`with_permanent_lifetime`](Self::with_permanent_lifetime)). Default:
    /// the permanent lifetime, so sessions may only be given shorter ones.
    /// Longer requests are cut to this. Cookies are accepted up to this age
    /// when they carry a lifetime that long; every other cookie still ages
    /// out at the permanent lifetime.
    ///
    /// A Flask app sharing the cookie doesn't know per-session lifetimes: it
    /// drops cookies older than its own `PERMANENT_SESSION_LIFETIME`.
    ///
    /// ```
    /// use websession::SessionConfig;
    /// use time::Duration;
    /// let config = SessionConfig::default()
    ///     .with_permanent_lifetime(Duration::days(1))
    ///     .with_max_session_lifetime(Duration::days(90));
    /// assert_eq!(config.max_session_lifetime(), Duration::days(90));
    /// # config.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_max_session_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_session_lifetime = Some(lifetime);
        self
    }

    /// Ends a session after this long without a request that uses it. Every
    /// such request extends it (the cookie is re-issued each time). Default:
    /// none, as in Flask.
    ///
    /// ```
    /// use websession::SessionConfig;
    /// // Logged out after 30 minutes without a request:
    /// let config = SessionConfig::default().with_idle_timeout(time::Duration::minutes(30));
    /// # config.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// Ends a session this long after it was created, whatever the activity.
    /// The creation time is signed or sealed with the data, so the client
    /// can't extend it. Default: none, as in Flask.
    ///
    /// In signed mode the creation time travels in the cookie as the hidden
    /// key `_ws_created`, which a Flask app sharing the cookie sees and keeps.
    ///
    /// ```
    /// use websession::SessionConfig;
    /// // Never longer than 12 hours since login, however active:
    /// let config = SessionConfig::default().with_absolute_timeout(time::Duration::hours(12));
    /// # config.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_absolute_timeout(mut self, timeout: Duration) -> Self {
        self.absolute_timeout = Some(timeout);
        self
    }

    /// The longest `Set-Cookie` value (name, value and attributes) to send.
    /// A longer cookie is an error when the response is written (the response
    /// becomes a 500), never a cookie the browser silently drops. Default 4093.
    ///
    /// ```
    /// use websession::SessionConfig;
    /// let config = SessionConfig::default().with_max_cookie_size(3000);
    /// # config.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_max_cookie_size(mut self, bytes: usize) -> Self {
        self.max_cookie_size = bytes;
        self
    }

    /// Whether responses that set the cookie get `Cache-Control: no-store`
    /// when the handler set no `Cache-Control` itself. Default `true`
    /// (`false` in [`SessionConfig::flask`]), so no shared cache keeps a
    /// response that carries someone's session.
    ///
    /// ```
    /// use websession::SessionConfig;
    /// let config = SessionConfig::default().with_no_store_on_write(false);
    /// # config.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_no_store_on_write(mut self, no_store: bool) -> Self {
        self.no_store_on_write = no_store;
        self
    }

    /// Signed mode: when to deflate the payload. Default
    /// [`Compression::Above`] 256 bytes of JSON ([`Compression::Flask`],
    /// Flask's exact bytes, in [`SessionConfig::flask`]).
    ///
    /// Flask reads every choice. [`Compression::Flask`] runs deflate on every
    /// write (about 3.5 µs for a typical session) to decide whether it saves
    /// 2 bytes, which is what makes the cookie byte-identical to Flask's;
    /// the default skips that for small sessions, whose cookies may then be
    /// a few bytes longer than Flask's.
    ///
    /// ```
    /// use websession::{Compression, SessionConfig};
    /// let config = SessionConfig::default().with_signed_compression(Compression::Never);
    /// # config.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_signed_compression(mut self, compression: Compression) -> Self {
        self.signed_compression = compression;
        self
    }

    #[cfg(feature = "sealed")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sealed")))]
    /// Sealed mode: refuse cookies of the first sealed format (version 1,
    /// XChaCha20-Poly1305) from `cutoff` on. Default: they open while their
    /// age allows. Cookies are sealed as version 2 (AES-256-GCM-SIV), and a
    /// version 1 cookie becomes version 2 the next time it is written, so a
    /// cut-off one permanent lifetime after the upgrade refuses only cookies
    /// nobody has used since.
    ///
    /// ```
    /// use websession::SessionConfig;
    /// // Version 1 sealed cookies stop opening after this date:
    /// let cutoff = time::macros::datetime!(2027-01-01 0:00 UTC);
    /// let config = SessionConfig::default().with_sealed_v1_cutoff(cutoff);
    /// # config.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_sealed_v1_cutoff(mut self, cutoff: time::OffsetDateTime) -> Self {
        self.sealed_v1_cutoff = Some(cutoff);
        self
    }

    #[cfg(feature = "sealed")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sealed")))]
    /// Sealed mode: whether to deflate the payload before sealing it.
    /// Default [`Compression::Never`].
    ///
    /// # Security
    ///
    /// A compressed cookie's length depends on its content. If attacker-chosen
    /// text (a search term, a form field) can land in the same session as a
    /// secret and the attacker can watch the cookie's length, every guess that
    /// repeats part of the secret makes the cookie shorter (CRIME/BREACH), and
    /// the secret leaks a few bytes at a time. [`Compression::Flask`] buys room
    /// under the 4 KB cookie limit; pick it only for sessions that never mix
    /// attacker-chosen text with secrets. Either way, cookies written with the
    /// other setting still open.
    ///
    /// ```
    /// use websession::{Compression, SessionConfig};
    /// let config = SessionConfig::default().with_sealed_compression(Compression::Above(1024));
    /// # config.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_sealed_compression(mut self, compression: Compression) -> Self {
        self.sealed_compression = compression;
        self
    }

    /// Refuses short or well-known secret keys when the layer is built,
    /// instead of only warning. Applies to every mode that takes keys
    /// (signed and sealed), current key and fallbacks alike.
    ///
    /// ```
    /// use websession::{Key, KeyRing, SessionConfig, Sessions};
    /// let strict = SessionConfig::default().with_strict_keys();
    /// // A published example key is refused, not just logged:
    /// let weak = KeyRing::new(Key::from_utf8("dev")?);
    /// assert!(Sessions::signed(weak, strict).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_strict_keys(mut self) -> Self {
        self.strict_keys = true;
        self
    }

    /// The clock used for signing times, expiry and `Expires`. Tests inject one.
    ///
    /// ```
    /// use websession::{Clock, SessionConfig};
    /// // A fixed time, for tests:
    /// let t = time::macros::datetime!(2026-01-01 0:00 UTC);
    /// let config = SessionConfig::default().with_clock(Clock::from_fn(move || t));
    /// # config.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The cookie's name.
    ///
    /// ```
    /// use websession::SessionConfig;
    /// assert_eq!(SessionConfig::default().cookie_name(), "session");
    /// ```
    #[must_use]
    pub fn cookie_name(&self) -> &str {
        &self.cookie_name
    }

    /// The permanent lifetime, which is also the maximum age of any cookie.
    ///
    /// ```
    /// use websession::SessionConfig;
    /// assert_eq!(SessionConfig::default().permanent_lifetime(), time::Duration::days(31));
    /// ```
    #[must_use]
    pub fn permanent_lifetime(&self) -> Duration {
        self.permanent_lifetime
    }

    /// The longest lifetime one session may have: see
    /// [`with_max_session_lifetime`](Self::with_max_session_lifetime). Never
    /// shorter than the permanent lifetime.
    ///
    /// ```
    /// use websession::SessionConfig;
    /// assert_eq!(SessionConfig::default().max_session_lifetime(), time::Duration::days(31));
    /// ```
    #[must_use]
    pub fn max_session_lifetime(&self) -> Duration {
        self.max_session_lifetime
            .map_or(self.permanent_lifetime, |m| m.max(self.permanent_lifetime))
    }

    /// Whether `Secure` is sent (`Partitioned` forces it).
    ///
    /// ```
    /// use websession::SessionConfig;
    /// assert!(SessionConfig::default().is_secure());
    /// ```
    #[must_use]
    pub fn is_secure(&self) -> bool {
        self.secure || self.partitioned
    }

    /// Checks the settings against the cookie grammar and browser rules.
    ///
    /// # Errors
    ///
    /// The first [`ConfigError`] found.
    ///
    /// ```
    /// use websession::SessionConfig;
    /// let bad = SessionConfig::default().with_cookie_name("a b");
    /// assert!(bad.validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if self.cookie_name.is_empty() || !self.cookie_name.chars().all(token) {
            return Err(ConfigError::CookieName(self.cookie_name.clone()));
        }
        let path_ok = self.path.starts_with('/')
            && self.path.chars().all(|c| c.is_ascii_graphic() && c != ';');
        if !path_ok {
            return Err(ConfigError::CookiePath(self.path.clone()));
        }
        if let Some(d) = &self.domain {
            let ok = !d.is_empty()
                && d.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
            if !ok {
                return Err(ConfigError::CookieDomain(d.clone()));
            }
        }
        let secure = self.is_secure();
        // Browsers match the prefixes case-insensitively (RFC 6265bis).
        let lower = self.cookie_name.to_ascii_lowercase();
        if lower.starts_with("__secure-") && !secure {
            return Err(ConfigError::BrowserRule("a __Secure- cookie needs Secure"));
        }
        if lower.starts_with("__host-") && (!secure || self.domain.is_some() || self.path != "/") {
            return Err(ConfigError::BrowserRule(
                "a __Host- cookie needs Secure, Path=/ and no Domain",
            ));
        }
        if self.same_site == Some(SameSite::None) && !secure {
            return Err(ConfigError::BrowserRule("SameSite=None needs Secure"));
        }
        // Whole seconds are what cookies and stores keep: under a second would
        // be zero, a session that ends at once.
        let in_range = |t: Duration| t >= Duration::SECOND && t <= MAX_LIFETIME;
        if !in_range(self.permanent_lifetime) || !in_range(self.max_session_lifetime()) {
            return Err(ConfigError::Lifetime);
        }
        let out_of_range = |t: Option<Duration>| t.is_some_and(|t| !in_range(t));
        if out_of_range(self.idle_timeout) || out_of_range(self.absolute_timeout) {
            return Err(ConfigError::Timeout);
        }
        if let Some(name) = self.transport.response_header() {
            if !valid_token_header(name) {
                return Err(ConfigError::TokenHeader(name.to_owned()));
            }
        }
        Ok(())
    }

    pub(crate) fn max_age_secs(&self) -> u64 {
        secs(self.permanent_lifetime)
    }

    /// The oldest cookie the codecs accept: the longest lifetime a session
    /// may have.
    pub(crate) fn max_session_lifetime_secs(&self) -> u64 {
        secs(self.max_session_lifetime())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_secure_and_valid() {
        let c = SessionConfig::default();
        assert!(c.http_only && c.secure && c.same_site == Some(SameSite::Lax) && c.path == "/");
        assert!(c.domain.is_none());
        c.validate().unwrap();
        SessionConfig::flask().validate().unwrap();
    }

    #[test]
    fn browser_rules_are_checked() {
        let bad = [
            SessionConfig::default().with_cookie_name(""),
            SessionConfig::default().with_cookie_name("a b"),
            SessionConfig::default().with_cookie_name("a;b"),
            SessionConfig::default().with_path("app"),
            SessionConfig::default().with_path("/a;b"),
            SessionConfig::default().with_domain("exämple.com"),
            SessionConfig::default()
                .with_cookie_name("__Host-s")
                .with_path("/app"),
            SessionConfig::default()
                .with_cookie_name("__Host-s")
                .with_domain("example.com"),
            SessionConfig::default()
                .with_cookie_name("__Host-s")
                .with_secure(false),
            SessionConfig::default()
                .with_cookie_name("__Secure-s")
                .with_secure(false),
            SessionConfig::default()
                .with_secure(false)
                .with_same_site(Some(SameSite::None)),
            SessionConfig::default().with_permanent_lifetime(Duration::ZERO),
        ];
        for c in bad {
            assert!(c.validate().is_err(), "{c:?}");
        }
        let partitioned = SessionConfig::flask()
            .with_partitioned()
            .with_same_site(Some(SameSite::None));
        partitioned.validate().unwrap();
        assert_eq!(
            SessionConfig::default()
                .with_domain(".example.com:8080")
                .domain
                .as_deref(),
            Some("example.com")
        );
    }
}
