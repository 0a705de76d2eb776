//! Session ids and their hashes.

use std::borrow::Cow;
use std::fmt;

use sha2::{Digest, Sha256};

/// Length of a session id in characters: 32 random bytes, base64url, no padding.
pub const SESSION_ID_LEN: usize = 43;

/// A session id: 256 bits from the OS CSPRNG, as 43 url-safe characters.
///
/// `Debug` shows only a short prefix; `Display` is the full id (for the
/// cookie, nothing else).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    /// A new random id.
    ///
    /// # Panics
    ///
    /// If the operating system's random source fails.
    #[must_use]
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        #[allow(clippy::expect_used)]
        getrandom::fill(&mut bytes).expect("the OS random number generator failed");
        Self(crate::b64::url_encode(&bytes))
    }

    /// Parses an id from a cookie: exactly 43 canonical base64url characters.
    /// Anything else (empty, short, long, padded, other characters) is `None`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != SESSION_ID_LEN {
            return None;
        }
        let mut buf = [0u8; 33];
        match crate::b64::url_decode_slice(text.as_bytes(), &mut buf) {
            Some(32) => Some(Self(text.to_owned())),
            _ => None,
        }
    }

    /// An id in another store's format, which its [`IdFormat`] made or
    /// checked (a Python app's session key, say). websession's own ids come
    /// from [`generate`](Self::generate) and [`parse`](Self::parse).
    #[must_use]
    pub fn from_checked(text: String) -> Self {
        Self(text)
    }

    /// The id as text (the cookie holds it, or its signed form).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The SHA-256 of the id: what stores use as the key.
    #[must_use]
    pub fn hash(&self) -> IdHash {
        IdHash(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({}…)", self.0.get(..4).unwrap_or(""))
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The key a store sees for a [`SessionId`]: its SHA-256 under websession's
/// own [`HashedIds`]; under an [`IdFormat`] that stores ids as they are (the
/// Python bridges' Flask-Session and Django records), the id's own 32 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdHash([u8; 32]);

impl IdHash {
    /// The 32 bytes, e.g. for a `BLOB`/`bytea` key column.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Lowercase hex, e.g. for Redis keys.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The hash from its 32 bytes, as [`as_bytes`](Self::as_bytes) gave
    /// them (a store reading its key column back); `None` for any other
    /// length.
    ///
    /// ```
    /// use websession_core::store::{IdHash, SessionId};
    /// let hash = SessionId::generate().hash();
    /// assert_eq!(IdHash::from_bytes(hash.as_bytes()), Some(hash));
    /// assert_eq!(IdHash::from_bytes(b"short"), None);
    /// ```
    #[must_use]
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        Some(Self(bytes.try_into().ok()?))
    }

    /// The hash from its hex form, as [`to_hex`](Self::to_hex) gave it;
    /// `None` for anything else.
    ///
    /// ```
    /// use websession_core::store::{IdHash, SessionId};
    /// let hash = SessionId::generate().hash();
    /// assert_eq!(IdHash::from_hex(&hash.to_hex()), Some(hash));
    /// assert_eq!(IdHash::from_hex("zz"), None);
    /// ```
    #[must_use]
    pub fn from_hex(hex: &str) -> Option<Self> {
        let mut bytes = [0_u8; 32];
        hex::decode_to_slice(hex, &mut bytes).ok()?;
        Some(Self(bytes))
    }
}

impl fmt::Debug for IdHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdHash({}…)", &self.to_hex()[..8])
    }
}

/// How a store's session ids look: how they are made, how the cookie holds
/// them, and the key the store files a record under.
///
/// A store names its format with
/// [`SessionStore::id_format`](super::SessionStore::id_format). Every store
/// of websession's own uses [`HashedIds`]; a store that shares its records
/// with another program (a Flask-Session or Django table) uses that
/// program's ids, and its key is then the raw id.
pub trait IdFormat: Send + Sync {
    /// A new random id.
    fn generate(&self) -> SessionId;
    /// The id a cookie (or token) value holds; `None` for anything this
    /// format would never have made, a forged signature included.
    fn parse(&self, cookie: &str) -> Option<SessionId>;
    /// What the cookie holds for `id` (the id itself, or its signed form).
    fn cookie_value<'a>(&self, id: &'a SessionId) -> Cow<'a, str> {
        Cow::Borrowed(id.as_str())
    }
    /// The key the store files `id`'s record under.
    fn key(&self, id: &SessionId) -> IdHash;
}

/// websession's own ids: 256 random bits as 43 base64url characters in the
/// cookie, and only their SHA-256 at rest, so a leaked table or Redis dump
/// holds no usable id.
#[derive(Clone, Copy, Debug, Default)]
pub struct HashedIds;

impl IdFormat for HashedIds {
    fn generate(&self) -> SessionId {
        SessionId::generate()
    }
    fn parse(&self, cookie: &str) -> Option<SessionId> {
        SessionId::parse(cookie)
    }
    fn key(&self, id: &SessionId) -> IdHash {
        id.hash()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_43_url_safe_chars_and_unique() {
        let mut seen = HashSet::new();
        for _ in 0..1_000_000 {
            let id = SessionId::generate();
            assert_eq!(id.as_str().len(), SESSION_ID_LEN);
            assert!(seen.insert(id.hash()), "duplicate id");
        }
        let id = SessionId::generate();
        assert!(id
            .as_str()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(SessionId::parse(id.as_str()), Some(id.clone()));
    }

    #[test]
    fn the_alphabet_is_uniform() {
        // 64 symbols, ~10^6 draws of 42 full symbols each: every count near the mean.
        let mut counts = [0u32; 128];
        for _ in 0..20_000 {
            for b in SessionId::generate().as_str()[..42].bytes() {
                counts[b as usize] += 1;
            }
        }
        let used: Vec<u32> = counts.into_iter().filter(|&c| c > 0).collect();
        assert_eq!(used.len(), 64);
        let mean = 20_000.0 * 42.0 / 64.0;
        assert!(
            used.iter()
                .all(|&c| (f64::from(c) - mean).abs() < mean * 0.05),
            "{used:?}"
        );
    }

    #[test]
    fn malformed_ids_are_refused() {
        let good = SessionId::generate();
        for bad in [
            String::new(),
            "a".into(),
            good.as_str()[..42].to_owned(),
            format!("{}A", good.as_str()),
            format!("{}=", &good.as_str()[..42]),
            format!("{}+", &good.as_str()[..42]),
            format!("{}.", &good.as_str()[..42]),
            "é".repeat(21),
        ] {
            assert_eq!(SessionId::parse(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_short_foreign_id_debugs_without_a_panic() {
        let id = SessionId::from_checked("ab".into());
        assert_eq!(format!("{id:?}"), "SessionId(…)");
        // Byte 4 falls inside the second "é": no slice, no panic.
        let id = SessionId::from_checked("aéé".into());
        assert_eq!(format!("{id:?}"), "SessionId(…)");
    }

    #[test]
    fn hashed_ids_are_websessions_own() {
        let id = HashedIds.generate();
        assert_eq!(HashedIds.parse(id.as_str()), Some(id.clone()));
        assert_eq!(HashedIds.key(&id), id.hash());
        assert_eq!(HashedIds.cookie_value(&id), id.as_str());
        assert_eq!(HashedIds.parse("nope"), None);
    }

    #[test]
    fn debug_shows_only_a_prefix() {
        let id = SessionId::generate();
        let shown = format!("{id:?} {:?}", id.hash());
        assert!(!shown.contains(&id.as_str()[..10]), "{shown}");
        assert!(!shown.contains(&id.hash().to_hex()[..16]));
    }
}
