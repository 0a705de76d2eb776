//! One behaviour suite, run against the tower/axum adapter and the actix-web
//! adapter in every mode, so the two can't drift apart.

use std::sync::Arc;

use actix_web::{test as atest, web, App};
use axum::http::StatusCode;
use std::time::Duration;
use websession::actix::SessionMiddleware;
use websession::store::MemoryStore;
use websession::{Session, SessionConfig, Sessions};

use crate::kit::{self, scenario, Actix, Adapter};
use crate::support::{Client, Mode, TestClock};

const T0: i64 = 1_700_000_000;

pub(crate) use crate::support::sessions_for as layer;

scenario!(
    /// Every engine rule, in every mode on both adapters.
    fn engine_rules(mode, adapter) in [Signed, Sealed, Memory] {
        let clock = &TestClock::at(T0);
        let config = SessionConfig::default()
            .with_clock(clock.clock())
            .with_lifetime(|l| l.with_permanent_lifetime(Duration::from_secs(60)));
        let store = Arc::new(MemoryStore::new());
        let client = kit::client(adapter, layer(mode, &store, config).expect("valid")).await;
        let label = &format!("{adapter:?} {mode:?}");
        let r = client.get("/set/user/alice", None).await;
        assert_eq!(r.status, StatusCode::OK, "{label}");
        let value = r
            .cookie_value("session")
            .unwrap_or_else(|| panic!("{label}: cookie set"));
        assert!(
            r.set_cookie[0].ends_with("; Secure; HttpOnly; Path=/; SameSite=Lax"),
            "{label}: {:?}",
            r.set_cookie
        );
        assert_eq!(r.vary, ["Cookie"], "{label}");
        assert_eq!(r.cache_control.as_deref(), Some("no-store"), "{label}");
        let cookie = format!("session={value}");

        let r = client.get("/noop", Some(&cookie)).await;
        assert!(
            r.set_cookie.is_empty() && r.vary.is_empty(),
            "{label}: untouched session sends nothing"
        );
        let r = client.get("/read", Some(&cookie)).await;
        assert_eq!(r.body, r#"{"user":"alice"}"#, "{label}");
        assert!(r.set_cookie.is_empty(), "{label}: read-only");
        assert_eq!(r.vary, ["Cookie"], "{label}");

        for bad in [
            "session=",
            "session=garbage",
            "session=a.b.c",
            "session=AAAA",
            &format!("session={value}x"),
        ] {
            let r = client.get("/read", Some(bad)).await;
            assert_eq!(
                (r.status, r.body.as_str()),
                (StatusCode::OK, "{}"),
                "{label}: {bad}"
            );
            assert!(r.set_cookie.is_empty(), "{label}: {bad}");
        }

        let r = client.get("/fail", None).await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{label}");
        assert!(r.set_cookie.is_empty(), "{label}: nothing written on 5xx");

        let r = client.get("/permanent", None).await;
        assert!(
            r.set_cookie[0].contains("Expires=Tue, 14 Nov 2023 22:14:20 GMT"),
            "{label}: {:?}",
            r.set_cookie
        );
        let perm = format!("session={}", r.cookie_value("session").expect("c"));
        clock.advance(40);
        let r = client.get("/read", Some(&perm)).await;
        assert_eq!(r.body, r#"{"_permanent":true,"user":"alice"}"#, "{label}");
        assert!(
            r.set_cookie
                .first()
                .is_some_and(|c| c.contains("Expires=Tue, 14 Nov 2023 22:15:00 GMT")),
            "{label}: refreshed {:?}",
            r.set_cookie
        );
        clock.set(T0);

        let r = client.get("/modify", Some(&cookie)).await;
        assert_eq!(r.body, r#"{"counter":1,"user":"alice"}"#, "{label}");
        let cookie = match r.cookie_value("session") {
            Some(v) => format!("session={v}"),
            None => cookie, // store mode keeps the id
        };

        clock.advance(1); // a signed cookie's fresh issue time is a new second
        let r = client.get("/cycle", Some(&cookie)).await;
        let cycled = format!("session={}", r.cookie_value("session").expect("cycled"));
        assert_ne!(cycled, cookie, "{label}");
        assert_eq!(
            client.get("/read", Some(&cycled)).await.body,
            r#"{"counter":1,"user":"alice"}"#,
            "{label}"
        );

        clock.set(T0);
        let r = client.get("/purge", Some(&cycled)).await;
        assert_eq!(r.set_cookie, ["session=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Secure; HttpOnly; Path=/; SameSite=Lax"], "{label}");
        let r = client.get("/clear", Some(&perm)).await;
        assert!(
            r.set_cookie[0].starts_with("session=; Expires=Thu, 01 Jan 1970"),
            "{label}: delete on empty"
        );

        let r = client.get("/big", None).await;
        if mode == Mode::Memory {
            assert_eq!(
                r.status,
                StatusCode::OK,
                "{label}: a store has no size limit"
            );
        } else {
            assert_eq!(
                r.status,
                StatusCode::INTERNAL_SERVER_ERROR,
                "{label}: an oversized cookie is a 500"
            );
            assert!(
                r.set_cookie.is_empty() && r.body.is_empty(),
                "{label}: opaque"
            );
        }
    }
);

#[actix_web::test]
async fn a_cookie_from_one_adapter_is_read_by_the_other() {
    let clock = TestClock::at(T0);
    for mode in [Mode::Signed, Mode::Sealed, Mode::Memory] {
        let store = Arc::new(MemoryStore::new());
        let config = || SessionConfig::default().with_clock(clock.clock());
        let tower = kit::client(
            Adapter::Tower,
            layer(mode, &store, config()).expect("valid"),
        )
        .await;
        let actix = kit::client(
            Adapter::Actix,
            layer(mode, &store, config()).expect("valid"),
        )
        .await;
        let from_tower = format!(
            "session={}",
            tower
                .get("/set/pet/Rex", None)
                .await
                .cookie_value("session")
                .expect("c")
        );
        assert_eq!(
            actix.get("/read", Some(&from_tower)).await.body,
            r#"{"pet":"Rex"}"#,
            "{mode:?}"
        );
        let from_actix = format!(
            "session={}",
            actix
                .get("/set/pet/Tom", None)
                .await
                .cookie_value("session")
                .expect("c")
        );
        assert_eq!(
            tower.get("/read", Some(&from_actix)).await.body,
            r#"{"pet":"Tom"}"#,
            "{mode:?}"
        );
    }
}

#[actix_web::test]
async fn actix_errors_are_opaque() {
    // No middleware: a bare 500.
    let svc = atest::init_service(
        App::new().route("/", web::get().to(|_s: Session| async { "unreachable" })),
    )
    .await;
    let res = atest::call_service(&svc, atest::TestRequest::get().uri("/").to_request()).await;
    assert_eq!(res.status().as_u16(), 500);
    assert!(atest::read_body(res).await.is_empty());
}

/// A handler's `SessionError` is an actix `ResponseError`: 500 for a value
/// that doesn't fit, 503 for the store, and no detail in the body.
#[actix_web::test]
async fn actix_handlers_return_session_errors() {
    use websession::store::{StoreError, StoreErrorKind};
    use websession::SessionError;

    let sessions = Sessions::signed(crate::support::keys(), SessionConfig::default()).expect("ok");
    let svc = atest::init_service(
        App::new()
            .wrap(SessionMiddleware::new(sessions))
            .route(
                "/value",
                web::get().to(|s: Session| async move {
                    s.insert("n", "not a number")?;
                    let n: Option<u8> = s.get("n")?;
                    Ok::<_, SessionError>(format!("{n:?}"))
                }),
            )
            .route(
                "/store",
                web::get().to(|| async {
                    Err::<String, _>(SessionError::Store(StoreError::from_kind(
                        StoreErrorKind::Unavailable,
                    )))
                }),
            ),
    )
    .await;
    for (path, status) in [("/value", 500), ("/store", 503)] {
        let res = atest::call_service(&svc, atest::TestRequest::get().uri(path).to_request()).await;
        assert_eq!(res.status().as_u16(), status, "{path}");
        assert_eq!(
            res.response()
                .extensions()
                .get::<websession::StoreOutage>()
                .is_some(),
            status == 503,
            "{path}: an outage is marked for the app's own page"
        );
        assert!(res.headers().get("set-cookie").is_none(), "{path}");
        assert!(atest::read_body(res).await.is_empty(), "{path}");
    }
}

/// actix-web: a store that can't be reached before the handler answers a
/// 503 marked `StoreOutage`, for the app's own page.
#[actix_web::test]
async fn an_actix_outage_is_marked_for_the_apps_own_page() {
    let store = Arc::new(crate::store_mode::Probe::default());
    let sessions = Sessions::store(store.clone(), SessionConfig::default()).expect("valid");
    let actix = Actix(kit::actix_service(sessions.into()).await);
    let cookie = format!(
        "session={}",
        actix
            .get("/set/user/alice", None)
            .await
            .cookie_value("session")
            .expect("c")
    );
    store.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let req = atest::TestRequest::get()
        .uri("/read")
        .insert_header(("cookie", cookie))
        .to_request();
    let res = atest::call_service(&actix.0, req).await;
    assert_eq!(res.status().as_u16(), 503);
    assert!(res
        .response()
        .extensions()
        .get::<websession::StoreOutage>()
        .is_some());
}

/// Defect 3 of the review: actix polls a handler's extractors together, so
/// two `Session`s in one handler load at once; both must see the real data.
#[actix_web::test]
async fn two_session_extractors_in_one_actix_handler_share_the_load() {
    let store = Arc::new(crate::store_mode::Probe::default()); // its loads yield first
    let layer = Sessions::store(store.clone(), SessionConfig::default()).expect("valid");
    let actix = Actix(
        atest::init_service(kit::actix_app(layer.into(), |cfg| {
            cfg.route(
                "/twice",
                web::get().to(|a: Session, b: Session| async move {
                    format!(
                        "{:?} {:?}",
                        a.get::<String>("user").expect("user"),
                        b.get::<String>("user").expect("user")
                    )
                }),
            );
        }))
        .await,
    );
    let cookie = format!(
        "session={}",
        actix
            .get("/set/user/alice", None)
            .await
            .cookie_value("session")
            .expect("c")
    );
    assert_eq!(
        actix.get("/twice", Some(&cookie)).await.body,
        r#"Some("alice") Some("alice")"#
    );
}

/// A bearer token made by the tower adapter is read by actix-web and back,
/// in every mode; actix-web sends new tokens in the response header, ends a
/// session with an empty one, and varies on `Authorization`.
#[actix_web::test]
async fn actix_reads_and_writes_header_tokens() {
    for mode in [Mode::Signed, Mode::Sealed, Mode::Memory] {
        let store = Arc::new(MemoryStore::new());
        let config = || {
            SessionConfig::default()
                .with_transport(websession::Transport::bearer("x-session-token"))
        };
        let tower = kit::router(layer(mode, &store, config()).expect("valid"));
        let actix = kit::actix_service(layer(mode, &store, config()).expect("valid")).await;
        let call = |path: &'static str, auth: Option<String>| {
            let mut req = atest::TestRequest::get().uri(path);
            if let Some(auth) = auth {
                req = req.insert_header(("authorization", auth));
            }
            req.to_request()
        };
        let res = atest::call_service(&actix, call("/set/pet/Tom", None)).await;
        assert!(res.headers().get("set-cookie").is_none(), "{mode:?}");
        assert_eq!(
            res.headers()
                .get("vary")
                .map(|v| v.to_str().expect("ascii")),
            Some("authorization"),
            "{mode:?}"
        );
        let token = res
            .headers()
            .get("x-session-token")
            .expect("a token")
            .to_str()
            .expect("ascii")
            .to_owned();
        // Tower reads actix-web's token.
        let req = axum::http::Request::get("/read")
            .header("authorization", format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .expect("request");
        let res = tower::ServiceExt::oneshot(tower.clone(), req)
            .await
            .expect("infallible");
        let body = http_body_util::BodyExt::collect(res.into_body())
            .await
            .expect("body")
            .to_bytes();
        assert_eq!(&body[..], br#"{"pet":"Tom"}"#, "{mode:?}");
        // actix-web reads it too, and ends the session with an empty token.
        let body =
            atest::call_and_read_body(&actix, call("/read", Some(format!("Bearer {token}")))).await;
        assert_eq!(&body[..], br#"{"pet":"Tom"}"#, "{mode:?}");
        let res =
            atest::call_service(&actix, call("/clear", Some(format!("Bearer {token}")))).await;
        assert_eq!(
            res.headers().get("x-session-token").map(|v| v.as_bytes()),
            Some(&b""[..]),
            "{mode:?}"
        );
    }
}
