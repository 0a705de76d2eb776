//! The framework-free engine: every decision about reading and writing a
//! session. It takes plain values (the cookie text, a [`SessionState`], the
//! status, `now`) and returns plain values (a state, an [`Outcome`]); it
//! holds no lock and knows no framework.

use std::sync::Arc;

use tracing::Instrument as _;

use websession_core::codec::check_age;
use websession_core::django::DjangoCodec;
use websession_core::starlette::StarletteCodec;
use websession_core::store::{SessionId, SessionStore, StoreErrorKind};
use websession_core::{DecodeError, FlaskCodec, KeyRing, SealedCodec, Value};

use crate::config::{ConfigError, SessionConfig};
use crate::error::SessionError;
use crate::outcome::{CookieTemplate, Finish, Outcome, Via};
use crate::overflow::Overflow;
use crate::raw::RawCookie;
use crate::revocation::{CookieIds, Revocation, GENERATION_KEY, SID_KEY, USER_KEY};
use crate::state::{Opened, Opener, Origin, SessionState, StoredRecord, UserChange};
use crate::store_save;

/// How sessions are kept.
#[derive(Clone)]
pub(crate) enum Mode {
    /// Flask's signed cookie.
    Signed(KeyRing),
    /// An AEAD-sealed cookie.
    Sealed(KeyRing),
    /// A server-side store; the cookie holds the id.
    Store(Arc<dyn SessionStore>),
    /// Starlette's (FastAPI's) `SessionMiddleware` cookie.
    Starlette(KeyRing),
    /// Django's `signed_cookies` session cookie.
    Django(KeyRing),
}

/// The codec of a mode, built once.
enum Codec {
    Cookie(CookieCodec),
    Store(Arc<dyn SessionStore>),
}

/// The cookie modes' codecs.
enum CookieCodec {
    Signed(FlaskCodec),
    Sealed(SealedCodec),
    Starlette(StarletteCodec),
    Django(DjangoCodec),
}

impl CookieCodec {
    /// Whether the cookie holds a Python framework's plain-JSON session,
    /// which the framework reads as it is: no hidden keys go in it, and
    /// every session lasts the configured lifetime (see
    /// [`SessionConfig::starlette`]).
    fn is_plain(&self) -> bool {
        matches!(self, Self::Starlette(_) | Self::Django(_))
    }
}

/// In signed cookies the creation time (for the absolute timeout) travels
/// as this session key, signed with the data and hidden from handlers.
pub(crate) const CREATED_KEY: &str = "_ws_created";

/// How far ahead of this server's clock a session's creation time may be
/// (written by another server) and still count as "now" for the absolute
/// timeout.
pub(crate) const MAX_CLOCK_SKEW_SECS: u64 = 60;

pub(crate) struct Engine {
    pub(crate) config: SessionConfig,
    /// The `Set-Cookie` header's fixed parts.
    pub(crate) cookie: CookieTemplate,
    /// Where the session's value goes on responses.
    via: Via,
    codec: Codec,
}

impl Engine {
    /// Validates `config` (and the keys) and builds the mode's codec.
    pub(crate) fn new(config: SessionConfig, mode: Mode) -> Result<Self, ConfigError> {
        config.validate()?;
        // The codecs accept cookies up to the longest lifetime a session may
        // have; a session's own lifetime is checked once its data is open.
        let max_age = config.max_session_lifetime_secs();
        let codec = match mode {
            Mode::Signed(keys) => {
                check_keys(&keys, config.strict_keys)?;
                Codec::Cookie(CookieCodec::Signed(
                    FlaskCodec::new(&keys)
                        .with_max_age(max_age)
                        .with_compression(config.signed_compression),
                ))
            }
            Mode::Sealed(keys) => {
                check_keys(&keys, config.strict_keys)?;
                Codec::Cookie(CookieCodec::Sealed(
                    SealedCodec::new(&keys, &config.cookie_name)
                        .map_err(|e| ConfigError::SealingKey {
                            index: e.index,
                            len: e.len,
                        })?
                        .with_max_age(max_age)
                        .with_compression(config.sealed_compression)
                        .with_v1_cutoff(config.sealed_v1_cutoff.map(websession_core::unix_seconds)),
                ))
            }
            Mode::Store(store) => Codec::Store(store),
            Mode::Starlette(keys) => {
                check_plain(&keys, &config)?;
                Codec::Cookie(CookieCodec::Starlette(
                    StarletteCodec::new(&keys).with_max_age(max_age),
                ))
            }
            Mode::Django(keys) => {
                check_plain(&keys, &config)?;
                Codec::Cookie(CookieCodec::Django(
                    DjangoCodec::new(&keys).with_max_age(max_age),
                ))
            }
        };
        Ok(Self {
            cookie: CookieTemplate::new(&config),
            via: Via::new(&config),
            config,
            codec,
        })
    }

    /// Opens a cookie-mode session from the cookie's value. Any failure gives
    /// an empty session (and a log line with the reason, never the cookie).
    fn open_cookie(&self, codec: &CookieCodec, raw: Option<&str>, now: u64) -> SessionState {
        let Some(raw) = raw.filter(|r| !r.is_empty()) else {
            return SessionState::empty();
        };
        let opened = match codec {
            CookieCodec::Signed(codec) => codec.decode_lazy(raw, now).map(|mut d| {
                let created = match d.data.remove(CREATED_KEY) {
                    Some(Value::Int(t)) => u64::try_from(t).ok(),
                    _ => None,
                };
                (d.data, d.timestamp, created, Origin::Signed(d.payload))
            }),
            CookieCodec::Sealed(codec) => codec.open_lazy(raw, now).map(|mut u| {
                let data = std::mem::take(&mut u.data);
                let created = Some(u.created_at);
                (data, u.issued_at, created, Origin::Sealed(Box::new(u)))
            }),
            CookieCodec::Starlette(codec) => codec
                .decode_lazy(raw, now)
                .map(|d| (d.value, d.timestamp, None, Origin::Plain)),
            CookieCodec::Django(codec) => codec
                .decode_lazy(raw, now)
                .map(|d| (d.value, d.timestamp, None, Origin::Plain)),
        };
        let checked = opened.and_then(|(data, issued_at, created_at, origin)| {
            let lifetime = self.config.lifetime_secs(&data);
            if lifetime < self.config.max_session_lifetime_secs() {
                check_age(issued_at, now, lifetime)?;
            }
            self.check_timeouts(now, issued_at, created_at)?;
            Ok((data, issued_at, created_at, origin))
        });
        match checked {
            Ok((mut data, issued_at, created_at, origin)) => SessionState {
                // A Python framework's session has no keys of ours.
                ids: if matches!(origin, Origin::Plain) {
                    CookieIds::default()
                } else {
                    CookieIds::take(&mut data)
                },
                data,
                origin: Some(origin),
                created_at,
                issued_at: Some(issued_at),
                ..SessionState::empty()
            },
            Err(e) => {
                log_rejection(&e);
                SessionState::empty()
            }
        }
    }

    /// Store mode: reads the record of the cookie's id. Unknown and malformed
    /// ids give an empty session (a new id is made only when it is written);
    /// nothing is ever created by a read.
    async fn load_store(
        &self,
        store: &dyn SessionStore,
        raw: Option<&str>,
        now: u64,
    ) -> Result<SessionState, SessionError> {
        let Some(id) = raw.and_then(SessionId::parse) else {
            if raw.is_some_and(|r| !r.is_empty()) {
                crate::metrics::cookie_rejected("BadSessionId");
                tracing::debug!(target: "websession::security", "malformed session id; starting an empty session");
            }
            return Ok(SessionState::tracked());
        };
        match crate::metrics::store_op("load", store.load(&id.hash(), now)).await {
            Ok(Some(record)) => {
                // No idle check here: a record's expiry is its idle deadline.
                if let Err(e) = self.check_absolute(now, record.created_at) {
                    log_rejection(&e);
                    return Ok(SessionState::tracked());
                }
                Ok(SessionState {
                    data: record.data.into(),
                    created_at: Some(record.created_at),
                    stored: Some(StoredRecord {
                        id,
                        expires_at: record.expires_at,
                    }),
                    ..SessionState::tracked()
                })
            }
            Ok(None) => {
                crate::metrics::cookie_rejected("UnknownSessionId");
                tracing::debug!(target: "websession::security", "unknown or expired session id; starting an empty session");
                Ok(SessionState::tracked())
            }
            Err(e) if e.kind() == StoreErrorKind::Corrupt => {
                // Corrupt data is not an outage: the user starts over, and
                // the record goes so it can't fail the next request too.
                tracing::warn!(
                    target: "websession::security",
                    error = %chain(&e),
                    "stored session record is corrupt; deleting it and starting an empty session"
                );
                if let Err(e) = crate::metrics::store_op("delete", store.delete(&id.hash())).await {
                    tracing::warn!(error = %chain(&e), "could not delete the corrupt session record");
                }
                Ok(SessionState::tracked())
            }
            Err(e) if self.config.store_fail_open => {
                tracing::error!(error = %chain(&e), "session store unavailable; failing open with an empty, unsaved session");
                Ok(SessionState {
                    unsaved: true,
                    ..SessionState::tracked()
                })
            }
            Err(e) => {
                tracing::error!(error = %chain(&e), "session store unavailable; answering 503");
                Err(SessionError::Store(e))
            }
        }
    }

    /// A cookie's idle and absolute timeouts, on top of the codec's maximum
    /// age. A cookie without a creation time (written by Flask, or before the
    /// absolute timeout was configured) counts from its issue time.
    fn check_timeouts(
        &self,
        now: u64,
        issued_at: u64,
        created_at: Option<u64>,
    ) -> Result<(), DecodeError> {
        if let Some(idle) = self.config.idle_timeout_secs() {
            check_age(issued_at, now, idle)?;
        }
        self.check_absolute(now, created_at.unwrap_or(issued_at))
    }

    /// The absolute timeout. A creation time a little ahead of our clock
    /// comes from a server whose clock runs ahead: it counts as now.
    fn check_absolute(&self, now: u64, created_at: u64) -> Result<(), DecodeError> {
        let Some(absolute) = self.config.absolute_timeout_secs() else {
            return Ok(());
        };
        let created = if created_at > now && created_at - now <= MAX_CLOCK_SKEW_SECS {
            now
        } else {
            created_at
        };
        check_age(created, now, absolute)
    }

    /// The expiry policy of every mode: when a session used at `now` ends.
    /// The session's `lifetime` ([`SessionConfig::lifetime_secs`]), the idle
    /// timeout (plus `slack`, which only store mode uses) and the absolute
    /// timeout from `created_at`, whichever is first.
    pub(crate) fn expiry(
        &self,
        now: u64,
        lifetime: u64,
        created_at: Option<u64>,
        slack: u64,
    ) -> u64 {
        let mut expires = now.saturating_add(lifetime);
        if let Some(idle) = self.config.idle_timeout_secs() {
            expires = expires.min(now.saturating_add(idle).saturating_add(slack));
        }
        if let (Some(absolute), Some(created)) = (self.config.absolute_timeout_secs(), created_at) {
            expires = expires.min(created.saturating_add(absolute));
        }
        expires
    }

    /// The end of the request: what to send, given the session's state (if a
    /// handler loaded it) and the handler's status.
    ///
    /// Flask's `save_session` rules in its order: nothing at all for a
    /// session nobody used; `Vary: Cookie` for one that was; nothing written
    /// on a 5xx; a deletion when it became empty; a write when it changed,
    /// was cycled, or is refreshed.
    pub(crate) fn finish(
        self: &Arc<Self>,
        state: Option<SessionState>,
        status: u16,
        now: u64,
    ) -> Finish {
        let Some(mut state) = state else {
            return Finish::Ready(Outcome::default()); // never used: no Vary, no cookie
        };
        let outcome = Outcome {
            vary: true,
            via: self.via.clone(),
            ..Outcome::default()
        };
        if status >= 500 || state.unsaved {
            return Finish::Ready(outcome);
        }
        if state.purged {
            crate::metrics::session_event("purged", self.mode_name());
        }
        let written = match &self.codec {
            Codec::Cookie(codec) => {
                if let Some(revocation) = &self.config.revocation {
                    if let Some(login) = revocation_work(&mut state) {
                        return Finish::Save(self.revocation_save(
                            revocation.clone(),
                            state,
                            login,
                            outcome,
                            now,
                        ));
                    }
                }
                match &self.config.overflow {
                    Some(overflow) => {
                        let in_store = state.stored.is_some() || state.purged_record.is_some();
                        let written = if in_store {
                            None
                        } else {
                            match self.write_cookie(codec, &mut state, now) {
                                Err(SessionError::CookieTooLarge { .. }) => None,
                                written => Some(written),
                            }
                        };
                        match written {
                            Some(written) => written,
                            None => {
                                let (engine, overflow) = (self.clone(), overflow.clone());
                                return Finish::Save(Box::pin(async move {
                                    // Out of the store, the cookie was just
                                    // found too large: not encoded again.
                                    let saved = engine
                                        .save_overflowing(&overflow, state, now, !in_store)
                                        .await;
                                    engine.conclude_overflow(outcome, saved)
                                }));
                            }
                        }
                    }
                    None => self.write_cookie(codec, &mut state, now),
                }
            }
            Codec::Store(store) => {
                return match store_save::plan(self, &state, now) {
                    store_save::Plan::Nothing => Finish::Ready(outcome),
                    plan => {
                        let (engine, store) = (self.clone(), store.clone());
                        let span = tracing::debug_span!(
                            "websession.save",
                            mode = "store",
                            op = plan.name(),
                            outcome = tracing::field::Empty,
                            elapsed_us = tracing::field::Empty,
                        );
                        Finish::Save(Box::pin(
                            async move {
                                let started = std::time::Instant::now();
                                let saved = store_save::run(&engine, &*store, plan, now).await;
                                let span = tracing::Span::current();
                                span.record("outcome", if saved.is_ok() { "ok" } else { "error" });
                                span.record("elapsed_us", elapsed_us(started));
                                engine.conclude(outcome, saved)
                            }
                            .instrument(span),
                        ))
                    }
                };
            }
        };
        Finish::Ready(self.conclude(outcome, written))
    }

    /// The cookie modes' save: the `Set-Cookie` to send, if any.
    fn write_cookie(
        &self,
        codec: &CookieCodec,
        state: &mut SessionState,
        now: u64,
    ) -> Result<Option<String>, SessionError> {
        let config = &self.config;
        if state.data.is_empty() {
            return Ok(state.modified.then(|| self.cookie.removal()));
        }
        // Starlette's and Django's cookies always carry the lifetime (Django's
        // SESSION_EXPIRE_AT_BROWSER_CLOSE: never).
        let permanent = if codec.is_plain() {
            !config.expire_at_browser_close
        } else {
            crate::session::is_permanent(&state.data)
        };
        let lifetime = config.lifetime_secs(&state.data);
        // An unchanged permanent or idle-timed cookie is issued again once it
        // is old enough for the refresh policy.
        let refresh =
            config
                .refresh_after_secs(permanent, lifetime)
                .is_some_and(|after| match state.issued_at {
                    Some(issued) => now.saturating_sub(issued) >= after,
                    None => true,
                });
        if !(state.modified || refresh || state.cycled) {
            return Ok(None);
        }
        let created_at = match (state.created_at, config.absolute_timeout) {
            (Some(t), _) => Some(t),
            (None, Some(_)) => Some(now),
            (None, None) => None,
        };
        // With revocation, every cookie session carries an id: a session
        // without one gets it now.
        let new_sid = self.config.revocation.is_some() && state.ids.sid.is_none();
        if new_sid {
            state.ids.sid = Some(SessionId::generate());
        }
        // Unchanged data is refreshed from the incoming cookie's payload,
        // without encoding it again.
        let unchanged = !state.modified && !new_sid && created_at == state.created_at;
        if !unchanged && self.config.revocation.is_some() {
            state.ids.write(state.data.map_mut());
        }
        let origin = if unchanged {
            state.origin.as_ref()
        } else {
            None
        };
        let value = match (codec, origin) {
            // The payload holds the creation time already, if it had one.
            (CookieCodec::Signed(c), Some(Origin::Signed(payload))) => c.resign(payload, now),
            (CookieCodec::Signed(c), _) => {
                if let Some(t) = created_at {
                    let t = i64::try_from(t).unwrap_or(i64::MAX);
                    state
                        .data
                        .map_mut()
                        .insert(CREATED_KEY.to_owned(), Value::Int(t));
                }
                c.encode(state.data.map_mut(), now)
            }
            (CookieCodec::Sealed(c), Some(Origin::Sealed(opened))) => {
                c.reseal(opened, now, created_at.unwrap_or(now))
            }
            (CookieCodec::Sealed(c), _) => {
                c.seal(state.data.map_mut(), now, created_at.unwrap_or(now))
            }
            // Encoded again: Python writes the same bytes for the same data.
            (CookieCodec::Starlette(c), _) => c.encode(state.data.map_mut(), now)?,
            (CookieCodec::Django(c), _) => c.encode(state.data.map_mut(), now)?,
        };
        if !unchanged && config.overflow.is_some() {
            // The state may yet go to the overflow store: without the
            // cookie's bookkeeping keys.
            let map = state.data.map_mut();
            for key in [CREATED_KEY, SID_KEY, USER_KEY, GENERATION_KEY] {
                map.remove(key);
            }
        }
        let expires = permanent.then(|| self.expiry(now, lifetime, created_at, 0));
        let header = self.cookie.header(&value, expires);
        if header.len() > config.max_cookie_size {
            return Err(SessionError::CookieTooLarge {
                size: header.len(),
                limit: config.max_cookie_size,
            });
        }
        let mode = self.mode_name();
        if state.origin.is_none() {
            crate::metrics::session_event("created", mode);
        } else if state.cycled {
            crate::metrics::session_event("rotated", mode);
        }
        Ok(Some(header))
    }

    /// Cookie modes with revocation: refuses a revoked cookie (an empty
    /// session), from the cache when it knows, else after one round trip.
    fn check_revocation<'a>(
        &'a self,
        revocation: &'a Revocation,
        state: SessionState,
        now: u64,
    ) -> Opened<'a> {
        if let Some(verdict) = revocation.cached(&state.ids, now) {
            return Opened::Ready(judge(state, verdict));
        }
        Opened::Pending(Box::pin(
            self.ask_revocation(revocation, state, now)
                .instrument(tracing::debug_span!(
                    "websession.load",
                    mode = self.mode_name(),
                    outcome = tracing::field::Empty,
                    elapsed_us = tracing::field::Empty,
                )),
        ))
    }

    /// The revocation store's verdict on an opened session (cached when
    /// the cache knows), or the outage's answer.
    async fn ask_revocation(
        &self,
        revocation: &Revocation,
        state: SessionState,
        now: u64,
    ) -> Result<SessionState, SessionError> {
        if let Some(verdict) = revocation.cached(&state.ids, now) {
            return Ok(judge(state, verdict));
        }
        let started = std::time::Instant::now();
        let checked =
            crate::metrics::store_op("revocation_check", revocation.check(&state.ids, now)).await;
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

    /// Cookie modes with overflow: a cookie that carries a store id (the
    /// session moved to the store). Loaded as store mode loads, then its
    /// revocation keys are checked as a cookie's.
    fn open_overflowed<'a>(
        &'a self,
        overflow: &'a Overflow,
        raw: RawCookie,
        now: u64,
    ) -> Opened<'a> {
        Opened::Pending(Box::pin(
            async move {
                let started = std::time::Instant::now();
                let loaded = self
                    .load_store(&*overflow.store, Some(raw.as_str()), now)
                    .await;
                let span = tracing::Span::current();
                span.record(
                    "outcome",
                    if loaded.is_ok() {
                        "found"
                    } else {
                        "unavailable"
                    },
                );
                span.record("elapsed_us", elapsed_us(started));
                let mut state = SessionState {
                    opened_at: now,
                    ..loaded?
                };
                state.ids = CookieIds::take(&mut state.data);
                match &self.config.revocation {
                    Some(revocation) if !state.ids.is_empty() => {
                        self.ask_revocation(revocation, state, now).await
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

    /// Cookie modes with revocation: a save that needs the store first
    /// (denying a retired session id; reading the generation a login
    /// records), then the cookie.
    fn revocation_save(
        self: &Arc<Self>,
        revocation: Revocation,
        mut state: SessionState,
        login: Option<String>,
        mut outcome: Outcome,
        now: u64,
    ) -> crate::state::BoxFuture<'static, Outcome> {
        let engine = self.clone();
        Box::pin(async move {
            let mut failed = None;
            if let Some(sid) = state.retired_sid.take() {
                // A session that goes on under a new id without a login
                // (`cycle_id`, a flash after `clear`) must not have been
                // logged out elsewhere already: a copy accepted here within
                // the staleness would escape its logout under the new id.
                // The store is asked, not the cache. A login (`set_user`
                // with a user, the same one included: the app checked
                // credentials) is exempt, so a double-clicked login isn't
                // ended by its twin's rotation.
                // (`login` is only ever `Some` for a `Set(Some(_))`.)
                let logs_in = matches!(state.user, UserChange::Set(Some(_)));
                if !logs_in && !state.data.is_empty() {
                    match crate::metrics::store_op(
                        "revocation_check",
                        revocation.is_denied(&sid, now),
                    )
                    .await
                    {
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
                // Until any copy of the cookie has expired: issued by now (or
                // by another process, a little later: its staleness and clock
                // skew), it lives at most the longest session lifetime.
                let until = now
                    .saturating_add(engine.config.max_session_lifetime_secs())
                    .saturating_add(revocation.staleness().as_secs())
                    .saturating_add(MAX_CLOCK_SKEW_SECS);
                match crate::metrics::store_op("revocation_deny", revocation.deny(&sid, until, now))
                    .await
                {
                    Ok(()) => crate::metrics::session_event("revoked", engine.mode_name()),
                    Err(e) => failed = Some(e),
                }
            }
            if let Some(user) = login {
                let generation = match state.login_generation {
                    // Learnt in this request (a remember cookie's check).
                    Some(known) => Ok(known),
                    None => {
                        crate::metrics::store_op(
                            "revocation_generation",
                            revocation.generation(&user),
                        )
                        .await
                    }
                };
                match generation {
                    Ok(generation) => {
                        state.ids.user = Some(user);
                        state.ids.generation = generation;
                    }
                    // Failing open, the login is saved without a user: it
                    // can't be revoked with `revoke_all_for`, but isn't
                    // logged out when the store is back either.
                    Err(e) => {
                        failed.get_or_insert(e);
                    }
                }
            }
            if let Some(e) = failed {
                if !revocation.fails_open() {
                    tracing::error!(error = %chain(&e), "revocation store unavailable; answering 503");
                    outcome.failed = Some(503);
                    return outcome;
                }
                tracing::error!(error = %chain(&e), "revocation store unavailable; failing open: the session is saved without it");
            }
            let written = match (&engine.codec, &engine.config.overflow) {
                (_, Some(overflow)) => {
                    let saved = engine.save_overflowing(overflow, state, now, false).await;
                    return engine.conclude_overflow(outcome, saved);
                }
                (Codec::Cookie(codec), None) => engine.write_cookie(codec, &mut state, now),
                (Codec::Store(_), None) => return outcome,
            };
            engine.conclude(outcome, written)
        })
    }

    /// Cookie modes with overflow: the save of a session that is in the
    /// store, or no longer fits in the cookie.
    ///
    /// - In the cookie and too large: it moves to the store (a new record).
    /// - In the store, changed, and small enough again: the record goes,
    ///   then the cookie carries the data.
    /// - Otherwise in the store: saved as store mode saves.
    ///
    /// `too_large`: the caller already encoded this cookie-held session and
    /// found it past the limit.
    async fn save_overflowing(
        &self,
        overflow: &Overflow,
        mut state: SessionState,
        now: u64,
        too_large: bool,
    ) -> Result<Option<String>, SessionError> {
        let Codec::Cookie(codec) = &self.codec else {
            return Ok(None);
        };
        let store = &*overflow.store;
        let in_store = state.stored.is_some() || state.purged_record.is_some();
        if state.stored.is_some() && changes_user(&state) {
            // A login or logout of a session in the store moves its record
            // to a new id at once (against fixation: a planted id learns
            // nothing; the old id's copies die).
            state.cycled = true;
        }
        if !in_store {
            if !too_large {
                match self.write_cookie(codec, &mut state, now) {
                    Err(SessionError::CookieTooLarge { .. }) => {}
                    written => return written,
                }
            }
            crate::metrics::session_event("overflowed", self.mode_name());
        } else if state.modified && !state.data.is_empty() {
            let limit = overflow.return_below(self.config.max_cookie_size);
            if let Ok(Some(cookie)) = self.write_cookie(codec, &mut state, now) {
                if cookie.len() <= limit {
                    // Never readable both ways: the record goes first, and
                    // only if it was still there (a concurrent purge or
                    // `delete_all_for` ended the session: nothing is sent).
                    if let Some(purged) = state.purged_record.take() {
                        crate::metrics::store_op("delete", store.delete(&purged.hash())).await?;
                    }
                    if let Some(stored) = state.stored.take() {
                        if !take_record(store, &stored.id, now).await? {
                            tracing::debug!(
                                "the session was deleted during the request; not writing it back"
                            );
                            return Ok(None);
                        }
                    }
                    crate::metrics::session_event("returned", self.mode_name());
                    return Ok(Some(cookie));
                }
            }
        }
        if self.config.revocation.is_some()
            && !state.data.is_empty()
            && (state.modified || !in_store || state.cycled)
        {
            // The record keeps the cookie's revocation keys, which its load
            // takes out and checks as a cookie's.
            if state.ids.sid.is_none() {
                state.ids.sid = Some(SessionId::generate());
            }
            let mut ids = websession_core::Map::new();
            state.ids.write(&mut ids);
            if state.ids.user.is_none() {
                state.removed.insert(USER_KEY.to_owned());
                state.removed.insert(GENERATION_KEY.to_owned());
            }
            for (key, value) in ids {
                state.set(&key, value);
            }
        }
        if let (UserChange::Keep, Some(user)) = (&state.user, &state.ids.user) {
            // A logged-in session keeps its user in the store too
            // (`delete_all_for` reaches it).
            if state.stored.is_none() {
                state.user = UserChange::Set(Some(user.clone()));
            }
        }
        let plan = store_save::plan(self, &state, now);
        store_save::run(self, store, plan, now).await
    }

    /// The mode's name in metrics labels.
    fn mode_name(&self) -> &'static str {
        match &self.codec {
            Codec::Cookie(CookieCodec::Signed(_)) => "signed",
            Codec::Cookie(CookieCodec::Sealed(_)) => "sealed",
            Codec::Cookie(CookieCodec::Starlette(_)) => "starlette",
            Codec::Cookie(CookieCodec::Django(_)) => "django",
            Codec::Store(_) => "store",
        }
    }

    /// As [`Engine::conclude`], but an unreachable overflow store answers
    /// 503 (the cookie is left as it was: nothing the browser holds is
    /// lost).
    fn conclude_overflow(
        &self,
        mut outcome: Outcome,
        saved: Result<Option<String>, SessionError>,
    ) -> Outcome {
        match saved {
            Err(SessionError::Store(e)) if e.kind() == StoreErrorKind::Unavailable => {
                tracing::error!(error = %chain(&e), "overflow store unavailable; answering 503");
                outcome.failed = Some(503);
                outcome
            }
            saved => self.conclude(outcome, saved),
        }
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

impl Opener for Engine {
    fn revocation(&self) -> Option<&Revocation> {
        self.config.revocation.as_ref()
    }

    fn cookie_transport(&self) -> bool {
        self.config.transport.request_header().is_none()
    }

    fn open(&self, raw: Option<RawCookie>) -> Opened<'_> {
        let now = self.config.clock.unix_seconds();
        match &self.codec {
            Codec::Cookie(codec) => {
                if let (Some(overflow), Some(raw)) = (&self.config.overflow, &raw) {
                    if SessionId::parse(raw.as_str()).is_some() {
                        return self.open_overflowed(overflow, raw.clone(), now);
                    }
                }
                let state = SessionState {
                    opened_at: now,
                    ..self.open_cookie(codec, raw.as_ref().map(RawCookie::as_str), now)
                };
                match &self.config.revocation {
                    Some(revocation) if !state.ids.is_empty() => {
                        self.check_revocation(revocation, state, now)
                    }
                    _ => Opened::Ready(state),
                }
            }
            Codec::Store(store) => Opened::Pending(Box::pin(
                async move {
                    let started = std::time::Instant::now();
                    let raw = raw.as_ref().map(RawCookie::as_str);
                    let loaded = self.load_store(&**store, raw, now).await;
                    let span = tracing::Span::current();
                    let outcome = match &loaded {
                        Ok(s) if s.stored.is_some() => "found",
                        Ok(s) if s.unsaved => "failed_open",
                        Ok(_) => "empty",
                        Err(_) => "unavailable",
                    };
                    span.record("outcome", outcome);
                    span.record("elapsed_us", elapsed_us(started));
                    Ok(SessionState {
                        opened_at: now,
                        ..loaded?
                    })
                }
                .instrument(tracing::debug_span!(
                    "websession.load",
                    mode = "store",
                    outcome = tracing::field::Empty,
                    elapsed_us = tracing::field::Empty,
                )),
            )),
        }
    }
}

/// Flask-Login's session key for the logged-in user: a Flask-style login
/// or logout writes it (`login_user`, `logout_user`, or a Flask app that
/// shares the session) without calling `set_user`.
const FLASK_USER_KEY: &str = "_user_id";

/// Whether a session in the overflow store changes hands in this request:
/// `set_user` was called, Flask-Login's `_user_id` was written or removed,
/// or the session was cleared (Flask's usual logout).
fn changes_user(state: &SessionState) -> bool {
    matches!(state.user, UserChange::Set(_))
        || state.cleared
        || state.touched.contains(FLASK_USER_KEY)
        || state.removed.contains(FLASK_USER_KEY)
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
    let emptied = websession_core::store::ChangeSet::touch(now.saturating_add(1))
        .with_cleared()
        .with_user(None);
    match crate::metrics::store_op(
        "cycle_id",
        store.cycle_id(&id.hash(), &scratch, &emptied, now),
    )
    .await
    {
        Ok(()) => {}
        Err(e) if e.kind() == StoreErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    if let Err(e) = crate::metrics::store_op("delete", store.delete(&scratch)).await {
        // It holds nothing, and expires within a second.
        tracing::debug!(error = %chain(&e), "could not delete an emptied session record");
    }
    Ok(true)
}

/// What a cookie-mode save with revocation must do in the store first:
/// `Some(login)` when there is work (a retired id to deny, and the user
/// whose generation a login records, if one logged in); `None` when the
/// cookie can be written at once. The session's id is retired (denied, and
/// a new one given if the session goes on) when:
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
///   [`Revocation::revoke_others`], which checks against the store that
///   this session was current when it bumped the generation
///   (`login_generation` is then set).
fn revocation_work(state: &mut SessionState) -> Option<Option<String>> {
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

/// The revocation verdict on an opened cookie: the state, or an empty
/// session if the cookie was revoked.
fn judge(state: SessionState, verdict: websession_core::store::Verdict) -> SessionState {
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

fn log_rejection(e: &DecodeError) {
    crate::metrics::cookie_rejected(e.itsdangerous_name());
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

/// The Starlette and Django modes: the keys, and no absolute timeout or
/// revocation (they would need keys in the cookie that the Python app would
/// see).
fn check_plain(keys: &KeyRing, config: &SessionConfig) -> Result<(), ConfigError> {
    if config.absolute_timeout.is_some() {
        return Err(ConfigError::Unsupported(
            "an absolute timeout needs a creation time in the session, which Starlette and Django cookies don't carry",
        ));
    }
    if config.revocation.is_some() {
        return Err(ConfigError::Unsupported(
            "revocation needs a session id, user and generation in the session, which Starlette and Django cookies don't carry",
        ));
    }
    if config.overflow.is_some() {
        return Err(ConfigError::Unsupported(
            "overflow would replace the session with a store id that Starlette and Django read as an empty session",
        ));
    }
    check_keys(keys, config.strict_keys)
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
