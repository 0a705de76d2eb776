//! Cookie modes with an [`Overflow`] store: a session too large for its
//! cookie moves to the store (the cookie then holds its id) and comes back
//! into the cookie once it is small again.
//!
//! - In the cookie and too large: it moves to the store (a new record).
//! - In the store, changed, and small enough again: the record goes, then
//!   the cookie carries the data.
//! - Otherwise in the store: saved as store mode saves.

use std::sync::Arc;

use tracing::Instrument as _;
use websession_core::store::{ChangeSet, SessionId, SessionStore, StoreErrorKind};

use super::cookie::{CookieEngine, Written};
use super::{chain, elapsed_us, revocation, store, Engine};
use crate::error::SessionError;
use crate::metrics::store_op;
use crate::outcome::{Finish, Outcome};
use crate::overflow::Overflow;
use crate::raw::RawCookie;
use crate::revocation::{CookieIds, GENERATION_KEY, USER_KEY};
use crate::state::{Kept, Opened, SessionState, UserChange};

/// Flask-Login's session key for the logged-in user: a Flask-style login
/// or logout writes it (`login_user`, `logout_user`, or a Flask app that
/// shares the session) without calling `set_user`.
const FLASK_USER_KEY: &str = "_user_id";

/// Opens a cookie that carries a store id (the session moved to the
/// store): loaded as store mode loads, then its revocation keys are checked
/// as a cookie's.
pub(super) fn open<'a>(
    engine: &'a CookieEngine,
    overflow: &'a Overflow,
    raw: RawCookie,
    now: u64,
) -> Opened<'a> {
    Opened::Pending(Box::pin(
        async move {
            let started = std::time::Instant::now();
            let loaded = store::load(
                &engine.shared,
                &*overflow.store,
                Some(raw.as_str()),
                now,
                overflow.fails_open(),
            )
            .await;
            let span = tracing::Span::current();
            let outcome = if loaded.is_ok() {
                "found"
            } else {
                "unavailable"
            };
            span.record("outcome", outcome);
            span.record("elapsed_us", elapsed_us(started));
            let mut state = loaded?;
            state.ids = CookieIds::take(&mut state.data);
            match &engine.revocation {
                Some(revocation) if !state.ids.is_empty() => {
                    revocation::ask(revocation, state, now).await
                }
                _ => Ok(state),
            }
        }
        .instrument(tracing::debug_span!(
            "websession.load",
            mode = "overflow",
            outcome = tracing::field::Empty,
            elapsed_us = tracing::field::Empty,
        )),
    ))
}

/// The save with overflow on: in the cookie when it fits; otherwise (or
/// when the session is in the store already) the store's save.
pub(super) fn save(
    engine: Arc<CookieEngine>,
    overflow: Overflow,
    mut state: SessionState,
    outcome: Outcome,
    now: u64,
) -> Finish {
    let in_store = state.has_record();
    if !in_store {
        let written = match engine.write_cookie(&mut state, now) {
            Ok(Written::TooLarge(_)) => None,
            Ok(Written::Nothing) => Some(Ok(None)),
            Ok(Written::Header(header)) => Some(Ok(Some(header))),
            Err(e) => Some(Err(e)),
        };
        if let Some(written) = written {
            return Finish::Ready(engine.shared.conclude(outcome, written));
        }
    }
    Finish::Save(Box::pin(async move {
        // Out of the store, the cookie was just found too large: not
        // encoded again.
        let saved = save_overflowing(&engine, &overflow, state, now, !in_store).await;
        conclude(&engine, outcome, saved)
    }))
}

/// The save of a session that is in the store, or no longer fits in the
/// cookie. `too_large`: the caller already encoded this cookie-held session
/// and found it past the limit.
pub(super) async fn save_overflowing(
    engine: &CookieEngine,
    overflow: &Overflow,
    mut state: SessionState,
    now: u64,
    too_large: bool,
) -> Result<Option<String>, SessionError> {
    let store = &*overflow.store;
    let in_store = state.has_record();
    if state.record().is_some() && changes_user(&state) {
        // A login or logout of a session in the store moves its record to a
        // new id at once (against fixation: a planted id learns nothing;
        // the old id's copies die).
        state.cycled = true;
    }
    if !in_store {
        if !too_large {
            match engine.write_cookie(&mut state, now)? {
                Written::Nothing => return Ok(None),
                Written::Header(header) => return Ok(Some(header)),
                Written::TooLarge(_) => {}
            }
        }
        crate::metrics::session_event("overflowed", engine.mode_name());
    } else if state.modified && !state.data.is_empty() {
        if let Some(back) = move_back(engine, overflow, &mut state, now).await? {
            return Ok(back);
        }
    }
    if engine.revocation.is_some()
        && !state.data.is_empty()
        && (state.modified || !in_store || state.cycled)
    {
        keep_revocation_keys(&mut state);
    }
    if let (UserChange::Keep, Some(user)) = (&state.user, &state.ids.user) {
        // A logged-in session keeps its user in the store too
        // (`delete_all_for` reaches it).
        if state.record().is_none() {
            state.user = UserChange::Set(Some(user.clone()));
        }
    }
    let plan = match overflow.touch_interval() {
        None => store::plan(&engine.shared.policy, &state, now),
        Some(touch) => {
            let mut policy = engine.shared.policy.clone();
            policy.set_touch_interval(touch);
            store::plan(&policy, &state, now)
        }
    };
    store::run(&engine.shared, store, plan, now).await
}

/// A changed session in the store that fits in the cookie again moves back:
/// `Some(cookie)` (`Some(None)`: it was deleted meanwhile, nothing is sent),
/// or `None` when it stays in the store. Never readable both ways: the
/// record goes first, and only if it was still there (a concurrent purge or
/// `delete_all_for` ended the session).
async fn move_back(
    engine: &CookieEngine,
    overflow: &Overflow,
    state: &mut SessionState,
    now: u64,
) -> Result<Option<Option<String>>, SessionError> {
    let limit = overflow.return_below(engine.shared.config.max_cookie_size);
    let Ok(Written::Header(cookie)) = engine.write_cookie(state, now) else {
        return Ok(None);
    };
    if cookie.len() > limit {
        return Ok(None);
    }
    let store = &*overflow.store;
    let (purged, record) = match &mut state.kept {
        Kept::Store(kept) => (kept.purged.take(), kept.record.take()),
        Kept::Cookie(_) => (None, None),
    };
    if let Some(purged) = purged {
        store_op("delete", store.delete(&purged.hash())).await?;
    }
    if let Some(stored) = record {
        if !take_record(store, &stored.id, now).await? {
            tracing::debug!("the session was deleted during the request; not writing it back");
            return Ok(Some(None));
        }
    }
    crate::metrics::session_event("returned", engine.mode_name());
    Ok(Some(Some(cookie)))
}

/// The record keeps the cookie's revocation keys, which its load takes out
/// and checks as a cookie's.
fn keep_revocation_keys(state: &mut SessionState) {
    if state.ids.sid.is_none() {
        state.ids.sid = Some(SessionId::generate());
    }
    let mut ids = websession_core::json::LazyMap::new();
    state.ids.write(&mut ids);
    if let (None, Kept::Store(kept)) = (&state.ids.user, &mut state.kept) {
        kept.removed.insert(USER_KEY);
        kept.removed.insert(GENERATION_KEY);
    }
    for (key, value) in ids.into_map() {
        state.set(&key, value);
    }
}

/// As [`Shared::conclude`](super::Shared::conclude), but an unreachable
/// overflow store answers 503 (the cookie is left as it was: nothing the
/// browser holds is lost).
pub(super) fn conclude(
    engine: &CookieEngine,
    mut outcome: Outcome,
    saved: Result<Option<String>, SessionError>,
) -> Outcome {
    match saved {
        Err(SessionError::Store(e)) if e.kind() == StoreErrorKind::Unavailable => {
            tracing::error!(error = %chain(&e), "overflow store unavailable; answering 503");
            outcome.failed = Some(503);
            outcome
        }
        saved => engine.shared.conclude(outcome, saved),
    }
}

/// Whether a session in the overflow store changes hands in this request:
/// `set_user` was called, Flask-Login's `_user_id` was written or removed,
/// or the session was cleared (Flask's usual logout).
fn changes_user(state: &SessionState) -> bool {
    let flask_login = state.stored().is_some_and(|kept| {
        kept.touched.contains(FLASK_USER_KEY) || kept.removed.contains(FLASK_USER_KEY)
    });
    matches!(state.user, UserChange::Set(_)) || state.cleared || flask_login
}

/// Deletes the live record `id` and says whether it was live: it moves
/// (atomically, with `cycle_id`) to a throwaway id holding nothing, which is
/// then deleted. `false` when the record was already gone: a concurrent
/// logout or `delete_all_for` won, and the caller must not write it back.
async fn take_record(
    store: &dyn SessionStore,
    id: &SessionId,
    now: u64,
) -> Result<bool, SessionError> {
    let scratch = SessionId::generate().hash();
    let emptied = ChangeSet::touch(now.saturating_add(1))
        .with_cleared()
        .with_user(None);
    match store_op(
        "cycle_id",
        store.cycle_id(&id.hash(), &scratch, &emptied, now),
    )
    .await
    {
        Ok(()) => {}
        Err(e) if e.kind() == StoreErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    if let Err(e) = store_op("delete", store.delete(&scratch)).await {
        // It holds nothing, and expires within a second.
        tracing::debug!(error = %chain(&e), "could not delete an emptied session record");
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use websession_core::Value;

    use super::*;

    #[test]
    fn a_session_changes_hands_by_set_user_clear_or_flask_logins_key() {
        let mut state = SessionState::in_store();
        state.set("pet_name", Value::from("Rex"));
        assert!(!changes_user(&state));
        let mut login = SessionState::in_store();
        login.set(FLASK_USER_KEY, Value::from("1"));
        assert!(changes_user(&login));
        let mut logout = SessionState::in_store();
        logout
            .data
            .map_mut()
            .insert(FLASK_USER_KEY.into(), Value::from("1"));
        logout.remove(FLASK_USER_KEY);
        assert!(changes_user(&logout));
        let mut cleared = SessionState::in_store();
        cleared.clear();
        assert!(changes_user(&cleared));
        let mut set = SessionState::in_store();
        set.user = UserChange::Set(None);
        assert!(changes_user(&set));
    }

    #[test]
    fn the_record_keeps_the_revocation_keys_and_drops_a_users() {
        let mut state = SessionState::in_store();
        state.set("pet_name", Value::from("Rex"));
        keep_revocation_keys(&mut state);
        assert!(state.ids.sid.is_some());
        let kept = state.stored().expect("in a store");
        assert!(kept.touched.contains(crate::revocation::SID_KEY));
        assert!(kept.removed.contains(USER_KEY) && kept.removed.contains(GENERATION_KEY));
    }

    #[tokio::test]
    async fn a_record_is_taken_once() {
        let store = websession_core::store::MemoryStore::new();
        let id = SessionId::generate();
        let record = websession_core::store::Record::new(websession_core::Map::new(), 0, 1_000);
        store.create(&id.hash(), &record, 1).await.expect("create");
        assert!(take_record(&store, &id, 2).await.expect("take"));
        assert!(!take_record(&store, &id, 3).await.expect("take again"));
        assert!(store.load(&id.hash(), 4).await.expect("load").is_none());
    }
}
