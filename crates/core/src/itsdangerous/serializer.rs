//! [`UrlSafeTimedSerializer`]: itsdangerous' `URLSafeTimedSerializer`.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{KeyDerivation, Signer, TimestampSigner};
use crate::codec::{
    inflate, CodecLimits, Compression, DEFAULT_MAX_COOKIE_LEN, DEFAULT_MAX_DECOMPRESSED,
};
use crate::error::{DecodeError, PayloadError};
use crate::key::KeyRing;
use crate::value::ValueError;

/// itsdangerous' default salt for a serializer.
pub const DEFAULT_SERIALIZER_SALT: &str = "itsdangerous";

/// A payload that verified, with its signing time.
///
/// Its `Debug` shows the timestamp and key index, never the value.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Loaded<T> {
    /// The payload: a deserialized value, or the JSON bytes from
    /// [`UrlSafeTimedSerializer::loads_json`].
    pub value: T,
    /// When it was signed, in Unix seconds.
    pub timestamp: u64,
    /// Which key verified it: 0 is the current key, anything else a fallback.
    pub key_index: usize,
}

impl<T> fmt::Debug for Loaded<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loaded")
            .field("value", &format_args!("<redacted>"))
            .field("timestamp", &self.timestamp)
            .field("key_index", &self.key_index)
            .finish()
    }
}

#[cfg(any(feature = "starlette", feature = "django"))]
impl<T> Loaded<T> {
    /// The same token's facts with the value turned into another.
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Loaded<U> {
        Loaded {
            value: f(self.value),
            timestamp: self.timestamp,
            key_index: self.key_index,
        }
    }

    /// As [`map`](Self::map), for a conversion that can fail.
    pub(crate) fn try_map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Loaded<U>, E> {
        Ok(Loaded {
            value: f(self.value)?,
            timestamp: self.timestamp,
            key_index: self.key_index,
        })
    }
}

/// A verified token before its JSON is parsed (for the session codec).
pub(crate) struct Opened<'a> {
    /// The (decompressed) JSON bytes.
    pub(crate) json: Vec<u8>,
    /// The payload segment as sent (possibly compressed).
    pub(crate) segment: &'a str,
    pub(crate) timestamp: u64,
    pub(crate) key_index: usize,
}

/// itsdangerous' `URLSafeTimedSerializer`: compact JSON, zlib-compressed
/// (with a leading `.`) when that saves at least 2 bytes, base64url, then
/// signed with a [`TimestampSigner`].
///
/// ```text
/// token = [ "." ] b64u(json or zlib(json)) "." b64u(timestamp) "." b64u(HMAC(derived_key, everything before))
/// ```
///
/// [`new`](Self::new) uses itsdangerous' defaults (django-concat key
/// derivation, HMAC-SHA1); [`from_signer`](Self::from_signer) takes any
/// [`TimestampSigner`]. Flask's session cookie ([`crate::FlaskCodec`]) is
/// this serializer with salt `cookie-session` and HMAC key derivation, over
/// Flask's tagged JSON; Flask-WTF's CSRF token is this serializer with salt
/// `wtf-csrf-token` and the defaults.
///
/// # Examples
///
/// ```
/// use websession_core::itsdangerous::UrlSafeTimedSerializer;
/// use websession_core::{Key, KeyRing};
///
/// let s = UrlSafeTimedSerializer::new(&KeyRing::new(Key::from_utf8("secret-key")?), "wtf-csrf-token")
///     .with_max_age(Some(3600));
/// let token = s.dumps(&"0123456789abcdef", 1_700_000_000)?;
/// // What URLSafeTimedSerializer("secret-key", salt="wtf-csrf-token").dumps(...) gives at that time.
/// assert_eq!(token, "IjAxMjM0NTY3ODlhYmNkZWYi.ZVPxAA.Nbv596p5FQB9yVDNuLsAxa8nO9I");
/// let loaded = s.loads::<String>(&token, 1_700_000_100)?;
/// assert_eq!(loaded.value, "0123456789abcdef");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # JSON
///
/// [`dumps`](Self::dumps) writes with serde_json, which matches Python's
/// `json.dumps(..., separators=(",", ":"), ensure_ascii=False)` for
/// strings, integers, booleans, `null`, lists and objects (in the order
/// serde gives the keys); floats may be written differently (`1e16` where
/// Python writes `1e+16`). Both sides read each other's JSON either way.
/// [`dumps_json`](Self::dumps_json) signs JSON bytes as they are.
#[derive(Clone, Debug)]
pub struct UrlSafeTimedSerializer {
    signer: TimestampSigner,
    compression: Compression,
    max_age: Option<u64>,
    max_len: usize,
    max_decompressed: usize,
}

impl UrlSafeTimedSerializer {
    /// A serializer with itsdangerous' defaults (django-concat, SHA1) and
    /// this salt, over the ring's keys. No maximum age until
    /// [`with_max_age`](Self::with_max_age).
    #[must_use]
    pub fn new(keys: &KeyRing, salt: impl AsRef<[u8]>) -> Self {
        Self::from_signer(TimestampSigner::new(
            Signer::new(keys)
                .with_salt(salt)
                .with_key_derivation(KeyDerivation::DjangoConcat),
        ))
    }

    /// A serializer over any timestamp signer (salt, derivation, digest and
    /// separator are the signer's).
    #[must_use]
    pub fn from_signer(signer: TimestampSigner) -> Self {
        Self {
            signer,
            compression: Compression::Flask,
            max_age: None,
            max_len: DEFAULT_MAX_COOKIE_LEN,
            max_decompressed: DEFAULT_MAX_DECOMPRESSED,
        }
    }

    /// The oldest token accepted, in seconds (itsdangerous' `max_age` of
    /// `loads`); `None` accepts any age. Default `None`.
    #[must_use]
    pub fn with_max_age(mut self, max_age: Option<u64>) -> Self {
        self.max_age = max_age;
        self
    }

    /// The maximum age, token length and inflated size at once.
    #[must_use]
    pub fn with_limits(mut self, limits: CodecLimits) -> Self {
        self.max_age = Some(limits.max_age);
        self.max_len = limits.max_cookie_len;
        self.max_decompressed = limits.max_decompressed;
        self
    }

    /// When to compress. Default [`Compression::Flask`] (itsdangerous' rule).
    #[must_use]
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// The timestamp signer.
    #[must_use]
    pub fn signer(&self) -> &TimestampSigner {
        &self.signer
    }

    /// The maximum age, if any.
    #[must_use]
    pub fn max_age(&self) -> Option<u64> {
        self.max_age
    }

    /// Serializes `value` as compact JSON and signs it at `timestamp`.
    ///
    /// # Errors
    ///
    /// [`ValueError::Serialize`] when serde_json can't write the value (a
    /// map with non-string keys, a failing `Serialize` impl).
    pub fn dumps<T: Serialize + ?Sized>(
        &self,
        value: &T,
        timestamp: u64,
    ) -> Result<String, ValueError> {
        let json = serde_json::to_vec(value).map_err(|e| ValueError::Serialize(e.to_string()))?;
        Ok(self.dumps_json(&json, timestamp))
    }

    /// Signs JSON bytes as they are, compressing them when that saves bytes.
    #[must_use]
    pub fn dumps_json(&self, json: &[u8], timestamp: u64) -> String {
        match self.compression.apply(json) {
            Some(z) => self.sign_payload(".", &z, timestamp),
            None => self.sign_payload("", json, timestamp),
        }
    }

    /// Signs `json` again at `timestamp` as an uncompressed payload: what a
    /// payload segment without a leading `.` was, once decoded (base64 is
    /// canonical, so the segment comes back byte for byte).
    pub(crate) fn resign_json(&self, json: &[u8], timestamp: u64) -> String {
        self.sign_payload("", json, timestamp)
    }

    /// `prefix` (`.` for a compressed payload), the base64 of `payload`, and
    /// the timestamp and signature.
    fn sign_payload(&self, prefix: &str, payload: &[u8], timestamp: u64) -> String {
        let mut out = String::with_capacity(payload.len() * 4 / 3 + 48);
        out.push_str(prefix);
        crate::b64::url_encode_append(payload, &mut out);
        self.signer.append(&mut out, timestamp);
        out
    }

    /// Appends the timestamp and signature to a payload segment that a key
    /// of this serializer signed before.
    pub(crate) fn resign(&self, segment: &str, timestamp: u64) -> String {
        let mut out = String::with_capacity(segment.len() + 40);
        out.push_str(segment);
        self.signer.append(&mut out, timestamp);
        out
    }

    /// Verifies `token` at `now` and deserializes its JSON.
    ///
    /// # Errors
    ///
    /// As [`loads_json`](Self::loads_json), and
    /// [`DecodeError::BadPayload`] when the JSON does not parse or has
    /// another shape than `T`.
    pub fn loads<T: DeserializeOwned>(
        &self,
        token: &str,
        now: u64,
    ) -> Result<Loaded<T>, DecodeError> {
        let raw = self.loads_json(token, now)?;
        let text = std::str::from_utf8(&raw.value).map_err(|_| PayloadError::Utf8)?;
        let value = serde_json::from_str(text).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => PayloadError::Shape,
            _ => PayloadError::Json {
                offset: e.column().saturating_sub(1),
                what: "not valid JSON",
            },
        })?;
        Ok(Loaded {
            value,
            timestamp: raw.timestamp,
            key_index: raw.key_index,
        })
    }

    /// Verifies `token` at `now` and gives its JSON bytes, unparsed.
    ///
    /// # Errors
    ///
    /// [`DecodeError::TooLong`] over the length limit, then in itsdangerous'
    /// order: `BadSignature`, `BadTimestamp`, `Expired`/`FromFuture` (with a
    /// maximum age), and `BadPayload` for base64 or zlib that doesn't decode.
    pub fn loads_json(&self, token: &str, now: u64) -> Result<Loaded<Vec<u8>>, DecodeError> {
        let opened = self.open(token, now)?;
        Ok(Loaded {
            value: opened.json,
            timestamp: opened.timestamp,
            key_index: opened.key_index,
        })
    }

    pub(crate) fn open<'a>(&self, token: &'a str, now: u64) -> Result<Opened<'a>, DecodeError> {
        if token.len() > self.max_len {
            return Err(DecodeError::TooLong {
                len: token.len(),
                limit: self.max_len,
            });
        }
        let timed = self.signer.unsign(token, now, self.max_age)?;
        let json = decode_payload(timed.value, self.max_decompressed)?;
        Ok(Opened {
            json,
            segment: timed.value,
            timestamp: timed.timestamp,
            key_index: timed.key_index,
        })
    }
}

/// The payload segment's bytes: base64url, inflated after a leading `.`.
pub(crate) fn decode_payload(
    payload: &str,
    max_decompressed: usize,
) -> Result<Vec<u8>, PayloadError> {
    let (compressed, b64) = match payload.strip_prefix('.') {
        Some(rest) => (true, rest),
        None => (false, payload),
    };
    let raw = crate::b64::url_decode(b64.as_bytes()).ok_or(PayloadError::Base64)?;
    if compressed {
        inflate(&raw, max_decompressed)
    } else {
        Ok(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Key;

    fn s() -> UrlSafeTimedSerializer {
        UrlSafeTimedSerializer::new(&KeyRing::new(Key::from_utf8("k").unwrap()), "salt")
    }

    #[test]
    fn payload_errors_are_bad_payload() {
        let s = s();
        // Signed, but not JSON / not the expected shape.
        let not_json = s.dumps_json(b"{nope", 10);
        let got = s.loads::<serde_json::Value>(&not_json, 10);
        assert!(
            matches!(got, Err(DecodeError::BadPayload(PayloadError::Json { .. }))),
            "{got:?}"
        );
        let number = s.dumps(&5, 10).unwrap();
        assert_eq!(
            s.loads::<String>(&number, 10),
            Err(DecodeError::BadPayload(PayloadError::Shape))
        );
        let long = "a".repeat(DEFAULT_MAX_COOKIE_LEN + 1);
        assert!(matches!(
            s.loads_json(&long, 0),
            Err(DecodeError::TooLong { .. })
        ));
    }

    #[test]
    fn compresses_only_when_it_saves_two_bytes() {
        let s = s();
        let big = vec!["same words again"; 20];
        let token = s.dumps(&big, 1).unwrap();
        assert!(token.starts_with('.'));
        assert_eq!(s.loads::<Vec<String>>(&token, 1).unwrap().value, big);
        assert!(!s.dumps(&"short", 1).unwrap().starts_with('.'));
    }
}
