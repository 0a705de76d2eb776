//! [`Sessions`]: a mode and its configuration, validated once.

use std::fmt;
use std::sync::Arc;

use websession_core::django::DjangoCodec;
use websession_core::format::CookieFormat;
use websession_core::starlette::StarletteCodec;
use websession_core::store::SessionStore;
use websession_core::{FlaskCodec, KeyRing, SealedCodec};

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
/// let sessions = Sessions::signed(keys, SessionConfig::default())?;
/// assert_eq!(sessions.config().cookie_name(), "session");
///
/// // A bad configuration is an error here, not a panic later.
/// let bad = SessionConfig::default().with_cookie_name("a b");
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
    /// current key and verified with all of them.
    ///
    /// # Errors
    ///
    /// The first problem [`SessionConfig::validate`] finds, or
    /// [`ConfigError::WeakKey`] for a short or published key when the
    /// configuration asks for strict keys (otherwise such keys are logged as
    /// a `websession::security` warning).
    pub fn signed(keys: KeyRing, config: SessionConfig) -> Result<Self, ConfigError> {
        let format = FlaskCodec::new(&keys)
            .with_max_age(config.max_session_lifetime_secs())
            .with_compression(config.signed_compression);
        Self::cookie(config, &keys, Ok(Box::new(format)))
    }

    /// Sealed cookie sessions: the data is encrypted and authenticated with
    /// AES-256-GCM-SIV (see [`websession_core::sealed`]), so the client
    /// can't read it.
    ///
    /// # Errors
    ///
    /// As [`Sessions::signed`], and [`ConfigError::SealingKey`] when a key is
    /// shorter than 32 bytes.
    pub fn sealed(keys: KeyRing, config: SessionConfig) -> Result<Self, ConfigError> {
        let format = SealedCodec::new(&keys, &config.cookie_name)
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
        Self::cookie(config, &keys, format)
    }

    /// Server-side sessions: the cookie carries only a random id, the data
    /// lives in `store` (see [`websession_core::store`]). Loads happen when a
    /// handler extracts the session, writes carry only the changed keys, and
    /// an unreachable store answers 503 (see
    /// [`SessionConfig::with_store_fail_open`]).
    ///
    /// # Errors
    ///
    /// The first problem [`SessionConfig::validate`] finds.
    pub fn with_store(
        store: impl SessionStore,
        config: SessionConfig,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            engine: Arc::new(StoreEngine::new(config, Arc::new(store))?),
        })
    }

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
    /// absolute timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use websession::{Key, KeyRing, SessionConfig, Sessions};
    /// let keys = KeyRing::new(Key::from_utf8("the FastAPI app's secret_key")?);
    /// let sessions = Sessions::starlette(keys, SessionConfig::starlette())?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn starlette(keys: KeyRing, config: SessionConfig) -> Result<Self, ConfigError> {
        let format = StarletteCodec::new(&keys).with_max_age(config.max_session_lifetime_secs());
        Self::cookie(config, &keys, Ok(Box::new(format)))
    }

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
    pub fn django(keys: KeyRing, config: SessionConfig) -> Result<Self, ConfigError> {
        let format = DjangoCodec::new(&keys).with_max_age(config.max_session_lifetime_secs());
        Self::cookie(config, &keys, Ok(Box::new(format)))
    }

    /// A cookie mode in `format` (built from `keys`, or why it couldn't
    /// be). The codecs accept cookies up to the longest lifetime a session
    /// may have; a session's own lifetime is checked once its data is open.
    fn cookie(
        config: SessionConfig,
        keys: &KeyRing,
        format: Result<Box<dyn CookieFormat>, ConfigError>,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            engine: Arc::new(CookieEngine::new(config, keys, format)?),
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &SessionConfig {
        &self.engine.shared().config
    }

    /// A request's session, from its session cookie (see [`RawCookie::find`]).
    pub(crate) fn begin(&self, raw: Option<RawCookie>) -> PendingSession {
        PendingSession::new(self.engine.clone(), raw)
    }

    /// The session cookie's name.
    pub(crate) fn cookie_name(&self) -> &str {
        &self.engine.shared().config.cookie_name
    }

    /// The end of a request: what its session adds to the response.
    pub(crate) fn end(&self, session: &PendingSession, status: u16) -> Finish {
        let state = session.finish();
        // The request's time is when its session was opened: one clock read
        // per request that uses the session, none for one that doesn't.
        let now = state.as_ref().map_or(0, |s| s.opened_at);
        crate::engine::finish(&self.engine, state, status, now)
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
