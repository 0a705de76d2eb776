//! Starlette's (and so FastAPI's) `SessionMiddleware` cookie, byte for byte.
//!
//! Starlette 1.10 (`starlette/middleware/sessions.py`) writes
//! `TimestampSigner(str(secret_key)).sign(b64encode(json.dumps(session)))`:
//! itsdangerous' [`TimestampSigner`] with its defaults (salt
//! `itsdangerous.Signer`, django-concat key derivation, HMAC-SHA1, `.`),
//! over **standard** base64 (with `+`, `/` and `=` padding, not URL-safe) of
//! plain JSON with `json.dumps`' default separators (`", "`, `": "`),
//! ASCII only and without Flask's tags. No compression.
//!
//! ```text
//! cookie = b64(json) "." b64u(timestamp) "." b64u(HMAC-SHA1(SHA1("itsdangerous.Signer" "signer" secret), everything before))
//! ```
//!
//! [`StarletteCodec`] is that configuration of [`crate::itsdangerous`]. It
//! reads a cookie as Starlette does: the signature, then the age
//! (`max_age`, 14 days by default; a cookie signed in the future is refused,
//! as itsdangerous refuses a negative age), then the JSON, whose top level
//! must be an object. Starlette has one key only (no fallbacks); the codec
//! verifies with every key of the [`KeyRing`], so a Rust app can rotate the
//! key while Starlette apps are moved to the new one.
//!
//! # Differences from Starlette
//!
//! - A signed payload that is not a JSON object makes Starlette answer 500;
//!   here it is a [`DecodeError::BadPayload`] (an empty session).
//! - Base64 is read strictly (Python's decoder skips characters outside the
//!   alphabet).
//! - Keys are written in code-point order (a [`Map`] is sorted); Starlette
//!   writes a dict in insertion order. Both read either.
//!
//! # Security
//!
//! A signed cookie is **readable by anyone**; the signature only proves that
//! a holder of the key wrote it.

use std::fmt;

use crate::codec::CodecLimits;
use crate::error::{DecodeError, PayloadError};
use crate::itsdangerous::{split_unchecked, Loaded, Signer, TimestampSigner};
use crate::json::{self, LazyMap, PlainJson};
use crate::key::KeyRing;
use crate::value::{Map, ValueError};

/// Starlette's default `max_age`: 14 days, in seconds.
pub const STARLETTE_MAX_AGE: u64 = 14 * 24 * 60 * 60;

/// Encodes and decodes Starlette's `SessionMiddleware` cookie.
///
/// # Examples
///
/// ```
/// use websession_core::starlette::StarletteCodec;
/// use websession_core::{Key, KeyRing, Map, Value};
///
/// let codec = StarletteCodec::new(&KeyRing::new(Key::from_utf8("vector key: current secret of the vectors")?));
/// let mut data = Map::new();
/// data.insert("user".into(), Value::from("alice"));
/// // What Starlette 1.10 sets at this time (testdata/starlette_vectors.json).
/// let cookie = codec.encode(&data, 1_750_000_000)?;
/// assert_eq!(cookie, "eyJ1c2VyIjogImFsaWNlIn0=.aE7hgA.SJ-cPJrcZP-uVtfAEBmnfBEISQM");
/// assert_eq!(codec.decode(&cookie, 1_750_000_060)?.value, data);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct StarletteCodec {
    signer: TimestampSigner,
    limits: CodecLimits,
}

impl fmt::Debug for StarletteCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StarletteCodec")
            .field("signer", self.signer.signer())
            .field("limits", &self.limits)
            .finish()
    }
}

impl StarletteCodec {
    /// A codec that signs with the ring's current key and verifies with
    /// every key; maximum age [`STARLETTE_MAX_AGE`].
    #[must_use]
    pub fn new(keys: &KeyRing) -> Self {
        Self {
            // itsdangerous.TimestampSigner(secret_key) with every default.
            signer: TimestampSigner::new(Signer::new(keys)),
            limits: CodecLimits::default().with_max_age(STARLETTE_MAX_AGE),
        }
    }

    /// All the limits at once (`max_age` is Starlette's `max_age`).
    #[must_use]
    pub fn with_limits(mut self, limits: CodecLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The maximum age in seconds (Starlette's `max_age`).
    #[must_use]
    pub fn with_max_age(mut self, seconds: u64) -> Self {
        self.limits = self.limits.with_max_age(seconds);
        self
    }

    /// The limits.
    #[must_use]
    pub fn limits(&self) -> &CodecLimits {
        &self.limits
    }

    /// Encodes a session as Starlette does at `timestamp` (Unix seconds).
    ///
    /// # Errors
    ///
    /// [`ValueError::NotPlainJson`] for bytes, UUIDs and datetimes, which
    /// Starlette's `json.dumps` can't write either.
    pub fn encode(&self, data: &Map, timestamp: u64) -> Result<String, ValueError> {
        let mut text = String::with_capacity(64);
        json::write_plain_map(&mut text, data, PlainJson::Spaced)?;
        Ok(self.sign_json(text.as_bytes(), timestamp))
    }

    /// Signs JSON bytes as Starlette does, without looking at them.
    #[must_use]
    pub fn sign_json(&self, json: &[u8], timestamp: u64) -> String {
        self.signer.sign(&crate::b64::std_encode(json), timestamp)
    }

    /// Verifies a cookie at `now` and decodes its session.
    ///
    /// # Errors
    ///
    /// [`DecodeError::TooLong`], then in Starlette's order `BadSignature`,
    /// `BadTimestamp`, `Expired`/`FromFuture`, `BadPayload`.
    pub fn decode(&self, cookie: &str, now: u64) -> Result<Loaded<Map>, DecodeError> {
        let parsed = self
            .verify(cookie, now)?
            .try_map(|raw| json::parse_plain_map(&raw))?;
        Ok(parsed)
    }

    /// As [`decode`](Self::decode), as a [`LazyMap`] (what a server keeps).
    ///
    /// # Errors
    ///
    /// As [`decode`](Self::decode).
    pub fn decode_lazy(&self, cookie: &str, now: u64) -> Result<Loaded<LazyMap>, DecodeError> {
        Ok(self.decode(cookie, now)?.map(LazyMap::from))
    }

    /// Verifies a cookie and gives its JSON bytes, unparsed.
    ///
    /// # Errors
    ///
    /// As [`decode`](Self::decode), without the JSON checks.
    pub fn verify(&self, cookie: &str, now: u64) -> Result<Loaded<Vec<u8>>, DecodeError> {
        self.limits.check_len(cookie)?;
        let timed = self.signer.unsign(cookie, now, Some(self.limits.max_age))?;
        Ok(Loaded {
            value: crate::b64::std_decode(timed.value.as_bytes()).ok_or(PayloadError::Base64)?,
            timestamp: timed.timestamp,
            key_index: timed.key_index,
        })
    }
}

/// Reads a Starlette cookie **without checking its signature**: the JSON
/// and the signing time.
///
/// # Errors
///
/// A cookie that doesn't have Starlette's shape or whose payload isn't
/// standard base64.
///
/// # Security
///
/// Nothing returned here can be trusted. Never use it to make decisions.
pub fn peek(cookie: &str) -> Result<(Vec<u8>, u64), DecodeError> {
    let (payload, timestamp) =
        split_unchecked(cookie, b'.', crate::itsdangerous::decode_timestamp)?;
    let json = crate::b64::std_decode(payload.as_bytes()).ok_or(PayloadError::Base64)?;
    Ok((json, timestamp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Key;

    #[test]
    fn debug_redacts_keys() {
        let codec =
            StarletteCodec::new(&KeyRing::new(Key::from_utf8("very-secret-value").unwrap()));
        let shown = format!("{codec:?}");
        assert!(
            shown.contains("<1 redacted>") && !shown.contains("very-secret"),
            "{shown}"
        );
    }

    #[test]
    fn bytes_are_refused_not_written() {
        let codec = StarletteCodec::new(&KeyRing::new(Key::from_utf8("k").unwrap()));
        let mut data = Map::new();
        data.insert("b".into(), crate::Value::Bytes(vec![1]));
        assert_eq!(
            codec.encode(&data, 1),
            Err(ValueError::NotPlainJson("bytes"))
        );
    }
}
