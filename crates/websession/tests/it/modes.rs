//! The engine rules in every cookie mode, and the lifetime controls
//! (idle and absolute timeouts, cycle_id) with an injected clock.

use axum::http::StatusCode;
use axum::Router;
use std::sync::Arc;
use std::time::Duration;

use websession::store::MemoryStore;
use websession::{ConfigError, Key, KeyRing, SessionConfig, Sessions};

use crate::support::{app, keys, send, sessions_for, Mode, TestClock, COOKIE_MODES};

const T0: i64 = 1_700_000_000;

const MODES: [Mode; 2] = COOKIE_MODES;

fn layer(mode: Mode, config: SessionConfig) -> Result<Sessions, ConfigError> {
    sessions_for(mode, &Arc::new(MemoryStore::new()), config)
}

fn app_for(
    mode: Mode,
    clock: &TestClock,
    f: impl FnOnce(SessionConfig) -> SessionConfig,
) -> Router {
    app(layer(
        mode,
        f(SessionConfig::default().with_clock(clock.clock())),
    ))
}

async fn login(app: &Router, path: &str) -> String {
    let r = send(app, path, None).await;
    format!("session={}", r.cookie_value("session").expect("cookie set"))
}

#[tokio::test]
async fn engine_rules_hold_in_every_mode() {
    for mode in MODES {
        let clock = TestClock::at(T0);
        let app = app_for(mode, &clock, |c| c);
        let cookie = login(&app, "/set/user/alice").await;
        let r = send(&app, "/noop", Some(&cookie)).await;
        assert!(
            r.set_cookie.is_empty() && r.vary.is_empty(),
            "{mode:?}: untouched"
        );
        let r = send(&app, "/read", Some(&cookie)).await;
        assert_eq!(r.body, r#"{"user":"alice"}"#, "{mode:?}");
        assert!(r.set_cookie.is_empty(), "{mode:?}: read-only");
        assert_eq!(r.vary, ["Cookie"]);
        let r = send(&app, "/clear", Some(&cookie)).await;
        assert!(
            r.set_cookie[0].starts_with("session=; Expires=Thu, 01 Jan 1970"),
            "{mode:?}"
        );
        let r = send(&app, "/fail", None).await;
        assert!(r.set_cookie.is_empty(), "{mode:?}: 5xx");
        for bad in ["session=", "session=garbage", "session=AQ", "session=a.b.c"] {
            let r = send(&app, "/read", Some(bad)).await;
            assert_eq!(
                (r.status, r.body.as_str()),
                (StatusCode::OK, "{}"),
                "{mode:?}: {bad}"
            );
        }
        let r = send(&app, "/permanent", None).await;
        assert!(r.set_cookie[0].contains("Expires="), "{mode:?}");
        let permanent = format!("session={}", r.cookie_value("session").expect("c"));
        let r = send(&app, "/read", Some(&permanent)).await;
        assert!(r.set_cookie.is_empty(), "{mode:?}: fresh, not re-issued");
        clock.advance(60); // the default refresh interval
        let r = send(&app, "/read", Some(&permanent)).await;
        assert_eq!(r.set_cookie.len(), 1, "{mode:?}: permanent refresh");
    }
}

#[tokio::test]
async fn sealed_cookies_hide_the_data_and_reject_signed_ones() {
    let clock = TestClock::at(T0);
    let sealed = app_for(Mode::Sealed, &clock, |c| c);
    let signed = app_for(Mode::Signed, &clock, |c| c);
    let sealed_cookie = login(&sealed, "/set/token/hunter2-hunter2").await;
    assert!(!sealed_cookie.contains("hunter2") && !sealed_cookie.contains("aHVudGVy"));
    let signed_cookie = login(&signed, "/set/token/hunter2-hunter2").await;
    // No mode falls back to another: each refuses the other's cookie.
    assert_eq!(
        send(&sealed, "/read", Some(&signed_cookie)).await.body,
        "{}"
    );
    assert_eq!(
        send(&signed, "/read", Some(&sealed_cookie)).await.body,
        "{}"
    );
    assert_eq!(
        send(&sealed, "/read", Some(&sealed_cookie)).await.body,
        r#"{"token":"hunter2-hunter2"}"#
    );
}

#[tokio::test]
async fn sealed_cookie_under_another_name_is_refused() {
    let clock = TestClock::at(T0);
    let app_a = app_for(Mode::Sealed, &clock, |c| c);
    let app_b = app_for(Mode::Sealed, &clock, |c| {
        c.with_cookie(|c| c.with_name("other"))
    });
    let cookie = login(&app_a, "/set/user/alice").await;
    let moved = cookie.replacen("session=", "other=", 1);
    assert_eq!(send(&app_b, "/read", Some(&moved)).await.body, "{}");
}

#[tokio::test]
async fn short_keys_are_a_config_error_for_sealing() {
    let short = Sessions::sealed(
        KeyRing::new(Key::from_utf8("only sixteen b!!").expect("k")),
        SessionConfig::default(),
    );
    assert!(matches!(
        short,
        Err(websession::ConfigError::SealingKey { index: 0, len: 16 })
    ));
    let bad = Sessions::sealed(
        keys(),
        SessionConfig::default().with_lifetime(|l| l.with_idle_timeout(Duration::ZERO)),
    );
    assert!(matches!(bad, Err(websession::ConfigError::Timeout)));
}

#[tokio::test]
async fn idle_timeout_is_extended_by_activity() {
    for mode in MODES {
        let clock = TestClock::at(T0);
        let app = app_for(mode, &clock, |c| {
            c.with_lifetime(|l| l.with_idle_timeout(Duration::from_secs(100)))
        });
        let mut cookie = login(&app, "/set/user/alice").await;
        // Activity every 90 s keeps it alive well past 100 s.
        for _ in 0..5 {
            clock.advance(90);
            let r = send(&app, "/read", Some(&cookie)).await;
            assert_eq!(r.body, r#"{"user":"alice"}"#, "{mode:?}");
            cookie = format!(
                "session={}",
                r.cookie_value("session").expect("re-issued on use")
            );
        }
        // 101 s of silence ends it.
        clock.advance(101);
        assert_eq!(
            send(&app, "/read", Some(&cookie)).await.body,
            "{}",
            "{mode:?}"
        );
    }
}

#[tokio::test]
async fn absolute_timeout_is_never_extended() {
    for mode in MODES {
        let clock = TestClock::at(T0);
        let app = app_for(mode, &clock, |c| {
            c.with_lifetime(|l| l.with_absolute_timeout(Duration::from_secs(300)))
        });
        let mut cookie = login(&app, "/permanent").await;
        for _ in 0..4 {
            clock.advance(70);
            let r = send(&app, "/modify", Some(&cookie)).await;
            assert!(r.body.contains("alice"), "{mode:?}: {}", r.body);
            // Expires never goes past creation + 300 s.
            assert!(
                r.set_cookie[0].contains("Expires=Tue, 14 Nov 2023 22:18:20 GMT"),
                "{mode:?}: {:?}",
                r.set_cookie
            );
            cookie = format!("session={}", r.cookie_value("session").expect("written"));
        }
        clock.set(T0 + 301);
        assert_eq!(
            send(&app, "/read", Some(&cookie)).await.body,
            "{}",
            "{mode:?}: past the absolute timeout"
        );
    }
}

#[tokio::test]
async fn the_creation_time_is_hidden_from_handlers() {
    let clock = TestClock::at(T0);
    let app = app_for(Mode::Signed, &clock, |c| {
        c.with_lifetime(|l| l.with_absolute_timeout(Duration::from_secs(3_600)))
    });
    let cookie = login(&app, "/set/user/alice").await;
    assert_eq!(
        send(&app, "/read", Some(&cookie)).await.body,
        r#"{"user":"alice"}"#
    );
    // ...but it is in the signed payload, where the client can't change it.
    let payload = cookie
        .trim_start_matches("session=")
        .split('.')
        .next()
        .expect("payload");
    let json = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
        .expect("b64");
    assert_eq!(
        String::from_utf8(json).expect("utf8"),
        format!(r#"{{"_ws_created":{T0},"user":"alice"}}"#)
    );
}

#[tokio::test]
async fn without_timeouts_behaviour_is_flasks() {
    let clock = TestClock::at(T0);
    let app = app_for(Mode::Signed, &clock, |c| c);
    let cookie = login(&app, "/set/user/alice").await;
    clock.advance(30 * 24 * 3600);
    let r = send(&app, "/read", Some(&cookie)).await;
    assert_eq!(r.body, r#"{"user":"alice"}"#);
    assert!(
        r.set_cookie.is_empty(),
        "a non-permanent read is not refreshed"
    );
}

#[tokio::test]
async fn cycle_id_issues_a_fresh_cookie_for_the_same_data() {
    for mode in MODES {
        let clock = TestClock::at(T0);
        let app = app_for(mode, &clock, |c| c);
        let cookie = login(&app, "/set/user/alice").await;
        clock.advance(5);
        let r = send(&app, "/cycle", Some(&cookie)).await;
        let fresh = format!("session={}", r.cookie_value("session").expect("cycled"));
        assert_ne!(fresh, cookie, "{mode:?}");
        assert_eq!(
            send(&app, "/read", Some(&fresh)).await.body,
            r#"{"user":"alice"}"#
        );
    }
}

#[tokio::test]
async fn purge_deletes_with_the_same_attributes_in_every_mode() {
    for mode in MODES {
        let clock = TestClock::at(T0);
        let app = app_for(mode, &clock, |c| {
            c.with_cookie(|c| c.with_domain("example.com").with_path("/app"))
        });
        let cookie = login(&app, "/set/user/alice").await;
        let r = send(&app, "/purge", Some(&cookie)).await;
        assert_eq!(
            r.set_cookie,
            ["session=; Domain=example.com; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Secure; HttpOnly; Path=/app; SameSite=Lax"],
            "{mode:?}"
        );
    }
}

// Found in review (issue 14): a string still in the cookie's text must read
// as serde_json reads a JSON string: `Option<String>` and newtypes too, before
// and after a change in the same request, in every mode.
#[tokio::test]
async fn typed_reads_of_a_string_from_the_cookie() {
    use axum::routing::get;
    use websession::{Session, SessionManagerLayer};

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct UserId(String);

    fn read(s: &Session) -> String {
        format!(
            "{:?} {:?} {:?}",
            s.get::<String>("user"),
            s.get::<Option<String>>("user"),
            s.get::<UserId>("user").map(|u| u.map(|u| u.0))
        )
    }
    let expected = r#"Ok(Some("alice")) Ok(Some(Some("alice"))) Ok(Some("alice"))"#;
    for mode in [Mode::Signed, Mode::Sealed, Mode::Memory] {
        let sessions = layer(mode, SessionConfig::default()).expect("valid");
        let app = Router::new()
            .route(
                "/login",
                get(|s: Session| async move { s.insert("user", "alice").map(|()| "ok") }),
            )
            .route("/read", get(|s: Session| async move { read(&s) }))
            .route(
                "/change-then-read",
                get(|s: Session| async move {
                    s.insert_value("other", websession::Value::Int(1));
                    read(&s)
                }),
            )
            .layer(SessionManagerLayer::new(sessions));
        let login = send(&app, "/login", None).await;
        let cookie = format!("session={}", login.cookie_value("session").expect("set"));
        assert_eq!(
            send(&app, "/read", Some(&cookie)).await.body,
            expected,
            "{mode:?}"
        );
        assert_eq!(
            send(&app, "/change-then-read", Some(&cookie)).await.body,
            expected,
            "{mode:?}"
        );
    }
}
