//! [`CookieAttributes`]: a cookie's name and attributes, shared by the
//! session cookie ([`SessionConfig::with_cookie`](crate::SessionConfig::with_cookie))
//! and Flask-Login's remember cookie
//! ([`FlaskLoginConfig::with_cookie`](crate::flask::FlaskLoginConfig)).

use std::fmt;

use super::ConfigError;

/// The `SameSite` attribute of a cookie.
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

/// A cookie's name and attributes: `Domain`, `Path`, `Secure`, `HttpOnly`,
/// `SameSite`, `Partitioned`.
///
/// [`CookieAttributes::default`] is the secure choice for a session
/// cookie: `session`, `HttpOnly`, `Secure`, `SameSite=Lax`, `Path=/`, no
/// `Domain`. [`SessionConfig::with_cookie`](crate::SessionConfig::with_cookie)
/// edits the session cookie's, starting from the preset's (Flask's, for
/// [`SessionConfig::flask`](crate::SessionConfig::flask)).
///
/// ```
/// use websession::{SameSite, SessionConfig};
/// let config = SessionConfig::default().with_cookie(|c| {
///     c.with_name("__Host-session").with_same_site(Some(SameSite::Strict))
/// });
/// assert_eq!(config.cookie().name(), "__Host-session");
/// config.validate()?;
/// # Ok::<(), websession::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CookieAttributes {
    pub(crate) name: String,
    pub(crate) domain: Option<String>,
    pub(crate) path: String,
    pub(crate) http_only: bool,
    pub(crate) secure: bool,
    pub(crate) same_site: Option<SameSite>,
    pub(crate) partitioned: bool,
}

impl Default for CookieAttributes {
    fn default() -> Self {
        Self {
            name: "session".into(),
            domain: None,
            path: "/".into(),
            http_only: true,
            secure: true,
            same_site: Some(SameSite::Lax),
            partitioned: false,
        }
    }
}

impl CookieAttributes {
    /// Flask's (and Werkzeug's) defaults: `HttpOnly`, `Path=/`, no
    /// `Secure`, no `SameSite`.
    pub(crate) fn flask() -> Self {
        Self {
            secure: false,
            same_site: None,
            ..Self::default()
        }
    }

    /// The cookie's name. Default `session`.
    ///
    /// ```
    /// use websession::SessionConfig;
    /// let config = SessionConfig::default().with_cookie(|c| c.with_name("__Host-session"));
    /// assert_eq!(config.cookie().name(), "__Host-session");
    /// # config.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The cookie's `Domain`. Default none (the cookie goes to this host only,
    /// the safe choice). A leading `.` and a `:port` are dropped, as Werkzeug does.
    ///
    /// ```
    /// use websession::SessionConfig;
    /// // Shared by app.example.com and api.example.com:
    /// let config = SessionConfig::default().with_cookie(|c| c.with_domain("example.com"));
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
    /// let config = SessionConfig::default().with_cookie(|c| c.with_path("/app"));
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
    /// let config = SessionConfig::default().with_cookie(|c| c.with_secure(from_env));
    /// # let _ = config;
    /// ```
    #[must_use]
    pub fn with_secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// Sets `HttpOnly` (`true`, the default): scripts can't read the cookie.
    /// `false` lets scripts read it (Flask's `SESSION_COOKIE_HTTPONLY = False`).
    ///
    /// ```
    /// use websession::SessionConfig;
    /// let config = SessionConfig::default().with_cookie(|c| c.with_http_only(true));
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
    /// let config = SessionConfig::default().with_cookie(|c| c.with_same_site(Some(SameSite::Strict)));
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
    ///     .with_cookie(|c| c.with_same_site(Some(websession::SameSite::None)).with_partitioned());
    /// # config.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_partitioned(mut self) -> Self {
        self.partitioned = true;
        self
    }

    /// The cookie's name.
    ///
    /// ```
    /// use websession::SessionConfig;
    /// assert_eq!(SessionConfig::default().cookie().name(), "session");
    /// ```
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether `Secure` is sent (`Partitioned` forces it).
    #[must_use]
    pub(crate) fn is_secure(&self) -> bool {
        self.secure || self.partitioned
    }

    /// Checks the name, path and domain against the cookie grammar, and
    /// the attributes against the browsers' rules.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if self.name.is_empty() || !self.name.chars().all(token) {
            return Err(ConfigError::CookieName(self.name.clone()));
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
        let lower = self.name.to_ascii_lowercase();
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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_rules_are_checked() {
        let d = CookieAttributes::default;
        let bad = [
            d().with_name(""),
            d().with_name("a b"),
            d().with_name("a;b"),
            d().with_path("app"),
            d().with_path("/a;b"),
            d().with_domain("exämple.com"),
            d().with_name("__Host-s").with_path("/app"),
            d().with_name("__Host-s").with_domain("example.com"),
            d().with_name("__Host-s").with_secure(false),
            d().with_name("__Secure-s").with_secure(false),
            d().with_secure(false).with_same_site(Some(SameSite::None)),
        ];
        for c in bad {
            assert!(c.validate().is_err(), "{c:?}");
        }
        let partitioned = CookieAttributes::flask()
            .with_partitioned()
            .with_same_site(Some(SameSite::None));
        partitioned.validate().unwrap();
        assert_eq!(
            d().with_domain(".example.com:8080").domain.as_deref(),
            Some("example.com")
        );
    }
}
