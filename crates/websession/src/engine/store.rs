//! Store mode's engine: the cookie holds a random id, the data lives in a
//! [`SessionStore`]. Its load ([`load`]) and its save (a [`Plan`] decided
//! from the state with no I/O, then [`run`] against the store) are shared
//! with the cookie modes' overflow.

use std::sync::Arc;

use tracing::Instrument as _;
use websession_core::store::{
    ChangeSet, Record, SessionId, SessionStore, StoreError, StoreErrorKind,
};

use super::policy::{Policy, MAX_CLOCK_SKEW_SECS};
use super::{chain, elapsed_us, log_rejection, Engine, Shared};
use crate::config::{ConfigError, SessionConfig};
use crate::error::SessionError;
use crate::metrics::store_op;
use crate::outcome::{Finish, Outcome};
use crate::raw::RawCookie;
use crate::state::{InStore, Kept, Opened, Opener, SessionState, StoredRecord, UserChange};

/// The store side of a session that was never in the store.
static NEW_TO_THE_STORE: InStore = InStore::new();

/// How many fresh ids to try when `create` reports a collision (2^-256 odds).
const CREATE_ATTEMPTS: usize = 3;

/// The engine of server-side sessions.
pub(crate) struct StoreEngine {
    pub(crate) shared: Shared,
    store: Arc<dyn SessionStore>,
    /// Binds Flask-Login's remember cookies (store mode revokes sessions
    /// by deleting their records).
    pub(crate) revocation: Option<crate::Revocation>,
    /// An outage gives an empty, unsaved session instead of a 503.
    pub(crate) fail_open: bool,
}

impl StoreEngine {
    /// Validates `config`.
    pub(crate) fn new(
        config: SessionConfig,
        store: Arc<dyn SessionStore>,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            shared: Shared::new(config)?,
            store,
            revocation: None,
            fail_open: false,
        })
    }
}

impl StoreEngine {
    /// Its [`Logins`](crate::Logins).
    pub(crate) fn store_logins(&self) -> crate::Logins {
        crate::Logins::store(
            self.store.clone(),
            self.revocation.clone(),
            self.shared.config.clock.clone(),
        )
    }

    /// An unchanged record is written again at most once per `interval`.
    pub(crate) fn set_touch_interval(&mut self, interval: std::time::Duration) {
        self.shared.policy.set_touch_interval(interval);
    }
}

impl Engine for StoreEngine {
    fn shared(&self) -> &Shared {
        &self.shared
    }

    fn mode_name(&self) -> &'static str {
        "store"
    }

    fn save(self: Arc<Self>, state: &mut SessionState, outcome: Outcome, now: u64) -> Finish {
        let plan = plan(&self.shared.policy, state, now);
        if let Plan::Nothing = plan {
            return Finish::Ready(outcome);
        }
        let span = tracing::debug_span!(
            "websession.save",
            mode = "store",
            op = plan.name(),
            outcome = tracing::field::Empty,
            elapsed_us = tracing::field::Empty,
        );
        let save = async move {
            let saved = run(&self.shared, &*self.store, plan, now).await;
            self.shared.conclude(outcome, saved)
        };
        // `conclude` fails the outcome exactly when the save failed.
        Finish::Save(in_span(
            Box::pin(save),
            span,
            |saved: &Outcome| match saved.failed {
                None => "ok",
                Some(_) => "error",
            },
        ))
    }

    fn logins(&self) -> Option<crate::Logins> {
        Some(self.store_logins())
    }
}

impl Opener for StoreEngine {
    /// Store mode revokes by deleting records; a configured revocation
    /// binds Flask-Login's remember cookies.
    fn revocation(&self) -> Option<&crate::Revocation> {
        self.revocation.as_ref()
    }

    fn cookie_transport(&self) -> bool {
        self.shared.cookie_transport()
    }

    fn max_lifetime(&self) -> u64 {
        self.shared.policy.max_lifetime()
    }

    fn open(&self, raw: Option<RawCookie>, _: &mut Option<SessionState>) -> Opened<'_> {
        let now = self.shared.config.clock.unix_seconds();
        let span = tracing::debug_span!(
            "websession.load",
            mode = "store",
            outcome = tracing::field::Empty,
            elapsed_us = tracing::field::Empty,
        );
        let read = async move {
            let raw = raw.as_ref().map(RawCookie::as_str);
            load(&self.shared, &*self.store, raw, now, self.fail_open).await
        };
        Opened::Pending(in_span(Box::pin(read), span, |loaded| match loaded {
            Ok(s) if s.record().is_some() => "found",
            Ok(s) if s.unsaved => "failed_open",
            Ok(_) => "empty",
            Err(_) => "unavailable",
        }))
    }
}

/// `fut`, which the caller boxed where it built it (a future passed by
/// value and boxed here was copied twice). When a subscriber takes `span`,
/// `fut` runs inside it and the span records its `outcome` (as
/// `outcome_of` names the output) and `elapsed_us`; a span nobody takes is
/// neither entered on every poll nor timed (no clock read), and `fut` is
/// returned as it is.
fn in_span<'a, T: 'a>(
    fut: crate::state::BoxFuture<'a, T>,
    span: tracing::Span,
    outcome_of: fn(&T) -> &'static str,
) -> crate::state::BoxFuture<'a, T> {
    if span.is_disabled() {
        return fut;
    }
    let timed = span.clone();
    Box::pin(
        async move {
            let started = std::time::Instant::now();
            let out = fut.await;
            timed.record("outcome", outcome_of(&out));
            timed.record("elapsed_us", elapsed_us(started));
            out
        }
        .instrument(span),
    )
}

/// Reads the record of the cookie's id. Unknown and malformed ids give an
/// empty session (a new id is made only when it is written); nothing is
/// ever created by a read. A corrupt record is deleted; an outage is a 503,
/// or (failing open) an empty session that is never saved. The state is
/// opened at `now`.
pub(super) async fn load(
    shared: &Shared,
    store: &dyn SessionStore,
    raw: Option<&str>,
    now: u64,
    fail_open: bool,
) -> Result<SessionState, SessionError> {
    let ids = store.id_format();
    let Some(id) = raw.and_then(|raw| ids.parse(raw)) else {
        if raw.is_some_and(|r| !r.is_empty()) {
            crate::metrics::cookie_rejected("BadSessionId");
            tracing::debug!(target: "websession::security", "malformed session id; starting an empty session");
        }
        return Ok(SessionState::in_store().opened(now));
    };
    let state = match store_op("load", store.load(&ids.key(&id), now)).await {
        Ok(Some(record)) => {
            // No idle check here: a record's expiry is its idle deadline.
            if let Err(e) = shared.policy.check_absolute(now, record.created_at) {
                log_rejection(&e);
                return Ok(SessionState::in_store().opened(now));
            }
            let kept = Kept::Store(InStore {
                record: Some(StoredRecord {
                    id,
                    expires_at: record.expires_at,
                }),
                ..InStore::new()
            });
            SessionState {
                created_at: Some(record.created_at),
                ..SessionState::new(record.data, kept)
            }
        }
        Ok(None) => {
            crate::metrics::cookie_rejected("UnknownSessionId");
            tracing::debug!(target: "websession::security", "unknown or expired session id; starting an empty session");
            SessionState::in_store()
        }
        Err(e) if e.kind() == StoreErrorKind::Corrupt => {
            // Corrupt data is not an outage: the user starts over, and the
            // record goes so it can't fail the next request too.
            tracing::warn!(
                target: "websession::security",
                error = %chain(&e),
                "stored session record is corrupt; deleting it and starting an empty session"
            );
            if let Err(e) = store_op("delete", store.delete(&ids.key(&id))).await {
                tracing::warn!(error = %chain(&e), "could not delete the corrupt session record");
            }
            SessionState::in_store()
        }
        Err(e) if fail_open => {
            tracing::error!(error = %chain(&e), "session store unavailable; failing open with an empty, unsaved session");
            SessionState {
                unsaved: true,
                ..SessionState::in_store()
            }
        }
        Err(e) => {
            tracing::error!(error = %chain(&e), "session store unavailable; answering 503");
            return Err(SessionError::Store(e));
        }
    };
    Ok(state.opened(now))
}

/// What the save does.
#[derive(Debug, PartialEq)]
pub(super) enum Plan {
    /// Nothing to write.
    Nothing,
    /// Delete the record (if there is one) and the cookie.
    Delete(Option<SessionId>),
    /// Delete the purged record (if any), then create a new one under a new id.
    Create {
        purged: Option<SessionId>,
        record: Record,
        permanent: bool,
    },
    /// Apply the changes to the record.
    Update {
        id: SessionId,
        changes: ChangeSet,
        permanent: bool,
    },
    /// Move the record to a new id and apply the changes, in one step.
    Cycle {
        old: SessionId,
        changes: ChangeSet,
        permanent: bool,
    },
}

impl Plan {
    /// The plan's name in traces.
    fn name(&self) -> &'static str {
        match self {
            Self::Nothing => "nothing",
            Self::Delete(_) => "delete",
            Self::Create { .. } => "create",
            Self::Update { .. } => "update",
            Self::Cycle { .. } => "cycle_id",
        }
    }
}

/// Decides the save from the state.
pub(super) fn plan(policy: &Policy, state: &SessionState, now: u64) -> Plan {
    // A session that leaves the cookie (overflow) is new to the store.
    let kept = state.stored().unwrap_or(&NEW_TO_THE_STORE);
    // After `purge` the old record is in `purged`, never in `record`.
    let stored = kept.record.as_ref();
    if state.data.is_empty() {
        let doomed = stored.map(|s| &s.id).or(kept.purged.as_ref()).cloned();
        return match doomed {
            Some(id) => Plan::Delete(Some(id)),
            None if state.modified => Plan::Delete(None),
            None => Plan::Nothing,
        };
    }
    let permanent = policy.expires_cookie(&state.data);
    let created = state.created_at.unwrap_or(now);
    let lifetime = policy.lifetime(&state.data);
    let (expires_at, must_reach) = policy.record_deadlines(now, lifetime, created);
    let Some(stored) = stored else {
        let user = state.user.to_change().flatten();
        return Plan::Create {
            purged: kept.purged.clone(),
            record: Record::new(state.data.to_map(), created, expires_at).with_user(user),
            permanent,
        };
    };
    // Unchanged: write only when the stored expiry no longer covers the
    // promised time after this use, or when it reaches past what the
    // current policy grants (a record written before the idle timeout was
    // turned on or the lifetime shortened: it is brought in line at its
    // next use; differences within the tolerated clock skew between
    // servers don't count).
    let extend = expires_at > stored.expires_at && stored.expires_at <= must_reach;
    let shorten = stored.expires_at > expires_at.saturating_add(MAX_CLOCK_SKEW_SECS);
    let untouched = kept.touched.is_empty()
        && kept.removed.is_empty()
        && !state.cleared
        && state.user == UserChange::Keep;
    if untouched && !state.cycled && !extend && !shorten {
        return Plan::Nothing; // most reads: no change set is built
    }
    let mut changes = ChangeSet::touch(expires_at);
    changes.set = kept
        .touched
        .iter()
        .filter_map(|k| Some((k.to_owned(), state.data.get(k)?.to_value())))
        .collect();
    changes.removed = kept.removed.to_set();
    changes.cleared = state.cleared;
    changes.user = state.user.to_change();
    if state.cycled {
        return Plan::Cycle {
            old: stored.id.clone(),
            changes,
            permanent,
        };
    }
    if changes.changes_data() || changes.user.is_some() || extend || shorten {
        return Plan::Update {
            id: stored.id.clone(),
            changes,
            permanent,
        };
    }
    Plan::Nothing
}

/// Runs the plan; gives the `Set-Cookie` to send, if any.
pub(super) async fn run(
    shared: &Shared,
    store: &dyn SessionStore,
    plan: Plan,
    now: u64,
) -> Result<Option<String>, SessionError> {
    let ids = store.id_format();
    let id_cookie = |id: &SessionId, permanent: bool, expires_at: u64| {
        shared
            .cookie
            .header(&ids.cookie_value(id), permanent.then_some(expires_at))
    };
    match plan {
        Plan::Nothing => Ok(None),
        Plan::Delete(id) => {
            if let Some(id) = &id {
                store_op("delete", store.delete(&ids.key(id))).await?;
            }
            Ok(Some(shared.cookie.removal()))
        }
        Plan::Create {
            purged,
            record,
            permanent,
        } => {
            if let Some(id) = &purged {
                // The old record dies first: if what follows fails, the user
                // is logged out, never left on the old id.
                store_op("delete", store.delete(&ids.key(id))).await?;
            }
            let id = create(store, &record, now).await?;
            Ok(Some(id_cookie(&id, permanent, record.expires_at)))
        }
        Plan::Update {
            id,
            changes,
            permanent,
        } => match store_op("update", store.update(&ids.key(&id), &changes, now)).await {
            Ok(()) => Ok(permanent.then(|| id_cookie(&id, true, changes.expires_at))),
            Err(e) if e.kind() == StoreErrorKind::NotFound => {
                tracing::debug!("the session was deleted during the request; not writing it back");
                Ok(None)
            }
            Err(e) => Err(e.into()),
        },
        Plan::Cycle {
            old,
            changes,
            permanent,
        } => {
            let new = ids.generate();
            let (old, new_hash) = (ids.key(&old), ids.key(&new));
            match store_op("cycle_id", store.cycle_id(&old, &new_hash, &changes, now)).await {
                Ok(()) => {
                    crate::metrics::session_event("rotated", "store");
                    Ok(Some(id_cookie(&new, permanent, changes.expires_at)))
                }
                Err(e) if e.kind() == StoreErrorKind::NotFound => Ok(None),
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// Creates `record` under a fresh id, trying again on a collision.
async fn create(
    store: &dyn SessionStore,
    record: &Record,
    now: u64,
) -> Result<SessionId, SessionError> {
    let ids = store.id_format();
    for _ in 0..CREATE_ATTEMPTS {
        let id = ids.generate();
        match store_op("create", store.create(&ids.key(&id), record, now)).await {
            Ok(()) => {
                crate::metrics::session_event("created", "store");
                return Ok(id);
            }
            Err(e) if e.kind() == StoreErrorKind::Collision => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::from_kind(StoreErrorKind::Collision).into())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;
    use websession_core::{Map, Value};

    use super::*;
    use crate::state::{is_permanent, UserChange};

    const NOW: u64 = 1_700_000_000;

    fn policy() -> Policy {
        Policy::new(
            &SessionConfig::default()
                .with_lifetime(|l| l.with_permanent_lifetime(Duration::from_secs(86_400))),
        )
    }

    fn loaded(expires_in: u64) -> (SessionState, SessionId) {
        let id = SessionId::generate();
        let mut data = Map::new();
        data.insert("pet_name".into(), Value::from("Rex"));
        let state = SessionState {
            data: data.into(),
            created_at: Some(NOW - 100),
            kept: Kept::Store(InStore {
                record: Some(StoredRecord {
                    id: id.clone(),
                    expires_at: NOW + expires_in,
                }),
                ..InStore::new()
            }),
            ..SessionState::empty()
        };
        (state, id)
    }

    #[test]
    fn an_unused_empty_session_writes_nothing_and_an_emptied_one_deletes() {
        let mut state = SessionState::in_store();
        assert_eq!(plan(&policy(), &state, NOW), Plan::Nothing);
        state.modified = true;
        assert_eq!(plan(&policy(), &state, NOW), Plan::Delete(None));
        let (mut state, id) = loaded(86_400);
        state.clear();
        assert_eq!(plan(&policy(), &state, NOW), Plan::Delete(Some(id)));
    }

    #[test]
    fn a_new_session_is_created_with_its_user() {
        let mut state = SessionState::in_store();
        state.set("pet_name", Value::from("Rex"));
        state.user = UserChange::Set(Some("alice".into()));
        let Plan::Create {
            record,
            purged,
            permanent,
        } = plan(&policy(), &state, NOW)
        else {
            panic!("not a create");
        };
        assert_eq!(record.user.as_deref(), Some("alice"));
        assert_eq!(record.created_at, NOW);
        assert_eq!(record.expires_at, NOW + 86_400);
        assert!(purged.is_none() && !permanent);
    }

    #[test]
    fn an_unchanged_record_is_written_only_when_its_expiry_falls_short() {
        // Half the lifetime is the slack: a record with more than half a
        // day to live is left alone.
        let cases = [(86_400, false), (43_201, false), (43_200, true), (10, true)];
        for (expires_in, writes) in cases {
            let (state, id) = loaded(expires_in);
            let got = plan(&policy(), &state, NOW);
            match got {
                Plan::Update {
                    id: got, changes, ..
                } if writes => {
                    assert_eq!(got, id);
                    assert!(!changes.changes_data());
                    assert_eq!(changes.expires_at, NOW + 86_400);
                }
                Plan::Nothing if !writes => {}
                other => panic!("{expires_in}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_record_past_the_policy_is_brought_in_line() {
        let (state, _) = loaded(86_400 + MAX_CLOCK_SKEW_SECS + 1);
        assert!(matches!(plan(&policy(), &state, NOW), Plan::Update { .. }));
        let (state, _) = loaded(86_400 + MAX_CLOCK_SKEW_SECS);
        assert_eq!(plan(&policy(), &state, NOW), Plan::Nothing);
    }

    #[test]
    fn changes_carry_only_the_keys_touched_and_a_cycle_moves_the_record() {
        let (mut state, id) = loaded(86_400);
        state.set("n", Value::Int(1));
        state.remove("pet_name");
        let Plan::Update { changes, .. } = plan(&policy(), &state, NOW) else {
            panic!("not an update");
        };
        assert_eq!(changes.set.keys().collect::<Vec<_>>(), ["n"]);
        assert!(changes.removed.contains("pet_name"));
        state.cycled = true;
        let Plan::Cycle { old, .. } = plan(&policy(), &state, NOW) else {
            panic!("not a cycle");
        };
        assert_eq!(old, id);
    }

    #[cfg(feature = "django")]
    #[test]
    fn the_python_presets_give_every_stored_session_an_expires() {
        let django = Policy::new(&SessionConfig::django());
        let (mut state, _) = loaded(86_400);
        state.set("n", Value::Int(1));
        assert!(!is_permanent(&state.data), "no _permanent key");
        let Plan::Update { permanent, .. } = plan(&django, &state, NOW) else {
            panic!("not an update");
        };
        assert!(permanent, "Django sends Max-Age/Expires on every session");
        let creates_permanent =
            |policy: &Policy, state: &SessionState| match plan(policy, state, NOW) {
                Plan::Create { permanent, .. } => permanent,
                other => panic!("not a create: {other:?}"),
            };
        let mut new = SessionState::in_store();
        new.set("n", Value::Int(1));
        assert!(creates_permanent(&django, &new));
        let at_close = Policy::new(
            &SessionConfig::django().with_lifetime(|l| l.with_expire_at_browser_close()),
        );
        new.set(crate::state::PERMANENT_KEY, Value::Bool(true));
        assert!(!creates_permanent(&at_close, &new));
        // Flask's rule elsewhere: only a permanent session.
        assert!(creates_permanent(&policy(), &new));
        new.remove(crate::state::PERMANENT_KEY);
        assert!(!creates_permanent(&policy(), &new));
    }

    #[test]
    fn after_a_purge_the_old_record_is_deleted_and_new_data_is_a_new_record() {
        let (mut state, id) = loaded(86_400);
        state.purge();
        assert_eq!(plan(&policy(), &state, NOW), Plan::Delete(Some(id.clone())));
        state.set("pet_name", Value::from("Tom"));
        let Plan::Create { purged, .. } = plan(&policy(), &state, NOW) else {
            panic!("not a create");
        };
        assert_eq!(purged, Some(id));
    }
}
