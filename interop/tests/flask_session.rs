//! Live tests of websession-python's `FlaskSessionStore` against a real
//! Flask 3.1 app with Flask-Session 0.8 and Flask-Login
//! (`interop/flask_session_app.py`), every test on each of Flask-Session's
//! backends the store speaks: Redis (`SESSION_TYPE = "redis"`, a key prefix
//! of each test's own), PostgreSQL and SQLite (`SESSION_TYPE =
//! "sqlalchemy"`, Flask-SQLAlchemy's table: a table of each test's own on
//! PostgreSQL, dropped at the end; a temporary file on SQLite). The two
//! apps share the `session` cookie and the records, in msgpack and in
//! JSON, with and without `SESSION_USE_SIGNER`. `cargo test` skips them;
//! `.ci/run` runs them with `--include-ignored` (Python from
//! `WEBSESSION_PYTHON` or `target/py-venv`; Redis at `REDIS_URL`,
//! PostgreSQL at `DATABASE_URL`). Both sides use the real clock, as Redis
//! TTLs and Flask-Session's `datetime.utcnow()` do.

use std::path::PathBuf;
use std::time::Duration;

use axum::extract::Query;
use axum::routing::get;
use axum::Router;
use websession::flask::{FlaskLogin, FlaskLoginConfig, Login};
use websession::{Key, Session, SessionConfig, Sessions, Value};
use websession_interop::{
    database_url, encode, frozen_clock, redis_url, unique, Flask as Python, Reply, Rust,
};
use websession_python::flask_session::{FlaskSessionOptions, FlaskSessionStore, Serialization};

const KEY: &str = "the Flask-Session live tests' SECRET_KEY, 32+ bytes";
const COOKIE: &str = "session";
/// `PERMANENT_SESSION_LIFETIME` on both sides, in seconds.
const LIFETIME: u64 = 3600;

/// Where Flask-Session keeps the records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    /// `SESSION_TYPE = "redis"`: a key per session, with a TTL.
    Redis,
    /// `SESSION_TYPE = "sqlalchemy"` on PostgreSQL: a row per session.
    Postgres,
    /// The same on SQLite.
    Sqlite,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Redis => "redis",
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }

    fn is_sql(self) -> bool {
        self != Backend::Redis
    }
}

/// How both apps are configured.
#[derive(Clone, Copy, Debug)]
struct Setup {
    backend: Backend,
    serialization: Serialization,
    signer: bool,
    lifetime: u64,
}

impl Setup {
    fn new(backend: Backend, serialization: Serialization, signer: bool) -> Self {
        Self {
            backend,
            serialization,
            signer,
            lifetime: LIFETIME,
        }
    }
}

/// The four configurations the tests run under, on `backend`.
fn every_setup(backend: Backend) -> [Setup; 4] {
    [
        Setup::new(backend, Serialization::Msgpack, false),
        Setup::new(backend, Serialization::Json, false),
        Setup::new(backend, Serialization::Msgpack, true),
        Setup::new(backend, Serialization::Json, true),
    ]
}

/// Where one pair keeps its records: a key prefix (used on every backend,
/// in the SQL `session_id` too), a table (SQL), a database file (SQLite).
struct Place {
    prefix: String,
    table: String,
    /// The SQLite file, deleted on drop.
    file: Option<PathBuf>,
}

impl Place {
    fn new(backend: Backend) -> Self {
        let table = unique("wsfs", '_');
        let file = (backend == Backend::Sqlite)
            .then(|| std::env::temp_dir().join(format!("{}.db", unique("websession-flask", '-'))));
        Self {
            prefix: format!("{}:", unique("wsfs", ':')),
            table,
            file,
        }
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        if let Some(file) = &self.file {
            websession_interop::remove_sqlite(file);
        }
    }
}

/// A Flask app and a Rust app on one backend, under one fresh key prefix
/// (and table, and file).
struct Pair {
    py: Python,
    rust: Rust,
    setup: Setup,
    /// Kept for its `Drop` (the SQLite file goes).
    _place: Place,
}

impl Pair {
    async fn start(setup: Setup) -> Self {
        let place = Place::new(setup.backend);
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let lifetime = setup.lifetime.to_string();
        let format = match setup.serialization {
            Serialization::Json => "json",
            _ => "msgpack",
        };
        let mut env = vec![
            ("SECRET_KEY", KEY.to_owned()),
            ("SESSION_BACKEND", setup.backend.name().to_owned()),
            ("SESSION_KEY_PREFIX", place.prefix.clone()),
            ("SESSION_SERIALIZATION_FORMAT", format.to_owned()),
            (
                "SESSION_USE_SIGNER",
                if setup.signer { "1" } else { "0" }.to_owned(),
            ),
            ("LIFETIME", lifetime),
        ];
        match setup.backend {
            Backend::Redis => env.push(("REDIS_URL", redis_url())),
            Backend::Postgres => env.push(("DATABASE_URL", database_url())),
            Backend::Sqlite => {
                let file = place.file.as_ref().expect("a file");
                env.push(("SQLITE_PATH", file.display().to_string()));
            }
        }
        if setup.backend.is_sql() {
            env.push(("SESSION_SQLALCHEMY_TABLE", place.table.clone()));
        }
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        // Flask-Session makes the SQL table at start-up; the Rust store
        // finds it there.
        let py = Python::start_script(dir.join("flask_session_app.py"), &[], &env).await;
        let mut options = FlaskSessionOptions::new()
            .with_key_prefix(place.prefix.as_str())
            .with_serialization(setup.serialization)
            .with_table(place.table.as_str());
        if setup.signer {
            options = options.with_signer(key());
        }
        let store = match setup.backend {
            Backend::Redis => FlaskSessionStore::redis(&redis_url(), options)
                .await
                .expect("Redis at REDIS_URL"),
            Backend::Postgres => FlaskSessionStore::postgres(&database_url(), options)
                .await
                .expect("PostgreSQL at DATABASE_URL"),
            Backend::Sqlite => {
                let file = place.file.as_ref().expect("a file");
                FlaskSessionStore::sqlite(file, options)
                    .await
                    .expect("the SQLite file Flask-Session made")
            }
        };
        let rust = rust_app(store, setup.lifetime).await;
        Self {
            py,
            rust,
            setup,
            _place: place,
        }
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

    /// The milliseconds the record has left (its Redis PTTL, or its SQL
    /// `expiry` minus now: negative for an expired row still there); -2
    /// when there is no record.
    async fn expiry(&self, cookie: &str) -> i64 {
        let body = self
            .py(&format!("/expiry?sid={}", sid(cookie)), None)
            .await
            .body;
        body.parse().expect("milliseconds")
    }

    /// When the record expires, Unix milliseconds: the SQL `expiry` column
    /// itself (now + PTTL on Redis).
    async fn expiry_at(&self, cookie: &str) -> i64 {
        let body = self
            .py(&format!("/expiry_at?sid={}", sid(cookie)), None)
            .await
            .body;
        let at: i64 = body.parse().expect("milliseconds");
        assert!(at > 0, "no record ({at})");
        at
    }

    /// When the record just written expires (Unix milliseconds), checked
    /// to be a whole lifetime away (to within 3 s).
    async fn fresh_expiry(&self, cookie: &str, what: &str) -> i64 {
        let full = i64::try_from(self.setup.lifetime * 1000).expect("small");
        let left = self.expiry(cookie).await;
        assert!(
            (full - 3000..=full).contains(&left),
            "{what}: {left} ms left"
        );
        self.expiry_at(cookie).await
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

async fn every_json_kind_both_ways(backend: Backend) {
    for setup in every_setup(backend) {
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

async fn bytes_and_datetimes_travel_in_msgpack(backend: Backend) {
    let pair = Pair::start(Setup::new(backend, Serialization::Msgpack, false)).await;
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

async fn in_json_bytes_and_datetimes_are_their_text(backend: Backend) {
    let pair = Pair::start(Setup::new(backend, Serialization::Json, false)).await;
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

async fn a_login_on_either_side_is_seen_on_the_other(backend: Backend) {
    for setup in [every_setup(backend)[0], every_setup(backend)[3]] {
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

async fn clearing_on_either_side_ends_the_session_on_both(backend: Backend) {
    let pair = Pair::start(Setup::new(backend, Serialization::Msgpack, true)).await;
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
        pair.expiry(&session).await,
        -2,
        "Flask-Session deleted the record"
    );
    assert_eq!(pair.rust("/whoami", Some(&session)).await.body, "anonymous");
    assert_eq!(pair.rust("/dump", Some(&session)).await.body, "{}");
    pair.teardown().await;
}

async fn both_sides_give_the_record_the_same_expiry(backend: Backend) {
    let pair = Pair::start(Setup::new(backend, Serialization::Msgpack, false)).await;
    // Written by one side, then by the other a moment later: the same
    // instant, to within that moment and Rust's whole seconds. On SQL this
    // compares the `expiry` column each side writes.
    let same = |a: i64, b: i64| (a - b).abs() <= 2000;
    let session = pair.py_cookie("/set/str", None).await;
    let flask_at = pair.fresh_expiry(&session, "Flask's record").await;
    pair.rust_cookie("/touch", Some(&session)).await;
    let rust_at = pair.fresh_expiry(&session, "Rust on Flask's record").await;
    assert!(same(flask_at, rust_at), "Flask {flask_at}, Rust {rust_at}");
    let session = pair.rust_cookie("/set_plain?json=1", None).await;
    let rust_at = pair.fresh_expiry(&session, "Rust's record").await;
    pair.py("/touch", Some(&session)).await;
    let flask_at = pair.fresh_expiry(&session, "Flask on Rust's record").await;
    assert!(same(flask_at, rust_at), "Rust {rust_at}, Flask {flask_at}");
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

async fn a_session_expires_for_both_at_once(backend: Backend) {
    let mut setup = Setup::new(backend, Serialization::Msgpack, false);
    setup.lifetime = 2;
    let pair = Pair::start(setup).await;
    let from_py = pair.py_cookie("/set/int", None).await;
    let from_rust = pair.rust_cookie("/set_plain?json=42", None).await;
    assert_eq!(
        pair.rust("/dump", Some(&from_py)).await.body,
        flask_dump("42")
    );
    assert_eq!(pair.py("/check/int", Some(&from_rust)).await.body, "ok");
    // Rust's clock counts whole seconds: a row whose `expiry` is x.5 is
    // live for it until x + 1 (Redis drops the key at x.5 itself).
    tokio::time::sleep(Duration::from_millis(3200)).await;
    for session in [&from_py, &from_rust] {
        let left = pair.expiry(session).await;
        if backend.is_sql() {
            // SQL has no TTL: the expired row is still there, and Rust
            // hides it but leaves it (its `delete_expired` sweeps)...
            assert!(left < -1000, "the expired row is there ({left})");
            assert_eq!(pair.rust("/dump", Some(session)).await.body, "{}");
            assert!(pair.expiry(session).await < -1000, "Rust left the row");
        } else {
            assert_eq!(left, -2, "Redis dropped it");
            assert_eq!(pair.rust("/dump", Some(session)).await.body, "{}");
        }
        assert_eq!(pair.py("/check/int", Some(session)).await.body, "missing");
        // ... which Flask-Session's load deletes (SQL).
        assert_eq!(pair.expiry(session).await, -2, "no record left");
    }
    pair.teardown().await;
}

async fn a_new_id_on_one_side_is_followed_by_the_other(backend: Backend) {
    for setup in [every_setup(backend)[0], every_setup(backend)[2]] {
        let pair = Pair::start(setup).await;
        // Flask-Session's regenerate(): the old record goes.
        let old = pair.py_cookie("/set/str", None).await;
        let new = pair.py_cookie("/regenerate", Some(&old)).await;
        assert_ne!(sid(&new), sid(&old));
        assert_eq!(pair.expiry(&old).await, -2);
        assert_eq!(
            pair.rust("/dump", Some(&new)).await.body,
            flask_dump(&pair.py("/kind/str", None).await.body)
        );
        assert_eq!(pair.rust("/dump", Some(&old)).await.body, "{}");
        // Rust's cycle_id: the same, the other way.
        let newer = pair.rust_cookie("/cycle", Some(&new)).await;
        assert_ne!(sid(&newer), sid(&new));
        assert_eq!(pair.expiry(&new).await, -2);
        assert_eq!(pair.py("/check/str", Some(&newer)).await.body, "ok");
        assert_eq!(pair.py("/check/str", Some(&new)).await.body, "missing");
        pair.teardown().await;
    }
}

async fn a_record_rust_cannot_read_is_refused_cleanly_and_left_in_place(backend: Backend) {
    let pair = Pair::start(Setup::new(backend, Serialization::Msgpack, false)).await;
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
        assert!(pair.expiry(&session).await > 0, "{how}: the record is left");
    }
    pair.teardown().await;
}

async fn with_the_signer_a_forged_or_unsigned_cookie_is_an_empty_session(backend: Backend) {
    let pair = Pair::start(Setup::new(backend, Serialization::Msgpack, true)).await;
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

/// The tests above, each once per backend: `redis::…`, `postgres::…` and
/// `sqlite::…`.
macro_rules! on_every_backend {
    ($($test:ident),* $(,)?) => {
        on_every_backend!(@ redis, Redis, "needs Redis and Python", $($test),*);
        on_every_backend!(@ postgres, Postgres, "needs PostgreSQL and Python", $($test),*);
        on_every_backend!(@ sqlite, Sqlite, "needs Python", $($test),*);
    };
    (@ $module:ident, $backend:ident, $needs:literal, $($test:ident),*) => {
        mod $module {
            $(
                #[tokio::test]
                #[ignore = $needs]
                async fn $test() {
                    super::$test(super::Backend::$backend).await;
                }
            )*
        }
    };
}

on_every_backend!(
    every_json_kind_both_ways,
    bytes_and_datetimes_travel_in_msgpack,
    in_json_bytes_and_datetimes_are_their_text,
    a_login_on_either_side_is_seen_on_the_other,
    clearing_on_either_side_ends_the_session_on_both,
    both_sides_give_the_record_the_same_expiry,
    a_session_expires_for_both_at_once,
    a_new_id_on_one_side_is_followed_by_the_other,
    a_record_rust_cannot_read_is_refused_cleanly_and_left_in_place,
    with_the_signer_a_forged_or_unsigned_cookie_is_an_empty_session,
);
