//! Cookie modes with a [`Revocation`]: the check after a cookie opens (an
//! empty session if its id was denied or its user's generation moved on),
//! and the store work before a cookie is written (denying a retired id,
//! reading the generation a login records).

use tracing::Instrument as _;
use websession_core::store::{SessionId, Verdict};

use super::cookie::CookieEngine;
use super::policy::MAX_CLOCK_SKEW_SECS;
use super::{chain, elapsed_us, Engine};
use crate::error::SessionError;
use crate::metrics::store_op;
use crate::revocation::{CookieIds, Revocation};
use crate::state::{Opened, SessionState, UserChange};

/// Refuses a revoked cookie (an empty session), from the cache when it
/// knows, else after one round trip.
pub(super) fn check<'a>(
    engine: &'a CookieEngine,
    revocation: &'a Revocation,
    slot: &mut Option<SessionState>,
    now: u64,
) -> Opened<'a> {
    let Some(state) = slot.take() else {
        return Opened::Ready; // can't happen: `open` has just put it there
    };
    if let Some(verdict) = revocation.cached(&state.ids, now) {
        *slot = Some(judge(state, verdict));
        return Opened::Ready;
    }
    Opened::Pending(Box::pin(ask(revocation, state, now).instrument(
        tracing::debug_span!(
            "websession.load",
            mode = engine.mode_name(),
            outcome = tracing::field::Empty,
            elapsed_us = tracing::field::Empty,
        ),
    )))
}

/// The revocation store's verdict on an opened session (cached when the
/// cache knows), or the outage's answer.
pub(super) async fn ask(
    revocation: &Revocation,
    state: SessionState,
    now: u64,
) -> Result<SessionState, SessionError> {
    if let Some(verdict) = revocation.cached(&state.ids, now) {
        return Ok(judge(state, verdict));
    }
    let started = std::time::Instant::now();
    let checked = store_op("revocation_check", revocation.check(&state.ids, now)).await;
    let span = tracing::Span::current();
    span.record("elapsed_us", elapsed_us(started));
    match checked {
        Ok(verdict) => {
            span.record("outcome", "checked");
            Ok(judge(state, verdict))
        }
        Err(e) if revocation.fails_open() => {
            span.record("outcome", "failed_open");
            tracing::error!(error = %chain(&e), "revocation store unavailable; failing open: the cookie is accepted unchecked");
            Ok(state)
        }
        Err(e) => {
            span.record("outcome", "unavailable");
            tracing::error!(error = %chain(&e), "revocation store unavailable; answering 503");
            Err(SessionError::Store(e))
        }
    }
}

/// The revocation verdict on an opened cookie: the state, or an empty
/// session if the cookie was revoked.
fn judge(state: SessionState, verdict: Verdict) -> SessionState {
    match state.ids.refusal(verdict) {
        None => state,
        Some(why) => {
            crate::metrics::cookie_rejected("Revoked");
            tracing::warn!(
                target: "websession::security",
                reason = why,
                "session cookie revoked; starting an empty session"
            );
            SessionState {
                opened_at: state.opened_at,
                ..SessionState::empty()
            }
        }
    }
}

/// What a save must do in the store before the cookie: `Some(login)` when
/// there is work (a retired id to deny, and the user whose generation a
/// login records, if one logged in); `None` when the cookie can be written
/// at once. The session's id is retired (denied, and a new one given if the
/// session goes on) when:
///
/// - the session was emptied (`clear`, or its last key removed): copies of
///   the cookie stop working, as after `purge`;
/// - it was cycled (`cycle_id`, which every login should call): a copy
///   taken before can't log the new session out, nor learn it;
/// - its user changes (`set_user` with another user than the cookie
///   records, or `None`: a login, a logout). A login records the user's
///   generation. `set_user` with the user already recorded changes nothing
///   (with `cycle_id`, the id is retired, but the generation stays): a
///   cookie accepted within another process's staleness after a revocation
///   must never be lifted to the new generation. The one lift is
///   `Revocation::revoke_others` (`Logins::log_out_others`), which checks against the store that
///   this session was current when it bumped the generation
///   (`login_generation` is then set).
pub(super) fn work(state: &mut SessionState) -> Option<Option<String>> {
    if state.modified && state.data.is_empty() {
        state.retire_sid();
        state.ids = CookieIds::default();
    }
    if state.cycled {
        state.retire_sid();
    }
    let login = match state.user.clone() {
        UserChange::Set(Some(user))
            if state.login_generation.is_none()
                && state.ids.user.as_deref() == Some(user.as_str()) =>
        {
            None
        }
        UserChange::Set(user) => {
            state.retire_sid();
            state.ids.user = None;
            state.ids.generation = 0;
            user
        }
        UserChange::Keep => None,
    };
    (login.is_some() || state.retired_sid.is_some()).then_some(login)
}

/// The store work after [`work`], before the cookie is written: deny the
/// retired id, read the login's generation. `Err` when the store failed and
/// the revocation doesn't fail open: the request answers 503 (logged here).
pub(super) async fn before_write(
    engine: &CookieEngine,
    revocation: &Revocation,
    mut state: SessionState,
    login: Option<String>,
    now: u64,
) -> Result<SessionState, ()> {
    let mut failed = None;
    if let Some(sid) = state.retired_sid.take() {
        let until = deny_until(engine, revocation, now);
        if let Err(e) = deny(engine, revocation, &mut state, &sid, until, now).await {
            failed = Some(e);
        }
    }
    if let Some(user) = login {
        if let Err(e) = record_login(revocation, &mut state, user).await {
            // Failing open, the login is saved without a user: it can't be
            // revoked with `revoke_all_for`, but isn't logged out when the
            // store is back either.
            failed.get_or_insert(e);
        }
    }
    if let Some(e) = failed {
        if !revocation.fails_open() {
            tracing::error!(error = %chain(&e), "revocation store unavailable; answering 503");
            return Err(());
        }
        tracing::error!(error = %chain(&e), "revocation store unavailable; failing open: the session is saved without it");
    }
    Ok(state)
}

/// Until when a retired id is denied: until any copy of the cookie has
/// expired. Issued by now (or by another process, a little later: its
/// staleness and clock skew), it lives at most the longest session
/// lifetime.
fn deny_until(engine: &CookieEngine, revocation: &Revocation, now: u64) -> u64 {
    now.saturating_add(engine.shared.policy.max_lifetime())
        .saturating_add(revocation.staleness().as_secs())
        .saturating_add(MAX_CLOCK_SKEW_SECS)
}

/// Denies the retired id `sid`. A session that goes on under a new id
/// without a login (`cycle_id`, a flash after `clear`) must not have been
/// logged out elsewhere already: a copy accepted here within the staleness
/// would escape its logout under the new id. The store is asked, not the
/// cache; such a session ends instead. A login (`set_user` with a user,
/// the same one included: the app checked credentials) is exempt, so a
/// double-clicked login isn't ended by its twin's rotation.
async fn deny(
    engine: &CookieEngine,
    revocation: &Revocation,
    state: &mut SessionState,
    sid: &SessionId,
    until: u64,
    now: u64,
) -> Result<(), websession_core::store::StoreError> {
    let logs_in = matches!(state.user, UserChange::Set(Some(_)));
    let mut failed = None;
    if !logs_in && !state.data.is_empty() {
        match store_op("revocation_check", revocation.is_denied(sid, now)).await {
            Ok(false) => {}
            Ok(true) => {
                crate::metrics::cookie_rejected("Revoked");
                tracing::warn!(
                    target: "websession::security",
                    "a session logged out elsewhere was given a new id; ending it instead"
                );
                state.data = websession_core::json::LazyMap::new();
                state.modified = true;
                state.ids = CookieIds::default();
            }
            Err(e) => failed = Some(e),
        }
    }
    match store_op("revocation_deny", revocation.deny(sid, until, now)).await {
        Ok(()) => crate::metrics::session_event("revoked", engine.mode_name()),
        Err(e) => failed = Some(e),
    }
    failed.map_or(Ok(()), Err)
}

/// Records `user` and the generation the session logs in at: the one the
/// request learnt (a remember cookie's check), else the store's.
async fn record_login(
    revocation: &Revocation,
    state: &mut SessionState,
    user: String,
) -> Result<(), websession_core::store::StoreError> {
    let generation = match state.login_generation {
        Some(known) => known,
        None => store_op("revocation_generation", revocation.generation(&user)).await?,
    };
    state.ids.user = Some(user);
    state.ids.generation = generation;
    Ok(())
}

#[cfg(test)]
mod tests {
    use websession_core::Value;

    use super::*;

    fn logged_in(user: &str) -> SessionState {
        let mut state = SessionState::empty();
        state.data.map_mut().insert("k".into(), Value::Int(1));
        state.ids.sid = Some(SessionId::generate());
        state.ids.user = Some(user.into());
        state.ids.generation = 3;
        state
    }

    #[test]
    fn an_untouched_session_needs_no_store_work() {
        let mut state = logged_in("alice");
        assert_eq!(work(&mut state), None);
        assert!(state.ids.sid.is_some() && state.retired_sid.is_none());
    }

    #[test]
    fn emptying_or_cycling_retires_the_id() {
        let mut emptied = logged_in("alice");
        emptied.remove("k");
        assert_eq!(work(&mut emptied), Some(None));
        assert!(emptied.retired_sid.is_some() && emptied.ids.is_empty());

        let mut cycled = logged_in("alice");
        cycled.cycled = true;
        assert_eq!(work(&mut cycled), Some(None));
        assert!(cycled.retired_sid.is_some() && cycled.ids.sid.is_none());
        // The user and generation stay: a rotation lifts nothing.
        assert_eq!(cycled.ids.generation, 3);
    }

    #[test]
    fn a_change_of_user_retires_the_id_and_logs_in_the_new_one() {
        let mut state = logged_in("alice");
        state.user = UserChange::Set(Some("bob".into()));
        assert_eq!(work(&mut state), Some(Some("bob".into())));
        assert!(state.retired_sid.is_some());
        assert_eq!((state.ids.user.as_deref(), state.ids.generation), (None, 0));

        let mut logout = logged_in("alice");
        logout.user = UserChange::Set(None);
        assert_eq!(work(&mut logout), Some(None));
        assert!(logout.retired_sid.is_some() && logout.ids.user.is_none());
    }

    #[test]
    fn the_same_user_again_changes_nothing_unless_its_generation_is_known() {
        let mut same = logged_in("alice");
        same.user = UserChange::Set(Some("alice".into()));
        assert_eq!(work(&mut same), None);
        assert_eq!(same.ids.generation, 3);

        let mut relogin = logged_in("alice");
        relogin.user = UserChange::Set(Some("alice".into()));
        relogin.login_generation = Some(4);
        assert_eq!(work(&mut relogin), Some(Some("alice".into())));
    }
}
