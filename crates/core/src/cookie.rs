//! Reading the session cookie out of `Cookie` request headers.

/// The value of the first cookie called `name` in the `Cookie` headers, as
/// Werkzeug picks it (first wins; surrounding double quotes dropped).
/// Headers that are not UTF-8 are skipped.
///
/// ```
/// use websession_core::cookie::find_cookie;
/// let headers: [&[u8]; 1] = [b"theme=dark; session=abc.def.ghi"];
/// assert_eq!(find_cookie(headers, "session"), Some("abc.def.ghi"));
/// ```
///
/// Written by hand: it is a scan over `; `-separated pairs with no
/// allocation, on every request, where the `cookie` crate would parse every
/// cookie into an owned value.
pub fn find_cookie<'a>(headers: impl IntoIterator<Item = &'a [u8]>, name: &str) -> Option<&'a str> {
    headers.into_iter().find_map(|header| {
        let range = locate_cookie(header, name)?;
        std::str::from_utf8(&header[range]).ok()
    })
}

/// Where [`find_cookie`]'s value is in one `Cookie` header: its byte range
/// (UTF-8, quotes dropped), if the header is UTF-8 and has the cookie. For
/// servers that keep the header's shared bytes instead of copying the value.
///
/// ```
/// use websession_core::cookie::locate_cookie;
/// assert_eq!(locate_cookie(b"a=1; session=abc", "session"), Some(13..16));
/// assert_eq!(locate_cookie(b"a=1", "session"), None);
/// ```
pub fn locate_cookie(header: &[u8], name: &str) -> Option<std::ops::Range<usize>> {
    let text = std::str::from_utf8(header).ok()?;
    let base = text.as_ptr() as usize;
    for pair in text.split(';') {
        let Some((k, v)) = pair.split_once('=') else {
            continue;
        };
        if k.trim() == name {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            let start = v.as_ptr() as usize - base;
            return Some(start..start + v.len());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{find_cookie, locate_cookie};

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
        assert_eq!(locate_cookie(b"\xff; session=x", "session"), None);
        assert_eq!(
            locate_cookie(b"x=1; session=\"q\"", "session"),
            Some(14..15)
        );
        assert_eq!(locate_cookie(b"session=", "session"), Some(8..8));
    }
}
