//! The test kit every crate of the workspace shares (feature `test-util`):
//! a clock the test moves by hand, fixed test keys, and the Flask vectors.
//!
//! The vector loaders read the workspace's `testdata/` folder at run time,
//! so they work in the websession repository only; the clock and the keys
//! work anywhere.

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use crate::store::{IdHash, SessionId};
use crate::{Clock, Key, KeyRing, Map, Value};

/// The system clock's time in Unix seconds (for store tests: stores with
/// native expiry need real deadlines).
#[must_use]
pub fn now() -> u64 {
    Clock::system().unix_seconds()
}

/// A fresh random session id's hash.
#[must_use]
pub fn id() -> IdHash {
    SessionId::generate().hash()
}

/// A session map from pairs.
///
/// ```
/// use websession_core::{testing::map, Value};
/// assert_eq!(map(&[("a", Value::Int(1))]).len(), 1);
/// ```
#[must_use]
pub fn map(pairs: &[(&str, Value)]) -> Map {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// A clock the test moves by hand; clones share the same time.
///
/// # Examples
///
/// ```
/// use websession_core::testing::ManualClock;
///
/// let clock = ManualClock::at(1_700_000_000);
/// let seen_by_the_app = clock.clock();
/// clock.advance(60);
/// assert_eq!(seen_by_the_app.unix_seconds(), 1_700_000_060);
/// ```
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock at `unix` seconds.
    #[must_use]
    pub fn at(unix: i64) -> Self {
        Self(Arc::new(AtomicI64::new(unix)))
    }

    /// Sets the time to `unix` seconds.
    pub fn set(&self, unix: i64) {
        self.0.store(unix, Ordering::SeqCst);
    }

    /// Moves the time by `secs` (negative goes back).
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }

    /// The time now, in Unix seconds.
    #[must_use]
    pub fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }

    /// A [`Clock`] reading this one, for a codec or a session config.
    ///
    /// # Panics
    ///
    /// When read at a time `time` can't represent.
    #[must_use]
    pub fn clock(&self) -> Clock {
        let t = self.0.clone();
        Clock::from_fn(move || {
            #[allow(clippy::expect_used)] // a test clock set outside the calendar is a test bug
            time::OffsetDateTime::from_unix_timestamp(t.load(Ordering::SeqCst))
                .expect("a manual clock within the calendar")
        })
    }
}

/// The 32-byte key `00 01 02 … 1f` that the tests share.
pub const TEST_KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// A ring holding [`TEST_KEY_HEX`] alone.
///
/// # Panics
///
/// Never: the key is valid hex.
#[must_use]
pub fn test_keys() -> KeyRing {
    #[allow(clippy::expect_used)]
    KeyRing::new(Key::from_hex(TEST_KEY_HEX).expect("valid hex"))
}

/// Flask vector cases where Flask's outcome comes from Python's leniency
/// and websession chooses to be strict (documented in
/// `websession::docs::flask`): non-canonical base64 in the signature (extra
/// `=`, unused bits set, `+/`), and a payload that is a JSON list of pairs,
/// which Python's `dict()` accepts.
pub const STRICT_DEVIATIONS: &[&str] = &[
    "pub-047-sig-extra-padding",
    "pub-048-sig-unused-bits",
    "pub-049-sig-standard-alphabet",
    "pub-084-signed-json-pairs",
];

/// The path of a file in the workspace's `testdata/` folder.
#[must_use]
pub fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(name)
}

/// The text of a file in `testdata/`.
///
/// # Panics
///
/// When the file can't be read (outside the websession repository).
#[must_use]
pub fn testdata_text(name: &str) -> String {
    let path = testdata(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the test kit's vectors live in the websession repository)",
            path.display()
        )
    })
}

/// Every case of `testdata/flask_vectors_public.json`, made by real Flask.
///
/// # Panics
///
/// When the file is missing or not JSON.
#[must_use]
pub fn flask_vector_cases() -> Vec<serde_json::Value> {
    let all: serde_json::Value = serde_json::from_str(&testdata_text("flask_vectors_public.json"))
        .unwrap_or_else(|e| panic!("flask_vectors_public.json: {e}"));
    match all.get("cases").and_then(serde_json::Value::as_array) {
        Some(cases) => cases.clone(),
        None => panic!("flask_vectors_public.json has no cases"),
    }
}

/// `testdata/flask_ext_vectors.json`, made by the real itsdangerous, Flask,
/// Flask-Login and Flask-WTF (`interop/make_flask_ext_vectors.py`).
///
/// # Panics
///
/// When the file is missing or not JSON.
#[must_use]
pub fn flask_ext_vectors() -> serde_json::Value {
    serde_json::from_str(&testdata_text("flask_ext_vectors.json"))
        .unwrap_or_else(|e| panic!("flask_ext_vectors.json: {e}"))
}

/// The key ring of a vector case: `secret_key` current, then
/// `secret_key_fallbacks` in Flask's (oldest first) order.
///
/// # Panics
///
/// When the case has no valid hex keys.
#[must_use]
pub fn vector_key_ring(case: &serde_json::Value) -> KeyRing {
    let key = |k: &serde_json::Value| {
        let hex = k.get("hex").and_then(serde_json::Value::as_str);
        match hex.map(Key::from_hex) {
            Some(Ok(key)) => key,
            _ => panic!("a vector key without valid hex: {k}"),
        }
    };
    let fallbacks = case
        .get("secret_key_fallbacks")
        .and_then(serde_json::Value::as_array)
        .cloned()
        .unwrap_or_default();
    KeyRing::new(key(&case["secret_key"])).with_fallbacks(fallbacks.iter().map(key))
}
