//! Live tests of websession-python's `FlaskSessionStore` on Redis against a
//! real Flask 3.1 app with Flask-Session 0.8 (`SESSION_TYPE = "redis"`) and
//! Flask-Login (`interop/flask_session_app.py`): the two apps share the
//! `session` cookie and the Redis keys, under a key prefix of each test's
//! own, in msgpack and in JSON, with and without `SESSION_USE_SIGNER`.
//! `cargo test` skips them; `.ci/run` runs them with `--include-ignored`
//! (Python from `WEBSESSION_PYTHON` or `target/py-venv`; Redis at
//! `REDIS_URL`). Both sides use the real clock, as Redis TTLs do.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::extract::Query;
use axum::routing::get;
use axum::Router;
use websession::flask::{FlaskLogin, FlaskLoginConfig, Login};
use websession::{Key, Session, SessionConfig, Sessions, Value};
use websession_interop::{encode, frozen_clock, Flask as Python, Reply, Rust};
use websession_python::flask_session::{FlaskSessionOptions, FlaskSessionStore, Serialization};

const KEY: &str = "the Flask-Session live tests' SECRET_KEY, 32+ bytes";
const COOKIE: &str = "session";
/// `PERMANENT_SESSION_LIFETIME` on both sides, in seconds.
const LIFETIME: u64 = 3600;

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A key prefix no other test (or run) uses.
fn unique_prefix() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    format!(
        "wsfs:{}:{}:{}:",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst),
        nanos % 1_000_000_000
    )
}

/// How both apps are configured.
#[derive(Clone, Copy, Debug)]
struct Setup {
    serialization: Serialization,
    signer: bool,
    lifetime: u64,
}

impl Setup {
    fn new(serialization: Serialization, signer: bool) -> Self {
        Self {
            serialization,
            signer,
            lifetime: LIFETIME,
        }
    }
}

/// The four configurations the tests run under.
fn every_setup() -> [Setup; 4] {
    [
        Setup::new(Serialization::Msgpack, false),
        Setup::new(Serialization::Json, false),
        Setup::new(Serialization::Msgpack, true),
        Setup::new(Serialization::Json, true),
    ]
}

/// A Flask app and a Rust app on one Redis, under one fresh key prefix.
struct Pair {
    py: Python,
    rust: Rust,
    setup: Setup,
}

impl Pair {
    async fn start(setup: Setup) -> Self {
        let prefix = unique_prefix();
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let lifetime = setup.lifetime.to_string();
        let format = match setup.serialization {
            Serialization::Json => "json",
            _ => "msgpack",
        };
        let url = redis_url();
        let env = [
            ("SECRET_KEY", KEY),
            ("REDIS_URL", url.as_str()),
            ("SESSION_KEY_PREFIX", prefix.as_str()),
            ("SESSION_SERIALIZATION_FORMAT", format),
            ("SESSION_USE_SIGNER", if setup.signer { "1" } else { "0" }),
            ("LIFETIME", lifetime.as_str()),
        ];
        let py = Python::start_script(dir.join("flask_session_app.py"), &[], &env).await;
        let mut options = FlaskSessionOptions::new()
            .with_key_prefix(prefix.as_str())
            .with_serialization(setup.serialization);
        if setup.signer {
            options = options.with_signer(key());
        }
        let store = FlaskSessionStore::redis(&url, options)
            .await
            .expect("Redis at REDIS_URL");
        let rust = rust_app(store, setup.lifetime).await;
        Self { py, rust, setup }
    }

    async fn py(&self, path: &str, cookie: Option<&str>) -> Reply {
        let r = self.py.get_named(path, COOKIE, cookie).await;
        assert_eq!(r.status, 200, "Flask {path} ({:?}): {r:?}", self.setup);
        r
    }

    async fn rust(&self, path: &str, cookie: Option<&str>) -> Reply {
        let r = self.rust.get(path, cookie).await;
        assert_eq!(r.status, 200, "Rust {path} ({:?}): {r:?}", self.setup);
        r
    }

    /// The session cookie Flask sets on `path`.
    async fn py_cookie(&self, path: &str, cookie: Option<&str>) -> String {
        let r = self.py(path, cookie).await;
        r.cookie(COOKIE)
            .unwrap_or_else(|| panic!("Flask {path}: no cookie ({r:?})"))
    }

    /// The session cookie Rust sets on `path`.
    async fn rust_cookie(&self, path: &str, cookie: Option<&str>) -> String {
        let r = self.rust(path, cookie).await;
        r.cookie(COOKIE)
            .unwrap_or_else(|| panic!("Rust {path}: no cookie ({r:?})"))
    }

    /// The record's Redis PTTL in milliseconds (-2: no record).
    async fn pttl(&self, cookie: &str) -> i64 {
        let body = self
            .py(&format!("/pttl?sid={}", sid(cookie)), None)
            .await
            .body;
        body.parse().expect("milliseconds")
    }

    async fn teardown(self) {
        assert_eq!(self.py("/teardown", None).await.body, "ok");
    }
}

/// The Flask app's `SECRET_KEY`.
fn key() -> Key {
    Key::from_utf8(KEY).expect("key")
}

/// The sid a cookie holds (`sid` or `sid.signature`).
fn sid(cookie: &str) -> &str {
    cookie.split('.').next().unwrap_or_default()
}

#[derive(serde::Deserialize)]
struct UserArg {
    user: String,
}

/// The Rust app: the harness's routes, plus Flask-Login's (`/login?user=`,
/// `/logout`, `/whoami`) and `/cycle` (a new id).
async fn rust_app(store: FlaskSessionStore, lifetime: u64) -> Rust {
    let (clock, now) = frozen_clock();
    let config = SessionConfig::flask()
        .with_clock(clock)
        .with_lifetime(|l| l.with_permanent_lifetime(Duration::from_secs(lifetime)));
    let sessions = Sessions::store(store, config).expect("a valid configuration");
    let login =
        FlaskLogin::new(&key(), FlaskLoginConfig::default()).expect("a valid configuration");
    let extra = Router::new()
        .route(
            "/whoami",
            get(
                |login: Login| async move { login.user_id().unwrap_or_else(|| "anonymous".into()) },
            ),
        )
        .route(
            "/login",
            get(|login: Login, Query(q): Query<UserArg>| async move {
                login.login_user(&q.user);
                "ok"
            }),
        )
        .route(
            "/logout",
            get(|login: Login| async move {
                login.logout_user();
                "ok"
            }),
        )
        .route(
            "/cycle",
            get(|s: Session| async move {
                s.cycle_id();
                "ok"
            }),
        )
        .layer(login.layer());
    Rust::serve(Sessions::from(sessions), COOKIE, now, extra).await
}

/// What Rust's `/dump` shows for a session Flask made holding `v`
/// (Flask-Session makes every session permanent by default).
fn flask_dump(v: &str) -> String {
    format!(r#"{{"_permanent":true,"v":{v}}}"#)
}

#[tokio::test]
#[ignore = "needs Redis and Python"]
async fn every_json_kind_both_ways() {
    for setup in every_setup() {
        let pair = Pair::start(setup).await;
        let kinds = pair.py("/kinds", None).await.body;
        let kinds: Vec<&str> = kinds.split(',').collect();
        assert!(kinds.len() >= 16, "{kinds:?}");
        for kind in kinds {
            let expected = pair.py(&format!("/kind/{kind}"), None).await.body;
            // Flask writes it; Rust reads the same value.
            let from_py = pair.py_cookie(&format!("/set/{kind}"), None).await;
            assert_eq!(from_py.contains('.'), setup.signer, "{from_py}");
            assert_eq!(
                pair.rust("/dump", Some(&from_py)).await.body,
                flask_dump(&expected),
                "{setup:?} {kind}: Rust read"
            );
            // Rust adds a key in place; Flask reads both.
            let touched = pair.rust_cookie("/touch", Some(&from_py)).await;
            assert_eq!(touched, from_py, "the same record");
            assert_eq!(
                pair.py(&format!("/check/{kind}?rust=1"), Some(&touched))
                    .await
                    .body,
                "ok",
                "{setup:?} {kind}: Flask read after Rust"
            );
            // Rust writes it; Flask reads it back equal, type included.
            let from_rust = pair
                .rust_cookie(&format!("/set_plain?json={}", encode(&expected)), None)
                .await;
            assert_eq!(sid(&from_rust).len(), 43, "a token_urlsafe(32) sid");
            assert_eq!(from_rust.contains('.'), setup.signer, "{from_rust}");
            assert_eq!(
                pair.py(&format!("/check/{kind}"), Some(&from_rust))
                    .await
                    .body,
                "ok",
                "{setup:?} {kind}: Flask read"
            );
        }
        pair.teardown().await;
    }
}

#[tokio::test]
#[ignore = "needs Redis and Python"]
async fn bytes_and_datetimes_travel_in_msgpack() {
    let pair = Pair::start(Setup::new(Serialization::Msgpack, false)).await;
    // 2024-01-02T03:04:05Z
    let datetime = time::OffsetDateTime::from_unix_timestamp(1_704_164_645).expect("a date");
    let specials = [
        ("bytes", Value::Bytes(b"\x00\xff binary".to_vec())),
        ("datetime", Value::DateTime(datetime)),
    ];
    for (kind, value) in specials {
        let tagged = value.to_tagged_json();
        let from_py = pair.py_cookie(&format!("/set_special/{kind}"), None).await;
        assert_eq!(
            pair.rust("/get/v", Some(&from_py)).await.body,
            tagged,
            "{kind}"
        );
        let from_rust = pair
            .rust_cookie(&format!("/set?json={}", encode(&tagged)), None)
            .await;
        assert_eq!(
            pair.py(&format!("/check_special/{kind}"), Some(&from_rust))
                .await
                .body,
            "ok",
            "{kind}: Flask read"
        );
    }
    pair.teardown().await;
}

#[tokio::test]
#[ignore = "needs Redis and Python"]
async fn in_json_bytes_and_datetimes_are_their_text() {
    let pair = Pair::start(Setup::new(Serialization::Json, false)).await;
    // msgspec's JSON: bytes as base64, an aware datetime as RFC 3339; both
    // read back as strings, on either side.
    let from_py = pair.py_cookie("/set_special/bytes", None).await;
    assert_eq!(
        pair.rust("/get/v", Some(&from_py)).await.body,
        r#""AP8gYmluYXJ5""#
    );
    let from_py = pair.py_cookie("/set_special/datetime", None).await;
    assert_eq!(
        pair.rust("/get/v", Some(&from_py)).await.body,
        r#""2024-01-02T03:04:05Z""#
    );
    let tagged = Value::Bytes(b"\x00\xff binary".to_vec()).to_tagged_json();
    let from_rust = pair
        .rust_cookie(&format!("/set?json={}", encode(&tagged)), None)
        .await;
    let dump = pair.py("/dump", Some(&from_rust)).await.body;
    assert!(dump.contains(r#""v":"AP8gYmluYXJ5""#), "{dump}");
    pair.teardown().await;
}

#[tokio::test]
#[ignore = "needs Redis and Python"]
async fn a_login_on_either_side_is_seen_on_the_other() {
    for setup in [every_setup()[0], every_setup()[3]] {
        let pair = Pair::start(setup).await;
        // Flask-Login's login in Flask, seen and ended in Rust.
        let session = pair.py_cookie("/login?user=7", None).await;
        assert_eq!(pair.rust("/whoami", Some(&session)).await.body, "7");
        assert_eq!(pair.rust("/logout", Some(&session)).await.body, "ok");
        assert_eq!(pair.py("/whoami", Some(&session)).await.body, "anonymous");
        assert_eq!(pair.rust("/whoami", Some(&session)).await.body, "anonymous");
        // Rust's login, seen and ended in Flask.
        let session = pair.rust_cookie("/login?user=8", None).await;
        assert_eq!(pair.py("/whoami", Some(&session)).await.body, "8");
        assert_eq!(pair.py("/logout", Some(&session)).await.body, "ok");
        assert_eq!(pair.rust("/whoami", Some(&session)).await.body, "anonymous");
        assert_eq!(pair.py("/whoami", Some(&session)).await.body, "anonymous");
        pair.teardown().await;
    }
}

#[tokio::test]
#[ignore = "needs Redis and Python"]
async fn clearing_on_either_side_ends_the_session_on_both() {
    let pair = Pair::start(Setup::new(Serialization::Msgpack, true)).await;
    // Rust clears a Flask login.
    let session = pair.py_cookie("/set/str", None).await;
    assert_eq!(pair.py("/login?user=7", Some(&session)).await.body, "ok");
    assert_eq!(pair.rust("/whoami", Some(&session)).await.body, "7");
    pair.rust("/clear", Some(&session)).await;
    assert_eq!(pair.py("/whoami", Some(&session)).await.body, "anonymous");
    assert_eq!(pair.py("/check/str", Some(&session)).await.body, "missing");
    // Flask clears a Rust login: Flask-Session deletes the record.
    let session = pair.rust_cookie("/login?user=8", None).await;
    assert_eq!(pair.py("/whoami", Some(&session)).await.body, "8");
    assert_eq!(pair.py("/clear", Some(&session)).await.body, "cleared");
    assert_eq!(
        pair.pttl(&session).await,
        -2,
        "Flask-Session deleted the record"
    );
    assert_eq!(pair.rust("/whoami", Some(&session)).await.body, "anonymous");
    assert_eq!(pair.rust("/dump", Some(&session)).await.body, "{}");
    pair.teardown().await;
}

#[tokio::test]
#[ignore = "needs Redis and Python"]
async fn both_sides_give_the_record_the_same_ttl() {
    let pair = Pair::start(Setup::new(Serialization::Msgpack, false)).await;
    let full = i64::try_from(LIFETIME * 1000).expect("small");
    let near = |ttl: i64| (full - 3000..=full).contains(&ttl);
    let session = pair.py_cookie("/set/str", None).await;
    let ttl = pair.pttl(&session).await;
    assert!(near(ttl), "Flask's TTL {ttl}");
    pair.rust_cookie("/touch", Some(&session)).await;
    let ttl = pair.pttl(&session).await;
    assert!(near(ttl), "Rust's TTL on Flask's record {ttl}");
    let session = pair.rust_cookie("/set_plain?json=1", None).await;
    let ttl = pair.pttl(&session).await;
    assert!(near(ttl), "Rust's TTL on its own record {ttl}");
    pair.py("/touch", Some(&session)).await;
    let ttl = pair.pttl(&session).await;
    assert!(near(ttl), "Flask's TTL on Rust's record {ttl}");
    // A permanent session: both cookies say when, Flask sees `_permanent`.
    let r = pair.rust("/permanent", None).await;
    let session = r.cookie(COOKIE).expect("a cookie");
    assert!(r.set_cookie[0].contains("Expires="), "{r:?}");
    let dump = pair.py("/dump", Some(&session)).await.body;
    assert!(dump.contains(r#""_permanent":true"#), "{dump}");
    let r = pair.py("/touch", Some(&session)).await;
    assert!(r.set_cookie[0].contains("Expires="), "{r:?}");
    pair.teardown().await;
}

#[tokio::test]
#[ignore = "needs Redis and Python"]
async fn a_session_expires_for_both_at_once() {
    let mut setup = Setup::new(Serialization::Msgpack, false);
    setup.lifetime = 2;
    let pair = Pair::start(setup).await;
    let from_py = pair.py_cookie("/set/int", None).await;
    let from_rust = pair.rust_cookie("/set_plain?json=42", None).await;
    assert_eq!(
        pair.rust("/dump", Some(&from_py)).await.body,
        flask_dump("42")
    );
    assert_eq!(pair.py("/check/int", Some(&from_rust)).await.body, "ok");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for session in [&from_py, &from_rust] {
        assert_eq!(pair.pttl(session).await, -2, "Redis dropped it");
        assert_eq!(pair.rust("/dump", Some(session)).await.body, "{}");
        assert_eq!(pair.py("/check/int", Some(session)).await.body, "missing");
    }
    pair.teardown().await;
}

#[tokio::test]
#[ignore = "needs Redis and Python"]
async fn a_new_id_on_one_side_is_followed_by_the_other() {
    for setup in [every_setup()[0], every_setup()[2]] {
        let pair = Pair::start(setup).await;
        // Flask-Session's regenerate(): the old record goes.
        let old = pair.py_cookie("/set/str", None).await;
        let new = pair.py_cookie("/regenerate", Some(&old)).await;
        assert_ne!(sid(&new), sid(&old));
        assert_eq!(pair.pttl(&old).await, -2);
        assert_eq!(
            pair.rust("/dump", Some(&new)).await.body,
            flask_dump(&pair.py("/kind/str", None).await.body)
        );
        assert_eq!(pair.rust("/dump", Some(&old)).await.body, "{}");
        // Rust's cycle_id: the same, the other way.
        let newer = pair.rust_cookie("/cycle", Some(&new)).await;
        assert_ne!(sid(&newer), sid(&new));
        assert_eq!(pair.pttl(&new).await, -2);
        assert_eq!(pair.py("/check/str", Some(&newer)).await.body, "ok");
        assert_eq!(pair.py("/check/str", Some(&new)).await.body, "missing");
        pair.teardown().await;
    }
}

#[tokio::test]
#[ignore = "needs Redis and Python"]
async fn a_record_rust_cannot_read_is_refused_cleanly_and_left_in_place() {
    let pair = Pair::start(Setup::new(Serialization::Msgpack, false)).await;
    for how in ["pickle", "garbage", "list"] {
        let session = pair.py_cookie("/set/str", None).await;
        assert_eq!(
            pair.py(&format!("/raw?sid={}&how={how}", sid(&session)), None)
                .await
                .body,
            "ok"
        );
        // An empty session, not an outage; the record stays for Flask.
        assert_eq!(pair.rust("/dump", Some(&session)).await.body, "{}", "{how}");
        assert!(pair.pttl(&session).await > 0, "{how}: the record is left");
    }
    pair.teardown().await;
}

#[tokio::test]
#[ignore = "needs Redis and Python"]
async fn with_the_signer_a_forged_or_unsigned_cookie_is_an_empty_session() {
    let pair = Pair::start(Setup::new(Serialization::Msgpack, true)).await;
    let session = pair.py_cookie("/set/int", None).await;
    assert_eq!(
        pair.rust("/dump", Some(&session)).await.body,
        flask_dump("42")
    );
    let (sid, signature) = session.split_once('.').expect("sid.signature");
    let mut forged = signature.to_owned().into_bytes();
    forged[0] = if forged[0] == b'A' { b'B' } else { b'A' };
    let forged = format!("{sid}.{}", String::from_utf8(forged).expect("ASCII"));
    for cookie in [sid.to_owned(), forged, format!("{sid}.")] {
        assert_eq!(
            pair.rust("/dump", Some(&cookie)).await.body,
            "{}",
            "{cookie}"
        );
        assert_eq!(pair.py("/check/int", Some(&cookie)).await.body, "missing");
    }
    // The record is untouched and still Flask's.
    assert_eq!(pair.py("/check/int", Some(&session)).await.body, "ok");
    pair.teardown().await;
}
