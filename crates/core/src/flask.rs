//! Flask's default session cookie, byte for byte. (Over 400 lines: one codec, its format notes and unit tests.)
//!
//! The format is itsdangerous' `URLSafeTimedSerializer` as Flask configures it
//! (salt `cookie-session`, HMAC key derivation, HMAC-SHA1) over Flask's tagged
//! JSON; [`FlaskCodec`] is that configuration of
//! [`itsdangerous::UrlSafeTimedSerializer`](crate::itsdangerous::UrlSafeTimedSerializer):
//!
//! ```text
//! cookie  = [ "." ] b64u(json or zlib(json)) "." b64u(timestamp) "." b64u(HMAC-SHA1(derived_key, everything before the last "."))
//! derived_key = HMAC-SHA1(SECRET_KEY, "cookie-session")
//! ```
//!
//! The JSON is compact, sorted and ASCII-only; it is zlib-compressed (and the
//! cookie starts with `.`) only when that saves at least 2 bytes. Byte-exact
//! compressed output needs zlib's own deflate at level 6, which is why this
//! crate builds `flate2` with its `zlib` backend: measured on the 14 compressed
//! Flask vectors, system zlib 1.2.13 and the bundled zlib matched all of them,
//! miniz_oxide 2 and zlib-rs 3. Any zlib stream decodes.
//!
//! # Security
//!
//! A signed cookie is **readable by anyone** ([`peek`] needs no key). It only
//! proves the server wrote it. Decompression happens only after the signature
//! checked out, and is capped ([`CodecLimits::max_decompressed`]).

use std::fmt;

use crate::codec::{CodecLimits, Compression};
use crate::error::DecodeError;
use crate::itsdangerous::{
    decode_payload, decode_timestamp, derive, split_unchecked, Digest, KeyDerivation, Signer,
    TimestampSigner, UrlSafeTimedSerializer,
};
use crate::json::{self, LazyMap};
use crate::key::KeyRing;
use crate::value::{Map, Value};

/// Flask's salt for the session cookie signer.
pub(crate) const SALT: &[u8] = b"cookie-session";

/// A decoded, verified Flask session cookie.
///
/// Its `Debug` shows the number of keys, never the data.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct Decoded<D = Map> {
    /// The session data: a [`Map`], or a [`LazyMap`] from
    /// [`FlaskCodec::decode_lazy`].
    pub data: D,
    /// When the cookie was signed, in Unix seconds.
    pub timestamp: u64,
    /// Which key verified it, in [`KeyRing::verification_order`]: 0 is the
    /// current key, anything else a fallback (re-sign on the next write).
    pub key_index: usize,
    /// The verified payload, for [`FlaskCodec::resign`].
    pub payload: SignedPayload,
}

impl fmt::Debug for Decoded<Map> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_decoded(f, self.data.len(), self.timestamp, self.key_index)
    }
}

impl fmt::Debug for Decoded<LazyMap> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_decoded(f, self.data.len(), self.timestamp, self.key_index)
    }
}

fn debug_decoded(
    f: &mut fmt::Formatter<'_>,
    keys: usize,
    timestamp: u64,
    key_index: usize,
) -> fmt::Result {
    f.debug_struct("Decoded")
        .field("data", &format_args!("<{keys} keys redacted>"))
        .field("timestamp", &timestamp)
        .field("key_index", &key_index)
        .finish_non_exhaustive()
}

/// A verified cookie whose payload was not parsed yet.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Verified {
    /// The (decompressed) JSON bytes.
    pub(crate) json: Vec<u8>,
    /// When the cookie was signed, in Unix seconds.
    pub(crate) timestamp: u64,
    /// Which key verified it; see [`Decoded::key_index`].
    pub(crate) key_index: usize,
    /// The verified payload, for [`FlaskCodec::resign`].
    pub(crate) payload: SignedPayload,
}

impl fmt::Debug for Verified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field(
                "json",
                &format_args!("<{} bytes redacted>", self.json.len()),
            )
            .field("timestamp", &self.timestamp)
            .field("key_index", &self.key_index)
            .finish_non_exhaustive()
    }
}

/// The payload segment of a cookie whose signature checked, as it was sent
/// (possibly compressed). Only [`FlaskCodec::decode`] makes one, so [`FlaskCodec::resign`] can only ever
/// re-sign what a key of the ring signed before.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedPayload {
    segment: String,
}

impl SignedPayload {
    /// A verified payload segment, copied.
    pub(crate) fn from_segment(segment: &str) -> Self {
        Self {
            segment: segment.to_owned(),
        }
    }

    /// The payload's length in bytes (base64 text, as in the cookie).
    #[must_use]
    pub fn len(&self) -> usize {
        self.segment.len()
    }

    /// Whether the payload is empty (never, for a cookie that verified).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.segment.is_empty()
    }
}

impl fmt::Debug for SignedPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignedPayload(<{} bytes redacted>)", self.segment.len())
    }
}

/// Encodes and decodes Flask's session cookie with a [`KeyRing`].
///
/// Cheap to share: each key's derived HMAC state is computed once.
///
/// # Examples
///
/// ```
/// use websession_core::{FlaskCodec, Key, KeyRing, Map, Value};
///
/// let codec = FlaskCodec::new(&KeyRing::new(Key::from_utf8("correct horse battery staple")?));
/// let mut data = Map::new();
/// data.insert("user".into(), Value::from("alice"));
///
/// // Byte for byte what Flask 3.1 writes at this time.
/// let cookie = codec.encode(&data, 1_700_000_000);
/// assert_eq!(cookie, "eyJ1c2VyIjoiYWxpY2UifQ.ZVPxAA._RYMq7kFHfMm8CaN1yY0BndYs_o");
///
/// let decoded = codec.decode(&cookie, 1_700_000_060)?;
/// assert_eq!(decoded.data, data);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct FlaskCodec {
    /// Flask's serializer: keys derived once, limits and compression inside.
    serializer: UrlSafeTimedSerializer,
    limits: CodecLimits,
    compression: Compression,
}

impl fmt::Debug for FlaskCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlaskCodec")
            .field("signer", self.serializer.signer().signer())
            .field("limits", &self.limits)
            .field("compression", &self.compression)
            .finish()
    }
}

/// `HMAC-SHA1(key, "cookie-session")`: the key that actually signs Flask cookies.
#[must_use]
pub fn derive_key(secret: &[u8]) -> [u8; 20] {
    let derived = derive(Digest::Sha1, KeyDerivation::Hmac, SALT, secret);
    let mut out = [0u8; 20];
    out.copy_from_slice(&derived[..20]);
    out
}

impl FlaskCodec {
    /// A codec that signs with the ring's current key and verifies with every key.
    #[must_use]
    pub fn new(keys: &KeyRing) -> Self {
        let signer = Signer::new(keys)
            .with_salt(SALT)
            .with_key_derivation(KeyDerivation::Hmac)
            .with_digest(Digest::Sha1);
        let limits = CodecLimits::default();
        Self {
            serializer: UrlSafeTimedSerializer::from_signer(TimestampSigner::new(signer))
                .with_limits(limits)
                .with_compression(Compression::Flask),
            limits,
            compression: Compression::Flask,
        }
    }

    /// All the limits at once. Default [`CodecLimits::default`].
    #[must_use]
    pub fn with_limits(mut self, limits: CodecLimits) -> Self {
        self.limits = limits;
        self.serializer = self.serializer.with_limits(limits);
        self
    }

    /// The maximum age of a cookie in seconds, checked on the server (Flask's
    /// `PERMANENT_SESSION_LIFETIME`, used for every session). Default 31 days.
    #[must_use]
    pub fn with_max_age(self, seconds: u64) -> Self {
        let limits = self.limits.with_max_age(seconds);
        self.with_limits(limits)
    }

    /// When to compress. Default [`Compression::Flask`].
    #[must_use]
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self.serializer = self.serializer.with_compression(compression);
        self
    }

    /// The limits.
    #[must_use]
    pub fn limits(&self) -> &CodecLimits {
        &self.limits
    }

    /// Encodes a session as Flask would at `timestamp` (Unix seconds).
    #[must_use]
    pub fn encode(&self, data: &Map, timestamp: u64) -> String {
        let mut text = String::with_capacity(64);
        json::write_map(&mut text, data);
        self.sign_json(text.as_bytes(), timestamp)
    }

    /// [`encode`](Self::encode) for a [`LazyMap`], with `extra` among its
    /// entries (see [`LazyMap::write_json`]): its entries still in the text
    /// they were read from are written from there.
    pub(crate) fn encode_lazy(
        &self,
        data: &LazyMap,
        extra: Option<(&str, &Value)>,
        timestamp: u64,
    ) -> String {
        let mut text = String::with_capacity(64);
        data.write_json(&mut text, extra);
        self.sign_json(text.as_bytes(), timestamp)
    }

    /// Signs JSON bytes as Flask's serializer does (compressing when it saves
    /// bytes), without looking at them. `encode` is this plus Flask's JSON.
    #[must_use]
    pub fn sign_json(&self, json: &[u8], timestamp: u64) -> String {
        self.serializer.dumps_json(json, timestamp)
    }

    /// Re-signs the payload of a cookie that verified, with the current key
    /// and a new timestamp, without decoding it again.
    ///
    /// This is what Flask's refresh of an unchanged permanent session
    /// produces: Flask re-serialises the same data to the same payload bytes
    /// (for cookies Flask or this codec wrote; a foreign, non-canonical
    /// payload is kept as it is, which Flask reads just the same).
    ///
    /// It takes a [`SignedPayload`], which only a successful
    /// [`decode`](Self::decode) gives, so an
    /// unchecked string can never be re-signed.
    ///
    /// # Examples
    ///
    /// ```
    /// use websession_core::{FlaskCodec, Key, KeyRing, Map, Value};
    ///
    /// let codec = FlaskCodec::new(&KeyRing::new(Key::from_utf8("correct horse battery staple")?));
    /// let mut data = Map::new();
    /// data.insert("user".into(), Value::from("alice"));
    /// let cookie = codec.encode(&data, 1_700_000_000);
    /// let decoded = codec.decode(&cookie, 1_700_000_060)?;
    /// assert_eq!(codec.resign(&decoded.payload, 1_700_000_060), codec.encode(&data, 1_700_000_060));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn resign(&self, payload: &SignedPayload, timestamp: u64) -> String {
        self.serializer.resign(&payload.segment, timestamp)
    }

    /// Verifies and decodes a cookie at time `now` (Unix seconds).
    ///
    /// # Errors
    ///
    /// Every reason Flask has to refuse a cookie; see [`DecodeError`].
    pub fn decode(&self, cookie: &str, now: u64) -> Result<Decoded, DecodeError> {
        let v = self.verify(cookie, now)?;
        Ok(Decoded {
            data: json::parse_map(&v.json)?,
            timestamp: v.timestamp,
            key_index: v.key_index,
            payload: v.payload,
        })
    }

    /// As [`decode`](Self::decode), but the data is a [`LazyMap`]: checked in
    /// full, with each value built only when it is read. What a server reads
    /// on every request.
    ///
    /// # Errors
    ///
    /// As [`decode`](Self::decode).
    pub fn decode_lazy(&self, cookie: &str, now: u64) -> Result<Decoded<LazyMap>, DecodeError> {
        let v = self.verify(cookie, now)?;
        Ok(Decoded {
            data: LazyMap::parse(v.json)?,
            timestamp: v.timestamp,
            key_index: v.key_index,
            payload: v.payload,
        })
    }

    /// The engine's read: the data, the issue time, and the payload segment
    /// as it is in `cookie` (not copied: an unchanged session is issued
    /// again from its data's text when the segment is uncompressed).
    pub(crate) fn read_parts<'a>(
        &self,
        cookie: &'a str,
        now: u64,
    ) -> Result<(LazyMap, u64, &'a str), DecodeError> {
        let opened = self.serializer.open(cookie, now)?;
        Ok((
            LazyMap::parse(opened.json)?,
            opened.timestamp,
            opened.segment,
        ))
    }

    /// Signs the JSON text of a payload that was read uncompressed again at
    /// `timestamp`: the same cookie [`resign`](Self::resign) makes from its
    /// [`SignedPayload`].
    pub(crate) fn resign_text(&self, json: &str, timestamp: u64) -> String {
        self.serializer.resign_json(json.as_bytes(), timestamp)
    }

    /// Verifies a cookie and returns its JSON text without parsing it.
    pub(crate) fn verify(&self, cookie: &str, now: u64) -> Result<Verified, DecodeError> {
        let opened = self.serializer.open(cookie, now)?;
        Ok(Verified {
            json: opened.json,
            timestamp: opened.timestamp,
            key_index: opened.key_index,
            payload: SignedPayload::from_segment(opened.segment),
        })
    }
}

/// Reads a Flask cookie **without checking its signature**: the JSON and the
/// signing time. It shows that a signed cookie is no secret.
///
/// # Errors
///
/// A cookie that doesn't have Flask's shape or whose payload can't be decoded.
///
/// # Security
///
/// Nothing returned here can be trusted. Never use it to make decisions.
pub fn peek(cookie: &str, max_decompressed: usize) -> Result<(Vec<u8>, u64), DecodeError> {
    let (payload, timestamp) = split_unchecked(cookie, b'.', decode_timestamp)?;
    Ok((decode_payload(payload, max_decompressed)?, timestamp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_key_matches_the_spec() {
        assert_eq!(
            hex::encode(derive_key(b"correct horse battery staple")),
            "e8d168da6163bdb1bf25af761ce4ed2d97b75934"
        );
    }

    #[test]
    fn debug_redacts_keys() {
        use crate::Key;
        let codec = FlaskCodec::new(&KeyRing::new(Key::from_utf8("very-secret-value").unwrap()));
        let shown = format!("{codec:?}");
        assert!(
            shown.contains("<1 redacted>") && !shown.contains("very-secret"),
            "{shown}"
        );
    }
}
