//! Session configuration, in groups: the cookie's attributes
//! ([`CookieAttributes`], `cookie.rs`, shared with Flask-Login's remember
//! cookie), the lifetime policy ([`Lifetime`], `lifetime.rs`), where the
//! session travels ([`Transport`], `transport.rs`), the presets
//! (`presets.rs`), and here the config itself, the codec settings and the
//! checks.

mod cookie;
mod lifetime;
mod presets;
mod transport;

#[cfg(feature = "sealed")]
use websession_core::sealed::MIN_SEALING_KEY_LEN;
use websession_core::{Clock, Compression, KeyWeakness};

pub use cookie::{CookieAttributes, SameSite};
pub(crate) use lifetime::secs;
pub use lifetime::{Lifetime, Refresh, MAX_LIFETIME};
pub use transport::Transport;
pub(crate) use transport::Via;

/// Signed mode's default: deflate is tried only for JSON payloads of at
/// least this many bytes.
pub(crate) const DEFAULT_COMPRESSION_THRESHOLD: usize = 256;

/// Flask's `MAX_COOKIE_SIZE`: the longest `Set-Cookie` value browsers keep.
pub const MAX_COOKIE_SIZE: usize = 4093;

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
        /// [`SessionConfig::with_max_cookie_size`](SessionConfig::with_max_cookie_size).
        max_cookie_size: usize,
    },
    /// The mode can't do what the configuration asks (an absolute timeout
    /// in the Starlette and Django modes).
    #[error("not supported in this mode: {0}")]
    Unsupported(&'static str),
}

fn key_role(index: usize) -> &'static str {
    if index == 0 {
        "the current key"
    } else {
        "a fallback"
    }
}

/// How sessions behave: the cookie ([`with_cookie`](Self::with_cookie)),
/// their lifetime ([`with_lifetime`](Self::with_lifetime)), where they
/// travel ([`with_transport`](Self::with_transport)), and how the codecs
/// write them.
///
/// [`SessionConfig::default`] is the secure choice: `HttpOnly`, `Secure`,
/// `SameSite=Lax`, `Path=/`, no `Domain`. [`SessionConfig::flask`] is Flask's
/// own defaults, and with it websession sends exactly Flask's `Set-Cookie`
/// and `Vary` headers.
///
/// | Flask config key | here |
/// |---|---|
/// | `SESSION_COOKIE_NAME` | `with_cookie(\|c\| c.`[`with_name`](CookieAttributes::with_name)`)` |
/// | `SESSION_COOKIE_DOMAIN` | `with_cookie(\|c\| c.`[`with_domain`](CookieAttributes::with_domain)`)` |
/// | `SESSION_COOKIE_PATH` / `APPLICATION_ROOT` | `with_cookie(\|c\| c.`[`with_path`](CookieAttributes::with_path)`)` |
/// | `SESSION_COOKIE_HTTPONLY = False` | `with_cookie(\|c\| c.`[`with_http_only(false)`](CookieAttributes::with_http_only)`)` |
/// | `SESSION_COOKIE_SECURE` | `with_cookie(\|c\| c.`[`with_secure(bool)`](CookieAttributes::with_secure)`)` |
/// | `SESSION_COOKIE_SAMESITE` | `with_cookie(\|c\| c.`[`with_same_site`](CookieAttributes::with_same_site)`)` |
/// | `SESSION_COOKIE_PARTITIONED` | `with_cookie(\|c\| c.`[`with_partitioned`](CookieAttributes::with_partitioned)`)` |
/// | `SESSION_REFRESH_EACH_REQUEST` | `with_lifetime(\|l\| l.`[`with_refresh`](Lifetime::with_refresh)`)`: [`Refresh::EveryRequest`] (`True`), [`Refresh::OnChange`] (`False`), or an interval (the default) |
/// | `PERMANENT_SESSION_LIFETIME` | `with_lifetime(\|l\| l.`[`with_permanent_lifetime`](Lifetime::with_permanent_lifetime)`)`; one session's own: [`Session::set_lifetime`](crate::Session::set_lifetime), up to [`with_max_session_lifetime`](Lifetime::with_max_session_lifetime) |
/// | `MAX_COOKIE_SIZE` | [`with_max_cookie_size`](Self::with_max_cookie_size) (an error, not a warning) |
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use websession::{SameSite, SessionConfig};
///
/// let config = SessionConfig::default()
///     .with_cookie(|c| c.with_name("__Host-session").with_same_site(Some(SameSite::Strict)))
///     .with_lifetime(|l| l.with_permanent_lifetime(Duration::from_secs(12 * 3600)));
/// config.validate()?;
/// # Ok::<(), websession::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct SessionConfig {
    pub(crate) cookie: CookieAttributes,
    pub(crate) lifetime: Lifetime,
    pub(crate) transport: Transport,
    // The codec settings stay flat: each is read by one mode's codec or by
    // the engine's write path, none is shared with another config (as the
    // cookie attributes are with Flask-Login's), and a group would add a
    // closure to every call for no reuse.
    pub(crate) max_cookie_size: usize,
    pub(crate) no_store_on_write: bool,
    pub(crate) strict_keys: bool,
    #[cfg(feature = "sealed")]
    pub(crate) sealed_compression: Compression,
    pub(crate) signed_compression: Compression,
    #[cfg(feature = "sealed")]
    pub(crate) sealed_v1_cutoff: Option<time::OffsetDateTime>,
    pub(crate) clock: Clock,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            cookie: CookieAttributes::default(),
            lifetime: Lifetime::default(),
            transport: Transport::Cookie,
            max_cookie_size: MAX_COOKIE_SIZE,
            no_store_on_write: true,
            strict_keys: false,
            #[cfg(feature = "sealed")]
            sealed_compression: Compression::Never,
            signed_compression: Compression::Above(DEFAULT_COMPRESSION_THRESHOLD),
            #[cfg(feature = "sealed")]
            sealed_v1_cutoff: None,
            clock: Clock::system(),
        }
    }
}

impl SessionConfig {
    /// Edits the cookie's name and attributes (see [`CookieAttributes`]),
    /// starting from this config's.
    ///
    /// ```
    /// use websession::{SameSite, SessionConfig};
    /// let config = SessionConfig::flask()
    ///     .with_cookie(|c| c.with_secure(true).with_same_site(Some(SameSite::Lax)));
    /// # config.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_cookie(mut self, edit: impl FnOnce(CookieAttributes) -> CookieAttributes) -> Self {
        self.cookie = edit(self.cookie);
        self
    }

    /// Edits the lifetime policy (see [`Lifetime`]), starting from this
    /// config's.
    ///
    /// ```
    /// use std::time::Duration;
    /// use websession::SessionConfig;
    /// let config = SessionConfig::default()
    ///     .with_lifetime(|l| l.with_idle_timeout(Duration::from_secs(30 * 60)));
    /// # config.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_lifetime(mut self, edit: impl FnOnce(Lifetime) -> Lifetime) -> Self {
        self.lifetime = edit(self.lifetime);
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

    /// The cookie's name and attributes; see [`with_cookie`](Self::with_cookie).
    ///
    /// ```
    /// assert_eq!(websession::SessionConfig::default().cookie().name(), "session");
    /// ```
    #[must_use]
    pub fn cookie(&self) -> &CookieAttributes {
        &self.cookie
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

    /// Checks the settings against the cookie grammar and browser rules.
    ///
    /// # Errors
    ///
    /// The first [`ConfigError`] found.
    ///
    /// ```
    /// use websession::SessionConfig;
    /// let bad = SessionConfig::default().with_cookie(|c| c.with_name("a b"));
    /// assert!(bad.validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.cookie.validate()?;
        self.lifetime.validate()?;
        self.transport.validate()
    }

    /// The permanent lifetime in seconds: a permanent cookie's `Expires`.
    pub(crate) fn max_age_secs(&self) -> u64 {
        secs(self.lifetime.permanent)
    }

    /// The oldest cookie the codecs accept: the longest lifetime a session
    /// may have.
    pub(crate) fn max_session_lifetime_secs(&self) -> u64 {
        secs(self.lifetime.max_session_lifetime())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn defaults_are_secure_and_valid() {
        let c = SessionConfig::default();
        let k = c.cookie();
        assert!(k.http_only && k.secure && k.same_site == Some(SameSite::Lax) && k.path == "/");
        assert!(k.domain.is_none());
        c.validate().unwrap();
        SessionConfig::flask().validate().unwrap();
    }

    #[test]
    fn every_group_is_checked() {
        let bad = [
            SessionConfig::default().with_cookie(|c| c.with_name("a b")),
            SessionConfig::default().with_lifetime(|l| l.with_permanent_lifetime(Duration::ZERO)),
            SessionConfig::default()
                .with_lifetime(|l| l.with_idle_timeout(Duration::from_millis(500))),
            SessionConfig::default().with_lifetime(|l| l.with_absolute_timeout(MAX_LIFETIME * 2)),
            SessionConfig::default().with_transport(Transport::header("cookie")),
        ];
        for c in bad {
            assert!(c.validate().is_err(), "{c:?}");
        }
    }
}
