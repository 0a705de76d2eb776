//! The framework-free engine: every decision about reading and writing the
//! session cookie. The tower and actix adapters only move headers.

use std::fmt::Write as _;
use std::sync::Arc;

use time::OffsetDateTime;
use websession_core::flask::check_age;
use websession_core::json::http_date;
use websession_core::store::{
    ChangeSet, Record, SessionId, SessionStore, StoreError, StoreErrorKind,
};
use websession_core::{unix_seconds, DecodeError, FlaskCodec, KeyRing, SealedCodec, Value};

pub(crate) use websession_core::cookie::find_cookie;

use crate::config::{ConfigError, SessionConfig};
use crate::error::SessionError;
use crate::session::{is_permanent, Loaded, Session};

/// How sessions are kept.
#[derive(Clone)]
pub(crate) enum Mode {
    /// Flask's signed cookie.
    Signed(KeyRing),
    /// An AEAD-sealed cookie.
    Sealed(KeyRing),
    /// A server-side store; the cookie holds the id.
    Store(Arc<dyn SessionStore>),
}

impl std::fmt::Debug for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Signed(_) => f.write_str("Signed"),
            Self::Sealed(_) => f.write_str("Sealed"),
            Self::Store(_) => f.write_str("Store"),
        }
    }
}

enum Codec {
    Signed(FlaskCodec),
    Sealed(SealedCodec),
    Store(Arc<dyn SessionStore>),
}

/// What the store-mode save does, decided under the session lock.
enum Plan {
    Nothing,
    Delete(Option<SessionId>),
    /// Delete the purged record (if any), then create a new one.
    Create {
        purged: Option<SessionId>,
        record: Record,
        permanent: bool,
    },
    Update(SessionId, ChangeSet, bool),
    Cycle(SessionId, ChangeSet, bool),
}

/// How many fresh ids to try when `create` reports a collision (2^-256 odds).
const CREATE_ATTEMPTS: usize = 3;

/// In signed cookies the creation time (for the absolute timeout) travels
/// as this session key, signed with the data and hidden from handlers.
pub(crate) const CREATED_KEY: &str = "_ws_created";

/// The incoming cookie that decoded, kept so an unchanged session is
/// refreshed without encoding it again.
pub(crate) enum Origin {
    /// The verified payload of the signed cookie (it is re-signed).
    Signed(websession_core::flask::SignedPayload),
    /// The opened sealed cookie (its payload is sealed again).
    Sealed(Box<websession_core::sealed::Unsealed>),
}

/// What the adapter must add to the response.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// A `Set-Cookie` header value.
    pub(crate) set_cookie: Option<String>,
    /// Add `Vary: Cookie`.
    pub(crate) vary: bool,
    /// Add `Cache-Control: no-store` unless the handler set a `Cache-Control`.
    pub(crate) no_store: bool,
}

pub(crate) struct Engine {
    pub(crate) config: SessionConfig,
    codec: Codec,
}

impl Engine {
    pub(crate) fn new(config: SessionConfig, mode: Mode) -> Result<Self, ConfigError> {
        config.validate()?;
        let max_age = config.max_age_secs();
        let codec = match mode {
            Mode::Signed(keys) => {
                check_keys(&keys, config.strict_keys)?;
                Codec::Signed(FlaskCodec::new(&keys).with_max_age(max_age))
            }
            Mode::Sealed(keys) => {
                check_keys(&keys, config.strict_keys)?;
                Codec::Sealed(
                    SealedCodec::new(&keys, &config.cookie_name)
                        .map_err(|e| ConfigError::SealingKey(e.to_string()))?
                        .with_max_age(max_age)
                        .with_compression(config.sealed_compression),
                )
            }
            Mode::Store(store) => Codec::Store(store),
        };
        Ok(Self { config, codec })
    }

    pub(crate) fn is_store(&self) -> bool {
        matches!(self.codec, Codec::Store(_))
    }

    /// Store mode: reads the record of the cookie's id. Unknown and malformed
    /// ids give an empty session (a new id is made only when it is written);
    /// nothing is ever created by a read.
    pub(crate) async fn load_store(&self, raw: Option<String>) -> Result<Loaded, SessionError> {
        let Codec::Store(store) = &self.codec else {
            return Ok(self.load(raw));
        };
        let Some(id) = raw.as_deref().and_then(SessionId::parse) else {
            if raw.is_some_and(|r| !r.is_empty()) {
                tracing::debug!(target: "websession::security", "malformed session id; starting an empty session");
            }
            return Ok(Loaded::empty());
        };
        let now = self.config.clock.unix_seconds();
        match store.load(&id.hash(), now).await {
            Ok(Some(record)) => {
                if let Err(e) = self.check_timeouts(now, now, Some(record.created_at)) {
                    log_rejection(&e);
                    return Ok(Loaded::empty());
                }
                Ok(Loaded {
                    data: record.data,
                    created_at: Some(record.created_at),
                    stored: Some((id, record.expires_at)),
                    ..Loaded::empty()
                })
            }
            Ok(None) => {
                tracing::debug!(target: "websession::security", "unknown or expired session id; starting an empty session");
                Ok(Loaded::empty())
            }
            Err(e) if e.kind() == StoreErrorKind::Corrupt => {
                // Corrupt data is not an outage: the user starts over, and
                // the record goes so it can't fail the next request too.
                tracing::warn!(
                    target: "websession::security",
                    error = %e,
                    "stored session record is corrupt; deleting it and starting an empty session"
                );
                if let Err(e) = store.delete(&id.hash()).await {
                    tracing::warn!(error = %e, "could not delete the corrupt session record");
                }
                Ok(Loaded::empty())
            }
            Err(e) if self.config.store_fail_open => {
                tracing::error!(error = %e, "session store unavailable; failing open with an empty, unsaved session");
                Ok(Loaded {
                    unavailable: true,
                    ..Loaded::empty()
                })
            }
            Err(e) => {
                tracing::error!(error = %e, "session store unavailable; answering 503");
                Err(SessionError::Store(e))
            }
        }
    }

    /// Store mode: the expiry a record written at `now` gets, and the least
    /// expiry an unchanged record must already have for the write to be
    /// skipped.
    ///
    /// A session promises `guaranteed` seconds of life after every use: the
    /// idle timeout if there is one, else the lifetime minus the touch
    /// interval. Writes add `slack` (the touch interval) on top, so an
    /// unchanged session is written at most once per `slack`, and a session
    /// used at least once per `guaranteed` seconds never expires. Both are
    /// capped by the lifetime and the absolute timeout.
    fn store_expiry(&self, now: u64, created_at: u64) -> (u64, u64) {
        let lifetime = self.config.max_age_secs();
        let touch = self.config.touch_interval_secs();
        let (guaranteed, slack) = match self.config.idle_timeout_secs() {
            Some(idle) if idle < lifetime => {
                (idle, touch.unwrap_or(idle / DEFAULT_IDLE_SLACK_DIVISOR))
            }
            _ => {
                let slack = touch.unwrap_or(lifetime / 2).min(lifetime / 2);
                (lifetime - slack, slack)
            }
        };
        let mut expires = now
            .saturating_add(guaranteed)
            .saturating_add(slack)
            .min(now.saturating_add(lifetime));
        if let Some(absolute) = self.config.absolute_timeout_secs() {
            expires = expires.min(created_at.saturating_add(absolute));
        }
        (expires, now.saturating_add(guaranteed).min(expires))
    }

    /// Store mode: the save, as a future the adapter awaits after the handler.
    pub(crate) async fn finish_store(
        self: Arc<Self>,
        session: Session,
        status: u16,
    ) -> Result<Outcome, SessionError> {
        let Codec::Store(store) = &self.codec else {
            return self.finish(&session, status);
        };
        let now = self.config.clock.now();
        let now_secs = unix_seconds(now);
        let mut outcome = Outcome {
            vary: true,
            ..Outcome::default()
        };
        let plan = {
            let state = session.lock();
            let Some(l) = &state.loaded else {
                return Ok(Outcome::default());
            };
            if status >= 500 || l.unavailable {
                return Ok(outcome);
            }
            self.plan(l, now_secs)
        };
        let cookie = match plan {
            Plan::Nothing => None,
            Plan::Delete(id) => {
                if let Some(id) = &id {
                    store.delete(&id.hash()).await?;
                }
                Some(self.removal_cookie())
            }
            Plan::Create {
                purged,
                record,
                permanent,
            } => {
                if let Some(id) = &purged {
                    // The old record dies first: if what follows fails, the
                    // user is logged out, never left on the old id.
                    store.delete(&id.hash()).await?;
                }
                let mut created = None;
                for _ in 0..CREATE_ATTEMPTS {
                    let id = SessionId::generate();
                    match store.create(&id.hash(), &record, now_secs).await {
                        Ok(()) => {
                            created = Some(id);
                            break;
                        }
                        Err(e) if e.kind() == StoreErrorKind::Collision => continue,
                        Err(e) => return Err(e.into()),
                    }
                }
                let id = created.ok_or_else(|| {
                    SessionError::Store(StoreError::from_kind(StoreErrorKind::Collision))
                })?;
                Some(self.id_cookie(&id, permanent, record.expires_at))
            }
            Plan::Update(id, changes, permanent) => {
                match store.update(&id.hash(), &changes, now_secs).await {
                    Ok(()) => permanent.then(|| self.id_cookie(&id, true, changes.expires_at)),
                    Err(e) if e.kind() == StoreErrorKind::NotFound => {
                        tracing::debug!(
                            "the session was deleted during the request; not writing it back"
                        );
                        None
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Plan::Cycle(old, changes, permanent) => {
                let new = SessionId::generate();
                match store
                    .cycle_id(&old.hash(), &new.hash(), &changes, now_secs)
                    .await
                {
                    Ok(()) => Some(self.id_cookie(&new, permanent, changes.expires_at)),
                    Err(e) if e.kind() == StoreErrorKind::NotFound => None,
                    Err(e) => return Err(e.into()),
                }
            }
        };
        if let Some(cookie) = cookie {
            outcome.no_store = self.config.no_store_on_write;
            outcome.set_cookie = Some(cookie);
        }
        Ok(outcome)
    }

    fn plan(&self, l: &Loaded, now: u64) -> Plan {
        // After `purge` the old record is in `purged_id`, never in `stored`.
        let old = l.stored.as_ref();
        if l.data.is_empty() {
            let doomed = old.map(|(id, _)| id).or(l.purged_id.as_ref()).cloned();
            return match doomed {
                Some(id) => Plan::Delete(Some(id)),
                None if l.modified => Plan::Delete(None),
                None => Plan::Nothing,
            };
        }
        let permanent = is_permanent(&l.data);
        let created = l.created_at.unwrap_or(now);
        let (expires_at, must_reach) = self.store_expiry(now, created);
        let Some((id, old_expiry)) = old else {
            let user = l.user.clone().flatten();
            return Plan::Create {
                purged: l.purged_id.clone(),
                record: Record::new(l.data.clone(), created, expires_at).with_user(user),
                permanent,
            };
        };
        let mut changes = ChangeSet::touch(expires_at);
        changes.set = l
            .touched
            .iter()
            .filter_map(|k| Some((k.clone(), l.data.get(k)?.clone())))
            .collect();
        changes.removed.clone_from(&l.removed);
        changes.cleared = l.cleared;
        changes.user.clone_from(&l.user);
        if l.cycled {
            return Plan::Cycle(id.clone(), changes, permanent);
        }
        if changes.changes_data() || changes.user.is_some() {
            return Plan::Update(id.clone(), changes, permanent);
        }
        // Unchanged: write only when the stored expiry no longer covers the
        // promised time after this use (see `store_expiry`).
        if expires_at > *old_expiry && *old_expiry <= must_reach {
            Plan::Update(id.clone(), ChangeSet::touch(expires_at), permanent)
        } else {
            Plan::Nothing
        }
    }

    fn id_cookie(&self, id: &SessionId, permanent: bool, expires_at: u64) -> String {
        let expires = permanent.then(|| from_unix_saturating(expires_at));
        self.cookie_header(id.as_str(), expires, false)
    }

    /// Decodes an incoming cookie. Any failure gives an empty session.
    pub(crate) fn load(&self, raw: Option<String>) -> Loaded {
        if self.is_store() {
            // Only `Session::load` reads a store. A session used without it
            // (taken from the request extensions) is never saved.
            tracing::error!(
                "a store-mode Session was used before `Session::load`; it will not be saved"
            );
            return Loaded {
                unavailable: true,
                ..Loaded::empty()
            };
        }
        let Some(raw) = raw.filter(|r| !r.is_empty()) else {
            return Loaded::empty();
        };
        let now = self.config.clock.unix_seconds();
        let opened = match &self.codec {
            Codec::Signed(codec) => codec.decode(&raw, now).map(|mut d| {
                let created = match d.data.remove(CREATED_KEY) {
                    Some(Value::Int(t)) => u64::try_from(t).ok(),
                    _ => None,
                };
                (d.data, d.timestamp, created, Origin::Signed(d.payload))
            }),
            Codec::Sealed(codec) => codec.open(&raw, now).map(|mut u| {
                let data = std::mem::take(&mut u.data);
                (
                    data,
                    u.issued_at,
                    Some(u.created_at),
                    Origin::Sealed(Box::new(u)),
                )
            }),
            Codec::Store(_) => return Loaded::empty(),
        };
        let checked = opened.and_then(|(data, issued_at, created_at, origin)| {
            self.check_timeouts(now, issued_at, created_at)?;
            Ok((data, created_at, origin))
        });
        match checked {
            Ok((data, created_at, origin)) => Loaded {
                data,
                origin: Some(origin),
                created_at,
                ..Loaded::empty()
            },
            Err(e) => {
                log_rejection(&e);
                Loaded::empty()
            }
        }
    }

    /// The idle and absolute timeouts, on top of the codec's maximum age.
    fn check_timeouts(
        &self,
        now: u64,
        issued_at: u64,
        created_at: Option<u64>,
    ) -> Result<(), DecodeError> {
        if let Some(idle) = self.config.idle_timeout_secs() {
            check_age(issued_at, now, idle)?;
        }
        if let Some(absolute) = self.config.absolute_timeout_secs() {
            // A cookie without a creation time (written by Flask, or before
            // the timeout was configured) counts from its issue time. A
            // creation time a little ahead of our clock comes from a server
            // whose clock runs ahead: count it as now.
            let created = created_at.unwrap_or(issued_at);
            let created = if created > now && created - now <= MAX_CLOCK_SKEW_SECS {
                now
            } else {
                created
            };
            check_age(created, now, absolute)?;
        }
        Ok(())
    }

    /// Flask's `save_session`, in its exact decision order.
    pub(crate) fn finish(&self, session: &Session, status: u16) -> Result<Outcome, SessionError> {
        let mut state = session.lock();
        let Some(loaded) = &mut state.loaded else {
            return Ok(Outcome::default()); // never used: no Vary, no cookie
        };
        let mut outcome = Outcome {
            vary: true,
            ..Outcome::default()
        };
        if status >= 500 {
            return Ok(outcome);
        }
        let config = &self.config;
        if loaded.data.is_empty() {
            if loaded.modified {
                outcome.set_cookie = Some(self.removal_cookie());
            }
            return Ok(outcome);
        }
        let permanent = is_permanent(&loaded.data);
        // An idle timeout is extended by activity, so every use re-issues.
        let refresh = (permanent && config.refresh_each_request) || config.idle_timeout.is_some();
        if !(loaded.modified || refresh || loaded.cycled) {
            return Ok(outcome);
        }
        let now = config.clock.now();
        let now_secs = unix_seconds(now);
        let created_at = match (loaded.created_at, config.absolute_timeout) {
            (Some(t), _) => Some(t),
            (None, Some(_)) => Some(now_secs),
            (None, None) => None,
        };
        let value = match &self.codec {
            Codec::Signed(codec) => {
                let resigned = match (&loaded.origin, loaded.modified) {
                    // Refresh of unchanged data: the payload is already encoded
                    // (with its creation time, if it had one).
                    (Some(Origin::Signed(origin)), false) if created_at == loaded.created_at => {
                        Some(codec.resign(origin, now_secs))
                    }
                    _ => None,
                };
                resigned.unwrap_or_else(|| match created_at {
                    Some(t) => {
                        let t = i64::try_from(t).unwrap_or(i64::MAX);
                        loaded.data.insert(CREATED_KEY.to_owned(), Value::Int(t));
                        let cookie = codec.encode(&loaded.data, now_secs);
                        loaded.data.remove(CREATED_KEY);
                        cookie
                    }
                    None => codec.encode(&loaded.data, now_secs),
                })
            }
            Codec::Sealed(codec) => match (&loaded.origin, loaded.modified) {
                // Refresh of unchanged data: seal the same payload again.
                (Some(Origin::Sealed(opened)), false) => {
                    codec.reseal(opened, now_secs, created_at.unwrap_or(now_secs))
                }
                _ => codec.seal(&loaded.data, now_secs, created_at.unwrap_or(now_secs)),
            },
            Codec::Store(_) => return Ok(Outcome::default()), // saved by `finish_store`
        };
        let expires = permanent.then(|| {
            let mut expires = now_secs.saturating_add(config.max_age_secs());
            if let Some(idle) = config.idle_timeout_secs() {
                expires = expires.min(now_secs.saturating_add(idle));
            }
            if let (Some(absolute), Some(created)) = (config.absolute_timeout_secs(), created_at) {
                expires = expires.min(created.saturating_add(absolute));
            }
            from_unix_saturating(expires)
        });
        let header = self.cookie_header(&value, expires, false);
        if header.len() > config.max_cookie_size {
            return Err(SessionError::CookieTooLarge {
                size: header.len(),
                limit: config.max_cookie_size,
            });
        }
        outcome.set_cookie = Some(header);
        outcome.no_store = config.no_store_on_write;
        Ok(outcome)
    }

    fn removal_cookie(&self) -> String {
        self.cookie_header("", Some(OffsetDateTime::UNIX_EPOCH), true)
    }

    /// Werkzeug's `dump_cookie` attribute order: Domain, Expires, Max-Age,
    /// Secure, HttpOnly, Path, SameSite, Partitioned.
    fn cookie_header(&self, value: &str, expires: Option<OffsetDateTime>, removal: bool) -> String {
        let c = &self.config;
        let mut h = String::with_capacity(c.cookie_name.len() + value.len() + 96);
        h.push_str(&c.cookie_name);
        h.push('=');
        h.push_str(value);
        if let Some(domain) = &c.domain {
            let _ = write!(h, "; Domain={domain}");
        }
        if let Some(expires) = expires {
            let _ = write!(h, "; Expires={}", http_date(expires));
        }
        if removal {
            h.push_str("; Max-Age=0");
        }
        if c.is_secure() {
            h.push_str("; Secure");
        }
        if c.http_only {
            h.push_str("; HttpOnly");
        }
        let _ = write!(h, "; Path={}", c.path);
        if let Some(same_site) = c.same_site {
            let _ = write!(h, "; SameSite={same_site}");
        }
        if c.partitioned {
            h.push_str("; Partitioned");
        }
        h
    }
}

/// How far ahead of this server's clock a session's creation time may be
/// (written by another server) and still count as "now" for the absolute
/// timeout: 60 seconds.
pub(crate) const MAX_CLOCK_SKEW_SECS: u64 = 60;

/// With an idle timeout and no touch interval set, an unchanged store-mode
/// session is written at most once per tenth of the idle timeout, and lives
/// at most that much longer than the idle timeout after its last use.
const DEFAULT_IDLE_SLACK_DIVISOR: u64 = 10;

/// A Unix time as a date, saturated to the calendar `time` can hold (a
/// configuration can't get there: `validate` caps lifetimes, but an injected
/// clock could).
fn from_unix_saturating(secs: u64) -> OffsetDateTime {
    let max = OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT)
        .replace_time(time::macros::time!(23:59:59));
    i64::try_from(secs)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .map_or(max, |t| t.min(max))
}

fn log_rejection(e: &DecodeError) {
    // Never the cookie itself: only the reason.
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

fn check_keys(keys: &KeyRing, strict: bool) -> Result<(), ConfigError> {
    for (index, key) in keys.verification_order().enumerate() {
        if let Some(weakness) = key.weakness() {
            let which = if index == 0 {
                "the current secret key"
            } else {
                "a fallback secret key"
            };
            if strict {
                return Err(ConfigError::WeakKey(format!("{which}: {weakness}")));
            }
            tracing::warn!(
                target: "websession::security",
                "{which} is weak: {weakness}. Anyone who guesses it can forge sessions; \
                 generate one with `websession keygen`"
            );
        }
    }
    Ok(())
}

/// Whether existing `Vary` header values already cover `Cookie` (or `*`).
pub(crate) fn varies_on_cookie<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> bool {
    values.into_iter().any(|v| {
        std::str::from_utf8(v).is_ok_and(|v| {
            v.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("cookie") || t.trim() == "*")
        })
    })
}
