//! Reading the session cookie out of `Cookie` request headers, and
//! Werkzeug's quoting of cookie values.

use std::borrow::Cow;

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
    // `text.split(';')`, with the `memchr` crate's search for each `;` and
    // `=` (the usual header is one or two long values: most of the work).
    let mut rest = text;
    loop {
        let end = memchr::memchr(b';', rest.as_bytes()).unwrap_or(rest.len());
        // ';' and '=' are ASCII, so their byte indices are char boundaries.
        let pair = &rest[..end];
        if let Some(eq) = memchr::memchr(b'=', pair.as_bytes()) {
            let (k, v) = (&pair[..eq], &pair[eq + 1..]);
            if trim(k) == name {
                let v = trim(v);
                let v = v
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(v);
                let start = v.as_ptr() as usize - base;
                return Some(start..start + v.len());
            }
        }
        rest = rest.get(end + 1..)?;
    }
}

/// `str::trim` (Unicode whitespace), with ASCII edges trimmed byte by byte:
/// the common case, a cookie header with spaces after its semicolons,
/// costs no char decoding.
fn trim(s: &str) -> &str {
    // Unicode's White_Space in ASCII: tab, line feed, vertical tab, form
    // feed, carriage return, space.
    let space = |b: &u8| matches!(b, b'\t'..=b'\r' | b' ');
    let bytes = s.as_bytes();
    let start = bytes.iter().position(|b| !space(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !space(b))
        .map_or(start, |i| i + 1);
    // A non-ASCII edge may be Unicode whitespace: the full trim decides.
    if bytes.get(start).is_some_and(|b| !b.is_ascii())
        || end
            .checked_sub(1)
            .and_then(|i| bytes.get(i))
            .is_some_and(|b| !b.is_ascii())
    {
        return s.trim();
    }
    // Both ends are ASCII bytes (or the string is all space): char boundaries.
    &s[start..end]
}

/// The first cookie called `name`, unquoted as Werkzeug's `parse_cookie`
/// does: a value in double quotes loses them and its backslash escapes
/// (`\"`, `\\`, octal `\ooo`) are decoded, then read as UTF-8 (invalid
/// bytes replaced). For cookies whose values may need quoting, such as
/// Flask-Login's remember cookie.
///
/// ```
/// use websession_core::cookie::find_cookie_unquoted;
/// let headers: [&[u8]; 1] = [br#"a=1; remember_token="Ann Lee|\303\251""#];
/// assert_eq!(find_cookie_unquoted(headers, "remember_token").as_deref(), Some("Ann Lee|é"));
/// ```
pub fn find_cookie_unquoted<'a>(
    headers: impl IntoIterator<Item = &'a [u8]>,
    name: &str,
) -> Option<Cow<'a, str>> {
    headers.into_iter().find_map(|header| {
        let text = std::str::from_utf8(header).ok()?;
        text.split(';').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            if k.trim() != name {
                return None;
            }
            let v = v.trim();
            match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                Some(inner) if inner.contains('\\') => Some(Cow::Owned(unslash(inner))),
                Some(inner) => Some(Cow::Borrowed(inner)),
                None => Some(Cow::Borrowed(v)),
            }
        })
    })
}

/// Werkzeug's `_cookie_unslash_re` replacement: `\ooo` (octal, first
/// digit 0-3) is a byte, `\x` is `x`.
fn unslash(inner: &str) -> String {
    let b = inner.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            let oct = |c: u8| (b'0'..=b'7').contains(&c);
            if i + 3 < b.len()
                && (b'0'..=b'3').contains(&b[i + 1])
                && oct(b[i + 2])
                && oct(b[i + 3])
            {
                out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
                i += 4;
            } else {
                out.push(b[i + 1]);
                i += 2;
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A cookie value as Werkzeug's `dump_cookie` writes it: as it is when it
/// only has characters Werkzeug leaves alone (letters, digits, `_` and
/// ``!#$%&'()*+-./:<=>?@[]^`{|}~``), else in double quotes with `"`, `\`,
/// `,`, `;`, bytes 0x00-0x19 and 0x7F-0xFF (UTF-8) backslash-escaped
/// (octal for bytes).
///
/// ```
/// use websession_core::cookie::quote_cookie_value;
/// assert_eq!(quote_cookie_value("42|ab"), "42|ab");
/// assert_eq!(quote_cookie_value("Ann Lee|é"), r#""Ann Lee|\303\251""#);
/// ```
#[must_use]
pub fn quote_cookie_value(value: &str) -> Cow<'_, str> {
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"_!#$%&'()*+-./:<=>?@[]^`{|}~".contains(&b);
    if value.bytes().all(plain) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    out.push('"');
    for b in value.bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x00..=0x19 | b',' | b';' | 0x7f..=0xff => {
                out.push('\\');
                out.push(char::from(b'0' + (b >> 6)));
                out.push(char::from(b'0' + ((b >> 3) & 7)));
                out.push(char::from(b'0' + (b & 7)));
            }
            _ => out.push(char::from(b)),
        }
    }
    out.push('"');
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::{find_cookie, find_cookie_unquoted, locate_cookie, quote_cookie_value, trim};

    #[test]
    fn the_fast_trim_is_str_trim() {
        let edges = [
            "", " ", "\t", "\n", "\u{b}", "\u{c}", "\r", "\u{1c}", "\u{85}", "\u{a0}", "\u{2003}",
            "\u{3000}", "a", "é", "=", "\"",
        ];
        for left in edges {
            for right in edges {
                for middle in ["", "session", "a b", "\u{a0}x\u{a0}", " "] {
                    let s = format!("{left}{middle}{right}");
                    assert_eq!(trim(&s), s.trim(), "{s:?}");
                }
            }
        }
    }

    #[test]
    fn quoting_round_trips_like_werkzeug() {
        for v in ["plain|1", "with space", "q\"uo\\te;,", "\u{1}\u{7f}é😀", ""] {
            let quoted = quote_cookie_value(v);
            let header = format!("x=1; r={quoted}");
            assert_eq!(
                find_cookie_unquoted([header.as_bytes()], "r").as_deref(),
                Some(v),
                "{quoted}"
            );
        }
    }

    /// The `str::split` scan `locate_cookie` replaced, as the oracle.
    fn by_split(header: &[u8], name: &str) -> Option<std::ops::Range<usize>> {
        let text = std::str::from_utf8(header).ok()?;
        let base = text.as_ptr() as usize;
        for pair in text.split(';') {
            let Some((k, v)) = pair.split_once('=') else {
                continue;
            };
            if trim(k) == name {
                let v = trim(v);
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

    #[test]
    fn the_byte_search_finds_what_split_found() {
        let pieces = [
            "session", "=", ";", " ", "\t", "\"", "a", "x=1", "é", "\u{a0}", "session=", "==",
            ";;", "\u{3000}",
        ];
        let mut headers: Vec<Vec<u8>> = vec![b"\xff; session=x".to_vec(), b"session=\xfe".to_vec()];
        // Every sequence of four pieces.
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    for d in pieces {
                        headers.push(format!("{a}{b}{c}{d}").into_bytes());
                    }
                }
            }
        }
        for h in &headers {
            assert_eq!(
                locate_cookie(h, "session"),
                by_split(h, "session"),
                "{:?}",
                String::from_utf8_lossy(h)
            );
        }
    }

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
