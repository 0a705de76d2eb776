//! The framework-free core of [websession](https://docs.rs/websession).
//!
//! - [`Key`] and [`KeyRing`]: secrets and their rotation (Flask's `SECRET_KEY`
//!   and `SECRET_KEY_FALLBACKS`).
//! - [`FlaskCodec`]: Flask's default session cookie, byte for byte.
//! - [`SealedCodec`]: an encrypted (AES-256-GCM-SIV) session cookie.
//! - [`Value`] and [`Map`]: what a Flask session holds, every tagged type included.
//! - [`DecodeError`]: why a cookie was refused, named as in itsdangerous.
//! - [`itsdangerous`]: itsdangerous' signer, timestamp signer and URL-safe
//!   timed serializer, of which [`FlaskCodec`] is one configuration.
//! - [`starlette::StarletteCodec`] and [`django::DjangoCodec`]: the default
//!   cookie sessions of Starlette/FastAPI and Django, byte for byte, on the
//!   same signer ([`itsdangerous::Signer`]); [`django_signing`] is
//!   `django.core.signing`.
//! - [`flask_login`] and [`flask_wtf`]: the wire formats of Flask-Login
//!   (client identifier, remember cookie) and Flask-WTF (CSRF tokens).
//!
//! App authors depend on the `websession` crate, which re-exports what they
//! need from here. Stores and tools depend on this crate alone.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod clock;
pub mod codec;
pub mod cookie;
pub mod date;
mod de;
#[cfg(feature = "django")]
#[cfg_attr(docsrs, doc(cfg(feature = "django")))]
pub mod django;
#[cfg(feature = "django")]
#[cfg_attr(docsrs, doc(cfg(feature = "django")))]
pub mod django_signing;
mod error;
pub mod flask;
#[cfg(feature = "flask")]
#[cfg_attr(docsrs, doc(cfg(feature = "flask")))]
pub mod flask_login;
#[cfg(feature = "flask")]
#[cfg_attr(docsrs, doc(cfg(feature = "flask")))]
pub mod flask_wtf;
pub mod format;
pub mod itsdangerous;
pub mod json;
mod key;
#[cfg(feature = "sealed")]
#[cfg_attr(docsrs, doc(cfg(feature = "sealed")))]
pub mod sealed;
#[cfg(feature = "starlette")]
#[cfg_attr(docsrs, doc(cfg(feature = "starlette")))]
pub mod starlette;
pub mod store;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod testing;
mod value;

pub use clock::{unix_seconds, Clock};
pub use codec::{CodecLimits, Compression};
pub use error::{DecodeError, PayloadError};
pub use flask::FlaskCodec;
pub use key::{
    Key, KeyError, KeyRing, KeyWeakness, GENERATED_KEY_LEN, MIN_KEY_LEN, WELL_KNOWN_SECRETS,
};
#[cfg(feature = "sealed")]
#[cfg_attr(docsrs, doc(cfg(feature = "sealed")))]
pub use sealed::SealedCodec;
pub use value::{Map, Value, ValueError};
