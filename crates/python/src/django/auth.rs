//! Django's `_auth_user_hash` check: a session logged in by
//! `django.contrib.auth.login` ends when the user's password changes.
//!
//! Django keeps `_auth_user_hash =
//! salted_hmac("django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash",
//! user.password, algorithm="sha256").hexdigest()` in the session, where
//! `salted_hmac` is `HMAC-SHA256(key = SHA256(key_salt + SECRET_KEY), user.password)`,
//! and on every request compares it with the hash of the user's current
//! password hash (`auth_user.password`): the current `SECRET_KEY`'s first,
//! then each of `SECRET_KEY_FALLBACKS`'. No match: `flush()`, the user is
//! logged out. A match by a fallback: Django rotates the session
//! (`cycle_key()`) and stores the current key's hash, so the login
//! outlives the old key's removal from `SECRET_KEY_FALLBACKS`; a Rust
//! handler does the same with `Session::cycle_id` and an insert of
//! [`session_auth_hash`] (see [`AuthHashCheck::Fallback`]).

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use websession_core::{Key, KeyRing};

/// The key `django.contrib.auth.login` keeps the hash under.
pub const HASH_SESSION_KEY: &str = "_auth_user_hash";

/// The key it keeps the user's primary key under (a string).
pub const SESSION_KEY: &str = "_auth_user_id";

/// `AbstractBaseUser.get_session_auth_hash`'s salt.
const KEY_SALT: &str = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash";

/// What [`session_auth_matches`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthHashCheck {
    /// The hash of the current `SECRET_KEY`: the login stands.
    Current,
    /// The hash of one of `SECRET_KEY_FALLBACKS`: the login stands. Django
    /// then rotates the session (`cycle_key()`) and writes the current
    /// key's hash into it; do the same (`session.cycle_id()`, then insert
    /// [`session_auth_hash`] under [`HASH_SESSION_KEY`]), or the user is
    /// logged out on both sides once the old key leaves
    /// `SECRET_KEY_FALLBACKS`.
    Fallback,
    /// No key's hash (the password changed, or the session holds none):
    /// Django flushes the session; call `Session::purge`.
    Mismatch,
}

impl AuthHashCheck {
    /// Whether the login stands ([`Current`](Self::Current) or
    /// [`Fallback`](Self::Fallback)).
    #[must_use]
    pub fn is_valid(self) -> bool {
        !matches!(self, Self::Mismatch)
    }
}

/// `user.get_session_auth_hash()`: the `_auth_user_hash` Django stores for
/// a user whose `password` column holds `password_hash`, under the ring's
/// current key (`SECRET_KEY`).
///
/// # Examples
///
/// ```
/// use websession_core::{Key, KeyRing};
/// use websession_python::django::session_auth_hash;
///
/// let keys = KeyRing::new(Key::from_utf8("django-insecure-test-key-for-the-auth-hash")?);
/// let hash = session_auth_hash(&keys, "pbkdf2_sha256$1000000$salt$hash=");
/// assert_eq!(hash.len(), 64);
/// # Ok::<(), websession_core::KeyError>(())
/// ```
#[must_use]
pub fn session_auth_hash(keys: &KeyRing, password_hash: &str) -> String {
    hex::encode(hash_with(keys.current(), password_hash))
}

/// Django's check of a session's `_auth_user_hash` against the user's
/// current password hash, with `SECRET_KEY` and every key of
/// `SECRET_KEY_FALLBACKS`, in constant time.
///
/// # Examples
///
/// A Rust handler that reads the user's password hash from Django's
/// `auth_user` table ends the session as Django would:
///
/// ```no_run
/// # async fn handler(session: websession::Session, keys: websession_core::KeyRing) {
/// use websession_python::django::{session_auth_matches, HASH_SESSION_KEY};
/// # let password_hash_from_auth_user = String::new();
/// let stored: String = session.get(HASH_SESSION_KEY).ok().flatten().unwrap_or_default();
/// if !session_auth_matches(&keys, &password_hash_from_auth_user, &stored).is_valid() {
///     session.purge(); // logged out, as Django does after a password change
/// }
/// # }
/// ```
#[must_use]
pub fn session_auth_matches(
    keys: &KeyRing,
    password_hash: &str,
    session_hash: &str,
) -> AuthHashCheck {
    let given = session_hash.as_bytes();
    let matches = |key: &Key| {
        let expected = hex::encode(hash_with(key, password_hash));
        bool::from(expected.as_bytes().ct_eq(given))
    };
    if matches(keys.current()) {
        return AuthHashCheck::Current;
    }
    // Every fallback is tried, so the time doesn't tell which one matched.
    let by_fallback = keys
        .fallbacks()
        .iter()
        .fold(false, |found, key| matches(key) | found);
    if by_fallback {
        AuthHashCheck::Fallback
    } else {
        AuthHashCheck::Mismatch
    }
}

/// `salted_hmac(KEY_SALT, password_hash, secret=key, algorithm="sha256")`.
fn hash_with(key: &Key, password_hash: &str) -> [u8; 32] {
    let derived = Sha256::new()
        .chain_update(KEY_SALT.as_bytes())
        .chain_update(key.expose_bytes())
        .finalize();
    // HMAC takes a key of any length: this can't fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(&derived) {
        Ok(mac) => mac,
        Err(_) => return [0; 32],
    };
    mac.update(password_hash.as_bytes());
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> Key {
        Key::from_utf8(text).unwrap()
    }

    /// `(secret, password, hash)` made by Django 5.2.19 in the project's
    /// venv: `User(password=password)._get_session_auth_hash(secret=secret)`.
    const VECTORS: &[(&str, &str, &str)] = &[
        (
            "django-insecure-vector-key-1",
            "pbkdf2_sha256$1000000$abcdefghijklmnop$Zm9vYmFy",
            "c2dc761a4d004642e80f3647154006bab03d7be635d51c829378ee2328288a27",
        ),
        (
            "old-fallback-secret-0",
            "pbkdf2_sha256$1000000$abcdefghijklmnop$Zm9vYmFy",
            "ba5e749c07486fd3286c4788c16d0de0d8547163b1c17fadefbda3f8e15970c9",
        ),
        (
            "zoë-ünïcode-secret",
            "argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdA$aGFzaA",
            "7b6a4f18b6fb19a69c6404b2d862e7b6120405bc8e6d0b64642c04600ab24d49",
        ),
        (
            "django-insecure-vector-key-1",
            "",
            "d1efcc856316710b0dd288e9657322cc0e61e6ec70f3cd6242c3acf3f9ef0fdc",
        ),
    ];

    #[test]
    fn hashes_match_django() {
        for (secret, password, expected) in VECTORS {
            let keys = KeyRing::new(key(secret));
            assert_eq!(session_auth_hash(&keys, password), *expected);
            assert_eq!(
                session_auth_matches(&keys, password, expected),
                AuthHashCheck::Current
            );
        }
    }

    #[test]
    fn fallbacks_pass_and_a_changed_password_fails() {
        let password = VECTORS[0].1;
        let by_old_key = VECTORS[1].2;
        let rotated = KeyRing::new(key("django-insecure-vector-key-1"))
            .with_fallback(key("old-fallback-secret-0"));
        assert_eq!(
            session_auth_matches(&rotated, password, by_old_key),
            AuthHashCheck::Fallback
        );
        assert!(AuthHashCheck::Fallback.is_valid());
        let current_only = KeyRing::new(key("django-insecure-vector-key-1"));
        assert_eq!(
            session_auth_matches(&current_only, password, by_old_key),
            AuthHashCheck::Mismatch
        );
        let changed = "pbkdf2_sha256$1000000$abcdefghijklmnop$bmV3";
        assert_eq!(
            session_auth_matches(&rotated, changed, VECTORS[0].2),
            AuthHashCheck::Mismatch
        );
        for bad in ["", "c2dc", &VECTORS[0].2.to_uppercase()] {
            assert!(!session_auth_matches(&rotated, password, bad).is_valid());
        }
    }
}
