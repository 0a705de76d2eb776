//! Django's `signed_cookies` session backend, byte for byte.
//!
//! Django 5.2 (`django/contrib/sessions/backends/signed_cookies.py`) keeps
//! the whole session in the `sessionid` cookie:
//! `signing.dumps(session, compress=True, salt=SESSION_SALT,
//! serializer=JSONSerializer)`, read back with `signing.loads(cookie,
//! salt=SESSION_SALT, max_age=SESSION_COOKIE_AGE)`. [`DjangoCodec`] is that
//! configuration of [`DjangoSigner`]:
//! plain JSON with `separators=(",", ":")`, ASCII only, zlib (and a leading
//! `.`) when it saves at least 2 bytes, HMAC-SHA256 keyed by
//! `SHA256(SESSION_SALT + "signer" + SECRET_KEY)`, base62 timestamps.
//! `SECRET_KEY_FALLBACKS` are the [`KeyRing`]'s fallbacks.
//!
//! Any failure (signature, age, base64, zlib, JSON) gives Django an empty
//! session; here it is a [`DecodeError`], which the session layer turns into
//! an empty session too. Django reads the JSON bytes as Latin-1 (and writes
//! ASCII): so does [`DjangoCodec::decode`].
//!
//! # Django's login keys
//!
//! `django.contrib.auth.login` stores three keys: `_auth_user_id` (the
//! user's primary key, as a string), `_auth_user_backend` (the dotted path
//! of the backend, e.g. `django.contrib.auth.backends.ModelBackend`) and
//! `_auth_user_hash` (`salted_hmac("django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash",
//! user.password, algorithm="sha256").hexdigest()`). A Rust app can read
//! them; it can't make a valid `_auth_user_hash` without the user's
//! password hash from Django's database, so logging a user in for Django
//! stays Django's job.
//!
//! # Security
//!
//! A signed cookie is **readable by anyone**; the signature only proves that
//! a holder of the key wrote it. Compression happens before signing, so the
//! cookie's length tells something about its content.

use std::fmt;

use crate::codec::CodecLimits;
use crate::django_signing::DjangoSigner;
use crate::error::DecodeError;
use crate::itsdangerous::Loaded;
use crate::json::{self, LazyMap, PlainJson};
use crate::key::KeyRing;
use crate::value::{Map, ValueError};

/// The salt of Django's `signed_cookies` session backend.
pub const SESSION_SALT: &str = "django.contrib.sessions.backends.signed_cookies";

/// Django's default `SESSION_COOKIE_AGE`: two weeks, in seconds.
pub const SESSION_COOKIE_AGE: u64 = 60 * 60 * 24 * 7 * 2;

/// Encodes and decodes Django's `signed_cookies` session cookie.
///
/// # Examples
///
/// ```
/// use websession_core::django::DjangoCodec;
/// use websession_core::{Key, KeyRing, Map, Value};
///
/// let codec = DjangoCodec::new(&KeyRing::new(Key::from_utf8("vector key: current secret of the vectors")?));
/// let mut data = Map::new();
/// data.insert("user".into(), Value::from("alice"));
/// // What Django 5.2 sets at this time (testdata/django_vectors.json).
/// let cookie = codec.encode(&data, 1_750_000_000)?;
/// assert_eq!(cookie, "eyJ1c2VyIjoiYWxpY2UifQ:1uQowS:0esG7L7pAzuzoRK-p1CU3l-LhRf6ZSsB97I4YU4RWKQ");
/// assert_eq!(codec.decode(&cookie, 1_750_000_060)?.value, data);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct DjangoCodec {
    signer: DjangoSigner,
    limits: CodecLimits,
}

impl fmt::Debug for DjangoCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DjangoCodec")
            .field("signer", self.signer.signer())
            .field("limits", &self.limits)
            .finish()
    }
}

impl DjangoCodec {
    /// A codec that signs with the ring's current key (`SECRET_KEY`) and
    /// verifies with every key (`SECRET_KEY_FALLBACKS`); maximum age
    /// [`SESSION_COOKIE_AGE`].
    #[must_use]
    pub fn new(keys: &KeyRing) -> Self {
        let limits = CodecLimits::default().with_max_age(SESSION_COOKIE_AGE);
        Self {
            signer: DjangoSigner::new(keys, SESSION_SALT).with_limits(limits),
            limits,
        }
    }

    /// All the limits at once (`max_age` is `SESSION_COOKIE_AGE`).
    #[must_use]
    pub fn with_limits(mut self, limits: CodecLimits) -> Self {
        self.limits = limits;
        self.signer = self.signer.with_limits(limits);
        self
    }

    /// The maximum age in seconds (`SESSION_COOKIE_AGE`).
    #[must_use]
    pub fn with_max_age(self, seconds: u64) -> Self {
        let limits = self.limits.with_max_age(seconds);
        self.with_limits(limits)
    }

    /// The limits.
    #[must_use]
    pub fn limits(&self) -> &CodecLimits {
        &self.limits
    }

    /// Encodes a session as Django does at `timestamp` (Unix seconds).
    ///
    /// # Errors
    ///
    /// [`ValueError::NotPlainJson`] for bytes, UUIDs and datetimes, which
    /// Django's `JSONSerializer` can't write either.
    pub fn encode(&self, data: &Map, timestamp: u64) -> Result<String, ValueError> {
        let mut text = String::with_capacity(64);
        json::write_plain_map(&mut text, data, PlainJson::Compact)?;
        Ok(self.signer.dumps_json(text.as_bytes(), timestamp, true))
    }

    /// Verifies a cookie at `now` and decodes its session.
    ///
    /// # Errors
    ///
    /// Every reason Django has to start an empty session; see
    /// [`DjangoSigner::loads_json`] and [`DecodeError::BadPayload`].
    pub fn decode(&self, cookie: &str, now: u64) -> Result<Loaded<Map>, DecodeError> {
        let parsed = self
            .verify(cookie, now)?
            .try_map(|raw| json::parse_plain_map(&latin1(raw)))?;
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

    /// Verifies a cookie and gives its JSON bytes (inflated), unparsed.
    ///
    /// # Errors
    ///
    /// As [`decode`](Self::decode), without the JSON checks.
    pub fn verify(&self, cookie: &str, now: u64) -> Result<Loaded<Vec<u8>>, DecodeError> {
        self.signer
            .loads_json(cookie, now, Some(self.limits.max_age))
    }
}

/// The payload as Django's `data.decode("latin-1")` reads it, as UTF-8.
pub(crate) fn latin1(bytes: Vec<u8>) -> Vec<u8> {
    if bytes.is_ascii() {
        return bytes;
    }
    bytes
        .iter()
        .map(|&b| char::from(b))
        .collect::<String>()
        .into_bytes()
}
