//! Secret keys and key rings.

use std::fmt;

use zeroize::Zeroizing;

/// Length in bytes of a key made by [`Key::generate`].
pub const GENERATED_KEY_LEN: usize = 32;

/// Keys shorter than this many bytes are reported by [`Key::weakness`].
pub const MIN_KEY_LEN: usize = 16;

/// Secrets published in tutorials, framework defaults and example code.
///
/// Anyone can try these against a cookie in a second, so a key on this list
/// protects nothing. [`Key::weakness`] checks against it, and the `websession
/// audit` command tries every entry before the user's word list. Entries are
/// compared byte for byte.
pub const WELL_KNOWN_SECRETS: &[&[u8]] = &[
    b"secret",
    b"secret-key",
    b"secret_key",
    b"secretkey",
    b"SECRET_KEY",
    b"SECRET",
    b"mysecret",
    b"my-secret",
    b"my_secret",
    b"mysecretkey",
    b"my-secret-key",
    b"my_secret_key",
    b"your-secret-key",
    b"your_secret_key",
    b"yoursecretkey",
    b"super secret key",
    b"super-secret-key",
    b"supersecretkey",
    b"supersecret",
    b"changeme",
    b"change-me",
    b"change_me",
    b"changethis",
    b"CHANGEME",
    b"development key",
    b"development",
    b"dev",
    b"devkey",
    b"dev-key",
    b"dev_key",
    b"test",
    b"testing",
    b"test-key",
    b"password",
    b"flask",
    b"flask-secret",
    b"flask_secret",
    b"flasksecret",
    b"keyboard cat",
    b"s3cr3t",
    b"default",
    b"key",
    b"thisisasecret",
    b"this-is-a-secret",
    b"not-so-secret",
    b"notsosecret",
    b"correct horse battery staple",
    // Flask's quickstart ("How to generate good secret keys") example key.
    b"_5#y2L\"F4Q8z\n\xec]/",
    b"192b9bdd22ab9ed4d12e236c78afcb9a393ec15f71bbf5dc987d54727823bcbf",
    // Apache Superset's old default (CVE-2023-27524).
    b"\x02\x01thisismyscretkey\x01\x02\\e\\y\\y\\h",
    b"CHANGE_ME_TO_A_COMPLEX_RANDOM_SECRET",
    b"TEST_NON_DEV_SECRET",
];

/// Why a key is not fit to protect sessions. See [`Key::weakness`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyWeakness {
    /// Fewer than [`MIN_KEY_LEN`] bytes.
    TooShort {
        /// The key's length in bytes.
        len: usize,
    },
    /// The key is in [`WELL_KNOWN_SECRETS`].
    WellKnown,
}

impl fmt::Display for KeyWeakness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { len } => write!(
                f,
                "the key is {len} bytes long; use at least {MIN_KEY_LEN} random bytes ({GENERATED_KEY_LEN} recommended)"
            ),
            Self::WellKnown => f.write_str(
                "the key is a published example or default secret that anyone can guess",
            ),
        }
    }
}

/// Errors when making a [`Key`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key is empty. Flask treats an empty `SECRET_KEY` as "sessions disabled".
    #[error("the secret key is empty")]
    Empty,
    /// The text is not an even number of hexadecimal digits.
    #[error("the secret key is not valid hexadecimal")]
    BadHex,
    /// The text has a character above U+00FF, which Latin-1 can't encode
    /// (Python raises `UnicodeEncodeError` for the same key).
    #[error("the secret key has a character that Latin-1 can't encode")]
    NotLatin1,
    /// The environment variable holding the key is not valid Unicode.
    #[error("the secret key's environment variable is not valid Unicode")]
    NotUnicode,
}

/// A secret key: Flask's `SECRET_KEY` or one of its fallbacks.
///
/// The bytes are wiped from memory when the key is dropped and never appear in
/// `Debug` output.
///
/// # Examples
///
/// ```
/// use websession_core::Key;
///
/// let key = Key::from_utf8("correct horse battery staple")?;
/// assert_eq!(key.len(), 28);
/// assert_eq!(format!("{key:?}"), "Key(<redacted, 28 bytes>)");
/// # Ok::<(), websession_core::KeyError>(())
/// ```
#[derive(Clone)]
pub struct Key(Zeroizing<Vec<u8>>);

impl Key {
    /// A key made of these exact bytes (Flask: a `bytes` `SECRET_KEY`).
    ///
    /// # Errors
    ///
    /// [`KeyError::Empty`] when `bytes` is empty.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Result<Self, KeyError> {
        let bytes = Zeroizing::new(bytes.into());
        if bytes.is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(Self(bytes))
    }

    /// A key from text, as its UTF-8 bytes (Flask: a `str` `SECRET_KEY`).
    ///
    /// # Errors
    ///
    /// [`KeyError::Empty`] when `text` is empty.
    pub fn from_utf8(text: &str) -> Result<Self, KeyError> {
        Self::from_bytes(text.as_bytes())
    }

    /// A key from text, as its Latin-1 bytes: what Flask-Login signs the
    /// remember cookie with when `SECRET_KEY` is a `str`
    /// (`key.encode("latin1")`). Equal to [`Key::from_utf8`] for ASCII.
    ///
    /// # Errors
    ///
    /// [`KeyError::NotLatin1`] for a character above U+00FF,
    /// [`KeyError::Empty`] for "".
    ///
    /// ```
    /// use websession_core::Key;
    /// assert_eq!(Key::from_latin1("clé")?.expose_bytes(), b"cl\xe9");
    /// assert_eq!(Key::from_utf8("clé")?.expose_bytes(), "clé".as_bytes());
    /// # Ok::<(), websession_core::KeyError>(())
    /// ```
    pub fn from_latin1(text: &str) -> Result<Self, KeyError> {
        let bytes: Zeroizing<Vec<u8>> = Zeroizing::new(
            text.chars()
                .map(|c| u8::try_from(u32::from(c)).map_err(|_| KeyError::NotLatin1))
                .collect::<Result<_, _>>()?,
        );
        Self::from_bytes(bytes.to_vec())
    }

    /// A key from hexadecimal text (either case).
    ///
    /// # Errors
    ///
    /// [`KeyError::BadHex`] for text that is not hex, [`KeyError::Empty`] for "".
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        let bytes = Zeroizing::new(hex::decode(text.trim()).map_err(|_| KeyError::BadHex)?);
        Self::from_bytes(bytes.to_vec())
    }

    /// The key in the environment variable `var`, as its UTF-8 bytes (how a
    /// Flask app usually sets `SECRET_KEY`). When `var` is unset: a new
    /// random key ([`Key::generate`]) and a warning under the
    /// `websession::security` log target, since sessions then don't survive
    /// a restart and aren't shared between processes. That is what a quick
    /// start or a demo needs; in production, set the variable (make a key
    /// with `websession keygen`).
    ///
    /// # Errors
    ///
    /// [`KeyError::Empty`] when `var` is set but empty (Flask's "sessions
    /// disabled"), [`KeyError::NotUnicode`] when it isn't valid Unicode.
    ///
    /// ```
    /// use websession_core::Key;
    /// // Unset: a random key, with a warning.
    /// let key = Key::from_env_or_generate("WEBSESSION_DOC_EXAMPLE_UNSET_KEY")?;
    /// assert_eq!(key.len(), websession_core::GENERATED_KEY_LEN);
    /// # Ok::<(), websession_core::KeyError>(())
    /// ```
    pub fn from_env_or_generate(var: &str) -> Result<Self, KeyError> {
        match std::env::var(var) {
            Ok(text) => Self::from_utf8(&text),
            Err(std::env::VarError::NotUnicode(_)) => Err(KeyError::NotUnicode),
            Err(std::env::VarError::NotPresent) => {
                tracing::warn!(
                    target: "websession::security",
                    "{var} is not set: using a random secret key, so sessions end when the \
                     process restarts and aren't shared with other processes; set {var} \
                     (make one with `websession keygen`)"
                );
                Ok(Self::generate())
            }
        }
    }

    /// A new random key of [`GENERATED_KEY_LEN`] bytes from the OS CSPRNG.
    ///
    /// # Panics
    ///
    /// If the operating system's random source fails, which leaves no safe way
    /// to make a key.
    #[must_use]
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; GENERATED_KEY_LEN]);
        #[allow(clippy::expect_used)]
        getrandom::fill(&mut bytes).expect("the OS random number generator failed");
        Self(bytes)
    }

    /// The key's bytes.
    ///
    /// # Security
    ///
    /// Whoever holds these bytes can forge sessions. Don't log them.
    #[must_use]
    pub fn expose_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The key as lowercase hex, e.g. to print a freshly generated key once.
    #[must_use]
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(&*self.0))
    }

    /// Length of the key in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always `false`: a key can't be empty. Present for API symmetry with `len`.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Why this key is unsafe, if it is: too short, or a published secret.
    ///
    /// # Examples
    ///
    /// ```
    /// use websession_core::{Key, KeyWeakness};
    ///
    /// assert_eq!(Key::from_utf8("dev")?.weakness(), Some(KeyWeakness::WellKnown));
    /// assert_eq!(Key::generate().weakness(), None);
    /// # Ok::<(), websession_core::KeyError>(())
    /// ```
    #[must_use]
    pub fn weakness(&self) -> Option<KeyWeakness> {
        if WELL_KNOWN_SECRETS.iter().any(|k| *k == &self.0[..]) {
            Some(KeyWeakness::WellKnown)
        } else if self.0.len() < MIN_KEY_LEN {
            Some(KeyWeakness::TooShort { len: self.0.len() })
        } else {
            None
        }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key(<redacted, {} bytes>)", self.0.len())
    }
}

/// The current key plus older fallback keys, for key rotation.
///
/// This is Flask's `SECRET_KEY` with `SECRET_KEY_FALLBACKS`. New cookies are
/// always signed (or sealed) with the current key. Incoming cookies are checked
/// against the current key first, then against the fallbacks **from the newest
/// to the oldest**, the order Flask uses. Fallbacks are given in Flask's config
/// order, oldest first: [`KeyRing::with_fallback`] adds a newer one.
///
/// # Examples
///
/// Rotate a key: the new key becomes current, the old one a fallback, so
/// cookies signed with the old key keep working and are re-signed with the new
/// key the next time they are written.
///
/// ```
/// use websession_core::{Key, KeyRing};
///
/// let ring = KeyRing::new(Key::from_utf8("the new secret, 32 bytes or more")?)
///     .with_fallback(Key::from_utf8("the old secret, retired on Monday")?);
/// assert_eq!(ring.fallbacks().len(), 1);
/// # Ok::<(), websession_core::KeyError>(())
/// ```
#[derive(Clone, Debug)]
pub struct KeyRing {
    current: Key,
    fallbacks: Vec<Key>,
}

impl From<Key> for KeyRing {
    /// A key ring with only `key`, as [`KeyRing::new`].
    fn from(key: Key) -> Self {
        Self::new(key)
    }
}

impl KeyRing {
    /// A key ring with only a current key.
    #[must_use]
    pub fn new(current: Key) -> Self {
        Self {
            current,
            fallbacks: Vec::new(),
        }
    }

    /// Adds a fallback key, newer than the fallbacks already present.
    #[must_use]
    pub fn with_fallback(mut self, key: Key) -> Self {
        self.fallbacks.push(key);
        self
    }

    /// Adds fallback keys in Flask's `SECRET_KEY_FALLBACKS` order (oldest first).
    #[must_use]
    pub fn with_fallbacks(mut self, keys: impl IntoIterator<Item = Key>) -> Self {
        self.fallbacks.extend(keys);
        self
    }

    /// The key that signs new cookies.
    #[must_use]
    pub fn current(&self) -> &Key {
        &self.current
    }

    /// The fallback keys, oldest first.
    #[must_use]
    pub fn fallbacks(&self) -> &[Key] {
        &self.fallbacks
    }

    /// Every key in the order incoming cookies are checked: the current key,
    /// then the fallbacks from newest to oldest. Index 0 is the current key.
    pub fn verification_order(&self) -> impl Iterator<Item = &Key> {
        std::iter::once(&self.current).chain(self.fallbacks.iter().rev())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_key_bytes() {
        let key = Key::from_utf8("hunter2-hunter2-hunter2").unwrap();
        let ring = KeyRing::new(key.clone()).with_fallback(Key::from_hex("6869646465e6").unwrap());
        let shown = format!("{key:?} {ring:?} {ring:#?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("6869646465"), "{shown}");
        assert!(!shown.contains("104"), "{shown}"); // 'h' as a decimal byte
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn empty_and_bad_hex_keys_are_errors() {
        assert_eq!(Key::from_bytes(Vec::new()).unwrap_err(), KeyError::Empty);
        assert_eq!(Key::from_utf8("").unwrap_err(), KeyError::Empty);
        assert_eq!(Key::from_hex("abc").unwrap_err(), KeyError::BadHex);
        assert_eq!(Key::from_hex("zz").unwrap_err(), KeyError::BadHex);
    }

    #[test]
    fn verification_order_is_current_then_newest_fallback() {
        let k = |s: &str| Key::from_utf8(s).unwrap();
        let ring = KeyRing::new(k("current")).with_fallbacks([k("oldest"), k("newer")]);
        let order: Vec<_> = ring
            .verification_order()
            .map(|k| String::from_utf8(k.expose_bytes().to_vec()).unwrap())
            .collect();
        assert_eq!(order, ["current", "newer", "oldest"]);
    }

    #[test]
    fn weakness() {
        assert_eq!(
            Key::from_utf8("abc").unwrap().weakness(),
            Some(KeyWeakness::TooShort { len: 3 })
        );
        assert_eq!(
            Key::from_bytes(&b"_5#y2L\"F4Q8z\n\xec]/"[..])
                .unwrap()
                .weakness(),
            Some(KeyWeakness::WellKnown)
        );
        let generated = Key::generate();
        assert_eq!(generated.len(), GENERATED_KEY_LEN);
        assert_ne!(generated.expose_bytes(), Key::generate().expose_bytes());
    }
}
