//! The Starlette and Django modes through the tower layer (and actix): the
//! engine's rules hold, the cookies are the frameworks' own (the vectors'
//! cookies open; the cookies written open with the core codecs), bad input
//! gives an empty session, never a 500.

use axum::http::StatusCode;
use std::time::Duration;

use websession::{ConfigError, Key, KeyRing, SessionConfig, Sessions};
use websession_core::django::DjangoCodec;
use websession_core::starlette::StarletteCodec;
use websession_core::testing::testdata_text;

use crate::support::{send, TestClock};

/// The vectors' clock and key.
const NOW: i64 = 1_750_000_000;
const KEY: &str = "vector key: current secret of the vectors";

fn ring() -> KeyRing {
    KeyRing::new(Key::from_utf8(KEY).expect("key"))
}

fn vectors(name: &str) -> serde_json::Value {
    serde_json::from_str(&testdata_text(name)).expect("vectors")
}

/// The cookie of the vectors' encode case `name`.
fn vector_cookie(file: &str, name: &str) -> String {
    let v = vectors(file);
    let case = v["encode"]
        .as_array()
        .expect("encode")
        .iter()
        .find(|c| c["name"] == name)
        .expect("case")
        .clone();
    case["cookie"].as_str().expect("cookie").to_owned()
}

#[derive(Clone, Copy, Debug)]
enum Py {
    Starlette,
    Django,
}

impl Py {
    fn cookie_name(self) -> &'static str {
        match self {
            Self::Starlette => "session",
            Self::Django => "sessionid",
        }
    }
    fn sessions(self, keys: KeyRing, config: SessionConfig) -> Result<Sessions, ConfigError> {
        match self {
            Self::Starlette => Sessions::starlette(keys, config),
            Self::Django => Sessions::django(keys, config),
        }
    }
    fn config(self) -> SessionConfig {
        match self {
            Self::Starlette => SessionConfig::starlette(),
            Self::Django => SessionConfig::django(),
        }
    }
    fn vectors(self) -> &'static str {
        match self {
            Self::Starlette => "starlette_vectors.json",
            Self::Django => "django_vectors.json",
        }
    }
    /// Decodes a cookie the Rust app wrote with the core codec, as JSON text.
    fn open(self, cookie: &str, now: u64) -> Option<websession::Map> {
        match self {
            Self::Starlette => StarletteCodec::new(&ring())
                .decode(cookie, now)
                .ok()
                .map(|d| d.value),
            Self::Django => DjangoCodec::new(&ring())
                .decode(cookie, now)
                .ok()
                .map(|d| d.value),
        }
    }
}

const BOTH: [Py; 2] = [Py::Starlette, Py::Django];

#[tokio::test]
async fn the_engine_rules_hold_in_both_python_modes() {
    for py in BOTH {
        let clock = TestClock::at(NOW);
        let app = crate::support::app(py.sessions(ring(), py.config().with_clock(clock.clock())));
        let name = py.cookie_name();
        let r = send(&app, "/set/user/alice", None).await;
        let value = r.cookie_value(name).expect("cookie set");
        // The framework's cookie attributes.
        let header = &r.set_cookie[0];
        assert!(
            header.contains("; Max-Age=1209600") || header.contains("; Expires="),
            "{py:?}: {header}"
        );
        assert!(
            header.contains("HttpOnly") && header.contains("SameSite=Lax"),
            "{header}"
        );
        assert!(
            !header.contains("Secure"),
            "{py:?}: no Secure by default: {header}"
        );
        // What the framework reads: no hidden keys.
        let data = py
            .open(&value, NOW as u64)
            .expect("the core codec opens it");
        assert_eq!(data.keys().collect::<Vec<_>>(), ["user"], "{py:?}");
        let cookie = format!("{name}={value}");
        let r = send(&app, "/noop", Some(&cookie)).await;
        assert!(
            r.set_cookie.is_empty() && r.vary.is_empty(),
            "{py:?}: untouched"
        );
        clock.advance(3600);
        let r = send(&app, "/read", Some(&cookie)).await;
        assert_eq!(r.body, r#"{"user":"alice"}"#, "{py:?}");
        assert!(
            r.set_cookie.is_empty(),
            "{py:?}: unchanged: not written again"
        );
        assert_eq!(r.vary, ["Cookie"]);
        let r = send(&app, "/clear", Some(&cookie)).await;
        assert!(
            r.set_cookie[0].starts_with(&format!("{name}=; Expires=Thu, 01 Jan 1970")),
            "{py:?}"
        );
        // Expiry: the lifetime past the signing time.
        clock.set(NOW + 1_209_600 + 1);
        let r = send(&app, "/read", Some(&cookie)).await;
        assert_eq!(
            (r.status, r.body.as_str()),
            (StatusCode::OK, "{}"),
            "{py:?}: expired"
        );
        clock.set(NOW + 1_209_600);
        assert_eq!(
            send(&app, "/read", Some(&cookie)).await.body,
            r#"{"user":"alice"}"#
        );
        // Bad input: an empty session, never a 500.
        for bad in ["", "garbage", "a.b.c", "a:b:c", ".eJw:1:x", "e30=.aE7hgA.x"] {
            let r = send(&app, "/read", Some(&format!("{name}={bad}"))).await;
            assert_eq!(
                (r.status, r.body.as_str()),
                (StatusCode::OK, "{}"),
                "{py:?} {bad}"
            );
        }
        let tampered = format!("{name}={}", value.replacen('e', "f", 1));
        assert_eq!(
            send(&app, "/read", Some(&tampered)).await.body,
            "{}",
            "{py:?}"
        );
    }
}

#[tokio::test]
async fn cookies_the_frameworks_wrote_are_read() {
    for py in BOTH {
        let clock = TestClock::at(NOW + 60);
        let app = crate::support::app(py.sessions(ring(), py.config().with_clock(clock.clock())));
        let name = py.cookie_name();
        let cookie = vector_cookie(py.vectors(), "non-ascii");
        let r = send(&app, "/read", Some(&format!("{name}={cookie}"))).await;
        assert!(
            r.body.contains(r#""cjk":"\u65e5\u672c\u8a9e""#),
            "{py:?}: {}",
            r.body
        );
    }
    // Django's compressed cookies, and one changed by Rust and read back.
    let clock = TestClock::at(NOW + 60);
    let app = crate::support::app(Sessions::django(
        ring(),
        SessionConfig::django().with_clock(clock.clock()),
    ));
    let cart = vector_cookie("django_vectors.json", "cart");
    assert!(cart.starts_with('.'), "compressed");
    let r = send(&app, "/modify", Some(&format!("sessionid={cart}"))).await;
    assert!(
        r.body.contains(r#""counter":1"#) && r.body.contains("SKU-0011"),
        "{}",
        r.body
    );
    let written = r.cookie_value("sessionid").expect("written");
    assert!(
        written.starts_with('.'),
        "Rust compresses as Django does: {written}"
    );
    let data = Py::Django.open(&written, (NOW + 60) as u64).expect("opens");
    assert_eq!(data["counter"], websession::Value::Int(1));
}

#[tokio::test]
async fn django_fallback_keys_verify_and_the_current_key_signs() {
    let v = vectors("django_vectors.json");
    let case = v["decode"]
        .as_array()
        .expect("decode")
        .iter()
        .find(|c| c["name"] == "old key as fallback")
        .expect("case")
        .clone();
    let old = Key::from_utf8(v["meta"]["old_key"].as_str().expect("old")).expect("key");
    let clock = TestClock::at(NOW);
    let app = crate::support::app(Sessions::django(
        ring().with_fallback(old),
        SessionConfig::django().with_clock(clock.clock()),
    ));
    let cookie = format!("sessionid={}", case["cookie"].as_str().expect("cookie"));
    let r = send(&app, "/modify", Some(&cookie)).await;
    assert!(r.body.contains("from the old key"), "{}", r.body);
    let rewritten = r.cookie_value("sessionid").expect("written");
    // Re-signed with the current key only.
    assert!(Py::Django.open(&rewritten, NOW as u64).is_some());
    let without = crate::support::app(Sessions::django(
        ring(),
        SessionConfig::django().with_clock(clock.clock()),
    ));
    assert_eq!(send(&without, "/read", Some(&cookie)).await.body, "{}");
}

#[tokio::test]
async fn what_the_python_formats_cant_hold_is_refused() {
    for py in BOTH {
        let err = py
            .sessions(
                ring(),
                py.config()
                    .with_lifetime(|l| l.with_absolute_timeout(Duration::from_secs(3_600))),
            )
            .expect_err("no hidden creation time");
        assert!(matches!(err, ConfigError::Unsupported(_)), "{err}");
        // Browser-session cookies: no Expires.
        let clock = TestClock::at(NOW);
        let app = crate::support::app(
            py.sessions(
                ring(),
                py.config()
                    .with_lifetime(|l| l.with_expire_at_browser_close())
                    .with_clock(clock.clock()),
            ),
        );
        let r = send(&app, "/set/a/b", None).await;
        assert!(
            !r.set_cookie[0].contains("Expires"),
            "{py:?}: {}",
            r.set_cookie[0]
        );
    }
}

#[actix_web::test]
async fn actix_runs_both_python_modes() {
    use actix_web::test as atest;

    for py in BOTH {
        let clock = TestClock::at(NOW);
        let sessions = py.sessions(ring(), py.config().with_clock(clock.clock()));
        let svc = crate::kit::actix_service(sessions.expect("valid")).await;
        let cookie = vector_cookie(py.vectors(), "one string");
        let req = atest::TestRequest::get()
            .uri("/read")
            .insert_header(("cookie", format!("{}={cookie}", py.cookie_name())))
            .to_request();
        let body = atest::call_and_read_body(&svc, req).await;
        assert_eq!(body, r#"{"user":"alice"}"#.as_bytes(), "{py:?}");
        let req = atest::TestRequest::get().uri("/set/pet/Rex").to_request();
        let resp = atest::call_service(&svc, req).await;
        let header = resp
            .headers()
            .get("set-cookie")
            .and_then(|h| h.to_str().ok())
            .expect("set-cookie")
            .to_owned();
        let value = header
            .strip_prefix(&format!("{}=", py.cookie_name()))
            .and_then(|v| v.split(';').next())
            .expect("value");
        let data = py.open(value, NOW as u64).expect("opens");
        assert_eq!(data["pet"], websession::Value::from("Rex"));
    }
}
