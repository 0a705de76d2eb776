//! [`Transport`]: where the session's value travels, and both ends of it:
//! reading the incoming value ([`Transport::read`]) and where a new one
//! goes on the response ([`Via`]).

#[cfg(any(feature = "tower", feature = "actix", test))]
use std::ops::Range;
use std::sync::Arc;

use super::ConfigError;
#[cfg(any(feature = "tower", feature = "actix"))]
use crate::raw::RawCookie;

/// How the session travels between client and server: a cookie (the
/// default, what browsers and Flask use) or a token in a request header, for
/// API and mobile clients that keep the token themselves. The engine, the
/// modes, expiry and rotation are the same; only where the value is read and
/// written changes.
///
/// With a header, the response carries the session's value (the signed or
/// sealed cookie value, or the store id) in a response header whenever a
/// cookie would have been set: the client must send that value from then on.
/// An **empty** value in that header means the session ended (where a cookie
/// would have been deleted): the client drops its token. There is no
/// `Expires`; the server enforces the lifetime and timeouts. Browsers don't
/// send these headers by themselves, so header tokens need no CSRF defence,
/// and the cookie attributes (`Domain`, `Path`, `Secure`, `SameSite`…) don't
/// apply. The `Cookie` header is ignored, by the session and by
/// [`FlaskLogin`](crate::flask::FlaskLogin) alike: with a header transport
/// no remember cookie is read or written, so no cookie a browser sends by
/// itself can log anyone in. (A route that reads a cookie of its own
/// to authenticate brings the CSRF question back; don't.)
///
/// ```
/// use websession::{SessionConfig, Transport};
/// // Requests send `Authorization: Bearer <token>`; new tokens come back in
/// // `x-session-token`.
/// let config = SessionConfig::default().with_transport(Transport::bearer("x-session-token"));
/// config.validate()?;
/// # Ok::<(), websession::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Transport {
    /// The session cookie ([`CookieAttributes::with_name`](crate::CookieAttributes::with_name)).
    #[default]
    Cookie,
    /// The token in this header on requests and on responses (lowercase,
    /// e.g. `x-session-token`).
    Header(String),
    /// `Authorization: Bearer <token>` on requests; new tokens in the
    /// response header `response` (lowercase).
    Bearer {
        /// The response header that carries a new token.
        response: String,
    },
}

impl Transport {
    /// The token in the header `name`, both ways.
    ///
    /// ```
    /// let t = websession::Transport::header("x-session-token");
    /// assert_eq!(t, websession::Transport::Header("x-session-token".into()));
    /// ```
    #[must_use]
    pub fn header(name: &str) -> Self {
        Self::Header(name.to_ascii_lowercase())
    }

    /// `Authorization: Bearer` on requests, new tokens in the response
    /// header `response`.
    ///
    /// ```
    /// let t = websession::Transport::bearer("x-session-token");
    /// assert!(matches!(t, websession::Transport::Bearer { .. }));
    /// ```
    #[must_use]
    pub fn bearer(response: &str) -> Self {
        Self::Bearer {
            response: response.to_ascii_lowercase(),
        }
    }

    /// The header a request's token is read from (`None`: the cookie).
    pub(crate) fn request_header(&self) -> Option<&str> {
        match self {
            Self::Cookie => None,
            Self::Header(name) => Some(name),
            Self::Bearer { .. } => Some("authorization"),
        }
    }

    /// The header a new token is written to (`None`: `Set-Cookie`).
    pub(crate) fn response_header(&self) -> Option<&str> {
        match self {
            Self::Cookie => None,
            Self::Header(name) | Self::Bearer { response: name } => Some(name),
        }
    }

    /// Whether the session travels in a cookie (not a token header).
    pub(crate) fn is_cookie(&self) -> bool {
        self.request_header().is_none()
    }

    /// Checks a token header's name.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        match self.response_header() {
            Some(name) if !valid_token_header(name) => {
                Err(ConfigError::TokenHeader(name.to_owned()))
            }
            _ => Ok(()),
        }
    }

    /// The incoming session value: the cookie `cookie_name` among `cookies`
    /// (the `Cookie` headers), or the token in the header that `header`
    /// finds by name; kept as `wrap` makes it from the header.
    #[cfg(any(feature = "tower", feature = "actix"))]
    pub(crate) fn read<'h, H: 'h>(
        &self,
        cookie_name: &str,
        cookies: impl IntoIterator<Item = &'h H>,
        header: impl FnOnce(&str) -> Option<&'h H>,
        bytes: impl Fn(&H) -> &[u8],
        wrap: impl FnOnce(&H, Range<usize>) -> RawCookie,
    ) -> Option<RawCookie> {
        let Some(name) = self.request_header() else {
            return RawCookie::find(cookies, bytes, cookie_name, wrap);
        };
        let header = header(name)?;
        let range = token_range(bytes(header), matches!(self, Self::Bearer { .. }))?;
        Some(wrap(header, range))
    }
}

/// Whether `name` is a header name a token may travel in: an HTTP token,
/// lowercase, and none of the headers with a meaning of their own.
fn valid_token_header(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$%&'*+-.^_`|~".contains(&b)
        })
        && !matches!(
            name,
            "cookie"
                | "set-cookie"
                | "authorization"
                | "vary"
                | "cache-control"
                | "content-length"
                | "host"
        )
}

/// Where the token is in a header value: trimmed of spaces and tabs, after
/// `Bearer ` when `bearer` (the scheme in any case); `None` when there is
/// none (or another scheme).
#[cfg(any(feature = "tower", feature = "actix", test))]
fn token_range(value: &[u8], bearer: bool) -> Option<Range<usize>> {
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let mut start = value.iter().position(|b| !blank(b))?;
    if bearer {
        let scheme = value.get(start..start + 6)?;
        if !scheme.eq_ignore_ascii_case(b"bearer") || !value.get(start + 6).is_some_and(blank) {
            return None;
        }
        start += 6;
        start += value.get(start..)?.iter().position(|b| !blank(b))?;
    }
    let end = value.len() - value.iter().rev().position(|b| !blank(b))?;
    (start < end && std::str::from_utf8(value.get(start..end)?).is_ok()).then_some(start..end)
}

/// Where the session's value goes on the response.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) enum Via {
    /// `Set-Cookie`, with `Vary: Cookie`.
    #[default]
    Cookie,
    /// A token header: the value alone in the header `set`, with `Vary` on
    /// the request's header `vary`.
    Header { set: Arc<str>, vary: Arc<str> },
}

impl Via {
    pub(crate) fn new(transport: &Transport) -> Self {
        match (transport.response_header(), transport.request_header()) {
            (Some(set), Some(vary)) => Self::Header {
                set: set.into(),
                vary: vary.into(),
            },
            _ => Self::Cookie,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::token_range;

    #[test]
    fn tokens_in_headers() {
        assert_eq!(token_range(b"abc.def", false), Some(0..7));
        assert_eq!(token_range(b"  abc \t", false), Some(2..5));
        assert_eq!(token_range(b"", false), None);
        assert_eq!(token_range(b"   ", false), None);
        assert_eq!(token_range(b"Bearer abc", true), Some(7..10));
        assert_eq!(token_range(b"bearer   abc ", true), Some(9..12));
        assert_eq!(token_range(b"BEARER\tabc", true), Some(7..10));
        assert_eq!(token_range(b"Bearer", true), None);
        assert_eq!(token_range(b"Bearer ", true), None);
        assert_eq!(token_range(b"Bearerabc", true), None);
        assert_eq!(token_range(b"Basic dXNlcjpwYXNz", true), None);
        assert_eq!(token_range(b"abc", true), None);
        assert_eq!(token_range(&[0xff, 0xfe], false), None);
    }
}
