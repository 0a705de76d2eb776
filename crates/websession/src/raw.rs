//! [`RawCookie`]: the incoming session cookie, kept without copying it.

#[cfg(any(feature = "tower", feature = "actix"))]
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

/// The value's text: `locate_cookie` found it in a UTF-8 header, on char
/// boundaries.
#[cfg(any(feature = "tower", feature = "actix"))]
fn slice<'a>(bytes: &'a [u8], range: &Range<usize>) -> &'a str {
    bytes
        .get(range.clone())
        .and_then(|b| std::str::from_utf8(b).ok())
        .unwrap_or_default()
}
