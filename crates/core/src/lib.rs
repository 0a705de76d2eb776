//! The framework-free core of [websession](https://docs.rs/websession).
//!
//! - [`Key`] and [`KeyRing`]: secrets and their rotation (Flask's `SECRET_KEY`
//!   and `SECRET_KEY_FALLBACKS`).
//! - [`FlaskCodec`]: Flask's default session cookie, byte for byte.
//! - [`Value`] and [`Map`]: what a Flask session holds, every tagged type included.
//! - [`DecodeError`]: why a cookie was refused, named as in itsdangerous.
//!
//! App authors depend on the `websession` crate, which re-exports what they
//! need from here. Stores and tools depend on this crate alone.
#![warn(missing_docs)]

mod error;
pub mod flask;
pub mod json;
mod key;
mod value;

pub use error::{DecodeError, PayloadError};
pub use flask::FlaskCodec;
pub use key::{Key, KeyError, KeyRing, KeyWeakness, GENERATED_KEY_LEN, MIN_KEY_LEN, WELL_KNOWN_SECRETS};
pub use value::{Map, Value, ValueError};

/// Seconds since the Unix epoch, the time unit of every codec.
///
/// Times before 1970 count as 0.
#[must_use]
pub fn unix_seconds(t: time::OffsetDateTime) -> u64 {
    u64::try_from(t.unix_timestamp()).unwrap_or(0)
}
