//! [`RawCookie`]: the incoming session cookie, kept without copying it.

#[cfg(any(feature = "tower", feature = "actix", test))]
use std::ops::Range;
use std::sync::Arc;

/// The session cookie's value as the request brought it: the `Cookie`
/// header that holds it (a clone shares the header's bytes, it doesn't copy
/// them) and the value's place in it. It lives until the session is opened.
#[derive(Clone)]
pub(crate) enum RawCookie {
    /// Text owned here.
    #[allow(dead_code)] // built by the adapters' tests and by builds without an adapter
    Text(Arc<str>),
    /// A header of the `http` crate (tower, axum).
    #[cfg(feature = "tower")]
    Http(http::HeaderValue, Range<usize>),
    /// A header of actix-web.
    #[cfg(feature = "actix")]
    Actix(actix_web::http::header::HeaderValue, Range<usize>),
}

impl RawCookie {
    /// The cookie's value.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Text(text) => text,
            #[cfg(feature = "tower")]
            Self::Http(header, range) => slice(header.as_bytes(), range),
            #[cfg(feature = "actix")]
            Self::Actix(header, range) => slice(header.as_bytes(), range),
        }
    }

    /// The session cookie among `headers` (`Cookie` header values), found
    /// as Werkzeug finds it, kept as `wrap` makes it from the header.
    #[cfg(any(feature = "tower", feature = "actix"))]
    pub(crate) fn find<'h, H: 'h>(
        headers: impl IntoIterator<Item = &'h H>,
        bytes: impl Fn(&H) -> &[u8],
        name: &str,
        wrap: impl FnOnce(&H, Range<usize>) -> Self,
    ) -> Option<Self> {
        headers
            .into_iter()
            .find_map(|header| {
                let range = websession_core::cookie::locate_cookie(bytes(header), name)?;
                Some((header, range))
            })
            .map(|(header, range)| wrap(header, range))
    }
}

impl RawCookie {
    /// The incoming session value, where `transport` says it is: the
    /// session cookie among `cookies` (the `Cookie` headers), or the token
    /// in the header that `header` finds by name.
    #[cfg(any(feature = "tower", feature = "actix"))]
    pub(crate) fn from_request<'h, H: 'h>(
        transport: &crate::Transport,
        cookie_name: &str,
        cookies: impl IntoIterator<Item = &'h H>,
        header: impl FnOnce(&str) -> Option<&'h H>,
        bytes: impl Fn(&H) -> &[u8],
        wrap: impl FnOnce(&H, Range<usize>) -> Self,
    ) -> Option<Self> {
        match transport.request_header() {
            None => Self::find(cookies, bytes, cookie_name, wrap),
            Some(name) => Self::token(
                header(name),
                bytes,
                matches!(transport, crate::Transport::Bearer { .. }),
                wrap,
            ),
        }
    }

    /// The session token in `header` (a token header's value, or with
    /// `bearer` an `Authorization` value `Bearer <token>`, the scheme in any
    /// case), kept as `wrap` makes it from the header.
    #[cfg(any(feature = "tower", feature = "actix"))]
    pub(crate) fn token<H>(
        header: Option<&H>,
        bytes: impl Fn(&H) -> &[u8],
        bearer: bool,
        wrap: impl FnOnce(&H, Range<usize>) -> Self,
    ) -> Option<Self> {
        let header = header?;
        let range = token_range(bytes(header), bearer)?;
        Some(wrap(header, range))
    }
}

/// Where the token is in a header value: trimmed of spaces and tabs, after
/// `Bearer ` when `bearer`; `None` when there is none (or another scheme).
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

/// The value's text: `locate_cookie` found it in a UTF-8 header, on char
/// boundaries.
#[cfg(any(feature = "tower", feature = "actix"))]
fn slice<'a>(bytes: &'a [u8], range: &Range<usize>) -> &'a str {
    bytes
        .get(range.clone())
        .and_then(|b| std::str::from_utf8(b).ok())
        .unwrap_or_default()
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
