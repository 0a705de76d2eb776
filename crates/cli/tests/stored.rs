//! `websession stored`: a Python app's server-side session printed,
//! read-only. Flask-Session's SQLite table is made here by the Rust store
//! (the table Flask-Session makes); Django's comes from real Django
//! (ignored without Python: `bash .ci/python-env`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use websession_core::store::{Record, SessionStore};
use websession_core::{Key, KeyRing, Map, Value};
use websession_python::flask_session::{FlaskSessionOptions, FlaskSessionStore};

const BIN: &str = env!("CARGO_BIN_EXE_websession");
const KEY_HEX: &str = "636f727265637420686f727365206261747465727920737461706c65"; // correct horse battery staple

fn run(args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    for var in [
        "WEBSESSION_SECRET_KEY",
        "WEBSESSION_SECRET_KEY_HEX",
        "WEBSESSION_SECRET_KEY_FALLBACKS_HEX",
    ] {
        cmd.env_remove(var);
    }
    cmd.args(args).output().expect("spawn")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `websession stored --format FORMAT --store STORE ARGS..`
fn stored(format: &str, store: &str, args: &[&str]) -> Output {
    run(&[&["stored", "--format", format, "--store", store], args].concat())
}

/// The exit code is `code` and standard error contains `says`.
fn expect(out: &Output, code: i32, says: &str) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert!(stderr.contains(says), "expected {says:?} in: {stderr}");
}

/// The file's bytes are still `before`.
fn unchanged(path: &Path, before: &[u8]) {
    assert!(
        std::fs::read(path).expect("db") == before,
        "read-only: the file changed"
    );
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("websession-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// A Flask-Session record on SQLite; returns the cookie value.
fn flask_session_record(path: &Path, options: FlaskSessionOptions) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let store = FlaskSessionStore::sqlite(path, options)
            .await
            .expect("store");
        let ids = store.id_format();
        let id = ids.generate();
        let mut data = Map::new();
        data.insert("user".into(), Value::Str("ada".into()));
        data.insert("_permanent".into(), Value::Bool(true));
        let t = now();
        store
            .create(&ids.key(&id), &Record::new(data, t, t + 3600), t)
            .await
            .expect("create");
        ids.cookie_value(&id).into_owned()
    })
}

#[test]
fn prints_a_flask_session_record_and_writes_nothing() {
    let dir = scratch("flask");
    let db = dir.join("sessions.db");
    let cookie = flask_session_record(&db, FlaskSessionOptions::new());
    let store = format!("sqlite:{}", db.display());
    let before = std::fs::read(&db).expect("db");

    let out = stored("flask-session", &store, &[&cookie]);
    expect(&out, 0, "");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["user"], "ada");
    assert_eq!(json["_permanent"], true);
    assert!(
        text(&out.stderr).starts_with("expires at "),
        "{}",
        text(&out.stderr)
    );
    unchanged(&db, &before);

    // An id with no record (its last character changed, never to itself),
    // and a cookie that is no id.
    let last = if cookie.ends_with('A') { 'Q' } else { 'A' };
    let unknown = format!("{}{last}", &cookie[..42]);
    let out = stored("flask-session", &store, &[&unknown]);
    expect(&out, 1, "no live");
    let out = stored("flask-session", &store, &["nope"]);
    expect(&out, 1, "not a Flask-Session id");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_signed_flask_session_id_needs_the_key() {
    let dir = scratch("signed");
    let db = dir.join("sessions.db");
    let key = KeyRing::new(Key::from_hex(KEY_HEX).expect("key"));
    let cookie = flask_session_record(&db, FlaskSessionOptions::new().with_signer(key));
    assert!(cookie.contains('.'), "{cookie}");
    let store = format!("sqlite:{}", db.display());

    let signed = |args: &[&str]| stored("flask-session", &store, &[&["--signed"], args].concat());
    let out = signed(&["--key-hex", KEY_HEX, &cookie]);
    expect(&out, 0, "");
    assert!(text(&out.stdout).contains("ada"));

    // Another key, a forged signature, the bare id: refused.
    let other = "00".repeat(32);
    expect(&signed(&["--key-hex", &other, &cookie]), 1, "not a signed");
    let (sid, _) = cookie.split_once('.').expect("signed");
    let forged = format!("{sid}.AAAAAAAAAAAAAAAAAAAAAAAAAAA");
    expect(&signed(&["--key-hex", KEY_HEX, &forged]), 1, "not a signed");
    expect(&signed(&["--key-hex", KEY_HEX, sid]), 1, "not a signed");
    // --signed without a key is a usage error.
    expect(&signed(&[&cookie]), 2, "");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn usage_errors() {
    let out = stored("flask-session", "mysql://h/db", &["x"]);
    expect(&out, 2, "--store must be");
    let out = stored(
        "django",
        "redis://127.0.0.1:1",
        &["--key-hex", KEY_HEX, "x"],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = stored("django", "sqlite:x.db", &["x"]);
    assert_eq!(out.status.code(), Some(2), "Django needs the key");
}

/// The Python with Django from the project's virtualenv.
fn python() -> PathBuf {
    std::env::var_os("WEBSESSION_PYTHON").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/py-venv/bin/python"),
        PathBuf::from,
    )
}

#[test]
#[ignore = "needs Python with Django (bash .ci/python-env)"]
fn prints_a_session_real_django_stored() {
    let dir = scratch("django");
    let db = dir.join("db.sqlite3");
    // Real Django makes the table (migrate) and a session in it.
    let script = r#"
import sys
import django
from django.conf import settings
settings.configure(
    SECRET_KEY="correct horse battery staple",
    INSTALLED_APPS=["django.contrib.sessions"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": sys.argv[1]}},
    USE_TZ=True,
)
django.setup()
from django.core.management import call_command
call_command("migrate", "sessions", verbosity=0)
from django.contrib.sessions.backends.db import SessionStore
s = SessionStore()
s["user"] = "ada"
s["n"] = [1, 2.5, None, True]
s.create()
print(s.session_key)
"#;
    let out = Command::new(python())
        .args(["-c", script, db.to_str().expect("path")])
        .output()
        .expect("python");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let key = text(&out.stdout).trim().to_owned();
    let store = format!("sqlite:{}", db.display());
    let before = std::fs::read(&db).expect("db");

    let out = stored("django", &store, &["--key-hex", KEY_HEX, &key]);
    expect(&out, 0, "");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["user"], "ada");
    assert_eq!(json["n"], serde_json::json!([1, 2.5, null, true]));
    unchanged(&db, &before);

    // Another SECRET_KEY: the signature fails, nothing is printed.
    let other = "00".repeat(32);
    let out = stored("django", &store, &["--key-hex", &other, &key]);
    expect(&out, 1, "no live");
    // The old key as a fallback still reads it (SECRET_KEY_FALLBACKS).
    let out = stored(
        "django",
        &store,
        &["--key-hex", &other, "--fallback-key-hex", KEY_HEX, &key],
    );
    expect(&out, 0, "");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_table_is_an_error_and_is_not_made() {
    let dir = scratch("absent");
    let db = dir.join("sessions.db");
    flask_session_record(&db, FlaskSessionOptions::new());
    let before = std::fs::read(&db).expect("db");
    let store = format!("sqlite:{}", db.display());
    let sid = "A".repeat(43);
    let out = stored("flask-session", &store, &["--table", "absent", &sid]);
    expect(&out, 2, "");
    unchanged(&db, &before);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "needs PostgreSQL (DATABASE_URL)"]
fn on_postgresql_a_missing_table_is_not_made() {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let table = format!("ws_cli_absent_{}", std::process::id());
    let sid = "A".repeat(43);
    let out = stored("flask-session", &url, &["--table", &table, &sid]);
    expect(&out, 2, "");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let absent = runtime.block_on(FlaskSessionStore::postgres(
        &url,
        FlaskSessionOptions::new()
            .with_table(table.as_str())
            .with_create_table(false),
    ));
    assert!(absent.is_err(), "the CLI made table {table}");
}
