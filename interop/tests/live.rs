//! Live interop with real Flask (pinned in interop/requirements.txt): a Flask
//! app and an axum app with websession run as two HTTP servers on 127.0.0.1
//! and share one `SECRET_KEY`. `cargo test` skips these (no Python needed);
//! `.ci/run` installs Flask and runs them.

use std::sync::atomic::Ordering;

/// Flask-Login, flash and Flask-WTF against a real Flask app using them.
#[path = "live/flask_login.rs"]
mod flask_login;

/// examples/fastapi_bridge: FastAPI and Rust sharing a cart.
#[path = "live/fastapi_bridge.rs"]
mod fastapi_bridge;

/// Starlette and Django against real apps of each.
#[path = "live/python_frameworks.rs"]
mod python_frameworks;

use websession::{Key, KeyRing};
use websession_interop::{encode, Flask, Rust};

const KEY: &str = "696e7465726f702073656372657420666f722074686520746573747321"; // "interop secret for the tests!"
const OLD: &str = "6f6c64206b6579206265696e6720726f7461746564206f7574"; // "old key being rotated out"
const MONTH: i64 = 31 * 24 * 3600;
const T: i64 = 1_750_000_000;

/// Every value kind Flask's session can hold (the keys of `KINDS` in flask_app.py).
const KINDS: &[&str] = &[
    "str",
    "int",
    "int_neg",
    "int_big",
    "int_big_neg",
    "float",
    "float_exp",
    "float_small",
    "float_neg_zero",
    "float_nan",
    "float_inf",
    "bool",
    "none",
    "list",
    "dict",
    "tuple",
    "bytes",
    "uuid",
    "datetime",
    "markup",
    "taglike",
    "taglike_di",
    "surrogate",
    "compressed",
];

fn ring(hex: &str) -> KeyRing {
    KeyRing::new(Key::from_hex(hex).expect("key"))
}

/// A Flask app and a Rust app sharing `KEY`, both frozen at `T`.
async fn apps_at_t() -> (Flask, Rust) {
    let flask = Flask::start().await;
    assert_eq!(
        flask
            .get(&format!("/config?key={KEY}&now={T}"), None)
            .await
            .body,
        "ok"
    );
    let rust = Rust::start(ring(KEY), MONTH).await;
    rust.now.store(T, Ordering::SeqCst);
    (flask, rust)
}

#[tokio::test]
#[ignore = "needs Python with the pinned Flask (WEBSESSION_PYTHON; .ci/run sets it)"]
async fn every_value_kind_round_trips_both_ways() {
    let (flask, rust) = apps_at_t().await;
    for kind in KINDS {
        let expected = flask.get(&format!("/tagged/{kind}"), None).await.body;

        // Flask writes it; Rust reads it and answers the same value.
        let from_flask = flask
            .get(&format!("/set/{kind}"), None)
            .await
            .session()
            .expect("Flask cookie");
        assert_eq!(
            rust.get("/get/v", Some(&from_flask)).await.body,
            expected,
            "{kind}: Rust read"
        );

        // Rust changes another key; Flask reads both, the untouched value equal in Python.
        let touched = rust
            .get("/touch", Some(&from_flask))
            .await
            .session()
            .expect("Rust cookie");
        assert_eq!(
            flask
                .get(&format!("/check/{kind}?rust=1"), Some(&touched))
                .await
                .body,
            "ok",
            "{kind}: Flask read after Rust"
        );

        // Rust writes it; Flask reads it back equal.
        let from_rust = rust
            .get(&format!("/set?json={}", encode(&expected)), None)
            .await
            .session()
            .expect("Rust cookie");
        assert_eq!(
            flask
                .get(&format!("/check/{kind}"), Some(&from_rust))
                .await
                .body,
            "ok",
            "{kind}: Flask read"
        );

        // At the same frozen second both sides write the very same bytes.
        assert_eq!(from_rust, from_flask, "{kind}: byte for byte");
        if *kind == "compressed" {
            assert!(from_rust.starts_with('.'), "a big payload is compressed");
        }
    }
}

/// Datetimes Flask writes with years below 1900 (kinds of flask_app.py).
/// Flask reads `datetime_1`, `_50` and `_99` back as 2001, 2050 and 1999.
const OLD_DATES: &[&str] = &[
    "datetime_1",
    "datetime_50",
    "datetime_99",
    "datetime_100",
    "datetime_999",
    "datetime_1850",
    "datetime_1899",
    "datetime_9999",
];

#[tokio::test]
#[ignore = "needs Python with the pinned Flask (WEBSESSION_PYTHON; .ci/run sets it)"]
async fn old_dates_survive_a_rust_write_both_ways() {
    let (flask, rust) = apps_at_t().await;
    for kind in OLD_DATES {
        let written = flask.get(&format!("/tagged/{kind}"), None).await.body;
        let from_flask = flask
            .get(&format!("/set/{kind}"), None)
            .await
            .session()
            .expect("Flask cookie");
        // What Flask holds after reading its own cookie (2050 for year 50).
        let flask_holds = flask.get("/dump", Some(&from_flask)).await.body;
        let flask_iso = flask.get("/iso", Some(&from_flask)).await.body;

        // Rust reads Flask's bytes, and typed access gives Flask's datetime.
        assert_eq!(
            rust.get("/get/v", Some(&from_flask)).await.body,
            written,
            "{kind}: Rust read"
        );
        assert_eq!(
            rust.get("/typed/v", Some(&from_flask)).await.body,
            flask_iso,
            "{kind}: typed access"
        );

        // Rust changes another key: the date keeps its bytes, Flask reads it as before.
        let touched = rust
            .get("/touch", Some(&from_flask))
            .await
            .session()
            .expect("Rust cookie");
        assert_eq!(
            rust.get("/get/v", Some(&touched)).await.body,
            written,
            "{kind}: bytes after a Rust write"
        );
        assert_eq!(
            flask.get("/dump", Some(&touched)).await.body,
            format!(r#"{{"rust":"was here",{}"#, &flask_holds[1..]),
            "{kind}: Flask read after Rust"
        );
        assert_eq!(
            flask.get("/iso", Some(&touched)).await.body,
            flask_iso,
            "{kind}: Flask's datetime after Rust"
        );
        if !["datetime_1", "datetime_50", "datetime_99"].contains(kind) {
            // From year 100 Flask reads back the very datetime it wrote.
            assert_eq!(
                flask
                    .get(&format!("/check/{kind}?rust=1"), Some(&touched))
                    .await
                    .body,
                "ok",
                "{kind}: Flask's own value after Rust"
            );
        }

        // Rust writes the date Flask wrote: the same bytes, the same Flask reading.
        let from_rust = rust
            .get(&format!("/set?json={}", encode(&written)), None)
            .await
            .session()
            .expect("Rust cookie");
        assert_eq!(from_rust, from_flask, "{kind}: byte for byte");
        assert_eq!(
            flask.get("/dump", Some(&from_rust)).await.body,
            flask_holds,
            "{kind}: Flask read"
        );
    }
}

#[tokio::test]
#[ignore = "needs Python with the pinned Flask (WEBSESSION_PYTHON; .ci/run sets it)"]
async fn permanent_sessions_agree() {
    let flask = Flask::start().await;
    flask
        .get(&format!("/config?key={KEY}&now={T}&lifetime=3600"), None)
        .await;
    let rust = Rust::start(ring(KEY), 3600).await;
    rust.now.store(T, Ordering::SeqCst);

    let r = flask.get("/set_permanent", None).await;
    let flask_header = r.set_cookie[0].clone();
    assert!(flask_header.contains("Expires="), "{flask_header}");
    let cookie = r.session().expect("cookie");
    assert_eq!(
        rust.get("/read", Some(&cookie)).await.body,
        r#"{"_permanent":true,"user":"alice"}"#
    );
    // Rust refreshes it with the same Expires Flask would set at this time.
    let r = rust.get("/read", Some(&cookie)).await;
    assert_eq!(
        r.set_cookie,
        [flask_header],
        "same header from both sides at the same time"
    );

    let r = rust.get("/permanent", None).await;
    assert!(r.set_cookie[0].contains("Expires="));
    assert_eq!(
        flask
            .get("/check_permanent", Some(&r.session().expect("c")))
            .await
            .body,
        "ok"
    );
}

#[tokio::test]
#[ignore = "needs Python with the pinned Flask (WEBSESSION_PYTHON; .ci/run sets it)"]
async fn key_rotation_works_in_both_directions() {
    let flask = Flask::start().await;
    // Flask signs with the old key; Rust has it as a fallback.
    flask
        .get(&format!("/config?key={OLD}&fallbacks="), None)
        .await;
    let old_cookie = flask.get("/set/int", None).await.session().expect("cookie");
    let rotated = Rust::start(
        ring(KEY).with_fallback(Key::from_hex(OLD).expect("k")),
        MONTH,
    )
    .await;
    assert_eq!(rotated.get("/get/v", Some(&old_cookie)).await.body, "42");
    // Rust re-signs it with the current key on write: Flask with only the old key refuses it...
    let resigned = rotated
        .get("/touch", Some(&old_cookie))
        .await
        .session()
        .expect("cookie");
    assert_eq!(
        flask.get("/check/int", Some(&resigned)).await.body,
        "missing"
    );
    // ...and Flask with the new key (and the old as fallback) reads it.
    flask
        .get(&format!("/config?key={KEY}&fallbacks={OLD}"), None)
        .await;
    assert_eq!(
        flask.get("/check/int?rust=1", Some(&resigned)).await.body,
        "ok"
    );

    // The reverse: Rust signs with the old key, Flask has it as a fallback.
    let old_rust = Rust::start(ring(OLD), MONTH).await;
    let from_rust = old_rust
        .get(&format!("/set?json={}", encode("42")), None)
        .await
        .session()
        .expect("c");
    assert_eq!(flask.get("/check/int", Some(&from_rust)).await.body, "ok");
    // A key in neither list is refused by both.
    let stranger = Rust::start(ring("00112233445566778899aabbccddeeff"), MONTH).await;
    assert_eq!(
        stranger.get("/get/v", Some(&from_rust)).await.body,
        "missing"
    );
    flask
        .get(&format!("/config?key={KEY}&fallbacks="), None)
        .await;
    assert_eq!(
        flask.get("/check/int", Some(&from_rust)).await.body,
        "missing"
    );
}

#[tokio::test]
#[ignore = "needs Python with the pinned Flask (WEBSESSION_PYTHON; .ci/run sets it)"]
async fn both_sides_reject_the_same_expired_and_tampered_cookies() {
    let flask = Flask::start().await;
    flask
        .get(&format!("/config?key={KEY}&now={T}&lifetime=3600"), None)
        .await;
    let rust = Rust::start(ring(KEY), 3600).await;
    let cookie = flask.get("/set/str", None).await.session().expect("cookie");

    for (now, valid) in [(T + 3600, true), (T + 3601, false), (T - 1, false)] {
        flask.get(&format!("/config?now={now}"), None).await;
        rust.now.store(now, Ordering::SeqCst);
        let flask_says = flask.get("/check/str", Some(&cookie)).await.body == "ok";
        let rust_says = rust.get("/get/v", Some(&cookie)).await.body != "missing";
        assert_eq!((flask_says, rust_says), (valid, valid), "at {now}");
    }

    flask.get(&format!("/config?now={T}"), None).await;
    rust.now.store(T, Ordering::SeqCst);
    let mut tampered = cookie.clone().into_bytes();
    tampered[5] = if tampered[5] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ascii");
    assert_ne!(flask.get("/check/str", Some(&tampered)).await.body, "ok");
    assert_eq!(rust.get("/get/v", Some(&tampered)).await.body, "missing");
}

macro_rules! python_framework_tests {
    ($($name:ident),* $(,)?) => {
        /// The Starlette (uvicorn) side of `python_frameworks`.
        mod starlette {
            $(
                #[tokio::test]
                #[ignore = "needs Python with the pinned Starlette and uvicorn (WEBSESSION_PYTHON; .ci/run sets it)"]
                async fn $name() {
                    super::python_frameworks::$name(websession_interop::Format::Starlette).await;
                }
            )*
        }
        /// The Django (ASGI under uvicorn) side of `python_frameworks`.
        mod django {
            $(
                #[tokio::test]
                #[ignore = "needs Python with the pinned Django and uvicorn (WEBSESSION_PYTHON; .ci/run sets it)"]
                async fn $name() {
                    super::python_frameworks::$name(websession_interop::Format::Django).await;
                }
            )*
        }
    };
}

python_framework_tests!(
    every_value_kind_round_trips_both_ways,
    expiry_agrees_at_the_same_frozen_time,
    key_rotation_works_both_ways,
    tampering_is_refused_on_both_sides,
);
