//! The framework-free core of [websession](https://docs.rs/websession):
//! what apps and store authors build on.
//!
//! - [`Key`] and [`KeyRing`]: secrets and their rotation (Flask's `SECRET_KEY`
//!   and `SECRET_KEY_FALLBACKS`).
//! - [`Value`] and [`Map`]: what a Flask session holds, every tagged type included.
//! - [`Clock`]: where the time comes from (a test can freeze it).
//! - [`store`]: the [`SessionStore`](store::SessionStore) trait a server-side
//!   store implements, its change sets, records and ids, the revocation
//!   store trait, and the in-memory store.
//!
//! App authors depend on the `websession` crate, which re-exports what they
//! need from here. Stores depend on this crate alone, with no features.
//!
//! # Features
//! None are on by default: a store needs none of them.
//! - `codecs`: the cookie formats as a public API: `FlaskCodec` (Flask's
//!   default session cookie, byte for byte), the `itsdangerous` signers it
//!   is one configuration of, the tagged-JSON reader and writer (`json`),
//!   the `format::CookieFormat` trait the formats implement, and
//!   `DecodeError` (why a cookie was refused, named as in itsdangerous).
//!   websession builds its modes on them and the CLI decodes and signs with
//!   them; an app reaches them through websession's modes.
//! - `sealed` (`SealedCodec`, AES-256-GCM-SIV), `starlette`
//!   (`starlette::StarletteCodec`), `django` (`django::DjangoCodec`,
//!   `django_signing`), `flask` (the wire formats of Flask-Login and
//!   Flask-WTF: `flask_login`, `flask_wtf`), `compression` (zlib): one
//!   flavour each; each turns `codecs` on.
//! - `tokio`: `store::ExpiredDeletion::spawn_cleanup`, a task that deletes
//!   expired records.
//! - `test-util`: the store conformance suite, a manual clock and test keys.

#![cfg_attr(docsrs, feature(doc_cfg))]
// Links into the `codecs` and `tokio` parts resolve in docs built with them
// (docs.rs builds every feature); built without them, they render as
// plain text.
#![cfg_attr(
    not(all(feature = "codecs", feature = "tokio")),
    allow(rustdoc::broken_intra_doc_links)
)]
#![warn(missing_docs)]

// Each format uses its part: a build with fewer formats leaves some unused.
#[allow(dead_code)]
mod b64;
mod clock;
#[cfg(feature = "codecs")]
#[cfg_attr(docsrs, doc(cfg(feature = "codecs")))]
pub mod codec;
#[cfg(feature = "codecs")]
#[cfg_attr(docsrs, doc(cfg(feature = "codecs")))]
pub mod cookie;
#[cfg(feature = "codecs")]
#[cfg_attr(docsrs, doc(cfg(feature = "codecs")))]
pub mod date;
// Without `codecs` the tagged JSON still serves `Value`; the rest of it
// is unused.
#[cfg(not(feature = "codecs"))]
#[allow(dead_code, unreachable_pub, unused_imports)]
mod date;
mod de;
#[cfg(feature = "django")]
#[cfg_attr(docsrs, doc(cfg(feature = "django")))]
pub mod django;
#[cfg(feature = "django")]
#[cfg_attr(docsrs, doc(cfg(feature = "django")))]
pub mod django_signing;
mod error;
#[cfg(feature = "codecs")]
#[cfg_attr(docsrs, doc(cfg(feature = "codecs")))]
pub mod flask;
#[cfg(feature = "flask")]
#[cfg_attr(docsrs, doc(cfg(feature = "flask")))]
pub mod flask_login;
#[cfg(feature = "flask")]
#[cfg_attr(docsrs, doc(cfg(feature = "flask")))]
pub mod flask_wtf;
#[cfg(feature = "codecs")]
#[cfg_attr(docsrs, doc(cfg(feature = "codecs")))]
pub mod format;
#[cfg(feature = "codecs")]
#[cfg_attr(docsrs, doc(cfg(feature = "codecs")))]
pub mod itsdangerous;
#[cfg(feature = "codecs")]
#[cfg_attr(docsrs, doc(cfg(feature = "codecs")))]
pub mod json;
// Without `codecs` the tagged JSON still serves `Value`; the rest of it
// is unused.
#[cfg(not(feature = "codecs"))]
#[allow(dead_code, unreachable_pub, unused_imports)]
mod json;
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
#[cfg(feature = "codecs")]
pub use codec::{CodecLimits, Compression};
#[cfg(feature = "codecs")]
pub use error::DecodeError;
pub use error::PayloadError;
#[cfg(feature = "codecs")]
pub use flask::FlaskCodec;
pub use key::{
    Key, KeyError, KeyRing, KeyWeakness, GENERATED_KEY_LEN, MIN_KEY_LEN, WELL_KNOWN_SECRETS,
};
#[cfg(feature = "sealed")]
#[cfg_attr(docsrs, doc(cfg(feature = "sealed")))]
pub use sealed::SealedCodec;
pub use value::{Map, Value, ValueError};
