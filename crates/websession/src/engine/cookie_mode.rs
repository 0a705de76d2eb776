//! The cookie modes' request path: the [`Opener`] and [`Engine`] of a
//! [`CookieEngine`]. A cookie opens (`cookie.rs`), then revocation checks
//! it; a cookie holding a store id opens from the overflow store. At the
//! end, revocation's store work comes first, then the cookie is written, or
//! the session goes to (or stays in) the overflow store.

use std::sync::Arc;

use websession_core::store::SessionId;

use super::cookie::CookieEngine;
use super::{overflow, revocation, Engine, Shared};
use crate::outcome::{Finish, Outcome};
use crate::raw::RawCookie;
use crate::state::{Opened, Opener, SessionState};

impl Engine for CookieEngine {
    fn shared(&self) -> &Shared {
        &self.shared
    }

    fn mode_name(&self) -> &'static str {
        self.format.name()
    }

    fn save(self: Arc<Self>, state: &mut SessionState, outcome: Outcome, now: u64) -> Finish {
        if let Some(revocation) = &self.revocation {
            if let Some(login) = revocation::work(state) {
                let revocation = revocation.clone();
                let state = state.take();
                return Finish::Save(Box::pin(async move {
                    let checked = revocation::before_write(&self, &revocation, state, login, now);
                    match checked.await {
                        Ok(state) => write_after_store(&self, state, outcome, now).await,
                        Err(()) => Outcome {
                            failed: Some(503),
                            ..outcome
                        },
                    }
                }));
            }
        }
        if let Some(overflow) = &self.overflow {
            let overflow = overflow.clone();
            return overflow::save(self, overflow, state.take(), outcome, now);
        }
        let written = self.write_or_refuse(state, now);
        Finish::Ready(self.shared.conclude(outcome, written))
    }

    fn logins(&self) -> Option<crate::Logins> {
        self.revocation.clone().map(crate::Logins::from)
    }
}

impl Opener for CookieEngine {
    fn revocation(&self) -> Option<&crate::Revocation> {
        self.revocation.as_ref()
    }

    fn cookie_transport(&self) -> bool {
        self.shared.cookie_transport()
    }

    fn max_lifetime(&self) -> u64 {
        self.shared.policy.max_lifetime()
    }

    fn open(&self, raw: Option<RawCookie>, slot: &mut Option<SessionState>) -> Opened<'_> {
        let config = &self.shared.config;
        let now = config.clock.unix_seconds();
        if let (Some(overflow), Some(raw)) = (&self.overflow, &raw) {
            if SessionId::parse(raw.as_str()).is_some() {
                return overflow::open(self, overflow, raw.clone(), now);
            }
        }
        let state = slot.insert(self.open_cookie(raw.as_ref().map(RawCookie::as_str), now));
        match &self.revocation {
            Some(revocation) if !state.ids.is_empty() => {
                revocation::check(self, revocation, slot, now)
            }
            _ => Opened::Ready,
        }
    }
}

/// The write after revocation's store work: the overflow store's save, or
/// the cookie.
async fn write_after_store(
    engine: &CookieEngine,
    mut state: SessionState,
    outcome: Outcome,
    now: u64,
) -> Outcome {
    if let Some(overflow) = &engine.overflow {
        let saved = overflow::save_overflowing(engine, overflow, state, now, false).await;
        return overflow::conclude(engine, outcome, saved);
    }
    let written = engine.write_or_refuse(&mut state, now);
    engine.shared.conclude(outcome, written)
}
