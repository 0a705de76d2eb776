//! Sealed (encrypted and authenticated) session cookies. (Over 400 lines: the format notes, two versions to open, and unit tests.)
//!
//! ```text
//! cookie    = b64u( version || nonce || AEAD(key, nonce, plaintext, aad) || tag )
//! version   = 0x02 (sealed by this version; 0x01 cookies still open, below)
//! nonce     = 12 bytes from a CSPRNG seeded by the OS, new for every cookie
//! aad       = "websession-sealed" || version || cookie name
//! plaintext = flags(1) || issued_at(u64 BE) || created_at(u64 BE) || payload
//! flags     = bit 0: payload is zlib-compressed
//! payload   = Flask's tagged JSON of the session
//! key       = HKDF-SHA256(ikm = secret, salt = "websession", info = "websession sealed cookie v2 AES-256-GCM-SIV")
//! AEAD      = AES-256-GCM-SIV (RFC 8452)
//! ```
//!
//! Version 1 is the same with a 24-byte nonce, XChaCha20-Poly1305 and the
//! HKDF label "websession sealed cookie v1 XChaCha20-Poly1305"; this crate
//! opens it (until [`SealedCodec::with_v1_cutoff`], if set) and never writes
//! it.
//!
//! # Why AES-256-GCM-SIV (version 2)
//!
//! Every cookie gets a random nonce, and one key seals an unbounded number
//! of cookies across many servers. Random 96-bit nonces start to repeat
//! around 2⁴⁸ seals per key (the birthday bound). With AES-GCM a repeat
//! leaks the authentication key; AES-256-GCM-SIV is nonce-misuse resistant:
//! a repeated nonce reveals only whether the two sealed plaintexts (and
//! cookie names) were identical, and ours never are, since each carries its
//! issue time. On the CPUs servers run (AES-NI and CLMUL, detected at run
//! time) it opens a typical session in about a quarter of the time of
//! version 1's XChaCha20-Poly1305, whose software ChaCha20 and Poly1305 pay
//! a large per-message setup on ~100-byte messages (BENCHMARKS.md has the
//! profile and the figures). We have not measured a machine without AES-NI.
//!
//! The cookie name is bound as associated data, so a sealed cookie moved to
//! another cookie name fails to open. The issue time (for the maximum age and
//! the idle timeout) and the creation time (for the absolute timeout) are
//! inside the ciphertext, so the client can neither read nor extend them.
//!
//! # Compatibility
//!
//! The version byte is the only way to change this format: a new format gets
//! a new version, and cookies of every released version keep opening (the
//! tests hold frozen cookies of each) until the app sets a cut-off.

use std::fmt;

use aes_gcm_siv::Aes256GcmSiv;
use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::codec::{check_age, inflate, CodecLimits, Compression};
use crate::error::{DecodeError, PayloadError};
use crate::json::{self, LazyMap};
use crate::key::{Key, KeyRing};
use crate::value::Map;

/// The format this crate seals.
pub(crate) const VERSION: u8 = 2;
/// The first format, still opened.
const VERSION_1: u8 = 1;

/// The HKDF labels; each names its algorithm, so a key is never reused
/// across formats.
pub(crate) const HKDF_INFO: &[u8] = b"websession sealed cookie v2 AES-256-GCM-SIV";
const HKDF_INFO_1: &[u8] = b"websession sealed cookie v1 XChaCha20-Poly1305";

/// The shortest secret accepted for sealing, in bytes.
pub const MIN_SEALING_KEY_LEN: usize = 32;

const HKDF_SALT: &[u8] = b"websession";
const AAD_PREFIX: &[u8] = b"websession-sealed";
const NONCE_LEN: usize = 12;
const NONCE_LEN_1: usize = 24;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 1 + 8 + 8;
const FLAG_COMPRESSED: u8 = 1;

/// A secret too short to seal with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a sealing key must be at least {MIN_SEALING_KEY_LEN} bytes of random data; key {index} has {len}")]
#[non_exhaustive]
pub struct SealingKeyError {
    /// Position in [`KeyRing::verification_order`].
    pub index: usize,
    /// Its length in bytes.
    pub len: usize,
}

/// `parse` for [`SealedCodec::open_lazy`]: the map takes the buffer and
/// wipes it when dropped (or at once, when it doesn't parse).
fn lazy_secret(mut json: Zeroizing<Vec<u8>>) -> Result<LazyMap, PayloadError> {
    LazyMap::parse_secret(std::mem::take(&mut *json))
}

/// A sealed cookie, opened.
///
/// Its `Debug` shows the number of keys and the payload's length, never the data.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct Unsealed<D = Map> {
    /// The session data: a [`Map`], or a [`LazyMap`] from
    /// [`SealedCodec::open_lazy`].
    pub data: D,
    /// When it was sealed, Unix seconds.
    pub issued_at: u64,
    /// When the session was created, Unix seconds.
    pub created_at: u64,
    /// Which key opened it; 0 is the current key.
    pub key_index: usize,
    /// The sealed payload as it was (flags and the possibly compressed JSON),
    /// for [`SealedCodec::reseal`]. Wiped on drop.
    pub(crate) payload: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Unsealed<Map> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.debug(f, self.data.len())
    }
}

impl fmt::Debug for Unsealed<LazyMap> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.debug(f, self.data.len())
    }
}

impl<D> Unsealed<D> {
    fn debug(&self, f: &mut fmt::Formatter<'_>, keys: usize) -> fmt::Result {
        f.debug_struct("Unsealed")
            .field("data", &format_args!("<{keys} keys redacted>"))
            .field("issued_at", &self.issued_at)
            .field("created_at", &self.created_at)
            .field("key_index", &self.key_index)
            .field(
                "payload",
                &format_args!("<{} bytes redacted>", self.payload.len()),
            )
            .finish_non_exhaustive()
    }
}

/// Seals and opens session cookies with XChaCha20-Poly1305.
///
/// # Examples
///
/// ```
/// use websession_core::{Key, KeyRing, Map, Value};
/// use websession_core::sealed::SealedCodec;
///
/// let codec = SealedCodec::new(&KeyRing::new(Key::generate()), "session")?;
/// let mut data = Map::new();
/// data.insert("api_token".into(), Value::from("secret, and it stays secret"));
/// let cookie = codec.seal(&data, 1_700_000_000, 1_700_000_000);
/// assert!(!cookie.contains("secret"));
/// assert_eq!(codec.open(&cookie, 1_700_000_060)?.data, data);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SealedCodec {
    /// Version 2 ciphers, one per key in verification order; 0 seals.
    ciphers: Vec<Aes256GcmSiv>,
    /// Version 1 ciphers, for opening old cookies.
    ciphers_1: Vec<XChaCha20Poly1305>,
    aad: Vec<u8>,
    aad_1: Vec<u8>,
    /// Version 1 cookies are refused from this time on (Unix seconds).
    v1_cutoff: Option<u64>,
    limits: CodecLimits,
    compression: Compression,
}

impl fmt::Debug for SealedCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedCodec")
            .field("keys", &format_args!("<{} redacted>", self.ciphers.len()))
            .field("limits", &self.limits)
            .field("compression", &self.compression)
            .finish_non_exhaustive()
    }
}

/// The 32-byte AEAD key of the current format derived from a secret.
#[must_use]
pub fn derive_key(secret: &Key) -> Zeroizing<[u8; 32]> {
    derive(secret, HKDF_INFO)
}

fn derive(secret: &Key, info: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's 8160-byte limit: expand can't fail.
    if Hkdf::<Sha256>::new(Some(HKDF_SALT), secret.expose_bytes())
        .expand(info, &mut *out)
        .is_err()
    {
        unreachable!("HKDF output length is valid");
    }
    out
}

fn aad(version: u8, cookie_name: &str) -> Vec<u8> {
    let mut aad = AAD_PREFIX.to_vec();
    aad.push(version);
    aad.extend_from_slice(cookie_name.as_bytes());
    aad
}

impl SealedCodec {
    /// A codec for cookies named `cookie_name`, sealing with the ring's
    /// current key and opening with any of them.
    ///
    /// # Errors
    ///
    /// [`SealingKeyError`] when a key is shorter than [`MIN_SEALING_KEY_LEN`].
    pub fn new(keys: &KeyRing, cookie_name: &str) -> Result<Self, SealingKeyError> {
        let mut ciphers = Vec::new();
        let mut ciphers_1 = Vec::new();
        for (index, key) in keys.verification_order().enumerate() {
            if key.len() < MIN_SEALING_KEY_LEN {
                return Err(SealingKeyError {
                    index,
                    len: key.len(),
                });
            }
            ciphers.push(Aes256GcmSiv::new((&*derive(key, HKDF_INFO)).into()));
            ciphers_1.push(XChaCha20Poly1305::new((&*derive(key, HKDF_INFO_1)).into()));
        }
        Ok(Self {
            ciphers,
            ciphers_1,
            aad: aad(VERSION, cookie_name),
            aad_1: aad(VERSION_1, cookie_name),
            v1_cutoff: None,
            limits: CodecLimits::default(),
            compression: Compression::Never,
        })
    }

    /// All the limits at once (the cookie length limit included). Default
    /// [`CodecLimits::default`].
    #[must_use]
    pub fn with_limits(mut self, limits: CodecLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Refuses version 1 cookies (XChaCha20-Poly1305) from `unix_seconds` on.
    /// Default: they open as long as their age allows. Every cookie this
    /// crate writes is version 2, and a version 1 cookie is re-sealed as
    /// version 2 the next time its session is written, so a cut-off one
    /// maximum age after the upgrade refuses nothing a user still holds.
    #[must_use]
    pub fn with_v1_cutoff(mut self, unix_seconds: Option<u64>) -> Self {
        self.v1_cutoff = unix_seconds;
        self
    }

    /// The maximum age of a cookie, from its issue time. Default 31 days.
    #[must_use]
    pub fn with_max_age(mut self, seconds: u64) -> Self {
        self.limits.max_age = seconds;
        self
    }

    /// When to compress before sealing. Default [`Compression::Never`].
    ///
    /// # Security
    ///
    /// Compression makes the cookie's length depend on its content: if an
    /// attacker can put chosen text into a session next to a secret (a form
    /// value echoed into the session beside an API token, say) and watch the
    /// cookie's length, each guess that matches part of the secret makes the
    /// cookie shorter (the CRIME/BREACH attacks). That is why sealed cookies
    /// are not compressed by default. Choose [`Compression::Flask`] (deflate
    /// when it saves bytes) only when no attacker-chosen text shares a session
    /// with a secret; it buys room under the browser's 4 KB limit.
    /// Compressed and uncompressed cookies both open whatever the setting.
    #[must_use]
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Seals a session issued at `issued_at` and created at `created_at`.
    #[must_use]
    pub fn seal(&self, data: &Map, issued_at: u64, created_at: u64) -> String {
        let mut text = String::with_capacity(64);
        json::write_map(&mut text, data);
        self.seal_json(&text, issued_at, created_at)
    }

    /// [`seal`](Self::seal) for a [`LazyMap`]: its entries still in the
    /// text they were read from are written from there.
    pub(crate) fn seal_lazy(&self, data: &LazyMap, issued_at: u64, created_at: u64) -> String {
        let mut text = String::with_capacity(64);
        data.write_json(&mut text, None);
        self.seal_json(&text, issued_at, created_at)
    }

    /// Seals a session's JSON text, compressed if the setting says so.
    fn seal_json(&self, text: &str, issued_at: u64, created_at: u64) -> String {
        let compressed = self.compression.apply(text.as_bytes());
        let (flags, payload) = match &compressed {
            Some(z) => (FLAG_COMPRESSED, z.as_slice()),
            None => (0, text.as_bytes()),
        };
        self.seal_payload(flags, payload, issued_at, created_at)
    }

    /// Seals an opened cookie's payload again with new times, a new nonce and
    /// the current key, without parsing or compressing it again: the refresh
    /// of an unchanged session.
    #[must_use]
    pub fn reseal<D>(&self, opened: &Unsealed<D>, issued_at: u64, created_at: u64) -> String {
        let (flags, payload) = opened
            .payload
            .split_first()
            .map_or((0, &[][..]), |(f, p)| (*f, p));
        self.seal_payload(flags, payload, issued_at, created_at)
    }

    fn seal_payload(&self, flags: u8, payload: &[u8], issued_at: u64, created_at: u64) -> String {
        // One buffer: version, nonce, then the plaintext encrypted in place,
        // then the tag. Wiped on drop (it held the plaintext).
        let mut raw = Zeroizing::new(Vec::with_capacity(
            1 + NONCE_LEN + HEADER_LEN + payload.len() + TAG_LEN,
        ));
        raw.push(VERSION);
        let mut nonce = [0u8; NONCE_LEN];
        // A userspace CSPRNG (rand's thread-local ChaCha12, seeded from the
        // OS and reseeded every 64 KiB): no system call per seal (a getrandom
        // call costs ~0.5 µs where the C library has no vDSO for it). Since
        // rand 0.9 it isn't reseeded after a fork: a child that repeats its
        // parent's nonces can only show that two identical plaintexts were
        // sealed, which AES-GCM-SIV tolerates (module docs).
        rand::Rng::fill_bytes(&mut rand::rng(), &mut nonce);
        raw.extend_from_slice(&nonce);
        raw.push(flags);
        raw.extend_from_slice(&issued_at.to_be_bytes());
        raw.extend_from_slice(&created_at.to_be_bytes());
        raw.extend_from_slice(payload);
        let tag = self.ciphers[0]
            .encrypt_inout_detached(
                (&nonce).into(),
                &self.aad,
                (&mut raw[1 + NONCE_LEN..]).into(),
            )
            // Only a message over 256 GiB fails; a cookie is never that.
            .unwrap_or_default();
        raw.extend_from_slice(&tag);
        crate::b64::url_encode(&raw)
    }

    /// Opens a sealed cookie at time `now`.
    ///
    /// # Errors
    ///
    /// Every failure to open (bad base64, unknown version, wrong key, wrong
    /// cookie name, any altered byte) is the same [`DecodeError::BadSignature`]:
    /// nothing tells them apart. Then [`DecodeError::Expired`] /
    /// [`DecodeError::FromFuture`] for the issue time, and
    /// [`DecodeError::BadPayload`] for a sealed payload that is not a session.
    pub fn open(&self, cookie: &str, now: u64) -> Result<Unsealed, DecodeError> {
        self.open_with(cookie, now, |json| json::parse_map(&json), true)
    }

    /// As [`open`](Self::open), but the data is a [`LazyMap`]: checked in
    /// full, with each value built only when it is read. What a server reads
    /// on every request.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    pub fn open_lazy(&self, cookie: &str, now: u64) -> Result<Unsealed<LazyMap>, DecodeError> {
        self.open_with(cookie, now, lazy_secret, true)
    }

    /// As [`open_lazy`](Self::open_lazy), keeping the payload for
    /// [`reseal`](Self::reseal) only when it was compressed: an
    /// uncompressed one is the data's own text, resealed from it
    /// ([`reseal_text`](Self::reseal_text)). The payload is empty otherwise.
    pub(crate) fn open_for_read(
        &self,
        cookie: &str,
        now: u64,
    ) -> Result<Unsealed<LazyMap>, DecodeError> {
        self.open_with(cookie, now, lazy_secret, false)
    }

    /// Seals an uncompressed session's JSON text again, with a new nonce: the
    /// cookie [`reseal`](Self::reseal) makes from a payload that was read
    /// uncompressed.
    pub(crate) fn reseal_text(&self, json: &str, issued_at: u64, created_at: u64) -> String {
        self.seal_payload(0, json.as_bytes(), issued_at, created_at)
    }

    /// Opens `cookie`; `parse` gets the JSON in a buffer of its own (an
    /// uncompressed payload's is the decrypted buffer itself, no copy).
    fn open_with<D>(
        &self,
        cookie: &str,
        now: u64,
        parse: impl FnOnce(Zeroizing<Vec<u8>>) -> Result<D, PayloadError>,
        keep_uncompressed: bool,
    ) -> Result<Unsealed<D>, DecodeError> {
        self.limits.check_len(cookie)?;
        let mut raw = Zeroizing::new(
            crate::b64::url_decode(cookie.as_bytes()).ok_or(DecodeError::BadSignature)?,
        );
        let v1_open = match self.v1_cutoff {
            Some(cutoff) => now < cutoff,
            None => true,
        };
        // The buffer holding the plaintext, and where it is in it.
        let (key_index, mut plain, start, end) = match raw.first().copied() {
            Some(VERSION) => {
                let index = self.open_v2(&mut raw)?;
                // `open_v2` checked that the tag is there.
                let end = raw.len().saturating_sub(TAG_LEN);
                (index, raw, 1 + NONCE_LEN, end)
            }
            Some(VERSION_1) if v1_open => {
                let (index, plain) = self.open_v1(&raw)?;
                let end = plain.len();
                (index, plain, 0, end)
            }
            _ => return Err(DecodeError::BadSignature),
        };
        let text = plain.get(start..end).ok_or(DecodeError::BadSignature)?;
        if text.len() < HEADER_LEN {
            return Err(DecodeError::BadSignature);
        }
        let flags = text[0];
        let mut be = [0u8; 8];
        be.copy_from_slice(&text[1..9]);
        let issued_at = u64::from_be_bytes(be);
        be.copy_from_slice(&text[9..17]);
        let created_at = u64::from_be_bytes(be);
        check_age(issued_at, now, self.limits.max_age)?;
        let payload = &text[HEADER_LEN..];
        // Keep flags and payload (drop the times) for `reseal`, unless the
        // caller reseals an uncompressed payload from the data's text.
        let mut kept = Zeroizing::new(Vec::new());
        if keep_uncompressed || flags != 0 {
            kept.reserve_exact(1 + payload.len());
            kept.push(flags);
            kept.extend_from_slice(payload);
        }
        let data = if flags & FLAG_COMPRESSED != 0 {
            parse(Zeroizing::new(inflate(
                payload,
                self.limits.max_decompressed,
            )?))?
        } else if flags == 0 {
            // The payload is the JSON: the buffer, cut down to it, becomes
            // the data's (every byte it held is wiped with it).
            plain.truncate(end);
            plain.drain(..start + HEADER_LEN);
            parse(plain)?
        } else {
            return Err(DecodeError::BadPayload(PayloadError::Json {
                offset: 0,
                what: "unknown flags",
            }));
        };
        Ok(Unsealed {
            data,
            issued_at,
            created_at,
            key_index,
            payload: kept,
        })
    }

    /// Decrypts a version 2 cookie in place (the plaintext is then between
    /// the nonce and the tag); gives the key's index.
    fn open_v2(&self, raw: &mut [u8]) -> Result<usize, DecodeError> {
        if raw.len() < 1 + NONCE_LEN + HEADER_LEN + TAG_LEN {
            return Err(DecodeError::BadSignature);
        }
        let (head, body) = raw.split_at_mut(1 + NONCE_LEN);
        let (text, tag) = body.split_at_mut(body.len() - TAG_LEN);
        let nonce: &[u8; NONCE_LEN] = head[1..]
            .try_into()
            .map_err(|_| DecodeError::BadSignature)?;
        let tag: &[u8; TAG_LEN] = (&*tag).try_into().map_err(|_| DecodeError::BadSignature)?;
        // With fallback keys, each key gets the ciphertext afresh: a failed
        // attempt may leave garbage in the buffer.
        let sealed = (self.ciphers.len() > 1).then(|| Zeroizing::new(text.to_vec()));
        for (index, cipher) in self.ciphers.iter().enumerate() {
            if let (true, Some(sealed)) = (index > 0, &sealed) {
                text.copy_from_slice(sealed);
            }
            if cipher
                .decrypt_inout_detached(nonce.into(), &self.aad, (&mut *text).into(), tag.into())
                .is_ok()
            {
                return Ok(index);
            }
        }
        Err(DecodeError::BadSignature)
    }

    /// Opens a version 1 (XChaCha20-Poly1305) cookie.
    fn open_v1(&self, raw: &[u8]) -> Result<(usize, Zeroizing<Vec<u8>>), DecodeError> {
        if raw.len() < 1 + NONCE_LEN_1 + TAG_LEN + HEADER_LEN {
            return Err(DecodeError::BadSignature);
        }
        let nonce =
            <&XNonce>::try_from(&raw[1..=NONCE_LEN_1]).map_err(|_| DecodeError::BadSignature)?;
        let body = &raw[1 + NONCE_LEN_1..];
        self.ciphers_1
            .iter()
            .enumerate()
            .find_map(|(i, c)| {
                chacha20poly1305::aead::Aead::decrypt(
                    c,
                    nonce,
                    chacha20poly1305::aead::Payload {
                        msg: body,
                        aad: &self.aad_1,
                    },
                )
                .ok()
                .map(|p| (i, Zeroizing::new(p)))
            })
            .ok_or(DecodeError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_are_refused() {
        let ring = KeyRing::new(Key::generate()).with_fallback(Key::from_utf8("short").unwrap());
        assert_eq!(
            SealedCodec::new(&ring, "session").unwrap_err(),
            SealingKeyError { index: 1, len: 5 }
        );
    }

    #[test]
    fn debug_redacts() {
        let c = SealedCodec::new(&KeyRing::new(Key::generate()), "s").unwrap();
        assert!(format!("{c:?}").contains("<1 redacted>"));
        let mut data = Map::new();
        data.insert("api_token".into(), crate::Value::from("tok-SECRET-4711"));
        let opened = c.open(&c.seal(&data, 10, 10), 10).unwrap();
        let shown = format!("{opened:?}");
        assert!(
            !shown.contains("SECRET") && !shown.contains("api_token"),
            "{shown}"
        );
    }

    #[test]
    fn not_compressed_by_default_but_both_open() {
        let ring = KeyRing::new(Key::generate());
        let plain = SealedCodec::new(&ring, "s").unwrap();
        let deflating = SealedCodec::new(&ring, "s")
            .unwrap()
            .with_compression(Compression::Flask);
        let mut data = Map::new();
        data.insert("cart".into(), crate::Value::from("tea ".repeat(200)));
        let (a, b) = (plain.seal(&data, 10, 10), deflating.seal(&data, 10, 10));
        assert!(
            a.len() > b.len() + 500,
            "the default does not compress: its length follows the data"
        );
        assert_eq!(plain.open(&b, 10).unwrap().data, data);
        assert_eq!(deflating.open(&a, 10).unwrap().data, data);
    }
}
