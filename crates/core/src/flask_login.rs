//! Flask-Login's wire formats (Flask-Login 0.6.3), framework-free: the
//! client identifier that session protection compares, and the "remember
//! me" cookie.
//!
//! The rules for using them (what `login_user`, `logout_user` and the user
//! loader do with the session) live in the `websession` crate's
//! `flask::login` module; this module only makes and checks bytes.
//!
//! # The identifier (`_id`)
//!
//! ```text
//! _id = sha512(f"{addr!r}|{user_agent!r}".encode()).hexdigest()
//! ```
//!
//! where `addr` and `user_agent` are Python `bytes` (or `None`), so the text
//! hashed is Python's bytes repr: `b'127.0.0.1'|b'Mozilla/5.0'`. `addr` is
//! the first comma-separated item of `X-Forwarded-For`, stripped, when that
//! header is present, else the peer address. Header bytes reach Flask as
//! Latin-1 text that Flask-Login encodes as UTF-8, so a byte `0xE9` is hashed
//! as `\xc3\xa9`; [`session_identifier`] does the same.
//!
//! # The remember cookie
//!
//! ```text
//! remember_token = user_id "|" hex(HMAC-SHA512(SECRET_KEY, user_id))
//! ```
//!
//! Only `SECRET_KEY` signs and verifies it (Flask-Login ignores
//! `SECRET_KEY_FALLBACKS`); a `str` key is used as its **Latin-1** bytes
//! (Flask's session uses UTF-8), so a non-ASCII text key needs
//! [`Key::from_latin1`](crate::Key::from_latin1) here.
//!
//! ## Bound to a generation (websession's extension)
//!
//! Flask-Login's cookie can't be revoked: it is valid for as long as the
//! key. When the app revokes logins by a per-user *generation* (websession's
//! `Revocation`), a remember cookie issued at generation `g > 0` carries it:
//!
//! ```text
//! remember_token = user_id "|g" g "." hex(HMAC-SHA512(K, g "\0" user_id))
//! K = HMAC-SHA512(SECRET_KEY, 0xFF "websession-remember-generation")
//! ```
//!
//! The derived key `K` keeps the two forms apart. Its label starts with the
//! byte 0xFF, which no UTF-8 text contains, so no user id (Flask-Login
//! hashes the id's UTF-8 bytes) has `K` as its token's digest, and no
//! Flask-Login token signs a token with a generation.
//!
//! At generation 0 (a user never logged out everywhere) the token is
//! exactly Flask-Login's, so a Flask app sharing the key reads it. A token
//! with a generation fails Flask-Login's check (its digest is not the one
//! Flask-Login computes), so Flask treats it as no cookie at all: it never
//! loads a user from it, and never restores one that was revoked.

use std::fmt;
use std::fmt::Write as _;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest as _, Sha512};

use crate::error::DecodeError;
use crate::key::Key;

/// Flask-Login's default `REMEMBER_COOKIE_NAME`.
pub const REMEMBER_COOKIE_NAME: &str = "remember_token";

/// Flask-Login's default `REMEMBER_COOKIE_DURATION`: 365 days, in seconds.
pub const REMEMBER_COOKIE_DURATION: u64 = 365 * 24 * 60 * 60;

/// The session keys Flask-Login writes (its `SESSION_KEYS`); "strong"
/// session protection removes them all.
pub const SESSION_KEYS: [&str; 6] = [
    "_user_id",
    "_remember",
    "_remember_seconds",
    "_id",
    "_fresh",
    "next",
];

/// Flask-Login's `_create_identifier()`: the SHA-512 hex digest that
/// session protection stores as `_id` and compares on every load.
///
/// - `remote_addr`: the peer address as the server reports it
///   (`request.remote_addr`), `None` if unknown;
/// - `forwarded_for`: the raw bytes of the `X-Forwarded-For` header, if the
///   request has one (Flask-Login trusts it, as it does);
/// - `user_agent`: the raw bytes of the `User-Agent` header, if any.
///
/// # Examples
///
/// ```
/// use websession_core::flask_login::session_identifier;
///
/// // Flask-Login 0.6.3 for REMOTE_ADDR 127.0.0.1 and "User-Agent: curl/8.5.0":
/// assert_eq!(
///     session_identifier(Some("127.0.0.1"), None, Some("curl/8.5.0".as_bytes())),
///     "36646aa58fb1704b0c91f63d25a2ea3f646133864435a284f63032429e0e21acd30239c0875c0be3c470d75a3eccd0b19f9cba433db25df33ac7effd1fa6757e"
/// );
/// ```
#[must_use]
pub fn session_identifier(
    remote_addr: Option<&str>,
    forwarded_for: Option<&[u8]>,
    user_agent: Option<&[u8]>,
) -> String {
    let mut base = String::with_capacity(128);
    let address = match forwarded_for {
        Some(header) => Some(strip_ascii_whitespace(
            header.split(|&b| b == b',').next().unwrap_or_default(),
        )),
        None => remote_addr.map(str::as_bytes),
    };
    push_latin1_bytes_repr(&mut base, address);
    base.push('|');
    push_latin1_bytes_repr(&mut base, user_agent);
    let digest = Sha512::digest(base.as_bytes());
    hex::encode(digest)
}

/// Python's `bytes.strip()`: ASCII whitespace (space, `\t\n\r\x0b\x0c`).
fn strip_ascii_whitespace(mut b: &[u8]) -> &[u8] {
    let ws = |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
    while let Some((first, rest)) = b.split_first() {
        if !ws(first) {
            break;
        }
        b = rest;
    }
    while let Some((last, rest)) = b.split_last() {
        if !ws(last) {
            break;
        }
        b = rest;
    }
    b
}

/// Appends `repr(text.encode("utf-8"))` where `text` is `raw` read as
/// Latin-1 (what WSGI makes of header bytes), or `None`.
fn push_latin1_bytes_repr(out: &mut String, raw: Option<&[u8]>) {
    let Some(raw) = raw else {
        out.push_str("None");
        return;
    };
    // Latin-1 text to UTF-8 bytes: 0x00-0x7F stay, 0x80-0xFF become two bytes.
    let mut utf8 = Vec::with_capacity(raw.len());
    for &b in raw {
        if b < 0x80 {
            utf8.push(b);
        } else {
            utf8.push(0xC0 | (b >> 6));
            utf8.push(0x80 | (b & 0x3F));
        }
    }
    push_bytes_repr(out, &utf8);
}

/// Python's `repr(bytes)`: `b'...'`, or `b"..."` when the bytes hold a `'`
/// and no `"`.
pub(crate) fn push_bytes_repr(out: &mut String, bytes: &[u8]) {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    out.push('b');
    out.push(char::from(quote));
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            _ if b == quote => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push(char::from(quote));
}

/// Signs and verifies Flask-Login's remember cookie
/// (`encode_cookie`/`decode_cookie`) with one secret key.
///
/// The key's HMAC state is computed once.
///
/// # Examples
///
/// ```
/// use websession_core::flask_login::RememberSigner;
/// use websession_core::Key;
///
/// let signer = RememberSigner::new(&Key::from_utf8("correct horse battery staple")?);
/// let token = signer.sign("42");
/// assert!(token.starts_with("42|"));
/// assert_eq!(signer.verify(&token)?, "42");
/// assert!(signer.verify(&token.replacen("42", "43", 1)).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Security
///
/// The user id is readable by anyone; the digest only proves the key's
/// holder wrote it, and it never expires by itself (Flask-Login checks no
/// time: the browser drops the cookie at its `Expires`). Digests are
/// compared in constant time.
#[derive(Clone)]
pub struct RememberSigner {
    mac: Hmac<Sha512>,
    /// Keyed with the derived key of tokens that carry a generation.
    generation_mac: Hmac<Sha512>,
}

impl fmt::Debug for RememberSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RememberSigner(<key redacted>)")
    }
}

impl RememberSigner {
    /// A signer for `SECRET_KEY` (its bytes; see the module docs for text keys).
    #[must_use]
    pub fn new(secret: &Key) -> Self {
        let mac = keyed(secret.expose_bytes());
        let mut derive = mac.clone();
        // 0xFF: never in UTF-8, so never a user id's bytes (see the module docs).
        derive.update(b"\xffwebsession-remember-generation");
        let generation_mac = keyed(&derive.finalize().into_bytes());
        Self {
            mac,
            generation_mac,
        }
    }

    /// `f"{user_id}|{hexdigest}"`: Flask-Login's `encode_cookie(user_id)`.
    #[must_use]
    pub fn sign(&self, user_id: &str) -> String {
        self.sign_at(user_id, 0)
    }

    /// A token bound to `user_id`'s revocation `generation` (see the module
    /// docs): Flask-Login's own token at generation 0.
    ///
    /// ```
    /// use websession_core::flask_login::RememberSigner;
    /// use websession_core::Key;
    ///
    /// let signer = RememberSigner::new(&Key::from_utf8("correct horse battery staple")?);
    /// assert_eq!(signer.sign_at("42", 0), signer.sign("42"));
    /// let token = signer.sign_at("42", 3);
    /// assert!(token.starts_with("42|g3."));
    /// assert_eq!(signer.verify_at(&token)?, ("42", 3));
    /// assert!(signer.verify(&token).is_err(), "Flask-Login's check refuses it");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn sign_at(&self, user_id: &str, generation: u64) -> String {
        let mut out = String::with_capacity(user_id.len() + 152);
        out.push_str(user_id);
        out.push('|');
        if generation > 0 {
            let _ = write!(out, "g{generation}.");
        }
        let digest = self.mac(user_id, generation).finalize();
        out.push_str(&hex::encode(digest.into_bytes()));
        out
    }

    /// The MAC over `user_id` at `generation`, not yet finalized.
    fn mac(&self, user_id: &str, generation: u64) -> Hmac<Sha512> {
        if generation == 0 {
            let mut mac = self.mac.clone();
            mac.update(user_id.as_bytes());
            return mac;
        }
        let mut mac = self.generation_mac.clone();
        mac.update(generation.to_string().as_bytes());
        mac.update(b"\0");
        mac.update(user_id.as_bytes());
        mac
    }

    /// The user id of a cookie whose digest matches (Flask-Login's
    /// `decode_cookie`): split at the last `|`, the digest compared in
    /// constant time.
    ///
    /// # Errors
    ///
    /// [`DecodeError::BadSignature`] for a cookie without `|`, a digest that
    /// is not 128 lowercase hex digits, or one that does not match.
    pub fn verify<'a>(&self, cookie: &'a str) -> Result<&'a str, DecodeError> {
        let (payload, digest) = cookie.rsplit_once('|').ok_or(DecodeError::BadSignature)?;
        self.check(payload, 0, digest)?;
        Ok(payload)
    }

    /// The user id and generation of a token made by [`sign_at`](Self::sign_at)
    /// (or by Flask-Login: generation 0) whose digest matches.
    ///
    /// # Errors
    ///
    /// [`DecodeError::BadSignature`] as for [`verify`](Self::verify), and for
    /// a generation that is not a decimal number above 0.
    pub fn verify_at<'a>(&self, cookie: &'a str) -> Result<(&'a str, u64), DecodeError> {
        let (payload, tail) = cookie.rsplit_once('|').ok_or(DecodeError::BadSignature)?;
        let (generation, digest) = match tail.strip_prefix('g') {
            Some(rest) => {
                let (g, digest) = rest.split_once('.').ok_or(DecodeError::BadSignature)?;
                // Canonical decimal only: one token per (user, generation).
                if g.is_empty() || g.starts_with('0') || !g.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(DecodeError::BadSignature);
                }
                (
                    g.parse::<u64>().map_err(|_| DecodeError::BadSignature)?,
                    digest,
                )
            }
            None => (0, tail),
        };
        self.check(payload, generation, digest)?;
        Ok((payload, generation))
    }

    /// Compares `digest` (hex text) with the digest of `payload` at
    /// `generation`, in constant time.
    fn check(&self, payload: &str, generation: u64, digest: &str) -> Result<(), DecodeError> {
        // Python compares the hex text: only lowercase hex can match.
        if digest.len() != 128
            || !digest
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(DecodeError::BadSignature);
        }
        let mut expected = [0u8; 64];
        hex::decode_to_slice(digest, &mut expected).map_err(|_| DecodeError::BadSignature)?;
        self.mac(payload, generation)
            .verify_slice(&expected)
            .map_err(|_| DecodeError::BadSignature)
    }
}

/// An HMAC-SHA512 keyed with `key`.
fn keyed(key: &[u8]) -> Hmac<Sha512> {
    match <Hmac<Sha512> as KeyInit>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repr(b: &[u8]) -> String {
        let mut s = String::new();
        push_latin1_bytes_repr(&mut s, Some(b));
        s
    }

    #[test]
    fn bytes_repr_like_python() {
        let mut none = String::new();
        push_latin1_bytes_repr(&mut none, None);
        assert_eq!(none, "None");
        assert_eq!(repr(b""), "b''");
        assert_eq!(repr(b"it's"), "b\"it's\"");
        assert_eq!(repr(b"'\""), "b'\\'\"'");
        assert_eq!(repr(b"a\\b\t\n\r\x00\x7f"), "b'a\\\\b\\t\\n\\r\\x00\\x7f'");
        assert_eq!(repr(b"\xe9"), "b'\\xc3\\xa9'");
    }

    #[test]
    fn forwarded_for_takes_the_first_item_stripped() {
        let header: &[u8] = b" 1.2.3.4 , 5.6.7.8";
        let via_header = session_identifier(Some("10.0.0.1"), Some(header), None);
        assert_eq!(via_header, session_identifier(Some("1.2.3.4"), None, None));
        // An empty header still wins over the peer address.
        assert_ne!(
            session_identifier(Some("10.0.0.1"), Some(&[]), None),
            session_identifier(Some("10.0.0.1"), None, None)
        );
    }

    #[test]
    fn remember_rejects_malformed_digests() {
        let s = RememberSigner::new(&Key::from_utf8("k").unwrap());
        let good = s.sign("a|b");
        assert_eq!(s.verify(&good), Ok("a|b"));
        assert_eq!(
            s.verify(&good.to_uppercase()),
            Err(DecodeError::BadSignature)
        );
        assert_eq!(s.verify("no-bar"), Err(DecodeError::BadSignature));
        assert_eq!(s.verify("1|zz"), Err(DecodeError::BadSignature));
        assert_eq!(format!("{s:?}"), "RememberSigner(<key redacted>)");
    }

    #[test]
    fn generations_bind_the_token() {
        let s = RememberSigner::new(&Key::from_utf8("k").unwrap());
        let g2 = s.sign_at("a|b", 2);
        assert_eq!(s.verify_at(&g2), Ok(("a|b", 2)));
        assert_eq!(s.verify_at(&s.sign("a|b")), Ok(("a|b", 0)));
        // The generation is signed: changing it breaks the digest.
        assert_eq!(
            s.verify_at(&g2.replacen("|g2.", "|g3.", 1)),
            Err(DecodeError::BadSignature)
        );
        // Another user's digest at that generation doesn't fit.
        assert_eq!(
            s.verify_at(&g2.replacen("a|b", "a|c", 1)),
            Err(DecodeError::BadSignature)
        );
        for bad in ["|g0.", "|g02.", "|g.", "|gx."] {
            let forged = g2.replacen("|g2.", bad, 1);
            assert_eq!(
                s.verify_at(&forged),
                Err(DecodeError::BadSignature),
                "{bad}"
            );
        }
        assert_eq!(s.verify_at("a|g2"), Err(DecodeError::BadSignature));
        // Flask-Login's check refuses a token with a generation.
        assert_eq!(s.verify(&g2), Err(DecodeError::BadSignature));
    }

    /// No Flask-Login token reveals the derived key: its label is not the
    /// UTF-8 of any user id (issue 25, second review: the label was).
    #[test]
    fn no_flask_login_token_is_the_derived_key() {
        let s = RememberSigner::new(&Key::from_utf8("k").unwrap());
        let k = RememberSigner::new(
            &Key::from_hex(&{
                let mut mac = keyed(b"k");
                mac.update(b"\xffwebsession-remember-generation");
                hex::encode(mac.finalize().into_bytes())
            })
            .unwrap(),
        );
        // With K, a generation token signs as K's plain digest of "g\0user".
        let with_k = k.sign("999\0admin");
        let forged = format!("admin|g999.{}", with_k.rsplit_once('|').unwrap().1);
        assert_eq!(s.verify_at(&forged), Ok(("admin", 999)), "K is the key");
        for label in [
            "websession-remember-generation",
            "\u{ff}websession-remember-generation",
        ] {
            let token = s.sign(label);
            let leaked = token.rsplit_once('|').unwrap().1;
            let k_hex = hex::encode(
                keyed(b"k")
                    .chain_update(b"\xffwebsession-remember-generation")
                    .finalize()
                    .into_bytes(),
            );
            assert_ne!(leaked, k_hex, "{label:?}");
        }
    }

    /// A Flask-Login token for a chosen user id is never a token with a
    /// generation for another user (issue 25 review: both were one HMAC).
    #[test]
    fn no_user_id_forges_a_generation_token() {
        let s = RememberSigner::new(&Key::from_utf8("k").unwrap());
        for forged_id in ["websession-remember\x00999\x00admin", "999\x00admin"] {
            let flask = s.sign(forged_id);
            let digest = flask.rsplit_once('|').unwrap().1;
            let forged = format!("admin|g999.{digest}");
            assert_eq!(s.verify_at(&forged), Err(DecodeError::BadSignature));
        }
    }
}
