//! The framework-free engine: every decision about reading and writing a
//! session. It takes plain values (the cookie text, a [`SessionState`], the
//! status, `now`) and returns plain values (a state, an [`Outcome`]); it
//! holds no lock and knows no framework.
//!
//! One engine per mode, each an [`Engine`]:
//!
//! | file | stage |
//! |---|---|
//! | `policy.rs` | the lifetime rules, pure functions of seconds |
//! | `cookie.rs` | [`CookieEngine`]: the cookie modes' cookie stage, through a [`CookieFormat`](websession_core::format::CookieFormat) |
//! | `cookie_mode.rs` | the cookie modes' request path: open, then revocation or overflow; save |
//! | `revocation.rs` | cookie modes: the revocation check after a cookie opens, and the store work before it is written |
//! | `overflow.rs` | cookie modes: a session too large for its cookie, kept in a store |
//! | `store.rs` | [`StoreEngine`]: store mode, and the store save overflow shares |

mod cookie;
mod cookie_mode;
mod overflow;
mod policy;
mod revocation;
mod store;

use std::sync::Arc;

use websession_core::{DecodeError, KeyRing};

use crate::config::Via;
use crate::config::{ConfigError, SessionConfig};
use crate::error::SessionError;
use crate::outcome::{CookieTemplate, Finish, Outcome};
use crate::state::{Opener, SessionState};

pub(crate) use cookie::CookieEngine;
pub(crate) use store::StoreEngine;

/// What every mode's engine holds besides its format or store.
pub(crate) struct Shared {
    pub(crate) config: SessionConfig,
    /// The `Set-Cookie` header's fixed parts.
    pub(crate) cookie: CookieTemplate,
    /// Where the session's value goes on responses.
    via: Via,
    /// The lifetimes and timeouts, in seconds.
    policy: policy::Policy,
}

impl Shared {
    /// Validates `config`.
    fn new(config: SessionConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            cookie: CookieTemplate::new(&config.cookie, &config.transport),
            via: Via::new(&config.transport),
            policy: policy::Policy::new(&config),
            config,
        })
    }

    /// Whether the session travels in a cookie (not a token header).
    fn cookie_transport(&self) -> bool {
        self.config.transport.is_cookie()
    }

    /// Turns the save's result into the outcome: the cookie (with
    /// `Cache-Control: no-store` if configured), or a logged failure that
    /// replaces the response with a bare 500.
    fn conclude(
        &self,
        mut outcome: Outcome,
        saved: Result<Option<String>, SessionError>,
    ) -> Outcome {
        match saved {
            Ok(Some(cookie)) => {
                outcome.no_store = self.config.no_store_on_write;
                outcome.set_cookie = Some(cookie);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %chain(&e), "could not save the session; answering 500");
                outcome.failed = Some(500);
            }
        }
        outcome
    }
}

/// One mode's engine, as [`Sessions`](crate::Sessions) holds it: it opens
/// sessions (as an [`Opener`]) and saves them.
pub(crate) trait Engine: Opener {
    /// The configuration and the response's fixed parts.
    fn shared(&self) -> &Shared;

    /// The mode's name in metrics labels.
    fn mode_name(&self) -> &'static str;

    /// The save of a session a handler used, on a response that may carry
    /// it; `outcome` already says `Vary`.
    fn save(self: Arc<Self>, state: &mut SessionState, outcome: Outcome, now: u64) -> Finish;

    /// What the mode can do about a user's other sessions, if anything.
    fn logins(&self) -> Option<crate::Logins>;
}

/// The end of the request: what to send, given the session's state (if a
/// handler loaded it) and the handler's status.
///
/// Flask's `save_session` rules in its order: nothing at all for a session
/// nobody used; `Vary: Cookie` for one that was; nothing written on a 5xx;
/// then the mode's save (a deletion when it became empty; a write when it
/// changed, was cycled, or is refreshed).
pub(crate) fn finish(
    engine: &Arc<dyn Engine>,
    state: Option<&mut SessionState>,
    status: u16,
    now: u64,
) -> Finish {
    let Some(state) = state else {
        return Finish::Ready(Outcome::default()); // never used: no Vary, no cookie
    };
    let outcome = Outcome {
        vary: true,
        via: engine.shared().via.clone(),
        ..Outcome::default()
    };
    if status >= 500 || state.unsaved {
        return Finish::Ready(outcome);
    }
    if state.purged {
        crate::metrics::session_event("purged", engine.mode_name());
    }
    Arc::clone(engine).save(state, outcome, now)
}

/// Microseconds since `started`, for span fields.
fn elapsed_us(started: std::time::Instant) -> u64 {
    u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// An error and its sources, for logs: `StoreError` shows its kind, and
/// the driver's reason (or PostgreSQL's refusal of NUL) is in its source.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Logs why a cookie was refused (never the cookie itself).
fn log_rejection(e: &DecodeError) {
    crate::metrics::cookie_rejected(e.itsdangerous_name());
    match e {
        DecodeError::Expired { .. } => {
            tracing::debug!(reason = %e, "session cookie expired; starting an empty session")
        }
        _ => tracing::warn!(
            target: "websession::security",
            reason = %e,
            "session cookie rejected; starting an empty session"
        ),
    }
}

/// Warns about (or, strict, refuses) short and published keys.
fn check_keys(keys: &KeyRing, strict: bool) -> Result<(), ConfigError> {
    for (index, key) in keys.verification_order().enumerate() {
        if let Some(weakness) = key.weakness() {
            if strict {
                return Err(ConfigError::WeakKey { index, weakness });
            }
            let which = if index == 0 {
                "the current secret key"
            } else {
                "a fallback secret key"
            };
            tracing::warn!(
                target: "websession::security",
                "{which} is weak: {weakness}. Anyone who guesses it can forge sessions; \
                 generate one with `websession keygen`"
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_shows_every_source() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let e = Outer(std::io::Error::other("inner"));
        assert_eq!(chain(&e), "outer: inner");
    }

    #[test]
    fn strict_keys_refuse_a_weak_key() {
        let weak = KeyRing::new(websession_core::Key::from_utf8("dev").expect("key"));
        assert!(check_keys(&weak, false).is_ok());
        assert!(matches!(
            check_keys(&weak, true),
            Err(ConfigError::WeakKey { index: 0, .. })
        ));
    }
}
