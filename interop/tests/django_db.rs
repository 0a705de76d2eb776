//! Live tests of websession-python's `DjangoStore` against a real Django 5.2
//! app (`interop/django_db_app.py`) with the database session backend and
//! `django.contrib.auth`, on PostgreSQL (a schema of its own per test) and
//! on SQLite (a temporary file): the two apps share the `sessionid` cookie
//! and the `django_session` rows. `cargo test` skips them; `.ci/run` runs
//! them with `--include-ignored` (Python from `WEBSESSION_PYTHON` or
//! `target/py-venv`; PostgreSQL at `DATABASE_URL`).

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use axum::extract::Query;
use axum::routing::get;
use axum::Router;
use websession::{Key, KeyRing, Session, SessionConfig, Sessions};
use websession_interop::{
    database_url, encode, frozen_clock, unique, Flask as Python, Reply, Rust,
};
use websession_python::django::{
    session_auth_matches, DjangoOptions, DjangoStore, HASH_SESSION_KEY, SESSION_KEY,
};

const KEY: &str = "django-insecure live key of the database session tests";
const OLD: &str = "django-insecure the key being rotated out";
const COOKIE: &str = "sessionid";
/// Django's `SESSION_COOKIE_AGE`, and `SessionConfig::django()`'s lifetime.
const AGE: i64 = 1_209_600;

fn ring(key: &str, fallbacks: &[&str]) -> KeyRing {
    KeyRing::new(Key::from_utf8(key).expect("key")).with_fallbacks(
        fallbacks
            .iter()
            .map(|k| Key::from_utf8(k).expect("fallback key")),
    )
}

/// Now, in whole seconds: both clocks are frozen here, so rows written in
/// the test are live for the database too.
fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Where both apps keep the sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Db {
    Postgres,
    Sqlite,
}

/// The database of one test: a PostgreSQL schema or a SQLite file.
struct Place {
    db: Db,
    /// The schema name or the file's path.
    name: String,
}

impl Place {
    fn new(db: Db) -> Self {
        let name = match db {
            Db::Postgres => unique("wsdj", '_'),
            Db::Sqlite => std::env::temp_dir()
                .join(format!("{}.sqlite3", unique("websession-django", '_')))
                .display()
                .to_string(),
        };
        Self { db, name }
    }

    /// The Python app's environment for this place.
    fn env(&self) -> Vec<(&'static str, String)> {
        match self.db {
            Db::Postgres => vec![
                ("DJANGO_DB", "postgres".into()),
                ("DATABASE_URL", database_url()),
                ("DJANGO_SCHEMA", self.name.clone()),
            ],
            Db::Sqlite => vec![
                ("DJANGO_DB", "sqlite".into()),
                ("DJANGO_SQLITE", self.name.clone()),
            ],
        }
    }

    /// The Rust store on the same table.
    async fn store(&self, keys: KeyRing) -> DjangoStore {
        let options = DjangoOptions::new(keys);
        match self.db {
            Db::Postgres => {
                let base = database_url();
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-csearch_path%3D{}", self.name);
                DjangoStore::postgres(&url, options).await
            }
            Db::Sqlite => DjangoStore::sqlite(&self.name, options).await,
        }
        .expect("the Django table is there after migrate")
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        if self.db == Db::Sqlite {
            websession_interop::remove_sqlite(std::path::Path::new(&self.name));
        }
    }
}

/// A Django app and a Rust app on one database, both clocks frozen at `t`.
struct Pair {
    py: Python,
    rust: Rust,
    /// Kept for its `Drop` (the SQLite file goes).
    _place: Place,
    t: i64,
}

impl Pair {
    /// Django with `SECRET_KEY = key` and no fallbacks; Rust with
    /// `rust_keys`.
    async fn start(db: Db, key: &str, rust_keys: KeyRing) -> Self {
        let place = Place::new(db);
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut env = place.env();
        env.push(("SECRET_KEY", key.to_owned()));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let py = Python::start_script(dir.join("django_db_app.py"), &[], &env).await;
        let rust = rust_app(place.store(rust_keys.clone()).await, rust_keys).await;
        let pair = Self {
            py,
            rust,
            _place: place,
            t: now(),
        };
        pair.freeze(pair.t).await;
        pair
    }

    /// Moves both clocks to `t`.
    async fn freeze(&self, t: i64) {
        self.rust.now.store(t, Ordering::SeqCst);
        assert_eq!(self.py(&format!("/config?now={t}"), None).await.body, "ok");
    }

    async fn py(&self, path: &str, cookie: Option<&str>) -> Reply {
        let r = self.py.get_named(path, COOKIE, cookie).await;
        assert_eq!(r.status, 200, "Django {path}: {r:?}");
        r
    }

    async fn rust(&self, path: &str, cookie: Option<&str>) -> Reply {
        let r = self.rust.get(path, cookie).await;
        assert_eq!(r.status, 200, "Rust {path}: {r:?}");
        r
    }

    /// The session cookie Django sets on `path`.
    async fn py_cookie(&self, path: &str, cookie: Option<&str>) -> String {
        let r = self.py(path, cookie).await;
        r.cookie(COOKIE)
            .unwrap_or_else(|| panic!("Django {path}: no cookie ({r:?})"))
    }

    /// The session cookie Rust sets on `path`.
    async fn rust_cookie(&self, path: &str, cookie: Option<&str>) -> String {
        let r = self.rust(path, cookie).await;
        r.cookie(COOKIE)
            .unwrap_or_else(|| panic!("Rust {path}: no cookie ({r:?})"))
    }

    /// The row's `expire_date` as Django reads it (Unix seconds), or `None`.
    async fn row(&self, key: &str) -> Option<i64> {
        let body = self.py(&format!("/row?key={key}"), None).await.body;
        (body != "none").then(|| body.parse().expect("seconds"))
    }

    async fn teardown(self) {
        assert_eq!(self.py("/teardown", None).await.body, "ok");
    }
}

#[derive(serde::Deserialize)]
struct HashArg {
    password_hash: String,
}

/// The Rust app: the harness's routes, plus Django's login check
/// (`/auth_check?password_hash=`: the user's id, or `purged`), `/cycle`
/// and `/purge`.
async fn rust_app(store: DjangoStore, keys: KeyRing) -> Rust {
    let (clock, now) = frozen_clock();
    let sessions = Sessions::store(store, SessionConfig::django().with_clock(clock))
        .expect("a valid configuration");
    let extra = Router::new()
        .route(
            "/auth_check",
            get(move |s: Session, Query(q): Query<HashArg>| {
                let keys = keys.clone();
                async move {
                    let stored: String = s.get(HASH_SESSION_KEY).ok().flatten().unwrap_or_default();
                    if session_auth_matches(&keys, &q.password_hash, &stored).is_valid() {
                        s.get::<String>(SESSION_KEY)
                            .ok()
                            .flatten()
                            .unwrap_or_default()
                    } else {
                        s.purge();
                        "purged".to_owned()
                    }
                }
            }),
        )
        .route(
            "/cycle",
            get(|s: Session| async move {
                s.cycle_id();
                "ok"
            }),
        )
        .route(
            "/purge",
            get(|s: Session| async move {
                s.purge();
                "purged"
            }),
        );
    Rust::serve(Sessions::from(sessions), COOKIE, now, extra).await
}

/// Whether the reply deletes the session cookie (Rust writes an empty
/// value, Django `""`).
fn deletes_cookie(reply: &Reply) -> bool {
    matches!(reply.cookie(COOKIE).as_deref(), Some("" | "\"\""))
}

/// The `Expires` of a `Set-Cookie`, as written.
fn expires(reply: &Reply) -> String {
    let header = reply
        .set_cookie
        .iter()
        .find(|c| c.starts_with(COOKIE))
        .expect("a session cookie");
    let at = header
        .to_ascii_lowercase()
        .find("expires=")
        .expect("Expires");
    header[at + 8..]
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned()
}

async fn every_json_kind_both_ways(db: Db) {
    let pair = Pair::start(db, KEY, ring(KEY, &[])).await;
    let kinds = pair.py("/kinds", None).await.body;
    let kinds: Vec<&str> = kinds.split(',').collect();
    assert!(kinds.len() >= 20, "{kinds:?}");
    for kind in kinds {
        let expected = pair.py(&format!("/kind/{kind}"), None).await.body;
        // Django writes it; Rust reads the same value.
        let from_py = pair.py_cookie(&format!("/set/{kind}"), None).await;
        assert_eq!(
            pair.rust("/dump", Some(&from_py)).await.body,
            format!(r#"{{"v":{expected}}}"#),
            "{db:?} {kind}: Rust read"
        );
        // Rust adds a key in place; Django reads both.
        let touched = pair.rust_cookie("/touch", Some(&from_py)).await;
        assert_eq!(touched, from_py, "the same row");
        assert_eq!(
            pair.py(&format!("/check/{kind}?rust=1"), Some(&touched))
                .await
                .body,
            "ok",
            "{db:?} {kind}: Django read after Rust"
        );
        // Rust writes it; Django reads it back equal, type included.
        let from_rust = pair
            .rust_cookie(&format!("/set_plain?json={}", encode(&expected)), None)
            .await;
        assert_eq!(from_rust.len(), 32, "a Django key");
        assert_eq!(
            pair.py(&format!("/check/{kind}"), Some(&from_rust))
                .await
                .body,
            "ok",
            "{db:?} {kind}: Django read"
        );
    }
    pair.teardown().await;
}

async fn django_login_is_seen_and_a_password_change_ends_it(db: Db) {
    let pair = Pair::start(db, KEY, ring(KEY, &[])).await;
    let before = pair.py_cookie("/touch", None).await;
    // login() cycles the key and stores the three _auth_user_* keys.
    let session = pair
        .py_cookie("/login?user=ada&password=first", Some(&before))
        .await;
    assert_ne!(session, before, "Django's cycle_key at login");
    assert_eq!(pair.row(&before).await, None);
    let dump = pair.rust("/dump", Some(&session)).await.body;
    for key in [
        "\"_auth_user_id\":\"1\"",
        "\"_auth_user_backend\":\"django.contrib.auth.backends.ModelBackend\"",
        "\"_auth_user_hash\":\"",
        "\"django\":\"was here\"",
    ] {
        assert!(dump.contains(key), "{key} in {dump}");
    }
    let hash = pair.py("/password_hash?user=ada", None).await.body;
    let check = format!("/auth_check?password_hash={}", encode(&hash));
    assert_eq!(pair.rust(&check, Some(&session)).await.body, "1");
    assert_eq!(pair.py("/whoami", Some(&session)).await.body, "ada");

    // The password changes (elsewhere): both sides end the session.
    let other = pair.py_cookie("/login?user=ada&password=first", None).await;
    pair.py("/set_password?user=ada&password=second", None)
        .await;
    let hash = pair.py("/password_hash?user=ada", None).await.body;
    let check = format!("/auth_check?password_hash={}", encode(&hash));
    let purged = pair.rust(&check, Some(&session)).await;
    assert_eq!(purged.body, "purged");
    assert!(deletes_cookie(&purged), "{purged:?}");
    assert_eq!(pair.row(&session).await, None, "row deleted");
    assert_eq!(pair.py("/whoami", Some(&session)).await.body, "anonymous");
    assert_eq!(pair.py("/whoami", Some(&other)).await.body, "anonymous");
    assert_eq!(pair.row(&other).await, None, "Django flushed it");
    pair.teardown().await;
}

async fn a_flush_on_either_side_ends_it_on_both(db: Db) {
    let pair = Pair::start(db, KEY, ring(KEY, &[])).await;
    // Django flushes.
    let session = pair.py_cookie("/set/int", None).await;
    assert_eq!(pair.rust("/dump", Some(&session)).await.body, r#"{"v":42}"#);
    let flushed = pair.py("/flush", Some(&session)).await;
    assert!(deletes_cookie(&flushed), "{flushed:?}");
    assert_eq!(pair.row(&session).await, None);
    assert_eq!(pair.rust("/dump", Some(&session)).await.body, "{}");
    // Rust purges.
    let session = pair.rust_cookie("/touch", None).await;
    assert_eq!(pair.py("/check/int", Some(&session)).await.body, "missing");
    assert!(pair.row(&session).await.is_some());
    let purged = pair.rust("/purge", Some(&session)).await;
    assert!(deletes_cookie(&purged), "{purged:?}");
    assert_eq!(pair.row(&session).await, None);
    assert_eq!(pair.py("/dump", Some(&session)).await.body, "{}");
    // Rust clears: an empty session is no row, as in Django.
    let session = pair.py_cookie("/set/str", None).await;
    let cleared = pair.rust("/clear", Some(&session)).await;
    assert!(deletes_cookie(&cleared), "{cleared:?}");
    assert_eq!(pair.row(&session).await, None);
    pair.teardown().await;
}

async fn expire_date_is_the_same_on_both(db: Db) {
    let pair = Pair::start(db, KEY, ring(KEY, &[])).await;
    let t = pair.t;
    // Written at the same second, the same expire_date and Expires.
    let by_rust = pair.rust("/touch", None).await;
    let by_py = pair.py("/touch", None).await;
    let (rust_key, py_key) = (
        by_rust.cookie(COOKIE).expect("Rust's cookie"),
        by_py.cookie(COOKIE).expect("Django's cookie"),
    );
    assert_eq!(pair.row(&rust_key).await, Some(t + AGE));
    assert_eq!(pair.row(&py_key).await, Some(t + AGE));
    assert_eq!(
        expires(&by_rust).to_ascii_lowercase(),
        expires(&by_py).to_ascii_lowercase()
    );
    // Rust rewrites a row Django wrote: two weeks from the write.
    pair.freeze(t + 10).await;
    pair.rust("/set_plain?json=1", Some(&py_key)).await;
    assert_eq!(pair.row(&py_key).await, Some(t + 10 + AGE));
    // Django's set_expiry(300): Rust keeps it (300 s from its own write).
    pair.py("/expiry?seconds=300", Some(&py_key)).await;
    assert_eq!(pair.row(&py_key).await, Some(t + 10 + 300));
    pair.freeze(t + 20).await;
    pair.rust("/touch", Some(&py_key)).await;
    assert_eq!(pair.row(&py_key).await, Some(t + 20 + 300));
    // set_expiry(a date): the row keeps that date.
    let date = "2099-01-01T00:00:00+00:00";
    pair.py(&format!("/expiry?date={}", encode(date)), Some(&py_key))
        .await;
    pair.rust("/set_plain?json=2", Some(&py_key)).await;
    assert_eq!(pair.row(&py_key).await, Some(4_070_908_800));
    // Past expire_date, both see nothing.
    pair.freeze(t + AGE + 1).await;
    assert_eq!(pair.rust("/dump", Some(&rust_key)).await.body, "{}");
    assert_eq!(pair.py("/dump", Some(&rust_key)).await.body, "{}");
    pair.teardown().await;
}

async fn a_cycled_key_is_followed_both_ways(db: Db) {
    let pair = Pair::start(db, KEY, ring(KEY, &[])).await;
    let first = pair.py_cookie("/set/list", None).await;
    let second = pair.py_cookie("/cycle", Some(&first)).await;
    assert_ne!(first, second);
    assert_eq!(pair.rust("/dump", Some(&first)).await.body, "{}");
    let expected = pair.py("/kind/list", None).await.body;
    assert_eq!(
        pair.rust("/dump", Some(&second)).await.body,
        format!(r#"{{"v":{expected}}}"#)
    );
    let third = pair.rust_cookie("/cycle", Some(&second)).await;
    assert_ne!(third, second);
    assert_eq!(third.len(), 32);
    assert_eq!(pair.row(&second).await, None, "the old row is gone");
    assert_eq!(pair.py("/check/list", Some(&third)).await.body, "ok");
    assert_eq!(pair.py("/dump", Some(&second)).await.body, "{}");
    pair.teardown().await;
}

async fn secret_key_fallbacks_rotate_both_ways(db: Db) {
    // Django signs with OLD; Rust has NEW with OLD as a fallback.
    let pair = Pair::start(db, OLD, ring(KEY, &[OLD])).await;
    let session = pair.py_cookie("/set/dict", None).await;
    let expected = pair.py("/kind/dict", None).await.body;
    assert_eq!(
        pair.rust("/dump", Some(&session)).await.body,
        format!(r#"{{"v":{expected}}}"#)
    );
    // Rust writes it back signed with the new key; Django, rotated, reads it
    // with and then without the fallback.
    pair.rust("/touch", Some(&session)).await;
    let rotate = format!("/config?key={}&fallbacks={}", encode(KEY), encode(OLD));
    pair.py(&rotate, None).await;
    assert_eq!(
        pair.py("/check/dict?rust=1", Some(&session)).await.body,
        "ok"
    );
    pair.py("/config?fallbacks=", None).await;
    assert_eq!(
        pair.py("/check/dict?rust=1", Some(&session)).await.body,
        "ok"
    );
    // A row signed with a key Rust doesn't have is an empty session.
    pair.py(&format!("/config?key={}", encode("a third key")), None)
        .await;
    let stranger = pair.py_cookie("/set/int", None).await;
    assert_eq!(pair.rust("/dump", Some(&stranger)).await.body, "{}");
    assert!(pair.row(&stranger).await.is_some(), "left for Django");
    pair.teardown().await;
}

async fn a_corrupt_or_forged_row_is_refused_cleanly(db: Db) {
    let pair = Pair::start(db, KEY, ring(KEY, &[])).await;
    for how in ["garbage", "forged", "list"] {
        let session = pair.py_cookie("/set/str", None).await;
        assert_eq!(
            pair.py(&format!("/forge?key={session}&how={how}"), None)
                .await
                .body,
            "1"
        );
        // 200 and an empty session, never a 503; the row stays.
        assert_eq!(pair.rust("/dump", Some(&session)).await.body, "{}", "{how}");
        assert!(pair.row(&session).await.is_some(), "{how}: left for Django");
        // A write starts a new session under a new key.
        let fresh = pair.rust_cookie("/touch", Some(&session)).await;
        assert_ne!(fresh, session, "{how}");
        if how != "list" {
            // Django reads an empty session too (a list it can't use at all).
            assert_eq!(pair.py("/dump", Some(&session)).await.body, "{}", "{how}");
        }
    }
    // Cookies no Django key could be: an empty session.
    for bad in [
        "short",
        "UPPERCASEUPPERCASEUPPERCASEUPPER",
        "../../etc/passwd",
    ] {
        assert_eq!(pair.rust("/dump", Some(bad)).await.body, "{}");
    }
    pair.teardown().await;
}

/// One test per behaviour and database.
macro_rules! live {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test]
                #[ignore = "needs PostgreSQL and Python"]
                async fn $name() {
                    super::$name(super::Db::Postgres).await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test]
                #[ignore = "needs Python"]
                async fn $name() {
                    super::$name(super::Db::Sqlite).await;
                }
            )*
        }
    };
}

live!(
    every_json_kind_both_ways,
    django_login_is_seen_and_a_password_change_ends_it,
    a_flush_on_either_side_ends_it_on_both,
    expire_date_is_the_same_on_both,
    a_cycled_key_is_followed_both_ways,
    secret_key_fallbacks_rotate_both_ways,
    a_corrupt_or_forged_row_is_refused_cleanly,
);
