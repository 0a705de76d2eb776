//! Store mode's save: a [`Plan`] decided from the session's state (plain
//! data, no I/O), then run against the store as one call (two after a
//! purge: the old record is deleted first).

use crate::metrics::store_op;
use websession_core::store::{
    ChangeSet, Record, SessionId, SessionStore, StoreError, StoreErrorKind,
};

use crate::engine::{Engine, MAX_CLOCK_SKEW_SECS};
use crate::error::SessionError;
use crate::session::is_permanent;
use crate::state::SessionState;

/// How many fresh ids to try when `create` reports a collision (2^-256 odds).
const CREATE_ATTEMPTS: usize = 3;

/// With an idle timeout and no touch interval set, an unchanged session is
/// written at most once per tenth of the idle timeout, and lives at most that
/// much longer than the idle timeout after its last use.
const DEFAULT_IDLE_SLACK_DIVISOR: u64 = 10;

/// What the save does.
pub(crate) enum Plan {
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

/// The expiry a record written at `now` gets, and the least expiry an
/// unchanged record must already have for the write to be skipped.
///
/// A session promises `guaranteed` seconds of life after every use: the idle
/// timeout if there is one, else the lifetime minus the touch interval.
/// Writes add `slack` (the touch interval) on top, so an unchanged session is
/// written at most once per `slack`, and a session used at least once per
/// `guaranteed` seconds never expires. [`Engine::expiry`] caps both by the
/// lifetime and the absolute timeout.
fn deadlines(engine: &Engine, now: u64, lifetime: u64, created_at: u64) -> (u64, u64) {
    let config = &engine.config;
    let touch = config.touch_interval_secs();
    let (guaranteed, slack) = match config.idle_timeout_secs() {
        // At least a second of slack: a record must outlive `now + idle`,
        // since a record whose expiry is now is already gone.
        Some(idle) if idle < lifetime => (
            idle,
            touch.unwrap_or(idle / DEFAULT_IDLE_SLACK_DIVISOR).max(1),
        ),
        _ => {
            let slack = touch.unwrap_or(lifetime / 2).min(lifetime / 2);
            (lifetime - slack, slack)
        }
    };
    let expires = engine.expiry(now, lifetime, Some(created_at), slack);
    (expires, now.saturating_add(guaranteed).min(expires))
}

/// Decides the save from the state.
pub(crate) fn plan(engine: &Engine, state: &SessionState, now: u64) -> Plan {
    // After `purge` the old record is in `purged_record`, never in `stored`.
    let stored = state.stored.as_ref();
    if state.data.is_empty() {
        let doomed = stored
            .map(|s| &s.id)
            .or(state.purged_record.as_ref())
            .cloned();
        return match doomed {
            Some(id) => Plan::Delete(Some(id)),
            None if state.modified => Plan::Delete(None),
            None => Plan::Nothing,
        };
    }
    let permanent = is_permanent(&state.data);
    let created = state.created_at.unwrap_or(now);
    let lifetime = engine.config.lifetime_secs(&state.data);
    let (expires_at, must_reach) = deadlines(engine, now, lifetime, created);
    let Some(stored) = stored else {
        let user = state.user.to_change().flatten();
        return Plan::Create {
            purged: state.purged_record.clone(),
            record: Record::new(state.data.to_map(), created, expires_at).with_user(user),
            permanent,
        };
    };
    let mut changes = ChangeSet::touch(expires_at);
    changes.set = state
        .touched
        .iter()
        .filter_map(|k| Some((k.clone(), state.data.get(k)?.to_value())))
        .collect();
    changes.removed.clone_from(&state.removed);
    changes.cleared = state.cleared;
    changes.user = state.user.to_change();
    if state.cycled {
        return Plan::Cycle {
            old: stored.id.clone(),
            changes,
            permanent,
        };
    }
    // Unchanged: write only when the stored expiry no longer covers the
    // promised time after this use, or when it reaches past what the
    // current policy grants (a record written before the idle timeout was
    // turned on or the lifetime shortened: it is brought in line at its
    // next use; differences within the tolerated clock skew between
    // servers don't count).
    let extend = expires_at > stored.expires_at && stored.expires_at <= must_reach;
    let shorten = stored.expires_at > expires_at.saturating_add(MAX_CLOCK_SKEW_SECS);
    if changes.changes_data() || changes.user.is_some() || extend || shorten {
        return Plan::Update {
            id: stored.id.clone(),
            changes,
            permanent,
        };
    }
    Plan::Nothing
}

impl Plan {
    /// The plan's name in traces.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Nothing => "nothing",
            Self::Delete(_) => "delete",
            Self::Create { .. } => "create",
            Self::Update { .. } => "update",
            Self::Cycle { .. } => "cycle_id",
        }
    }
}

/// Runs the plan; gives the `Set-Cookie` to send, if any.
pub(crate) async fn run(
    engine: &Engine,
    store: &dyn SessionStore,
    plan: Plan,
    now: u64,
) -> Result<Option<String>, SessionError> {
    let id_cookie = |id: &SessionId, permanent: bool, expires_at: u64| {
        engine
            .cookie
            .header(id.as_str(), permanent.then_some(expires_at))
    };
    match plan {
        Plan::Nothing => Ok(None),
        Plan::Delete(id) => {
            if let Some(id) = &id {
                store_op("delete", store.delete(&id.hash())).await?;
            }
            Ok(Some(engine.cookie.removal()))
        }
        Plan::Create {
            purged,
            record,
            permanent,
        } => {
            if let Some(id) = &purged {
                // The old record dies first: if what follows fails, the user
                // is logged out, never left on the old id.
                store_op("delete", store.delete(&id.hash())).await?;
            }
            for _ in 0..CREATE_ATTEMPTS {
                let id = SessionId::generate();
                match store_op("create", store.create(&id.hash(), &record, now)).await {
                    Ok(()) => {
                        crate::metrics::session_event("created", "store");
                        return Ok(Some(id_cookie(&id, permanent, record.expires_at)));
                    }
                    Err(e) if e.kind() == StoreErrorKind::Collision => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            Err(StoreError::from_kind(StoreErrorKind::Collision).into())
        }
        Plan::Update {
            id,
            changes,
            permanent,
        } => match store_op("update", store.update(&id.hash(), &changes, now)).await {
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
            let new = SessionId::generate();
            match store_op(
                "cycle_id",
                store.cycle_id(&old.hash(), &new.hash(), &changes, now),
            )
            .await
            {
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
