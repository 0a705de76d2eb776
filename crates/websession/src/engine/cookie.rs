//! The cookie modes' engine and its cookie stage: opening the incoming
//! cookie and writing the outgoing one, in one of the [`CookieFormat`]s.
//! The request path around it (revocation, overflow) is `cookie_mode.rs`.

use websession_core::format::CookieFormat;
use websession_core::store::SessionId;
use websession_core::KeyRing;

use super::{check_keys, log_rejection, Shared};
use crate::config::{ConfigError, SessionConfig};
use crate::error::SessionError;
use crate::overflow::Overflow;
use crate::revocation::{CookieIds, Revocation, GENERATION_KEY, SID_KEY, USER_KEY};
use crate::state::{InCookie, Kept, SessionState};

/// The engine of the cookie modes (signed, sealed, Starlette, Django).
pub(crate) struct CookieEngine {
    pub(crate) shared: Shared,
    pub(super) format: Box<dyn CookieFormat>,
    /// The store that revokes cookies, if any.
    pub(crate) revocation: Option<Revocation>,
    /// The store too large a session moves to, if any.
    pub(crate) overflow: Option<Overflow>,
}

/// What a cookie write produced.
pub(super) enum Written {
    /// Nothing to send: the cookie the client holds stays as it is.
    Nothing,
    /// The `Set-Cookie` header value (a deletion when the session emptied).
    Header(String),
    /// The session doesn't fit in a cookie: its header would be this long.
    TooLarge(usize),
}

impl CookieEngine {
    /// Validates `config`, then checks it against the format and the keys
    /// in that order (the first problem is the error). The formats that hold
    /// exactly a Python framework's session
    /// ([`CookieFormat::carries_own_keys`]) can't keep an absolute timeout,
    /// timeout: it needs a key in the cookie that the Python app would see. `format` is the format built from `keys`, or why it
    /// couldn't be. Revocation and overflow are set afterwards, by
    /// [`CookieSessions`](crate::CookieSessions) (formats that carry no keys
    /// of their own never get them).
    pub(crate) fn new(
        config: SessionConfig,
        keys: &KeyRing,
        format: Result<Box<dyn CookieFormat>, ConfigError>,
    ) -> Result<Self, ConfigError> {
        let mut shared = Shared::new(config)?;
        if let Ok(format) = &format {
            if !format.carries_own_keys() {
                check_plain(&shared.config)?;
            }
            let at_browser_close = shared.config.lifetime.expire_at_browser_close;
            shared
                .policy
                .set_format_rule(format.carries_own_keys(), at_browser_close);
        }
        check_keys(keys, shared.config.strict_keys)?;
        Ok(Self {
            shared,
            format: format?,
            revocation: None,
            overflow: None,
        })
    }

    /// Opens a session from the cookie's value at `now` (its `opened_at`).
    /// Any failure gives an empty session (and a log line with the reason,
    /// never the cookie).
    pub(super) fn open_cookie(&self, raw: Option<&str>, now: u64) -> SessionState {
        let empty = || SessionState {
            opened_at: now,
            ..SessionState::empty()
        };
        let Some(raw) = raw.filter(|r| !r.is_empty()) else {
            return empty();
        };
        let policy = &self.shared.policy;
        let checked = self.format.read(raw, now).and_then(|opened| {
            let lifetime = policy.lifetime(&opened.data);
            policy.check_cookie(now, lifetime, opened.issued_at, opened.created_at)?;
            Ok((opened, lifetime))
        });
        match checked {
            Ok((mut opened, lifetime)) => {
                // A Python framework's session has no keys of ours.
                let ids = if self.format.carries_own_keys() {
                    CookieIds::take(&mut opened.data)
                } else {
                    CookieIds::default()
                };
                let kept = Kept::Cookie(InCookie {
                    origin: Some(opened.origin),
                    issued_at: Some(opened.issued_at),
                    lifetime: Some(lifetime),
                });
                SessionState {
                    ids,
                    created_at: opened.created_at,
                    opened_at: now,
                    ..SessionState::new(opened.data, kept)
                }
            }
            Err(e) => {
                log_rejection(&e);
                empty()
            }
        }
    }

    /// The cookie to send for `state`, if any: a deletion when it emptied;
    /// the data when it changed, was cycled, or is due for a refresh (an
    /// unchanged cookie is issued again from the incoming one, without
    /// encoding it again).
    ///
    /// Kept whole, in the order of Flask's `save_session`: it reads the
    /// incoming cookie's origin from `state.kept` while it writes the ids in
    /// `state.ids`, disjoint borrows a split into functions would have to
    /// trade for a copy on every request.
    pub(super) fn write_cookie(
        &self,
        state: &mut SessionState,
        now: u64,
    ) -> Result<Written, SessionError> {
        let (config, policy) = (&self.shared.config, &self.shared.policy);
        if state.data.is_empty() {
            return Ok(match state.modified {
                true => Written::Header(self.shared.cookie.removal()),
                false => Written::Nothing,
            });
        }
        let permanent = policy.expires_cookie(&state.data);
        // A session out of the overflow store was issued no cookie yet.
        let (origin, issued_at, opened_lifetime) = match &state.kept {
            Kept::Cookie(cookie) => (cookie.origin.as_ref(), cookie.issued_at, cookie.lifetime),
            Kept::Store(_) => (None, None, None),
        };
        // Unchanged data has the lifetime it opened with.
        let lifetime = match opened_lifetime {
            Some(lifetime) if !state.modified => lifetime,
            _ => policy.lifetime(&state.data),
        };
        let refresh = policy.refresh_due(now, permanent, lifetime, issued_at);
        if !(state.modified || refresh || state.cycled) {
            return Ok(Written::Nothing);
        }
        let created_at = policy.created_at(state.created_at, now);
        // With revocation, every cookie session carries an id: a session
        // without one gets it now.
        let new_sid = self.revocation.is_some() && state.ids.sid.is_none();
        if new_sid {
            state.ids.sid = Some(SessionId::generate());
        }
        let unchanged = !state.modified && !new_sid && created_at == state.created_at;
        if !unchanged && self.revocation.is_some() {
            state.ids.write(&mut state.data);
        }
        let reissued = match (origin, unchanged) {
            (Some(origin), true) => self.format.reissue(origin, &state.data, now, created_at),
            _ => None,
        };
        let from_cookie = origin.is_some();
        let value = match reissued {
            Some(value) => value,
            None => self.format.write(&mut state.data, now, created_at)?,
        };
        if !unchanged && self.overflow.is_some() {
            // The state may yet go to the overflow store: without the
            // cookie's revocation keys.
            for key in [SID_KEY, USER_KEY, GENERATION_KEY] {
                state.data.remove(key);
            }
        }
        let expires = permanent.then(|| policy.expiry(now, lifetime, created_at, 0));
        let header = self.shared.cookie.header(&value, expires);
        if header.len() > config.max_cookie_size {
            return Ok(Written::TooLarge(header.len()));
        }
        if !from_cookie {
            crate::metrics::session_event("created", self.format.name());
        } else if state.cycled {
            crate::metrics::session_event("rotated", self.format.name());
        }
        Ok(Written::Header(header))
    }

    /// The save without overflow: the cookie, or the error of one too large.
    pub(super) fn write_or_refuse(
        &self,
        state: &mut SessionState,
        now: u64,
    ) -> Result<Option<String>, SessionError> {
        match self.write_cookie(state, now)? {
            Written::Nothing => Ok(None),
            Written::Header(header) => Ok(Some(header)),
            Written::TooLarge(size) => Err(SessionError::CookieTooLarge {
                size,
                limit: self.shared.config.max_cookie_size,
            }),
        }
    }
}

/// The Starlette and Django formats: no absolute timeout (it needs a
/// creation time in the cookie, which the Python app would see).
fn check_plain(config: &SessionConfig) -> Result<(), ConfigError> {
    if config.lifetime.absolute_timeout.is_some() {
        return Err(ConfigError::Unsupported(
            "an absolute timeout needs a creation time in the session, which Starlette and Django cookies don't carry",
        ));
    }
    Ok(())
}
