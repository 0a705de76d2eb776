//! What the engine hands back at the end of a request, and the one place
//! where the response-header rules live (`Vary`, `Cache-Control`, the
//! `Set-Cookie` attributes, the status of a failed save). Adapters only
//! implement [`ResponseHeaders`] for their framework's header map.

use std::fmt::Write as _;

use time::OffsetDateTime;
use websession_core::date::http_date;

use crate::config::SessionConfig;
use crate::state::BoxFuture;

/// The end of a request's session: headers to add now, or a store write to
/// await first.
pub(crate) enum Finish {
    /// Nothing to wait for.
    Ready(Outcome),
    /// Store mode: the write, then the headers.
    Save(BoxFuture<'static, Outcome>),
}

/// What to do to the response.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// A `Set-Cookie` header value.
    pub(crate) set_cookie: Option<String>,
    /// Add `Vary: Cookie` (unless the response already varies on it).
    pub(crate) vary: bool,
    /// Add `Cache-Control: no-store` with the cookie, unless the handler set
    /// a `Cache-Control` itself.
    pub(crate) no_store: bool,
    /// The session could not be saved: replace the response with a bare
    /// response of this status (the details are already logged).
    pub(crate) failed: Option<u16>,
}

/// The headers the session touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Header {
    Vary,
    SetCookie,
    CacheControl,
}

/// A framework's response header map, as the engine needs it.
pub(crate) trait ResponseHeaders {
    /// Whether any `Vary` value already covers `Cookie` (or is `*`).
    fn varies_on_cookie(&self) -> bool;
    /// Whether the header is present.
    fn contains(&self, name: Header) -> bool;
    /// Appends a header whose value is visible ASCII.
    fn append(&mut self, name: Header, value: &str);
}

impl Outcome {
    /// Applies the outcome to a response that is kept (`failed` is `None`).
    pub(crate) fn apply(self, headers: &mut impl ResponseHeaders) {
        if self.vary && !headers.varies_on_cookie() {
            headers.append(Header::Vary, "Cookie");
        }
        if let Some(cookie) = self.set_cookie {
            headers.append(Header::SetCookie, &cookie);
            if self.no_store && !headers.contains(Header::CacheControl) {
                headers.append(Header::CacheControl, "no-store");
            }
        }
    }
}

/// Whether `Vary` header values already cover `Cookie` (or `*`).
pub(crate) fn varies_on_cookie<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> bool {
    values.into_iter().any(|v| {
        std::str::from_utf8(v).is_ok_and(|v| {
            v.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("cookie") || t.trim() == "*")
        })
    })
}

/// The `Set-Cookie` value that deletes the cookie, with the attributes it
/// was set with.
pub(crate) fn removal_cookie(config: &SessionConfig) -> String {
    cookie_header(config, "", Some(OffsetDateTime::UNIX_EPOCH), true)
}

/// A `Set-Cookie` value in Werkzeug's `dump_cookie` attribute order: Domain,
/// Expires, Max-Age, Secure, HttpOnly, Path, SameSite, Partitioned.
pub(crate) fn cookie_header(
    c: &SessionConfig,
    value: &str,
    expires: Option<OffsetDateTime>,
    removal: bool,
) -> String {
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

/// A Unix time as a date, saturated to the calendar `time` can hold (a
/// configuration can't get there: `validate` caps lifetimes, but an injected
/// clock could).
pub(crate) fn from_unix_saturating(secs: u64) -> OffsetDateTime {
    let max = OffsetDateTime::new_utc(time::Date::MAX, time::macros::time!(23:59:59));
    i64::try_from(secs)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .map_or(max, |t| t.min(max))
}
