//! `django.core.signing`, byte for byte: [`DjangoSigner`] is Django's
//! `TimestampSigner`, with `sign_object`/`unsign_object` as
//! [`dumps_json`](DjangoSigner::dumps_json) and
//! [`loads_json`](DjangoSigner::loads_json).
//!
//! Django's `Signer` is an itsdangerous-style signer in another
//! configuration, so it is built on [`crate::itsdangerous::Signer`] rather
//! than written again: Django's `signature(value)` is
//! `b64u(HMAC-SHA256(SHA256(salt + "signer" + secret), value))`
//! (`salted_hmac(salt + "signer", value, secret)`), which is itsdangerous'
//! django-concat derivation with SHA-256, and the separator is `:`. What is
//! Django's own is the timestamp (base62 digits of the Unix time) and the
//! age rule (only `age > max_age` is refused; a timestamp in the future is
//! accepted).
//!
//! ```text
//! token = [ "." ] b64u(json or zlib(json)) ":" base62(timestamp) ":" b64u(HMAC-SHA256(SHA256(salt "signer" secret), everything before))
//! ```
//!
//! Keys: `SECRET_KEY` signs; it and every `SECRET_KEY_FALLBACKS` key verify
//! (a [`KeyRing`]: current first, then the fallbacks).
//!
//! # Differences from Django
//!
//! - Base64 is read strictly (Python's decoder skips characters outside the
//!   alphabet).
//! - A compressed payload inflates to [`CodecLimits::max_decompressed`] at
//!   most (Django inflates without a limit, after the signature checked).
//! - Timestamps are `u64`: a negative or larger one is `BadTimestamp`.

use std::fmt;

use crate::codec::{compress_if_smaller, CodecLimits};
use crate::error::DecodeError;
use crate::itsdangerous::{
    decode_payload, split_unchecked, unsign_timed, Digest, KeyDerivation, Loaded, Signer, Timed,
};
use crate::key::KeyRing;

/// Django's default salt for `signing.dumps`.
pub const DEFAULT_DJANGO_SALT: &str = "django.core.signing";

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Django's `TimestampSigner` (`django.core.signing`), with its
/// `sign_object`/`unsign_object`.
///
/// # Examples
///
/// ```
/// use websession_core::django_signing::DjangoSigner;
/// use websession_core::{Key, KeyRing};
///
/// let keys = KeyRing::new(Key::from_utf8("vector key: current secret of the vectors")?);
/// let signer = DjangoSigner::new(&keys, "django.contrib.sessions.backends.signed_cookies");
/// // Django 5.2's session cookie for {"user": "alice"} at 1750000000.
/// let token = signer.dumps_json(br#"{"user":"alice"}"#, 1_750_000_000, true);
/// assert_eq!(token, "eyJ1c2VyIjoiYWxpY2UifQ:1uQowS:0esG7L7pAzuzoRK-p1CU3l-LhRf6ZSsB97I4YU4RWKQ");
/// let loaded = signer.loads_json(&token, 1_750_000_060, Some(1_209_600))?;
/// assert_eq!(loaded.value, br#"{"user":"alice"}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct DjangoSigner {
    signer: Signer,
    limits: CodecLimits,
}

impl fmt::Debug for DjangoSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DjangoSigner")
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

impl DjangoSigner {
    /// `TimestampSigner(salt=salt)` with Django's defaults (SHA-256, `:`)
    /// over the ring's keys.
    #[must_use]
    pub fn new(keys: &KeyRing, salt: impl AsRef<[u8]>) -> Self {
        let signer = Signer::new(keys)
            .with_salt(salt)
            .with_key_derivation(KeyDerivation::DjangoConcat)
            .with_digest(Digest::Sha256);
        Self {
            // ':' is a valid separator; a failure here would be a bug.
            signer: signer.clone().with_separator(':').unwrap_or(signer),
            limits: CodecLimits::default(),
        }
    }

    /// The HMAC's hash function (Django's `algorithm`). Default SHA-256.
    #[must_use]
    pub fn with_digest(mut self, digest: Digest) -> Self {
        self.signer = self.signer.with_digest(digest);
        self
    }

    /// The cookie length and inflate limits ([`CodecLimits::max_age`] is
    /// not used here: the age is an argument of
    /// [`loads_json`](Self::loads_json)).
    #[must_use]
    pub fn with_limits(mut self, limits: CodecLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The underlying signer.
    #[must_use]
    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// `TimestampSigner.sign(value)` at `timestamp`.
    #[must_use]
    pub fn sign(&self, value: &str, timestamp: u64) -> String {
        let mut out = String::with_capacity(value.len() + 64);
        out.push_str(value);
        self.append(&mut out, timestamp);
        out
    }

    fn append(&self, out: &mut String, timestamp: u64) {
        out.push(':');
        push_base62(timestamp, out);
        self.signer.append_signature(out);
    }

    /// `TimestampSigner.unsign(value, max_age)` at `now`.
    ///
    /// # Errors
    ///
    /// [`DecodeError::BadSignature`] (no separator, or no key's signature),
    /// [`DecodeError::BadTimestamp`] (not base62), [`DecodeError::Expired`]
    /// when `now - timestamp > max_age`. A timestamp in the future passes,
    /// as in Django.
    pub fn unsign<'a>(
        &self,
        signed: &'a str,
        now: u64,
        max_age: Option<u64>,
    ) -> Result<Timed<'a>, DecodeError> {
        let timed = unsign_timed(&self.signer, signed, decode_base62)?;
        if let Some(max_age) = max_age {
            let age = now.saturating_sub(timed.timestamp);
            if age > max_age {
                return Err(DecodeError::Expired { age, max_age });
            }
        }
        Ok(timed)
    }

    /// `sign_object(obj, compress=compress)` for JSON bytes already written:
    /// zlib (with a leading `.`) when `compress` and it saves at least 2
    /// bytes, unpadded base64url, then signed at `timestamp`.
    #[must_use]
    pub fn dumps_json(&self, json: &[u8], timestamp: u64, compress: bool) -> String {
        let compressed = if compress {
            compress_if_smaller(json)
        } else {
            None
        };
        let mut out = String::with_capacity(json.len() * 4 / 3 + 64);
        match &compressed {
            Some(z) => {
                out.push('.');
                crate::b64::url_encode_append(z, &mut out);
            }
            None => crate::b64::url_encode_append(json, &mut out),
        }
        self.append(&mut out, timestamp);
        out
    }

    /// `unsign_object(token, max_age=max_age)` at `now`, up to the bytes the
    /// serializer reads (inflated if the payload starts with `.`).
    ///
    /// # Errors
    ///
    /// [`DecodeError::TooLong`] over the length limit, then as
    /// [`unsign`](Self::unsign), then [`DecodeError::BadPayload`] for base64
    /// or zlib that doesn't decode or inflates past the limit.
    pub fn loads_json(
        &self,
        token: &str,
        now: u64,
        max_age: Option<u64>,
    ) -> Result<Loaded<Vec<u8>>, DecodeError> {
        self.limits.check_len(token)?;
        let timed = self.unsign(token, now, max_age)?;
        Ok(Loaded {
            value: decode_payload(timed.value, self.limits.max_decompressed)?,
            timestamp: timed.timestamp,
            key_index: timed.key_index,
        })
    }
}

/// Django's `b62_encode`.
fn push_base62(mut n: u64, out: &mut String) {
    let mut digits = [0u8; 11]; // u64::MAX has 11 base62 digits
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = BASE62[(n % 62) as usize];
        n /= 62;
        if n == 0 {
            break;
        }
    }
    out.extend(digits[at..].iter().map(|&b| char::from(b)));
}

/// Django's `b62_decode` for non-negative values that fit a `u64`.
fn decode_base62(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.bytes().try_fold(0u64, |acc, b| {
        let digit = BASE62.iter().position(|&d| d == b)?;
        acc.checked_mul(62)?.checked_add(digit as u64)
    })
}

/// Reads a `django.core.signing` token **without checking its signature**:
/// the payload's bytes (inflated) and the signing time.
///
/// # Errors
///
/// A token without Django's shape, or whose payload can't be decoded.
///
/// # Security
///
/// Nothing returned here can be trusted. Never use it to make decisions.
pub fn peek(token: &str, max_decompressed: usize) -> Result<(Vec<u8>, u64), DecodeError> {
    let (payload, timestamp) = split_unchecked(token, b':', decode_base62)?;
    Ok((decode_payload(payload, max_decompressed)?, timestamp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base62_like_django() {
        for (n, text) in [
            (0u64, "0"),
            (61, "z"),
            (62, "10"),
            (1_750_000_000, "1uQowS"),
        ] {
            let mut out = String::new();
            push_base62(n, &mut out);
            assert_eq!(out, text);
            assert_eq!(decode_base62(text), Some(n));
        }
        let mut max = String::new();
        push_base62(u64::MAX, &mut max);
        assert_eq!(decode_base62(&max), Some(u64::MAX));
        assert_eq!(decode_base62(&format!("{max}0")), None, "overflow");
        assert_eq!(decode_base62(""), None);
        assert_eq!(decode_base62("-1"), None);
        assert_eq!(decode_base62("!"), None);
    }

    #[test]
    fn future_timestamps_pass_as_in_django() {
        let keys = KeyRing::new(crate::Key::from_utf8("k").unwrap());
        let s = DjangoSigner::new(&keys, "salt");
        let t = s.sign("v", 1000);
        assert_eq!(s.unsign(&t, 10, Some(5)).unwrap().value, "v");
        assert_eq!(
            s.unsign(&t, 1006, Some(5)),
            Err(DecodeError::Expired { age: 6, max_age: 5 })
        );
        let shown = format!("{s:?}");
        assert!(
            shown.contains("redacted") && !shown.contains("\"k\""),
            "{shown}"
        );
    }
}
