//! What the engine hands back at the end of a request, and the one place
//! where the response-header rules live (`Vary`, `Cache-Control`, the
//! `Set-Cookie` attributes, the status of a failed save). Adapters only
//! implement [`ResponseHeaders`] for their framework's header map.

use std::fmt::Write as _;

use time::OffsetDateTime;
use websession_core::date::http_date;

use crate::config::{CookieAttributes, Transport, Via};
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
    /// A `Set-Cookie` header value (or, with a token header, the token; empty
    /// to end the session).
    pub(crate) set_cookie: Option<String>,
    /// Where `set_cookie` goes.
    pub(crate) via: Via,
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
pub(crate) enum Header<'a> {
    Vary,
    SetCookie,
    CacheControl,
    /// A token header, by its (validated, lowercase) name.
    Named(&'a str),
}

/// A framework's response header map, as the engine needs it.
pub(crate) trait ResponseHeaders {
    /// Whether any `Vary` value already covers `name` (or is `*`).
    fn varies_on(&self, name: &str) -> bool;
    /// Whether the header is present.
    fn contains(&self, name: Header<'_>) -> bool;
    /// Appends a header whose value is visible ASCII.
    fn append(&mut self, name: Header<'_>, value: String);
    /// Appends one of the engine's fixed values (`Vary: Cookie`,
    /// `Cache-Control: no-store`), which needs no copy.
    fn append_static(&mut self, name: Header<'_>, value: &'static str);

    /// Adds `Cache-Control: no-store` unless the response has a
    /// `Cache-Control` of its own. A header map that can look the name up
    /// once for both overrides it.
    fn no_store_unless_set(&mut self) {
        if !self.contains(Header::CacheControl) {
            self.append_static(Header::CacheControl, "no-store");
        }
    }

    /// Adds `Vary: Cookie` unless the response already varies on it (or on
    /// `*`). A header map that can look the name up once for both overrides it.
    fn vary_on_cookie(&mut self) {
        if !self.varies_on("Cookie") {
            self.append_static(Header::Vary, "Cookie");
        }
    }
}

impl Outcome {
    /// Applies the outcome to a response that is kept (`failed` is `None`).
    pub(crate) fn apply(self, headers: &mut impl ResponseHeaders) {
        let (vary, set) = match &self.via {
            Via::Cookie => ("Cookie", Header::SetCookie),
            Via::Header { set, vary } => (&**vary, Header::Named(set)),
        };
        if self.vary {
            match &self.via {
                Via::Cookie => headers.vary_on_cookie(),
                Via::Header { .. } if !headers.varies_on(vary) => {
                    headers.append(Header::Vary, vary.to_owned());
                }
                Via::Header { .. } => {}
            }
        }
        if let Some(cookie) = self.set_cookie {
            headers.append(set, cookie);
            if self.no_store {
                headers.no_store_unless_set();
            }
        }
    }
}

/// Whether `Vary` header values already cover `name` (or `*`).
pub(crate) fn varies_on<'a>(values: impl IntoIterator<Item = &'a [u8]>, name: &str) -> bool {
    values.into_iter().any(|v| {
        std::str::from_utf8(v).is_ok_and(|v| {
            v.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case(name) || t.trim() == "*")
        })
    })
}

/// The `Set-Cookie` header's fixed parts, built once from the config:
/// Werkzeug's `dump_cookie` attribute order is Domain, Expires, Max-Age,
/// Secure, HttpOnly, Path, SameSite, Partitioned, and only `Expires` (and
/// the value) change from one response to the next.
pub(crate) struct CookieTemplate {
    /// `name=`.
    name_eq: String,
    /// `; Domain=…` or nothing.
    domain: String,
    /// `; Secure; HttpOnly; Path=…; SameSite=…; Partitioned`, as configured.
    tail: String,
    /// The whole header that deletes the cookie.
    removal: String,
    /// A token header: the value alone, and an empty one to end a session.
    token: bool,
}

impl CookieTemplate {
    pub(crate) fn new(c: &CookieAttributes, transport: &Transport) -> Self {
        let mut tail = String::new();
        if c.is_secure() {
            tail.push_str("; Secure");
        }
        if c.http_only {
            tail.push_str("; HttpOnly");
        }
        let _ = write!(tail, "; Path={}", c.path);
        if let Some(same_site) = c.same_site {
            let _ = write!(tail, "; SameSite={same_site}");
        }
        if c.partitioned {
            tail.push_str("; Partitioned");
        }
        let name_eq = format!("{}=", c.name);
        let domain = c
            .domain
            .as_ref()
            .map_or_else(String::new, |d| format!("; Domain={d}"));
        let removal = format!(
            "{name_eq}{domain}; Expires={}; Max-Age=0{tail}",
            http_date(OffsetDateTime::UNIX_EPOCH)
        );
        let token = transport.response_header().is_some();
        Self {
            name_eq,
            domain,
            tail,
            removal: if token { String::new() } else { removal },
            token,
        }
    }

    /// The `Set-Cookie` value that deletes the cookie, with the attributes
    /// it was set with.
    pub(crate) fn removal(&self) -> String {
        self.removal.clone()
    }

    /// A `Set-Cookie` value carrying `value`, with `Expires` at `expires`
    /// (Unix seconds) for a permanent session.
    pub(crate) fn header(&self, value: &str, expires: Option<u64>) -> String {
        if self.token {
            return value.to_owned();
        }
        // Every HTTP date has the length of this one.
        const EXPIRES_LEN: usize = "; Expires=Sun, 06 Nov 1994 08:49:37 GMT".len();
        let mut h = String::with_capacity(
            self.name_eq.len() + value.len() + self.domain.len() + self.tail.len() + EXPIRES_LEN,
        );
        h.push_str(&self.name_eq);
        h.push_str(value);
        h.push_str(&self.domain);
        if let Some(expires) = expires {
            h.push_str("; Expires=");
            push_http_date(&mut h, expires);
        }
        h.push_str(&self.tail);
        h
    }
}

thread_local! {
    /// The last `Expires` written on this thread: busy servers write the
    /// same second's date many times.
    static LAST_DATE: std::cell::RefCell<(u64, String)> =
        const { std::cell::RefCell::new((u64::MAX, String::new())) };
}

/// Appends the HTTP date of `secs`, formatted once per second per thread.
fn push_http_date(out: &mut String, secs: u64) {
    LAST_DATE.with(|cell| {
        let mut last = cell.borrow_mut();
        if last.0 != secs {
            *last = (secs, http_date(from_unix_saturating(secs)));
        }
        out.push_str(&last.1);
    });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_permanent_cookie_header_is_built_in_one_allocation() {
        let template = CookieTemplate::new(&CookieAttributes::default(), &Transport::default());
        // A date with a four-digit year: every date a cookie gets.
        let header = template.header("eyJhIjoxfQ.Z1b2c3.signature", Some(1_796_699_777));
        assert!(header.contains("; Expires=Tue, 08 Dec 2026 "), "{header}");
        // A reallocation would have doubled the capacity.
        assert_eq!(header.capacity(), header.len(), "{header}");
    }
}
