//! Flask-WTF's CSRF tokens (Flask-WTF 1.3.0), framework-free.
//!
//! Flask-WTF keeps a raw token in the session (`session["csrf_token"]`, 40
//! hex digits: `sha1(os.urandom(64)).hexdigest()`) and puts a signed copy
//! in forms: `URLSafeTimedSerializer(WTF_CSRF_SECRET_KEY or SECRET_KEY,
//! salt="wtf-csrf-token").dumps(raw)`, i.e. an itsdangerous token with
//! django-concat key derivation and HMAC-SHA1 over the JSON string. A
//! posted token is valid when it verifies, is younger than
//! `WTF_CSRF_TIME_LIMIT` (3600 s by default) and holds the session's raw
//! token. [`CsrfError`] carries Flask-WTF's exact reasons.
//!
//! Reading and writing the session is the `websession` crate's
//! `flask::csrf` module; this module signs and checks.
//!
//! # Examples
//!
//! ```
//! use websession_core::flask_wtf::{CsrfError, CsrfSigner};
//! use websession_core::Key;
//!
//! let signer = CsrfSigner::new(&Key::from_utf8("correct horse battery staple")?);
//! let raw = CsrfSigner::new_raw_token(); // goes into the session
//! let token = signer.sign(&raw, 1_700_000_000); // goes into the form
//!
//! assert_eq!(signer.validate(Some(&token), Some(&raw), 1_700_000_100), Ok(()));
//! assert_eq!(
//!     signer.validate(Some(&token), Some(&raw), 1_700_003_601),
//!     Err(CsrfError::Expired)
//! );
//! assert_eq!(CsrfError::Expired.to_string(), "The CSRF token has expired.");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use sha1::{Digest as _, Sha1};
use subtle::ConstantTimeEq as _;

use crate::error::DecodeError;
use crate::itsdangerous::UrlSafeTimedSerializer;
use crate::key::{Key, KeyRing};

/// Flask-WTF's salt for CSRF tokens.
pub const SALT: &str = "wtf-csrf-token";

/// Flask-WTF's default `WTF_CSRF_FIELD_NAME`: the form field and the
/// session key.
pub const DEFAULT_FIELD_NAME: &str = "csrf_token";

/// Flask-WTF's default `WTF_CSRF_TIME_LIMIT`, in seconds.
pub const DEFAULT_TIME_LIMIT: u64 = 3600;

/// Flask-WTF's default `WTF_CSRF_HEADERS`, tried in this order.
pub const DEFAULT_HEADERS: [&str; 2] = ["X-CSRFToken", "X-CSRF-Token"];

/// Flask-WTF's default `WTF_CSRF_METHODS`.
pub const DEFAULT_METHODS: [&str; 4] = ["POST", "PUT", "PATCH", "DELETE"];

/// Why Flask-WTF refuses a request; `Display` is Flask-WTF's exact reason
/// (the `CSRFError` description, or the form field's error).
///
/// ```
/// use websession_core::flask_wtf::CsrfError;
/// assert_eq!(CsrfError::Mismatch.reason(), "The CSRF tokens do not match.");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum CsrfError {
    /// No token, or an empty one, in the form or the headers.
    #[error("The CSRF token is missing.")]
    Missing,
    /// The session has no raw token (it was never generated, or the session
    /// is gone).
    #[error("The CSRF session token is missing.")]
    SessionTokenMissing,
    /// The token verified but is older than the time limit (or from the
    /// future).
    #[error("The CSRF token has expired.")]
    Expired,
    /// The token does not verify or can't be read.
    #[error("The CSRF token is invalid.")]
    Invalid,
    /// The token verified but holds another raw token than the session.
    #[error("The CSRF tokens do not match.")]
    Mismatch,
    /// HTTPS with `WTF_CSRF_SSL_STRICT`: no `Referer` header.
    #[error("The referrer header is missing.")]
    ReferrerMissing,
    /// HTTPS with `WTF_CSRF_SSL_STRICT`: the `Referer` is not
    /// `https://{host}/`'s origin.
    #[error("The referrer does not match the host.")]
    ReferrerMismatch,
}

impl CsrfError {
    /// Flask-WTF's reason text (the same as `Display`).
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Missing => "The CSRF token is missing.",
            Self::SessionTokenMissing => "The CSRF session token is missing.",
            Self::Expired => "The CSRF token has expired.",
            Self::Invalid => "The CSRF token is invalid.",
            Self::Mismatch => "The CSRF tokens do not match.",
            Self::ReferrerMissing => "The referrer header is missing.",
            Self::ReferrerMismatch => "The referrer does not match the host.",
        }
    }
}

/// Signs raw CSRF tokens and validates signed ones, as Flask-WTF's
/// `generate_csrf` and `validate_csrf`.
///
/// Flask-WTF signs with one key (`WTF_CSRF_SECRET_KEY`, else `SECRET_KEY`)
/// and no fallbacks.
#[derive(Clone)]
pub struct CsrfSigner {
    serializer: UrlSafeTimedSerializer,
}

impl fmt::Debug for CsrfSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsrfSigner")
            .field("time_limit", &self.serializer.max_age())
            .finish_non_exhaustive()
    }
}

impl CsrfSigner {
    /// A signer for this key, with the default time limit (3600 s).
    #[must_use]
    pub fn new(secret: &Key) -> Self {
        Self {
            serializer: UrlSafeTimedSerializer::new(&KeyRing::new(secret.clone()), SALT)
                .with_max_age(Some(DEFAULT_TIME_LIMIT)),
        }
    }

    /// `WTF_CSRF_TIME_LIMIT` in seconds; `None` accepts tokens of any age.
    #[must_use]
    pub fn with_time_limit(mut self, seconds: Option<u64>) -> Self {
        self.serializer = self.serializer.with_max_age(seconds);
        self
    }

    /// The time limit in seconds, if any.
    #[must_use]
    pub fn time_limit(&self) -> Option<u64> {
        self.serializer.max_age()
    }

    /// A new raw token for the session: `sha1(64 random bytes).hexdigest()`.
    ///
    /// # Panics
    ///
    /// If the operating system's random source fails, which leaves no safe
    /// way to make a token.
    #[must_use]
    pub fn new_raw_token() -> String {
        let mut seed = zeroize::Zeroizing::new([0u8; 64]);
        #[allow(clippy::expect_used)]
        getrandom::fill(&mut *seed).expect("the OS random number generator failed");
        hex::encode(Sha1::digest(seed.as_slice()))
    }

    /// The signed token for a raw token at `timestamp` (Unix seconds).
    #[must_use]
    pub fn sign(&self, raw: &str, timestamp: u64) -> String {
        match self.serializer.dumps(raw, timestamp) {
            Ok(token) => token,
            Err(_) => unreachable!("serde_json always writes a string"),
        }
    }

    /// Flask-WTF's `validate_csrf`: `token` is what the request carried,
    /// `session_token` the session's raw token, `None` when the session has
    /// no such key (for a session value that may not be text, see
    /// [`validate_value`](Self::validate_value)).
    ///
    /// # Errors
    ///
    /// In Flask-WTF's order: [`CsrfError::Missing`] (no or an empty
    /// token), [`CsrfError::SessionTokenMissing`], [`CsrfError::Expired`],
    /// [`CsrfError::Invalid`], [`CsrfError::Mismatch`].
    pub fn validate(
        &self,
        token: Option<&str>,
        session_token: Option<&str>,
        now: u64,
    ) -> Result<(), CsrfError> {
        self.check(token, session_token.map(Some), now)
    }

    /// As [`validate`](Self::validate), for a session value that may not be
    /// text: `Some(None)` is a session key holding something else, which
    /// matches no token (Flask-WTF fails with a `TypeError` there).
    ///
    /// # Errors
    ///
    /// As [`validate`](Self::validate).
    pub fn validate_value(
        &self,
        token: Option<&str>,
        session_token: Option<Option<&str>>,
        now: u64,
    ) -> Result<(), CsrfError> {
        self.check(token, session_token, now)
    }

    fn check(
        &self,
        token: Option<&str>,
        session_token: Option<Option<&str>>,
        now: u64,
    ) -> Result<(), CsrfError> {
        let token = token.filter(|t| !t.is_empty()).ok_or(CsrfError::Missing)?;
        let session_token = session_token.ok_or(CsrfError::SessionTokenMissing)?;
        let loaded = self
            .serializer
            .loads::<serde_json::Value>(token, now)
            .map_err(|e| match e {
                DecodeError::Expired { .. } | DecodeError::FromFuture { .. } => CsrfError::Expired,
                _ => CsrfError::Invalid,
            })?;
        let (Some(session_token), serde_json::Value::String(signed)) =
            (session_token, &loaded.value)
        else {
            return Err(CsrfError::Mismatch);
        };
        if bool::from(session_token.as_bytes().ct_eq(signed.as_bytes())) {
            Ok(())
        } else {
            Err(CsrfError::Mismatch)
        }
    }
}

/// Flask-WTF's `WTF_CSRF_SSL_STRICT` rule for HTTPS requests: the
/// `Referer` must be present and have the origin (scheme, host name, port)
/// of `https://{host}/`, compared as Python's `urlparse` sees them.
///
/// `host` is the request's `Host` (with its port, if any). Call it only for
/// HTTPS requests, as Flask-WTF does.
///
/// # Errors
///
/// [`CsrfError::ReferrerMissing`] for no or an empty referrer,
/// [`CsrfError::ReferrerMismatch`] for another origin (or a port Python
/// can't parse, where Flask-WTF fails with a `ValueError`).
///
/// # Examples
///
/// ```
/// use websession_core::flask_wtf::{check_referrer, CsrfError};
/// assert_eq!(check_referrer(Some("https://Example.com/form"), "example.com"), Ok(()));
/// assert_eq!(check_referrer(Some("https://example.com:8443/"), "example.com"), Err(CsrfError::ReferrerMismatch));
/// assert_eq!(check_referrer(None, "example.com"), Err(CsrfError::ReferrerMissing));
/// ```
pub fn check_referrer(referrer: Option<&str>, host: &str) -> Result<(), CsrfError> {
    let referrer = referrer
        .filter(|r| !r.is_empty())
        .ok_or(CsrfError::ReferrerMissing)?;
    let good = format!("https://{host}/");
    match (origin(referrer), origin(&good)) {
        (Some(a), Some(b)) if a == b => Ok(()),
        _ => Err(CsrfError::ReferrerMismatch),
    }
}

/// `(scheme, hostname, port)` as `urllib.parse.urlparse` gives them;
/// `None` where Python raises (a bad port).
fn origin(url: &str) -> Option<(String, Option<String>, Option<u16>)> {
    // urlsplit strips these first (WHATWG C0 control or space, and tab/newlines anywhere).
    let url = url.trim_start_matches(|c: char| c <= ' ');
    let url: String = url
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    let (scheme, rest) = match url.find(':') {
        Some(i)
            if i > 0
                && url[..i].starts_with(|c: char| c.is_ascii_alphabetic())
                && url[..i]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) =>
        {
            (url[..i].to_ascii_lowercase(), &url[i + 1..])
        }
        _ => (String::new(), url.as_str()),
    };
    let netloc = match rest.strip_prefix("//") {
        Some(after) => {
            let end = after.find(['/', '?', '#']).unwrap_or(after.len());
            &after[..end]
        }
        None => "",
    };
    let hostinfo = netloc.rsplit_once('@').map_or(netloc, |(_, h)| h);
    let (hostname, port) = if let Some(bracketed) = hostinfo.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').unwrap_or((bracketed, ""));
        (host, after.split_once(':').map(|(_, p)| p))
    } else {
        match hostinfo.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostinfo, None),
        }
    };
    let hostname = (!hostname.is_empty()).then(|| hostname.to_lowercase());
    let port = match port {
        None | Some("") => None,
        Some(p) => {
            // Python: int(port) for ASCII digits, 0..=65535, else ValueError.
            if !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some(p.parse::<u16>().ok()?)
        }
    };
    Some((scheme, hostname, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_in_flask_wtf_order() {
        let s = CsrfSigner::new(&Key::from_utf8("k").unwrap());
        let raw = CsrfSigner::new_raw_token();
        assert_eq!(raw.len(), 40);
        let token = s.sign(&raw, 100);
        assert_eq!(s.validate(None, None, 100), Err(CsrfError::Missing));
        assert_eq!(
            s.validate(Some(""), Some(&raw), 100),
            Err(CsrfError::Missing)
        );
        assert_eq!(
            s.validate(Some("junk"), None, 100),
            Err(CsrfError::SessionTokenMissing)
        );
        assert_eq!(
            s.validate(Some("junk"), Some(&raw), 100),
            Err(CsrfError::Invalid)
        );
        assert_eq!(
            s.validate(Some(&token), Some("other"), 100),
            Err(CsrfError::Mismatch)
        );
        assert_eq!(
            s.validate_value(Some(&token), Some(None), 100),
            Err(CsrfError::Mismatch)
        );
        assert_eq!(
            s.validate(Some(&token), Some(&raw), 99),
            Err(CsrfError::Expired)
        );
        assert_eq!(
            s.clone()
                .with_time_limit(None)
                .validate(Some(&token), Some(&raw), 1 << 40),
            Ok(())
        );
    }

    #[test]
    fn referrer_origins() {
        assert_eq!(
            check_referrer(Some(""), "h"),
            Err(CsrfError::ReferrerMissing)
        );
        assert_eq!(check_referrer(Some("https://h/x?y"), "h"), Ok(()));
        assert_eq!(check_referrer(Some("https://u@h:443/"), "h:443"), Ok(()));
        assert_eq!(
            check_referrer(Some("http://h/"), "h"),
            Err(CsrfError::ReferrerMismatch)
        );
        assert_eq!(
            check_referrer(Some("https://h:x/"), "h"),
            Err(CsrfError::ReferrerMismatch)
        );
        assert_eq!(check_referrer(Some("https://[::1]:8/"), "[::1]:8"), Ok(()));
    }
}
