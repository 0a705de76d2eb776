//! Every engine rule, through the tower layer.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::Router;
use std::time::Duration;
use tower::ServiceExt;
use websession::{Key, KeyRing, Refresh, Session, SessionConfig, SessionManagerLayer, Sessions};
use websession_core::FlaskCodec;

use crate::support::{app, flask_layer, send, TestClock};

const T0: i64 = 1_700_000_000;

fn keys() -> KeyRing {
    KeyRing::new(Key::from_utf8("a long and random enough test secret").expect("key"))
}

fn secure_app(clock: &TestClock) -> Router {
    app(Sessions::signed(
        keys(),
        SessionConfig::default().with_clock(clock.clock()),
    ))
}

async fn login(app: &Router) -> String {
    let r = send(app, "/set/user/alice", None).await;
    r.cookie_value("session").expect("cookie set")
}

#[tokio::test]
async fn secure_defaults_on_the_cookie() {
    let clock = TestClock::at(T0);
    let r = send(&secure_app(&clock), "/set/user/alice", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.set_cookie.len(), 1);
    let v = r.cookie_value("session").expect("cookie");
    assert_eq!(
        r.set_cookie[0],
        format!("session={v}; Secure; HttpOnly; Path=/; SameSite=Lax")
    );
    assert_eq!(r.vary, ["Cookie"]);
    assert_eq!(r.cache_control.as_deref(), Some("no-store"));
}

#[tokio::test]
async fn untouched_session_sends_nothing() {
    let clock = TestClock::at(T0);
    let app = secure_app(&clock);
    let cookie = format!("session={}", login(&app).await);
    let r = send(&app, "/noop", Some(&cookie)).await;
    assert!(r.set_cookie.is_empty() && r.vary.is_empty() && r.cache_control.is_none());
}

#[tokio::test]
async fn reading_adds_vary_but_no_cookie() {
    let clock = TestClock::at(T0);
    let app = secure_app(&clock);
    let cookie = format!("session={}", login(&app).await);
    let r = send(&app, "/read", Some(&cookie)).await;
    assert_eq!(r.body, r#"{"user":"alice"}"#);
    assert!(r.set_cookie.is_empty());
    assert_eq!(r.vary, ["Cookie"]);
    // Extracting the session counts as using it.
    let r = send(&app, "/extract", Some(&cookie)).await;
    assert_eq!(r.vary, ["Cookie"]);
}

#[tokio::test]
async fn emptied_session_deletes_the_cookie_with_the_same_attributes() {
    let clock = TestClock::at(T0);
    let config = SessionConfig::default()
        .with_clock(clock.clock())
        .with_cookie(|c| c.with_domain("example.com").with_path("/app"));
    let app = app(Sessions::signed(keys(), config));
    let cookie = format!("session={}", login(&app).await);
    for path in ["/clear", "/purge", "/remove/user"] {
        let r = send(&app, path, Some(&cookie)).await;
        assert_eq!(
            r.set_cookie,
            ["session=; Domain=example.com; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Secure; HttpOnly; Path=/app; SameSite=Lax"],
            "{path}"
        );
    }
    // Removing a key that is not there changes nothing.
    let r = send(&app, "/remove/nothing", Some(&cookie)).await;
    assert!(r.set_cookie.is_empty());
}

#[tokio::test]
async fn nothing_is_written_on_5xx() {
    let clock = TestClock::at(T0);
    let r = send(&secure_app(&clock), "/fail", None).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.set_cookie.is_empty());
}

#[tokio::test]
async fn bad_cookies_give_an_empty_session_never_a_500() {
    let clock = TestClock::at(T0);
    let app = secure_app(&clock);
    let good = login(&app).await;
    let other_key = FlaskCodec::new(&KeyRing::new(
        Key::from_utf8("some other long secret key").expect("k"),
    ));
    let mut data = websession::Map::new();
    data.insert("user".into(), "mallory".into());
    let forged = other_key.encode(&data, T0 as u64);
    let mut tampered = good.clone().into_bytes();
    tampered[3] ^= 1;
    let tampered = String::from_utf8(tampered).expect("ascii");
    let bad = [
        String::new(),
        "garbage".into(),
        "a.b.c".into(),
        tampered,
        forged,
        good[..good.len() - 1].to_owned(),
        "x".repeat(8 * 1024),
        "x".repeat(1024 * 1024),
        "%%%.\u{7f}.zz".into(),
    ];
    for value in &bad {
        let cookie = format!("session={value}");
        let Ok(header) = axum::http::HeaderValue::from_str(&cookie) else {
            continue;
        };
        let req = Request::get("/read")
            .header("cookie", header)
            .body(Body::empty())
            .expect("req");
        let res = app.clone().oneshot(req).await.expect("infallible");
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "{}",
            &value[..value.len().min(40)]
        );
        assert!(
            res.headers().get("set-cookie").is_none(),
            "a bad cookie stays as it is unless written"
        );
        let body = http_body_util::BodyExt::collect(res.into_body())
            .await
            .expect("b")
            .to_bytes();
        assert_eq!(&body[..], b"{}");
    }
}

#[tokio::test]
async fn expired_and_future_cookies_are_refused() {
    let clock = TestClock::at(T0);
    let config = SessionConfig::default()
        .with_clock(clock.clock())
        .with_lifetime(|l| l.with_permanent_lifetime(Duration::from_secs(60)));
    let app = app(Sessions::signed(keys(), config));
    let cookie = format!("session={}", login(&app).await);
    clock.set(T0 + 60);
    assert_eq!(
        send(&app, "/read", Some(&cookie)).await.body,
        r#"{"user":"alice"}"#
    );
    clock.set(T0 + 61);
    assert_eq!(send(&app, "/read", Some(&cookie)).await.body, "{}");
    clock.set(T0 - 1);
    assert_eq!(send(&app, "/read", Some(&cookie)).await.body, "{}");
}

#[tokio::test]
async fn permanent_sessions_expire_and_refresh() {
    let clock = TestClock::at(T0);
    let config = SessionConfig::flask()
        .with_clock(clock.clock())
        .with_lifetime(|l| l.with_permanent_lifetime(Duration::from_secs(60)));
    let app = app(Sessions::signed(keys(), config.clone()));
    let r = send(&app, "/permanent", None).await;
    assert!(
        r.set_cookie[0].contains("; Expires=Tue, 14 Nov 2023 22:14:20 GMT; HttpOnly; Path=/"),
        "{:?}",
        r.set_cookie
    );
    let cookie = format!("session={}", r.cookie_value("session").expect("cookie"));
    clock.advance(30);
    let r = send(&app, "/read", Some(&cookie)).await;
    assert!(
        r.set_cookie[0].contains("Expires=Tue, 14 Nov 2023 22:14:50 GMT"),
        "refreshed: {:?}",
        r.set_cookie
    );
    // Without refresh, reading sends nothing.
    let no_refresh = app_with(config.with_lifetime(|l| l.with_refresh(Refresh::OnChange)));
    assert!(send(&no_refresh, "/read", Some(&cookie))
        .await
        .set_cookie
        .is_empty());
    // Non-permanent cookies never get Expires.
    let r = send(&app, "/set/a/b", None).await;
    assert!(!r.set_cookie[0].contains("Expires"));
}

fn app_with(config: SessionConfig) -> Router {
    app(Sessions::signed(keys(), config))
}

#[tokio::test]
async fn oversized_cookie_is_a_500_not_a_dropped_cookie() {
    let clock = TestClock::at(T0);
    let r = send(&secure_app(&clock), "/big", None).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.set_cookie.is_empty());
    assert!(r.body.is_empty(), "opaque: {}", r.body);
    // The limit is configurable.
    let big = app_with(
        SessionConfig::default()
            .with_clock(clock.clock())
            .with_max_cookie_size(16_000),
    );
    assert_eq!(send(&big, "/big", None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn fallback_keys_resign_only_when_written() {
    let clock = TestClock::at(T0);
    let old = KeyRing::new(Key::from_utf8("the old key that we rotate out").expect("k"));
    let old_app = app(flask_layer(old.clone(), &clock));
    let cookie = format!("session={}", login(&old_app).await);
    let rotated = KeyRing::new(Key::from_utf8("the new key that signs from now").expect("k"))
        .with_fallback(old.current().clone());
    let rotated_app = app(flask_layer(rotated.clone(), &clock));
    let r = send(&rotated_app, "/read", Some(&cookie)).await;
    assert_eq!(r.body, r#"{"user":"alice"}"#);
    assert!(r.set_cookie.is_empty(), "read-only keeps the old cookie");
    let r = send(&rotated_app, "/modify", Some(&cookie)).await;
    let new_cookie = r.cookie_value("session").expect("re-signed");
    let current_only = FlaskCodec::new(&KeyRing::new(rotated.current().clone()));
    assert_eq!(
        current_only
            .decode(&new_cookie, T0 as u64)
            .expect("signed with the current key")
            .key_index,
        0
    );
    // A key that is no longer in the ring is refused.
    let retired = app(flask_layer(KeyRing::new(rotated.current().clone()), &clock));
    assert_eq!(send(&retired, "/read", Some(&cookie)).await.body, "{}");
}

#[tokio::test]
async fn vary_merges_and_cache_control_is_kept() {
    let clock = TestClock::at(T0);
    let r = send(&secure_app(&clock), "/cached", None).await;
    assert_eq!(r.vary, ["Accept-Encoding", "Cookie"]);
    assert_eq!(r.cache_control.as_deref(), Some("private, max-age=60"));
}

#[tokio::test]
async fn first_of_duplicate_cookies_wins() {
    let clock = TestClock::at(T0);
    let app = secure_app(&clock);
    let cookie = login(&app).await;
    let r = send(
        &app,
        "/read",
        Some(&format!("session={cookie}; session=garbage")),
    )
    .await;
    assert_eq!(r.body, r#"{"user":"alice"}"#);
    let r = send(
        &app,
        "/read",
        Some(&format!("other=1; session=garbage; session={cookie}")),
    )
    .await;
    assert_eq!(r.body, "{}");
}

#[tokio::test]
async fn missing_layer_is_an_opaque_500() {
    let app: Router = Router::new().route("/", get(|_s: Session| async { "unreachable" }));
    let res = app
        .oneshot(Request::get("/").body(Body::empty()).expect("r"))
        .await
        .expect("i");
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[test]
fn invalid_config_is_reported_before_serving() {
    let bad = Sessions::signed(
        keys(),
        SessionConfig::default().with_cookie(|c| c.with_name("bad name")),
    );
    assert!(bad.is_err());
    let weak = || KeyRing::new(Key::from_utf8("dev").expect("k"));
    assert!(
        Sessions::signed(weak(), SessionConfig::default()).is_ok(),
        "weak keys only warn by default"
    );
    let strict = Sessions::signed(weak(), SessionConfig::default().with_strict_keys());
    assert!(matches!(
        strict,
        Err(websession::ConfigError::WeakKey { index: 0, .. })
    ));
}

#[tokio::test]
async fn session_debug_shows_no_data() {
    let clock = TestClock::at(T0);
    let app = Router::new()
        .route(
            "/",
            get(|s: Session| async move {
                s.insert("token", "hunter2-secret").expect("insert");
                format!("{s:?}")
            }),
        )
        .layer(SessionManagerLayer::new(
            Sessions::signed(keys(), SessionConfig::default().with_clock(clock.clock()))
                .expect("valid"),
        ));
    let r = send(&app, "/", None).await;
    assert!(!r.body.contains("hunter2"), "{}", r.body);
}

/// A clone of the session kept past its response (a spawned task, say)
/// sees an empty session and saves nothing: the end of the request took
/// the state. Its use is logged, never a panic.
#[tokio::test]
async fn a_session_used_after_its_response_is_empty_and_never_saved() {
    let kept = std::sync::Arc::new(std::sync::Mutex::new(None::<Session>));
    let keep = kept.clone();
    let sessions = Sessions::signed(keys(), SessionConfig::default()).expect("config");
    let app = Router::new()
        .route(
            "/",
            get(move |session: Session| {
                let keep = keep.clone();
                async move {
                    session.insert("during", 1).expect("insert");
                    *keep.lock().expect("lock") = Some(session);
                    "ok"
                }
            }),
        )
        .layer(SessionManagerLayer::new(sessions));
    let res = app
        .oneshot(Request::get("/").body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers().get_all("set-cookie").iter().count(), 1);
    let session = kept.lock().expect("lock").take().expect("kept");
    assert_eq!(session.get::<i64>("during").expect("get"), None);
    session.insert("after", 2).expect("insert");
    assert_eq!(session.get::<i64>("after").expect("get"), Some(2));
}
