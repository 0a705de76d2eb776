//! The presets: [`SessionConfig::flask`], and with their features
//! [`SessionConfig::starlette`] and [`SessionConfig::django`], each with the
//! table from the framework's settings to the groups.

use websession_core::Compression;

use super::{CookieAttributes, Lifetime, Refresh, SessionConfig};

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
            cookie: CookieAttributes::flask(),
            lifetime: Lifetime::default().with_refresh(Refresh::EveryRequest),
            no_store_on_write: false,
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
    /// | `session_cookie` | `with_cookie(\|c\| c.`[`with_name`](CookieAttributes::with_name)`)` |
    /// | `max_age` | `with_lifetime(\|l\| l.`[`with_permanent_lifetime`](Lifetime::with_permanent_lifetime)`)` |
    /// | `path` | `with_cookie(\|c\| c.`[`with_path`](CookieAttributes::with_path)`)` |
    /// | `same_site` | `with_cookie(\|c\| c.`[`with_same_site`](CookieAttributes::with_same_site)`)` |
    /// | `https_only=True` | `with_cookie(\|c\| c.`[`with_secure(true)`](CookieAttributes::with_secure)`)` |
    /// | `domain` | `with_cookie(\|c\| c.`[`with_domain`](CookieAttributes::with_domain)`)` |
    /// | `partitioned` | `with_cookie(\|c\| c.`[`with_partitioned`](CookieAttributes::with_partitioned)`)` |
    ///
    /// ```
    /// use websession::SessionConfig;
    /// let config = SessionConfig::starlette();
    /// assert_eq!(config.cookie().name(), "session");
    /// let two_weeks = std::time::Duration::from_secs(14 * 86_400);
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
    /// (`Expires` on every cookie, in store mode too, and the oldest
    /// cookie accepted), `HttpOnly`, `SameSite=Lax`, `Path=/`, no `Secure`, written
    /// only when the session changed (`SESSION_SAVE_EVERY_REQUEST = False`),
    /// no `Cache-Control` added.
    ///
    /// | Django setting | here |
    /// |---|---|
    /// | `SESSION_COOKIE_NAME` | `with_cookie(\|c\| c.`[`with_name`](CookieAttributes::with_name)`)` |
    /// | `SESSION_COOKIE_AGE` | `with_lifetime(\|l\| l.`[`with_permanent_lifetime`](Lifetime::with_permanent_lifetime)`)` |
    /// | `SESSION_COOKIE_DOMAIN` / `_PATH` | `with_cookie(\|c\| c.`[`with_domain`](CookieAttributes::with_domain)`)` / [`with_path`](CookieAttributes::with_path) |
    /// | `SESSION_COOKIE_SECURE` | `with_cookie(\|c\| c.`[`with_secure`](CookieAttributes::with_secure)`)` |
    /// | `SESSION_COOKIE_HTTPONLY = False` | `with_cookie(\|c\| c.`[`with_http_only(false)`](CookieAttributes::with_http_only)`)` |
    /// | `SESSION_COOKIE_SAMESITE` | `with_cookie(\|c\| c.`[`with_same_site`](CookieAttributes::with_same_site)`)` |
    /// | `SESSION_SAVE_EVERY_REQUEST = True` | `with_lifetime(\|l\| l.`[`with_refresh(Refresh::EveryRequest)`](Lifetime::with_refresh)`)` |
    /// | `SESSION_EXPIRE_AT_BROWSER_CLOSE = True` | `with_lifetime(\|l\| l.`[`with_expire_at_browser_close()`](Lifetime::with_expire_at_browser_close)`)` |
    ///
    /// ```
    /// use websession::SessionConfig;
    /// let config = SessionConfig::django();
    /// assert_eq!(config.cookie().name(), "sessionid");
    /// let age = std::time::Duration::from_secs(1_209_600);
    /// # config.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn django() -> Self {
        Self::python_framework().with_cookie(|c| c.with_name("sessionid"))
    }

    /// What Starlette's and Django's defaults share: no `Secure`, no
    /// `Cache-Control`, written only when changed, two weeks, and `Expires`
    /// on every cookie (in store mode too, where Flask's rule would give it
    /// only to a permanent session).
    #[cfg(any(feature = "starlette", feature = "django"))]
    fn python_framework() -> Self {
        Self {
            cookie: CookieAttributes::default().with_secure(false),
            lifetime: Lifetime {
                every_cookie_expires: true,
                ..Lifetime::default()
                    .with_refresh(Refresh::OnChange)
                    .with_permanent_lifetime(std::time::Duration::from_secs(14 * 86_400))
            },
            no_store_on_write: false,
            ..Self::default()
        }
    }
}
