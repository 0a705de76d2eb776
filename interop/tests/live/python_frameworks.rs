//! Live interop with real Starlette (served by uvicorn) and real Django (over
//! ASGI, served by uvicorn), each beside a Rust app with the same key: every
//! JSON value kind both ways and byte for byte, expiry at the same frozen
//! time, key rotation both ways, tampering refused on both sides, and
//! Django's compressed cookies both ways.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use websession::{Key, KeyRing};
use websession_interop::{encode, Flask as Python, Format, Rust};

const KEY: &str = "live interop key for Starlette and Django";
const OLD: &str = "the old key being rotated out";
const STRANGER: &str = "a key neither side was given";
const T: i64 = 1_750_000_000;
const HOUR: i64 = 3600;

fn ring(key: &str) -> KeyRing {
    KeyRing::new(Key::from_utf8(key).expect("key"))
}

/// A Python app of `format` and its cookie name.
struct App {
    format: Format,
    py: Python,
}

impl App {
    /// Starts the framework's app with `key` (and, for Django, `fallbacks`)
    /// and this maximum age, its clock frozen at `now`.
    async fn start(format: Format, key: &str, fallbacks: &[&str], max_age: i64, now: i64) -> Self {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let age = max_age.to_string();
        let joined = fallbacks.join(",");
        let py = match format {
            Format::Starlette => {
                assert!(fallbacks.is_empty(), "Starlette has one key");
                Python::start_script(
                    dir.join("starlette_app.py"),
                    &[],
                    &[("SECRET_KEY", key), ("MAX_AGE", &age)],
                )
                .await
            }
            _ => {
                Python::start_script(
                    dir.join("django_app.py"),
                    &[],
                    &[
                        ("SECRET_KEY", key),
                        ("SECRET_KEY_FALLBACKS", &joined),
                        ("SESSION_COOKIE_AGE", &age),
                    ],
                )
                .await
            }
        };
        let app = Self { format, py };
        app.freeze(now).await;
        app
    }

    fn name(&self) -> &'static str {
        match self.format {
            Format::Django => "sessionid",
            _ => "session",
        }
    }

    async fn freeze(&self, now: i64) {
        let r = self.get(&format!("/config?now={now}"), None).await;
        assert_eq!(r.body, "ok");
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> websession_interop::Reply {
        self.py.get_named(path, self.name(), cookie).await
    }

    /// The cookie the app sets on `path`.
    async fn cookie(&self, path: &str, cookie: Option<&str>) -> String {
        let r = self.get(path, cookie).await;
        r.cookie(self.name())
            .unwrap_or_else(|| panic!("{:?} {path}: no cookie ({r:?})", self.format))
    }
}

/// A Rust app of `format` frozen at `now`.
async fn rust(format: Format, keys: KeyRing, max_age: i64, now: i64) -> Rust {
    let rust = Rust::start_format(format, keys, max_age).await;
    rust.now.store(now, Ordering::SeqCst);
    rust
}

async fn rust_cookie(rust: &Rust, path: &str, cookie: Option<&str>) -> String {
    let r = rust.get(path, cookie).await;
    r.cookie(rust.cookie_name)
        .unwrap_or_else(|| panic!("Rust {path}: no cookie ({r:?})"))
}

pub(crate) async fn every_value_kind_round_trips_both_ways(format: Format) {
    let py = App::start(format, KEY, &[], 14 * 24 * HOUR, T).await;
    let rust = rust(format, ring(KEY), 14 * 24 * HOUR, T).await;
    let kinds = py.get("/kinds", None).await.body;
    let kinds: Vec<&str> = kinds.split(',').collect();
    assert!(kinds.len() >= 20, "{kinds:?}");
    for kind in kinds {
        let expected = py.get(&format!("/kind/{kind}"), None).await.body;

        // Python writes it; Rust reads the same value.
        let from_py = py.cookie(&format!("/set/{kind}"), None).await;
        assert_eq!(
            rust.get("/dump", Some(&from_py)).await.body,
            format!(r#"{{"v":{expected}}}"#),
            "{format:?} {kind}: Rust read"
        );
        // Rust changes another key; Python reads both.
        let touched = rust_cookie(&rust, "/touch", Some(&from_py)).await;
        assert_eq!(
            py.get(&format!("/check/{kind}?rust=1"), Some(&touched))
                .await
                .body,
            "ok",
            "{format:?} {kind}: Python read after Rust"
        );
        // Rust writes it; Python reads it back equal, type included.
        let from_rust = rust_cookie(
            &rust,
            &format!("/set_plain?json={}", encode(&expected)),
            None,
        )
        .await;
        assert_eq!(
            py.get(&format!("/check/{kind}"), Some(&from_rust))
                .await
                .body,
            "ok",
            "{format:?} {kind}: Python read"
        );
        // The same second, the same bytes.
        assert_eq!(from_rust, from_py, "{format:?} {kind}: byte for byte");
        if kind == "compressed" && format == Format::Django {
            assert!(
                from_rust.starts_with('.'),
                "Django compresses it, and so does Rust"
            );
            assert_eq!(
                py.get("/dump", Some(&touched)).await.body,
                rust.get("/dump", Some(&touched)).await.body,
                "a compressed cookie Rust rewrote reads the same on both sides"
            );
        }
    }
}

pub(crate) async fn expiry_agrees_at_the_same_frozen_time(format: Format) {
    let py = App::start(format, KEY, &[], HOUR, T).await;
    let rust = rust(format, ring(KEY), HOUR, T).await;
    let from_py = py.cookie("/set/str", None).await;
    let from_rust = rust_cookie(&rust, "/set_plain?json=%22x%22", None).await;
    // Starlette (itsdangerous) refuses a cookie signed in the future; Django accepts it.
    let future_ok = format == Format::Django;
    for (now, valid) in [(T + HOUR, true), (T + HOUR + 1, false), (T - 1, future_ok)] {
        py.freeze(now).await;
        rust.now.store(now, Ordering::SeqCst);
        for (who, cookie) in [("Python's", &from_py), ("Rust's", &from_rust)] {
            let py_says = py.get("/dump", Some(cookie)).await.body != "{}";
            let rust_says = rust.get("/dump", Some(cookie)).await.body != "{}";
            assert_eq!(
                (py_says, rust_says),
                (valid, valid),
                "{format:?}: {who} cookie at T{:+}",
                now - T
            );
        }
    }
}

pub(crate) async fn key_rotation_works_both_ways(format: Format) {
    let age = 14 * 24 * HOUR;
    // Python still signs with the old key; Rust is rotated (old key as a fallback).
    let py_old = App::start(format, OLD, &[], age, T).await;
    let old_cookie = py_old.cookie("/set/int", None).await;
    let rotated = rust(
        format,
        ring(KEY).with_fallback(Key::from_utf8(OLD).expect("k")),
        age,
        T,
    )
    .await;
    assert_eq!(
        rotated.get("/dump", Some(&old_cookie)).await.body,
        r#"{"v":42}"#
    );
    // Rust re-signs with the current key: Python on the old key alone refuses it...
    let resigned = rust_cookie(&rotated, "/touch", Some(&old_cookie)).await;
    assert_eq!(
        py_old.get("/check/int", Some(&resigned)).await.body,
        "missing"
    );
    // ...and Python on the new key reads it.
    let fallbacks: &[&str] = if format == Format::Django {
        &[OLD]
    } else {
        &[]
    };
    let py_new = App::start(format, KEY, fallbacks, age, T).await;
    assert_eq!(
        py_new.get("/check/int?rust=1", Some(&resigned)).await.body,
        "ok"
    );
    if format == Format::Django {
        // Django's SECRET_KEY_FALLBACKS read the old cookie too.
        assert_eq!(py_new.get("/check/int", Some(&old_cookie)).await.body, "ok");
    }

    // The other way: Python rotated first, Rust not yet (the new key as its fallback).
    let new_cookie = py_new.cookie("/set/str", None).await;
    let not_rotated = rust(
        format,
        ring(OLD).with_fallback(Key::from_utf8(KEY).expect("k")),
        age,
        T,
    )
    .await;
    assert_ne!(not_rotated.get("/dump", Some(&new_cookie)).await.body, "{}");
    if format == Format::Django {
        // Rust still signs with the old key; Django reads it through its fallback.
        let from_old_rust = rust_cookie(&not_rotated, "/set_plain?json=42", None).await;
        assert_eq!(
            py_new.get("/check/int", Some(&from_old_rust)).await.body,
            "ok"
        );
    }

    // A key in neither list is refused by both.
    let stranger = rust(format, ring(STRANGER), age, T).await;
    let from_stranger = rust_cookie(&stranger, "/set_plain?json=42", None).await;
    assert_eq!(stranger.get("/dump", Some(&new_cookie)).await.body, "{}");
    assert_eq!(
        py_new.get("/check/int", Some(&from_stranger)).await.body,
        "missing"
    );
}

pub(crate) async fn tampering_is_refused_on_both_sides(format: Format) {
    let py = App::start(format, KEY, &[], 14 * 24 * HOUR, T).await;
    let rust = rust(format, ring(KEY), 14 * 24 * HOUR, T).await;
    for (who, cookie) in [
        ("Python's", py.cookie("/set/compressed", None).await),
        (
            "Rust's",
            rust_cookie(&rust, "/set_plain?json=%22abc%22", None).await,
        ),
    ] {
        assert_ne!(rust.get("/dump", Some(&cookie)).await.body, "{}");
        let len = cookie.len();
        for at in [2, len / 2, len - 3] {
            let mut bytes = cookie.clone().into_bytes();
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).expect("ascii");
            let py_reply = py.get("/dump", Some(&tampered)).await;
            let rust_reply = rust.get("/dump", Some(&tampered)).await;
            assert_eq!(
                (py_reply.status, py_reply.body.as_str()),
                (200, "{}"),
                "{format:?}: Python, {who} cookie tampered at {at}"
            );
            assert_eq!(
                (rust_reply.status, rust_reply.body.as_str()),
                (200, "{}"),
                "{format:?}: Rust, {who} cookie tampered at {at}"
            );
        }
    }
    // Emptying deletes the cookie on both sides.
    let cookie = py.cookie("/set/int", None).await;
    for reply in [
        py.get("/clear", Some(&cookie)).await,
        rust.get("/clear", Some(&cookie)).await,
    ] {
        let header = reply
            .set_cookie
            .first()
            .expect("a deletion")
            .to_ascii_lowercase();
        assert!(
            header.contains("expires=thu, 01 jan 1970"),
            "{format:?}: {header}"
        );
    }
}
