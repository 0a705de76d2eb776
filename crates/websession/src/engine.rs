//! The framework-free engine: every decision about reading and writing the
//! session cookie. The tower and actix adapters only move headers.

use std::fmt::Write as _;

use time::OffsetDateTime;
use websession_core::json::http_date;
use websession_core::{unix_seconds, DecodeError, FlaskCodec, KeyRing, Map};

use crate::config::{ConfigError, SessionConfig};
use crate::error::SessionError;
use crate::session::{is_permanent, Loaded, Session};

/// How sessions are kept.
#[derive(Clone, Debug)]
pub(crate) enum Mode {
    /// Flask's signed cookie.
    Signed(KeyRing),
}

enum Codec {
    Signed(FlaskCodec),
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
        let codec = match mode {
            Mode::Signed(keys) => {
                check_keys(&keys, config.strict_keys)?;
                Codec::Signed(FlaskCodec::new(&keys).with_max_age(config.max_age_secs()))
            }
        };
        Ok(Self { config, codec })
    }

    /// Decodes an incoming cookie. Any failure gives an empty session.
    pub(crate) fn load(&self, raw: Option<String>) -> Loaded {
        let empty = Loaded {
            data: Map::new(),
            modified: false,
            origin: None,
        };
        let Some(raw) = raw.filter(|r| !r.is_empty()) else {
            return empty;
        };
        let now = self.config.clock.unix_seconds();
        let result = match &self.codec {
            Codec::Signed(codec) => codec.decode(&raw, now).map(|d| d.data),
        };
        match result {
            Ok(data) => Loaded {
                data,
                modified: false,
                origin: Some(raw),
            },
            Err(e) => {
                log_rejection(&e);
                empty
            }
        }
    }

    /// Flask's `save_session`, in its exact decision order.
    pub(crate) fn finish(&self, session: &Session, status: u16) -> Result<Outcome, SessionError> {
        let state = session.lock();
        let Some(loaded) = &state.loaded else {
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
        let refresh = permanent && config.refresh_each_request;
        if !(loaded.modified || refresh) {
            return Ok(outcome);
        }
        let now = config.clock.now();
        let value = match &self.codec {
            Codec::Signed(codec) => {
                let resigned = match (&loaded.origin, loaded.modified) {
                    // Refresh of unchanged data: the payload is already encoded.
                    (Some(origin), false) => codec.resign(origin, unix_seconds(now)),
                    _ => None,
                };
                resigned.unwrap_or_else(|| codec.encode(&loaded.data, unix_seconds(now)))
            }
        };
        let expires = permanent.then(|| now + config.permanent_lifetime);
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

/// The value of the first cookie called `name` in the `Cookie` headers, as
/// Werkzeug picks it (first wins; surrounding double quotes dropped).
///
/// Written by hand: it is a scan over `; `-separated pairs with no
/// allocation, on every request, where the `cookie` crate would parse every
/// cookie into an owned value.
pub(crate) fn find_cookie<'a>(
    headers: impl IntoIterator<Item = &'a [u8]>,
    name: &str,
) -> Option<&'a str> {
    for header in headers {
        let Ok(header) = std::str::from_utf8(header) else {
            continue;
        };
        for pair in header.split(';') {
            let Some((k, v)) = pair.split_once('=') else {
                continue;
            };
            if k.trim() == name {
                let v = v.trim();
                let v = v
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(v);
                return Some(v);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::find_cookie;

    #[test]
    fn finds_the_first_cookie_of_a_name() {
        let h: [&[u8]; 2] = [b"a=1; session=first; b=2", b"session=second"];
        assert_eq!(find_cookie(h, "session"), Some("first"));
        assert_eq!(
            find_cookie([&b"xsession=1;session=\"q\""[..]], "session"),
            Some("q")
        );
        assert_eq!(find_cookie([&b"session"[..]], "session"), None);
        assert_eq!(find_cookie([&b"\xff\xfe; session=x"[..]], "session"), None);
        assert_eq!(find_cookie([&b"session="[..]], "session"), Some(""));
    }
}
