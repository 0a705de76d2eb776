//! [`Signer`]: itsdangerous' `Signer`, with every key derivation and digest
//! it offers.

use std::fmt;

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha512};
use zeroize::Zeroizing;

use crate::error::DecodeError;
use crate::key::{Key, KeyRing};

/// itsdangerous' default salt for a bare `Signer`.
pub const DEFAULT_SIGNER_SALT: &str = "itsdangerous.Signer";

/// The hash function of the HMAC (itsdangerous' `digest_method`).
///
/// # Examples
///
/// ```
/// use websession_core::itsdangerous::Digest;
/// assert_eq!(Digest::default(), Digest::Sha1); // itsdangerous' default
/// assert_eq!(Digest::Sha512.output_len(), 64);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Digest {
    /// `hashlib.sha1`: itsdangerous' and Flask's default.
    #[default]
    Sha1,
    /// `hashlib.sha256`.
    Sha256,
    /// `hashlib.sha512`.
    Sha512,
}

impl Digest {
    /// The length of a signature in bytes, before base64.
    #[must_use]
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }

    /// The length of a signature as unpadded base64url text.
    fn encoded_len(self) -> usize {
        (self.output_len() * 8).div_ceil(6)
    }

    fn hash(self, parts: &[&[u8]]) -> Zeroizing<Vec<u8>> {
        fn run<D: sha2::Digest>(parts: &[&[u8]]) -> Zeroizing<Vec<u8>> {
            let mut d = D::new();
            for part in parts {
                d.update(part);
            }
            Zeroizing::new(d.finalize().to_vec())
        }
        match self {
            Self::Sha1 => run::<Sha1>(parts),
            Self::Sha256 => run::<Sha256>(parts),
            Self::Sha512 => run::<Sha512>(parts),
        }
    }
}

/// How the signing key is made from the secret key and the salt
/// (itsdangerous' `key_derivation`).
///
/// # Examples
///
/// ```
/// use websession_core::itsdangerous::KeyDerivation;
/// assert_eq!(KeyDerivation::default(), KeyDerivation::DjangoConcat); // itsdangerous' default
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KeyDerivation {
    /// `"concat"`: `digest(salt + secret)`.
    Concat,
    /// `"django-concat"`: `digest(salt + b"signer" + secret)`, the default
    /// (Flask-WTF's CSRF tokens use it).
    #[default]
    DjangoConcat,
    /// `"hmac"`: `HMAC-digest(secret, salt)` (Flask's session cookie).
    Hmac,
    /// `"none"`: the secret itself.
    None,
}

/// Why a [`Signer`] setting was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignerError {
    /// The separator could appear inside a signature (an ASCII letter, a
    /// digit, `-`, `_` or `=`), or is not ASCII. itsdangerous raises
    /// `ValueError` for the same separators.
    #[error("the separator {0:?} can't be used: it is not ASCII or may be contained in the signature itself")]
    BadSeparator(char),
}

/// An HMAC already keyed with a derived key: cloned for each message, so the
/// key schedule runs once per key, not once per signature.
#[derive(Clone)]
enum KeyedMac {
    Sha1(Hmac<Sha1>),
    Sha256(Hmac<Sha256>),
    Sha512(Hmac<Sha512>),
}

fn keyed<M: Mac + hmac::digest::KeyInit>(key: &[u8]) -> M {
    // HMAC takes keys of any length; this can't fail.
    match <M as hmac::digest::KeyInit>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

impl KeyedMac {
    fn new(digest: Digest, key: &[u8]) -> Self {
        match digest {
            Digest::Sha1 => Self::Sha1(keyed(key)),
            Digest::Sha256 => Self::Sha256(keyed(key)),
            Digest::Sha512 => Self::Sha512(keyed(key)),
        }
    }

    /// Writes HMAC(message) to the start of `buf` and gives its length.
    fn mac_into(&self, message: &[u8], buf: &mut [u8; 64]) -> usize {
        fn run<M: Mac + Clone>(mac: &M, message: &[u8], buf: &mut [u8; 64]) -> usize {
            let mut mac = mac.clone();
            mac.update(message);
            let out = mac.finalize().into_bytes();
            let n = out.len().min(buf.len());
            buf[..n].copy_from_slice(&out[..n]);
            n
        }
        match self {
            Self::Sha1(m) => run(m, message, buf),
            Self::Sha256(m) => run(m, message, buf),
            Self::Sha512(m) => run(m, message, buf),
        }
    }

    /// The MAC of `message`, as bytes.
    fn raw(&self, message: &[u8]) -> Zeroizing<Vec<u8>> {
        fn run<M: Mac + Clone>(mac: &M, message: &[u8]) -> Zeroizing<Vec<u8>> {
            let mut mac = mac.clone();
            mac.update(message);
            Zeroizing::new(mac.finalize().into_bytes().to_vec())
        }
        match self {
            Self::Sha1(m) => run(m, message),
            Self::Sha256(m) => run(m, message),
            Self::Sha512(m) => run(m, message),
        }
    }

    /// Checks `sig` in constant time.
    fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        fn run<M: Mac + Clone>(mac: &M, message: &[u8], sig: &[u8]) -> bool {
            let mut mac = mac.clone();
            mac.update(message);
            mac.verify_slice(sig).is_ok()
        }
        match self {
            Self::Sha1(m) => run(m, message, sig),
            Self::Sha256(m) => run(m, message, sig),
            Self::Sha512(m) => run(m, message, sig),
        }
    }
}

/// `s.rsplit_once(sep)` for an ASCII separator, as a byte scan (a runtime
/// `char` pattern costs a UTF-8 searcher set-up on every call).
pub(crate) fn rsplit_byte(s: &str, sep: u8) -> Option<(&str, &str)> {
    let at = s.as_bytes().iter().rposition(|&b| b == sep)?;
    Some((s.get(..at)?, s.get(at + 1..)?))
}

/// The key itsdangerous signs with: `secret` and `salt` through `derivation`.
pub(crate) fn derive(
    digest: Digest,
    derivation: KeyDerivation,
    salt: &[u8],
    secret: &[u8],
) -> Zeroizing<Vec<u8>> {
    match derivation {
        KeyDerivation::Concat => digest.hash(&[salt, secret]),
        KeyDerivation::DjangoConcat => digest.hash(&[salt, b"signer", secret]),
        KeyDerivation::Hmac => KeyedMac::new(digest, secret).raw(salt),
        KeyDerivation::None => Zeroizing::new(secret.to_vec()),
    }
}

/// itsdangerous' `Signer`: `value + sep + base64url(HMAC(derived_key, value))`.
///
/// It signs with the ring's current key and verifies with every key, the
/// current one first, then the fallbacks from newest to oldest (itsdangerous'
/// list of secret keys, Flask's `SECRET_KEY` with `SECRET_KEY_FALLBACKS`).
/// The defaults are itsdangerous': salt `itsdangerous.Signer`, separator `.`,
/// [`KeyDerivation::DjangoConcat`], [`Digest::Sha1`].
///
/// Each key is derived once, when the signer is built; signing and
/// verifying clone a keyed HMAC.
///
/// # Examples
///
/// ```
/// use websession_core::itsdangerous::{Digest, KeyDerivation, Signer};
/// use websession_core::{Key, KeyRing};
///
/// let signer = Signer::new(&KeyRing::new(Key::from_utf8("secret-key")?))
///     .with_salt("activate")
///     .with_digest(Digest::Sha256)
///     .with_key_derivation(KeyDerivation::Hmac);
/// let signed = signer.sign("user-42");
/// assert_eq!(signer.unsign(&signed)?, "user-42");
/// assert!(signer.unsign(&signed.replace("42", "43")).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Security
///
/// A signed value is readable by anyone; the signature only proves that a
/// holder of the key wrote it. Signatures are compared in constant time.
#[derive(Clone)]
pub struct Signer {
    /// The secret keys in verification order; index 0 signs.
    keys: Vec<Key>,
    salt: Vec<u8>,
    sep: u8,
    digest: Digest,
    derivation: KeyDerivation,
    /// One keyed HMAC per key, in the order of `keys`.
    macs: Vec<KeyedMac>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("keys", &format_args!("<{} redacted>", self.keys.len()))
            .field("salt", &String::from_utf8_lossy(&self.salt))
            .field("sep", &char::from(self.sep))
            .field("digest", &self.digest)
            .field("derivation", &self.derivation)
            .finish()
    }
}

impl Signer {
    /// A signer with itsdangerous' defaults over the ring's keys.
    #[must_use]
    pub fn new(keys: &KeyRing) -> Self {
        let mut signer = Self {
            keys: keys.verification_order().cloned().collect(),
            salt: DEFAULT_SIGNER_SALT.as_bytes().to_vec(),
            sep: b'.',
            digest: Digest::Sha1,
            derivation: KeyDerivation::DjangoConcat,
            macs: Vec::new(),
        };
        signer.rekey();
        signer
    }

    fn rekey(&mut self) {
        self.macs = self
            .keys
            .iter()
            .map(|k| {
                let derived = derive(self.digest, self.derivation, &self.salt, k.expose_bytes());
                KeyedMac::new(self.digest, &derived)
            })
            .collect();
    }

    /// The salt (itsdangerous: `salt`; text is used as its UTF-8 bytes).
    #[must_use]
    pub fn with_salt(mut self, salt: impl AsRef<[u8]>) -> Self {
        self.salt = salt.as_ref().to_vec();
        self.rekey();
        self
    }

    /// The key derivation. Default [`KeyDerivation::DjangoConcat`].
    #[must_use]
    pub fn with_key_derivation(mut self, derivation: KeyDerivation) -> Self {
        self.derivation = derivation;
        self.rekey();
        self
    }

    /// The HMAC's hash function. Default [`Digest::Sha1`].
    #[must_use]
    pub fn with_digest(mut self, digest: Digest) -> Self {
        self.digest = digest;
        self.rekey();
        self
    }

    /// The separator between value and signature. Default `.`.
    ///
    /// # Errors
    ///
    /// [`SignerError::BadSeparator`] for a separator that is not ASCII or
    /// that base64url uses (letters, digits, `-`, `_`, `=`), as itsdangerous.
    ///
    /// ```
    /// use websession_core::itsdangerous::Signer;
    /// use websession_core::{Key, KeyRing};
    /// let ring = KeyRing::new(Key::from_utf8("secret-key")?);
    /// assert_eq!(Signer::new(&ring).with_separator('|')?.sign("a"), "a|x757xOFE-adDCVzGjrafKAsaTKA");
    /// assert!(Signer::new(&ring).with_separator('-').is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_separator(mut self, sep: char) -> Result<Self, SignerError> {
        let ok = sep.is_ascii() && !sep.is_ascii_alphanumeric() && !matches!(sep, '-' | '_' | '=');
        if !ok {
            return Err(SignerError::BadSeparator(sep));
        }
        // Checked ASCII just above.
        self.sep = u8::try_from(u32::from(sep)).map_err(|_| SignerError::BadSeparator(sep))?;
        Ok(self)
    }

    /// The separator.
    #[must_use]
    pub fn separator(&self) -> char {
        char::from(self.sep)
    }

    /// The separator's byte (ASCII).
    pub(crate) fn separator_byte(&self) -> u8 {
        self.sep
    }

    /// The digest.
    #[must_use]
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// `value + sep + signature`, signed with the current key.
    #[must_use]
    pub fn sign(&self, value: &str) -> String {
        let mut out = String::with_capacity(value.len() + 1 + self.digest.encoded_len());
        out.push_str(value);
        self.append_signature(&mut out);
        out
    }

    /// Appends `sep + signature of everything in out` (the current key).
    pub(crate) fn append_signature(&self, out: &mut String) {
        let Some(mac) = self.macs.first() else {
            return; // a KeyRing always has a current key
        };
        let mut buf = [0u8; 64];
        let n = mac.mac_into(out.as_bytes(), &mut buf);
        out.push(char::from(self.sep));
        crate::b64::url_encode_append(&buf[..n], out);
    }

    /// Checks the signature and gives the value it covers.
    ///
    /// # Errors
    ///
    /// [`DecodeError::BadSignature`] when the separator is missing, the
    /// signature is malformed or matches none of the keys.
    pub fn unsign<'a>(&self, signed: &'a str) -> Result<&'a str, DecodeError> {
        self.verify(signed).map(|(value, _)| value)
    }

    /// As [`unsign`](Self::unsign), with the index of the key that verified
    /// (0 is the current key).
    pub(crate) fn verify<'a>(&self, signed: &'a str) -> Result<(&'a str, usize), DecodeError> {
        // itsdangerous splits at the last separator and then needs a
        // signature of the digest's length: the separator must stand exactly
        // that far from the end (a separator inside the signature fails its
        // base64 below, as it fails itsdangerous' length check).
        let sig_len = self.digest.encoded_len();
        let at = signed
            .len()
            .checked_sub(sig_len + 1)
            .ok_or(DecodeError::BadSignature)?;
        if signed.as_bytes().get(at) != Some(&self.sep) {
            return Err(DecodeError::BadSignature);
        }
        let (value, sig) = (
            signed.get(..at).ok_or(DecodeError::BadSignature)?,
            signed.get(at + 1..).ok_or(DecodeError::BadSignature)?,
        );
        let mut buf = [0u8; 72];
        let n = crate::b64::url_decode_slice(sig.as_bytes(), &mut buf)
            .ok_or(DecodeError::BadSignature)?;
        let sig = buf.get(..n).ok_or(DecodeError::BadSignature)?;
        let index = self
            .macs
            .iter()
            .position(|mac| mac.verify(value.as_bytes(), sig))
            .ok_or(DecodeError::BadSignature)?;
        Ok((value, index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(s: &str) -> KeyRing {
        KeyRing::new(Key::from_utf8(s).unwrap())
    }

    #[test]
    fn separators_like_itsdangerous() {
        for bad in ['a', 'Z', '0', '-', '_', '=', 'é'] {
            assert_eq!(
                Signer::new(&ring("k")).with_separator(bad).unwrap_err(),
                SignerError::BadSeparator(bad)
            );
        }
        assert!(Signer::new(&ring("k")).with_separator('.').is_ok());
    }

    #[test]
    fn hmac_derivation_is_flasks_derive_key() {
        let derived = derive(
            Digest::Sha1,
            KeyDerivation::Hmac,
            b"cookie-session",
            b"correct horse battery staple",
        );
        assert_eq!(
            hex::encode(&*derived),
            "e8d168da6163bdb1bf25af761ce4ed2d97b75934"
        );
    }

    #[test]
    fn fallbacks_verify_and_report_their_index() {
        let old = Signer::new(&ring("old"));
        let both = Signer::new(&ring("new").with_fallback(Key::from_utf8("old").unwrap()));
        let signed = old.sign("v");
        assert_eq!(both.verify(&signed).unwrap(), ("v", 1));
        assert_eq!(both.verify(&both.sign("v")).unwrap(), ("v", 0));
        assert_eq!(old.unsign(&both.sign("v")), Err(DecodeError::BadSignature));
    }

    #[test]
    fn debug_redacts_keys() {
        let shown = format!("{:?}", Signer::new(&ring("very-secret-value")));
        assert!(
            shown.contains("<1 redacted>") && !shown.contains("very-secret"),
            "{shown}"
        );
    }
}
