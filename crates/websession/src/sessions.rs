//! [`Sessions`]: a mode and its configuration, validated once.

use std::fmt;
use std::sync::Arc;

#[cfg(feature = "django")]
use websession_core::django::DjangoCodec;
#[cfg(any(feature = "sealed", feature = "starlette", feature = "django"))]
use websession_core::format::CookieFormat;
#[cfg(feature = "starlette")]
use websession_core::starlette::StarletteCodec;
use websession_core::store::SessionStore;
#[cfg(feature = "sealed")]
use websession_core::SealedCodec;
use websession_core::{FlaskCodec, KeyRing};

use crate::config::{ConfigError, SessionConfig};
use crate::engine::{CookieEngine, Engine, StoreEngine};
use crate::outcome::Finish;
use crate::raw::RawCookie;
use crate::session::PendingSession;

/// How an app keeps sessions: the mode (signed cookie, sealed cookie or a
/// server-side store) with its [`SessionConfig`], checked once when it is
/// built.
///
/// Build it at start-up, then hand it to the middleware of your framework:
/// [`SessionManagerLayer::new`](crate::SessionManagerLayer::new) for tower
/// and axum, [`SessionMiddleware::new`](crate::actix::SessionMiddleware::new)
/// for actix-web. Neither can fail or panic, and cloning is cheap (the keys
/// are derived once, whatever the number of routes).
///
/// # Examples
///
/// ```
/// use websession::{Key, KeyRing, SessionConfig, Sessions};
///
/// let keys = KeyRing::new(Key::generate());
/// let sessions: Sessions = Sessions::signed(keys, SessionConfig::default())?.into();
/// assert_eq!(sessions.config().cookie().name(), "session");
///
/// // A bad configuration is an error here, not a panic later.
/// let bad = SessionConfig::default().with_cookie(|c| c.with_name("a b"));
/// assert!(Sessions::sealed(KeyRing::new(Key::generate()), bad).is_err());
/// # Ok::<(), websession::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Sessions {
    engine: Arc<dyn Engine>,
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions")
            .field("config", &self.engine.shared().config)
            .finish_non_exhaustive()
    }
}

impl Sessions {
    /// Flask-compatible signed cookie sessions, signed with the ring's
    /// current key and verified with all of them. The options only cookie
    /// sessions have (revocation, overflow) are on the [`CookieSessions`]
    /// this returns; hand it to the middleware as it is, or `.into()` a
    /// [`Sessions`].
    ///
    /// # Errors
    ///
    /// The first problem [`SessionConfig::validate`] finds, or
    /// [`ConfigError::WeakKey`] for a short or published key when the
    /// configuration asks for strict keys (otherwise such keys are logged as
    /// a `websession::security` warning).
    pub fn signed(
        keys: impl Into<KeyRing>,
        config: SessionConfig,
    ) -> Result<CookieSessions, ConfigError> {
        let keys = keys.into();
        let format = FlaskCodec::new(&keys)
            .with_max_age(config.max_session_lifetime_secs())
            .with_compression(config.signed_compression);
        CookieEngine::new(config, &keys, Ok(Box::new(format))).map(CookieSessions)
    }

    #[cfg(feature = "sealed")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sealed")))]
    /// Sealed cookie sessions: the data is encrypted and authenticated with
    /// AES-256-GCM-SIV (see [`websession_core::sealed`]), so the client
    /// can't read it. As for [`Sessions::signed`], the cookie-only options
    /// are on the [`CookieSessions`] it returns.
    ///
    /// # Errors
    ///
    /// As [`Sessions::signed`], and [`ConfigError::SealingKey`] when a key is
    /// shorter than 32 bytes.
    pub fn sealed(
        keys: impl Into<KeyRing>,
        config: SessionConfig,
    ) -> Result<CookieSessions, ConfigError> {
        let keys = keys.into();
        let format = SealedCodec::new(&keys, &config.cookie.name)
            .map_err(|e| ConfigError::SealingKey {
                index: e.index,
                len: e.len,
            })
            .map(|codec| {
                let format = codec
                    .with_max_age(config.max_session_lifetime_secs())
                    .with_compression(config.sealed_compression)
                    .with_v1_cutoff(config.sealed_v1_cutoff.map(websession_core::unix_seconds));
                Box::new(format) as Box<dyn CookieFormat>
            });
        CookieEngine::new(config, &keys, format).map(CookieSessions)
    }

    /// Server-side sessions: the cookie carries only a random id, the data
    /// lives in `store` (see [`store`](crate::store)). Loads happen when a
    /// handler extracts the session, writes carry only the changed keys, and
    /// an unreachable store answers 503 (see [`StoreSessions::with_fail_open`]).
    /// The options only store sessions have are on the [`StoreSessions`]
    /// this returns.
    ///
    /// # Errors
    ///
    /// The first problem [`SessionConfig::validate`] finds.
    pub fn store(
        store: impl SessionStore,
        config: SessionConfig,
    ) -> Result<StoreSessions, ConfigError> {
        StoreEngine::new(config, Arc::new(store)).map(StoreSessions)
    }

    #[cfg(feature = "starlette")]
    #[cfg_attr(docsrs, doc(cfg(feature = "starlette")))]
    /// Sessions in Starlette's (and FastAPI's) `SessionMiddleware` cookie, so
    /// a Rust app and a Starlette app with the same `secret_key` share them:
    /// see [`crate::docs::starlette`]. Use [`SessionConfig::starlette`] for
    /// Starlette's defaults. Only the ring's current key signs; every key
    /// verifies (Starlette itself has one key).
    ///
    /// The cookie holds the session as the Python app sees it: no hidden
    /// keys are added, so an absolute timeout can't be kept, and
    /// [`Session::set_permanent`](crate::Session::set_permanent) and
    /// [`Session::set_lifetime`](crate::Session::set_lifetime) (Flask's
    /// keys) should not be used. Values must be plain JSON: bytes, UUIDs
    /// and datetimes make the save fail with a logged 500, as `json.dumps`
    /// fails in Starlette.
    ///
    /// # Errors
    ///
    /// As [`Sessions::signed`], and [`ConfigError::Unsupported`] with an
    /// absolute timeout. Revocation and overflow are not offered: they need
    /// keys in the cookie that the Python app would see.
    ///
    /// # Examples
    ///
    /// ```
    /// use websession::{Key, KeyRing, SessionConfig, Sessions};
    /// let keys = KeyRing::new(Key::from_utf8("the FastAPI app's secret_key")?);
    /// let sessions = Sessions::starlette(keys, SessionConfig::starlette())?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn starlette(keys: impl Into<KeyRing>, config: SessionConfig) -> Result<Self, ConfigError> {
        let keys = keys.into();
        let format = StarletteCodec::new(&keys).with_max_age(config.max_session_lifetime_secs());
        Self::plain(config, &keys, Box::new(format))
    }

    #[cfg(feature = "django")]
    #[cfg_attr(docsrs, doc(cfg(feature = "django")))]
    /// Sessions in Django's `signed_cookies` session cookie
    /// (`SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"`),
    /// so a Rust app and a Django app with the same `SECRET_KEY` share
    /// them: see [`crate::docs::django`]. Use [`SessionConfig::django`] for
    /// Django's defaults. The ring's current key is `SECRET_KEY`, its
    /// fallbacks `SECRET_KEY_FALLBACKS`.
    ///
    /// As for [`Sessions::starlette`], the cookie holds exactly the Python
    /// app's session (no hidden keys, plain JSON values only).
    ///
    /// # Errors
    ///
    /// As [`Sessions::starlette`].
    ///
    /// # Examples
    ///
    /// ```
    /// use websession::{Key, KeyRing, SessionConfig, Sessions};
    /// let keys = KeyRing::new(Key::from_utf8("django-insecure-the-settings-SECRET_KEY")?)
    ///     .with_fallback(Key::from_utf8("the SECRET_KEY before the rotation")?);
    /// let sessions = Sessions::django(keys, SessionConfig::django())?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn django(keys: impl Into<KeyRing>, config: SessionConfig) -> Result<Self, ConfigError> {
        let keys = keys.into();
        let format = DjangoCodec::new(&keys).with_max_age(config.max_session_lifetime_secs());
        Self::plain(config, &keys, Box::new(format))
    }

    #[cfg(any(feature = "starlette", feature = "django"))]
    #[cfg_attr(docsrs, doc(cfg(any(feature = "starlette", feature = "django"))))]
    /// A Python framework's cookie format.
    fn plain(
        config: SessionConfig,
        keys: &KeyRing,
        format: Box<dyn CookieFormat>,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            engine: Arc::new(CookieEngine::new(config, keys, Ok(format))?),
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &SessionConfig {
        &self.engine.shared().config
    }

    /// "Log out everywhere", "log out my other sessions" and the devices
    /// list for these sessions (see [`Logins`](crate::Logins)).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Unsupported`] for cookie sessions without a
    /// [`Revocation`](crate::Revocation) (a copied cookie can't be ended
    /// before it expires) and for the Python frameworks' cookies.
    pub fn logins(&self) -> Result<crate::Logins, ConfigError> {
        self.engine.logins().ok_or(NO_LOGINS)
    }

    /// A request's session, from its session cookie (see [`RawCookie::find`]).
    pub(crate) fn begin(&self, raw: Option<RawCookie>) -> PendingSession {
        PendingSession::new(self.engine.clone(), raw)
    }

    /// The session cookie's name.
    pub(crate) fn cookie_name(&self) -> &str {
        &self.engine.shared().config.cookie.name
    }

    /// The end of a request: what its session adds to the response.
    pub(crate) fn end(&self, session: &PendingSession, status: u16) -> Finish {
        // The save works on the state where it lies (a save that must own
        // it takes it), so a request's state isn't moved out to be saved.
        session.finish_with(|state| {
            // The request's time is when its session was opened: one clock
            // read per request that uses the session, none for one that
            // doesn't.
            let now = state.as_ref().map_or(0, |s| s.opened_at);
            crate::engine::finish(&self.engine, state.as_mut(), status, now)
        })
    }
}

/// Signed or sealed cookie sessions, with the options only they have:
/// revocation ([`with_revocation`](Self::with_revocation)) and overflow
/// ([`with_overflow`](Self::with_overflow)). Made by [`Sessions::signed`]
/// and [`Sessions::sealed`]; the middleware takes it as it is (it is
/// `Into<Sessions>`).
///
/// # Examples
///
/// ```
/// use websession::{Key, KeyRing, Overflow, Revocation, SessionConfig, Sessions};
/// use websession::store::{MemoryRevocations, MemoryStore};
///
/// let sessions: Sessions = Sessions::signed(KeyRing::new(Key::generate()), SessionConfig::default())?
///     .with_revocation(Revocation::new(MemoryRevocations::new()))
///     .with_overflow(Overflow::new(MemoryStore::new()))?
///     .into();
/// # Ok::<(), websession::ConfigError>(())
/// ```
///
/// The Python frameworks' cookies hold exactly the Python app's session,
/// with no room for revocation's keys or an overflow id, so their sessions
/// have no such options:
///
/// ```compile_fail
/// use websession::{Key, KeyRing, Revocation, SessionConfig, Sessions};
/// use websession::store::MemoryRevocations;
///
/// let sessions = Sessions::starlette(KeyRing::new(Key::generate()), SessionConfig::starlette())?
///     .with_revocation(Revocation::new(MemoryRevocations::new()));
/// # Ok::<(), websession::ConfigError>(())
/// ```
pub struct CookieSessions(CookieEngine);

impl fmt::Debug for CookieSessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieSessions")
            .field("config", &self.0.shared.config)
            .field("revocation", &self.0.revocation)
            .field("overflow", &self.0.overflow)
            .finish_non_exhaustive()
    }
}

impl CookieSessions {
    /// Makes the sessions revocable: "log out everywhere" and "log out this
    /// device" for cookie sessions, checked against `revocation`'s store
    /// (see [`Revocation`](crate::Revocation) and
    /// [`docs::revocation`](crate::docs::revocation)). Flask-Login's remember
    /// cookies are bound to it too.
    #[must_use]
    pub fn with_revocation(mut self, revocation: crate::Revocation) -> Self {
        self.0.revocation = Some(revocation);
        self
    }

    /// A session too large for its cookie moves to `overflow`'s store
    /// instead of failing (see [`Overflow`](crate::Overflow) and
    /// [`docs::overflow`](crate::docs::overflow)).
    ///
    /// # Errors
    ///
    /// [`ConfigError::OverflowThreshold`] when the overflow's return
    /// threshold is not below the cookie limit
    /// ([`SessionConfig::with_max_cookie_size`]): a session would move back
    /// and out again at once. [`ConfigError::Unsupported`] for a store that
    /// keeps another program's records under that program's ids (the
    /// Python bridges of `websession-python`): a session too large for the
    /// cookie is websession's own, and its record is filed under the
    /// SHA-256 of a websession id.
    pub fn with_overflow(mut self, overflow: crate::Overflow) -> Result<Self, ConfigError> {
        // websession's ids are filed under their SHA-256; a format that
        // files its own freshly made id under anything else (the Python
        // bridges: the raw id) keeps another program's records.
        let ids = overflow.store.id_format();
        let probe = ids.generate();
        if ids.key(&probe) != probe.hash() {
            return Err(ConfigError::Unsupported(
                "overflow needs a store of websession's own ids: this store keeps another program's records",
            ));
        }
        let max_cookie_size = self.0.shared.config.max_cookie_size;
        let return_below = overflow.return_below(max_cookie_size);
        if return_below >= max_cookie_size {
            return Err(ConfigError::OverflowThreshold {
                return_below,
                max_cookie_size,
            });
        }
        self.0.overflow = Some(overflow);
        Ok(self)
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &SessionConfig {
        &self.0.shared.config
    }

    /// "Log out everywhere" and "log out my other sessions" (see
    /// [`Logins`](crate::Logins)); call it after
    /// [`with_revocation`](Self::with_revocation).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Unsupported`] without a revocation: a copied cookie
    /// can't be ended before it expires.
    pub fn logins(&self) -> Result<crate::Logins, ConfigError> {
        // The same answer as `Sessions::logins`: the engine's.
        crate::engine::Engine::logins(&self.0).ok_or(NO_LOGINS)
    }
}

/// Why sessions have no [`Logins`](crate::Logins).
const NO_LOGINS: ConfigError = ConfigError::Unsupported(
    "logging a user out elsewhere needs server state: Sessions::store, or cookie sessions with_revocation",
);

impl From<CookieSessions> for Sessions {
    fn from(sessions: CookieSessions) -> Self {
        Self {
            engine: Arc::new(sessions.0),
        }
    }
}

/// Server-side sessions, with the options only they have. Made by
/// [`Sessions::store`]; the middleware takes it as it is (it is
/// `Into<Sessions>`).
///
/// # Examples
///
/// ```
/// use websession::{SessionConfig, Sessions};
/// use websession::store::MemoryStore;
///
/// let sessions: Sessions = Sessions::store(MemoryStore::new(), SessionConfig::default())?
///     .with_touch_interval(std::time::Duration::from_secs(5 * 60))
///     .into();
/// # Ok::<(), websession::ConfigError>(())
/// ```
pub struct StoreSessions(StoreEngine);

impl fmt::Debug for StoreSessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreSessions")
            .field("config", &self.0.shared.config)
            .field("fail_open", &self.0.fail_open)
            .finish_non_exhaustive()
    }
}

impl StoreSessions {
    /// When the store can't be reached, serve an empty session that is
    /// never saved instead of answering 503. Handlers then see a logged-out
    /// user, and what they write during the outage is lost. A corrupt
    /// record gives an empty session either way.
    #[must_use]
    pub fn with_fail_open(mut self, fail_open: bool) -> Self {
        self.0.fail_open = fail_open;
        self
    }

    /// How often an unchanged session's record is written again to extend
    /// its expiry: at most once per `interval` (default: a tenth of the
    /// idle timeout, or half the lifetime). A session used at least once
    /// per (lifetime − `interval`), or per idle timeout, never expires.
    #[must_use]
    pub fn with_touch_interval(mut self, interval: std::time::Duration) -> Self {
        self.0.set_touch_interval(interval);
        self
    }

    /// Binds Flask-Login's remember cookies to `revocation` (see
    /// [`docs::flask_login`](crate::docs::flask_login)): store sessions are
    /// revoked by deleting their records
    /// ([`SessionStore::delete_all_for`](crate::store::SessionStore::delete_all_for)),
    /// remember cookies by the user's generation.
    #[must_use]
    pub fn with_revocation(mut self, revocation: crate::Revocation) -> Self {
        self.0.revocation = Some(revocation);
        self
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &SessionConfig {
        &self.0.shared.config
    }

    /// "Log out everywhere", "log out my other sessions" and the devices
    /// list (see [`Logins`](crate::Logins)). Give the store
    /// [`with_revocation`](Self::with_revocation) first if the app uses
    /// Flask-Login's remember cookies, so they end too.
    #[must_use]
    pub fn logins(&self) -> crate::Logins {
        self.0.store_logins()
    }
}

impl From<StoreSessions> for Sessions {
    fn from(sessions: StoreSessions) -> Self {
        Self {
            engine: Arc::new(sessions.0),
        }
    }
}

/// Runs a finished save to its outcome (adapters that await anyway).
#[cfg(feature = "actix")]
pub(crate) async fn outcome(finish: Finish) -> crate::outcome::Outcome {
    match finish {
        Finish::Ready(outcome) => outcome,
        Finish::Save(save) => save.await,
    }
}
