//! [`Lifetime`]: how long sessions last (the permanent lifetime, the cap
//! on one session's own, the idle and absolute timeouts) and when an
//! unchanged cookie is re-issued ([`Refresh`]).

use std::time::Duration;

use super::ConfigError;

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
    /// `SESSION_REFRESH_EACH_REQUEST = True` (what
    /// [`SessionConfig::flask`](crate::SessionConfig::flask) uses, so both
    /// apps send the same headers).
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

/// The default refresh interval: one minute.
pub(crate) const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(60);

/// The longest lifetime or timeout a configuration may have: 100 years.
///
/// Longer ones would put expiry dates past the year 9999, which cookies
/// (and the `time` crate) can't express;
/// [`SessionConfig::validate`](crate::SessionConfig::validate) refuses them.
pub const MAX_LIFETIME: Duration = Duration::from_secs(36_525 * 86_400);

/// Whole seconds of a duration, as cookies and stores keep them.
pub(crate) fn secs(d: Duration) -> u64 {
    d.as_secs()
}

/// How long sessions last, and when unchanged cookies are re-issued:
/// edited with [`SessionConfig::with_lifetime`](crate::SessionConfig::with_lifetime).
///
/// A session ends at the first of: its lifetime since the last write (the
/// permanent lifetime, or its own from
/// [`Session::set_lifetime`](crate::Session::set_lifetime), cut to
/// [`max_session_lifetime`](Self::with_max_session_lifetime)), the idle timeout
/// since the last request that used it, and the absolute timeout since it
/// was created. See [the "remember me" guide](crate::docs::remember_me).
///
/// ```
/// use std::time::Duration;
/// use websession::SessionConfig;
/// const DAY: Duration = Duration::from_secs(86_400);
/// let config = SessionConfig::default().with_lifetime(|l| {
///     l.with_permanent_lifetime(DAY)
///         .with_max_session_lifetime(90 * DAY)
///         .with_idle_timeout(Duration::from_secs(30 * 60))
/// });
/// config.validate()?;
/// # Ok::<(), websession::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lifetime {
    pub(crate) permanent: Duration,
    pub(crate) max_session: Option<Duration>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) absolute_timeout: Option<Duration>,
    pub(crate) refresh: Refresh,
    pub(crate) expire_at_browser_close: bool,
    /// Store mode: every session's cookie carries `Expires` (but none with
    /// `expire_at_browser_close`), as Django's and Starlette's do, instead of
    /// only a permanent (`_permanent`) session's. Set by their presets.
    pub(crate) every_cookie_expires: bool,
}

impl Default for Lifetime {
    fn default() -> Self {
        Self {
            permanent: Duration::from_secs(31 * 86_400),
            max_session: None,
            idle_timeout: None,
            absolute_timeout: None,
            refresh: Refresh::Interval(DEFAULT_REFRESH_INTERVAL),
            expire_at_browser_close: false,
            every_cookie_expires: false,
        }
    }
}

impl Lifetime {
    /// Flask's `PERMANENT_SESSION_LIFETIME`: the `Expires` of permanent
    /// cookies, and the maximum age the server accepts for **every** cookie
    /// (but those given a longer lifetime of their own, up to
    /// [`with_max_session_lifetime`](Self::with_max_session_lifetime)).
    /// Default 31 days.
    ///
    /// ```
    /// use std::time::Duration;
    /// use websession::SessionConfig;
    /// // Flask's PERMANENT_SESSION_LIFETIME = timedelta(days=7):
    /// let week = Duration::from_secs(7 * 86_400);
    /// let config = SessionConfig::default().with_lifetime(|l| l.with_permanent_lifetime(week));
    /// # config.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_permanent_lifetime(mut self, lifetime: Duration) -> Self {
        self.permanent = lifetime;
        self
    }

    /// The longest lifetime one session may be given with
    /// [`Session::set_lifetime`](crate::Session::set_lifetime) ("remember me
    /// for 90 days" on one session, without changing the permanent
    /// lifetime). Default: the permanent lifetime, so sessions may only be
    /// given shorter ones. Longer requests are cut to this (and
    /// [`Session::lifetime`](crate::Session::lifetime) says so). Cookies
    /// are accepted up to this age when they carry a lifetime that long;
    /// every other cookie still ages out at the permanent lifetime.
    ///
    /// A Flask app sharing the cookie doesn't know per-session lifetimes: it
    /// drops cookies older than its own `PERMANENT_SESSION_LIFETIME`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use websession::SessionConfig;
    /// const DAY: Duration = Duration::from_secs(86_400);
    /// let config = SessionConfig::default()
    ///     .with_lifetime(|l| l.with_permanent_lifetime(DAY).with_max_session_lifetime(90 * DAY));
    /// # config.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_max_session_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_session = Some(lifetime);
        self
    }

    /// Ends a session after this long without a request that uses it. Every
    /// such request extends it (the cookie is re-issued each time). Default:
    /// none, as in Flask.
    ///
    /// ```
    /// use std::time::Duration;
    /// use websession::SessionConfig;
    /// // Logged out after 30 minutes without a request:
    /// let config = SessionConfig::default()
    ///     .with_lifetime(|l| l.with_idle_timeout(Duration::from_secs(30 * 60)));
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
    /// use std::time::Duration;
    /// use websession::SessionConfig;
    /// // Never longer than 12 hours since login, however active:
    /// let config = SessionConfig::default()
    ///     .with_lifetime(|l| l.with_absolute_timeout(Duration::from_secs(12 * 3600)));
    /// # config.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_absolute_timeout(mut self, timeout: Duration) -> Self {
        self.absolute_timeout = Some(timeout);
        self
    }

    /// When an unchanged permanent or idle-timed cookie is sent again.
    /// Default [`Refresh::Interval`] of one minute ([`Refresh::EveryRequest`]
    /// in [`SessionConfig::flask`](crate::SessionConfig::flask)).
    ///
    /// ```
    /// use std::time::Duration;
    /// use websession::{Refresh, SessionConfig};
    /// let every_five_minutes = SessionConfig::default()
    ///     .with_lifetime(|l| l.with_refresh(Refresh::Interval(Duration::from_secs(300))));
    /// # every_five_minutes.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_refresh(mut self, refresh: Refresh) -> Self {
        self.refresh = refresh;
        self
    }

    #[cfg(any(feature = "starlette", feature = "django"))]
    #[cfg_attr(docsrs, doc(cfg(any(feature = "starlette", feature = "django"))))]
    /// Starlette and Django modes, and store mode under
    /// `SessionConfig::django()` or `SessionConfig::starlette()`: the
    /// cookie has no `Max-Age`/`Expires`, so the browser drops it when it
    /// closes (Django's `SESSION_EXPIRE_AT_BROWSER_CLOSE = True`). The
    /// server still refuses cookies (and stored sessions) older than the
    /// lifetime. Flask mode ignores it: there a session is permanent or not
    /// by its `_permanent` key
    /// ([`Session::set_permanent`](crate::Session::set_permanent)).
    ///
    /// ```
    /// use websession::SessionConfig;
    /// let config = SessionConfig::django().with_lifetime(|l| l.with_expire_at_browser_close());
    /// # config.validate()?;
    /// # Ok::<(), websession::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_expire_at_browser_close(mut self) -> Self {
        self.expire_at_browser_close = true;
        self
    }

    /// The longest lifetime one session may have: see
    /// [`with_max_session_lifetime`](Self::with_max_session_lifetime). Never
    /// shorter than the permanent lifetime.
    #[must_use]
    pub(crate) fn max_session_lifetime(&self) -> Duration {
        self.max_session
            .map_or(self.permanent, |m| m.max(self.permanent))
    }

    /// Checks every lifetime and timeout is whole seconds cookies and
    /// stores can keep: at least one, at most [`MAX_LIFETIME`].
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        // Under a second would be zero, a session that ends at once.
        let in_range = |t: Duration| t >= Duration::from_secs(1) && t <= MAX_LIFETIME;
        if !in_range(self.permanent) || !in_range(self.max_session_lifetime()) {
            return Err(ConfigError::Lifetime);
        }
        let out_of_range = |t: Option<Duration>| t.is_some_and(|t| !in_range(t));
        if out_of_range(self.idle_timeout) || out_of_range(self.absolute_timeout) {
            return Err(ConfigError::Timeout);
        }
        Ok(())
    }
}
