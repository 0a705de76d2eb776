//! [`Sessions`]: a mode and its configuration, validated once.

use std::fmt;
use std::sync::Arc;

use websession_core::store::SessionStore;
use websession_core::KeyRing;

use crate::config::{ConfigError, SessionConfig};
use crate::engine::{Engine, Mode};
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
    engine: Arc<Engine>,
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions")
            .field("config", &self.engine.config)
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
        Self::new(config, Mode::Signed(keys))
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
        Self::new(config, Mode::Sealed(keys))
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
        Self::new(config, Mode::Store(Arc::new(store)))
    }

    fn new(config: SessionConfig, mode: Mode) -> Result<Self, ConfigError> {
        Ok(Self {
            engine: Arc::new(Engine::new(config, mode)?),
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &SessionConfig {
        &self.engine.config
    }

    /// A request's session, from its session cookie (see [`RawCookie::find`]).
    pub(crate) fn begin(&self, raw: Option<RawCookie>) -> PendingSession {
        PendingSession::new(self.engine.clone(), raw)
    }

    /// The session cookie's name.
    pub(crate) fn cookie_name(&self) -> &str {
        &self.engine.config.cookie_name
    }

    /// The end of a request: what its session adds to the response.
    pub(crate) fn end(&self, session: &PendingSession, status: u16) -> Finish {
        let state = session.finish();
        // The request's time is when its session was opened: one clock read
        // per request that uses the session, none for one that doesn't.
        let now = state.as_ref().map_or(0, |s| s.opened_at);
        self.engine.finish(state, status, now)
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
