//! itsdangerous' signing formats, byte for byte: [`Signer`],
//! [`TimestampSigner`] and [`UrlSafeTimedSerializer`].
//!
//! Everything Flask and its extensions sign is one configuration of these:
//!
//! | what | salt | key derivation | digest | payload |
//! |---|---|---|---|---|
//! | Flask's session cookie ([`crate::FlaskCodec`]) | `cookie-session` | [`KeyDerivation::Hmac`] | [`Digest::Sha1`] | Flask's tagged JSON |
//! | Flask-WTF's CSRF token ([`crate::flask_wtf`]) | `wtf-csrf-token` | [`KeyDerivation::DjangoConcat`] | [`Digest::Sha1`] | a JSON string |
//! | Starlette's session cookie ([`crate::starlette::StarletteCodec`]) | `itsdangerous.Signer` | [`KeyDerivation::DjangoConcat`] | [`Digest::Sha1`] | standard base64 of plain JSON |
//! | Django's `django.core.signing` ([`crate::django_signing::DjangoSigner`], separator `:`, base62 timestamps) | e.g. `django.contrib.sessions.backends.signed_cookies` | [`KeyDerivation::DjangoConcat`] | [`Digest::Sha256`] | plain compact JSON |
//! | itsdangerous' defaults | `itsdangerous` (serializer), `itsdangerous.Signer` | [`KeyDerivation::DjangoConcat`] | [`Digest::Sha1`] | |
//!
//! (Flask-Login's remember cookie is not an itsdangerous format; see
//! [`crate::flask_login`].)
//!
//! Keys come from a [`KeyRing`](crate::KeyRing): the current key signs,
//! and every key verifies, current first, then the fallbacks from newest to
//! oldest, as itsdangerous does with a list of keys (oldest to newest).
//! Decoding errors are [`DecodeError`](crate::DecodeError)s, named after
//! itsdangerous' exceptions ([`DecodeError::itsdangerous_name`](crate::DecodeError::itsdangerous_name)).
//!
//! # Differences from itsdangerous
//!
//! - Base64 is read strictly: itsdangerous' decoder skips characters outside
//!   the alphabet and accepts padding and unused bits, so it accepts a few
//!   spellings of one signature that are refused here (always as
//!   `BadSignature` or `BadPayload`).
//! - The time is an argument (`timestamp` to sign, `now` to check), never
//!   read from a clock inside.
//!
//! # Examples
//!
//! ```
//! use websession_core::itsdangerous::{Digest, KeyDerivation, Signer, TimestampSigner, UrlSafeTimedSerializer};
//! use websession_core::{Key, KeyRing};
//!
//! let keys = KeyRing::new(Key::from_utf8("correct horse battery staple")?);
//! // Flask's session serializer, by hand.
//! let flask = UrlSafeTimedSerializer::from_signer(TimestampSigner::new(
//!     Signer::new(&keys)
//!         .with_salt("cookie-session")
//!         .with_key_derivation(KeyDerivation::Hmac)
//!         .with_digest(Digest::Sha1),
//! ));
//! assert_eq!(
//!     flask.dumps_json(br#"{"user":"alice"}"#, 1_700_000_000),
//!     "eyJ1c2VyIjoiYWxpY2UifQ.ZVPxAA._RYMq7kFHfMm8CaN1yY0BndYs_o"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod serializer;
mod signer;
mod timed;

pub(crate) use serializer::decode_payload;
pub use serializer::{Loaded, UrlSafeTimedSerializer, DEFAULT_SERIALIZER_SALT};
pub(crate) use signer::derive;
pub use signer::{Digest, KeyDerivation, Signer, SignerError, DEFAULT_SIGNER_SALT};
#[cfg(feature = "django")]
pub(crate) use timed::unsign_timed;
pub(crate) use timed::{decode_timestamp, split_unchecked};
pub use timed::{Timed, TimestampSigner};
