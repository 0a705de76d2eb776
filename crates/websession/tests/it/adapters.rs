//! One behaviour suite, run against the tower/axum adapter and the actix-web
//! adapter in every mode, so the two can't drift apart.

use std::sync::Arc;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::{test as atest, web, App, HttpResponse};
use axum::http::StatusCode;
use std::time::Duration;
use websession::actix::SessionMiddleware;
use websession::store::MemoryStore;
use websession::{Session, SessionConfig, Sessions};

use crate::support::{app, noise, tagged, BoxFut, Client, Mode, Reply, TestClock, Tower};

const T0: i64 = 1_700_000_000;

pub(crate) struct Actix<S>(pub(crate) S);

impl<S, B> Client for Actix<S>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    fn get_bytes<'a>(&'a self, path: &'a str, cookie: Option<&'a [u8]>) -> BoxFut<'a> {
        Box::pin(async move {
            let mut req = atest::TestRequest::get().uri(path);
            if let Some(c) = cookie {
                let value =
                    actix_web::http::header::HeaderValue::from_bytes(c).expect("a header value");
                req = req.insert_header((actix_web::http::header::COOKIE, value));
            }
            let res = atest::call_service(&self.0, req.to_request()).await;
            let all = |name: &str| -> Vec<String> {
                res.headers()
                    .get_all(name)
                    .map(|v| v.to_str().expect("ascii").to_owned())
                    .collect()
            };
            let (set_cookie, vary) = (all("set-cookie"), all("vary"));
            let cache_control = res
                .headers()
                .get("cache-control")
                .map(|v| v.to_str().expect("a").to_owned());
            let status = StatusCode::from_u16(res.status().as_u16()).expect("status");
            let body = atest::read_body(res).await;
            Reply {
                status,
                set_cookie,
                vary,
                cache_control,
                body: String::from_utf8(body.to_vec()).expect("utf8"),
            }
        })
    }
}

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/noop", web::get().to(|| async { "noop" }))
        .route(
            "/write",
            web::get().to(
                |s: Session, q: web::Query<std::collections::HashMap<String, String>>| async move {
                    s.insert("v", q.get("v").cloned().unwrap_or_default())
                        .expect("insert");
                    "ok"
                },
            ),
        )
        .route(
            "/read",
            web::get().to(|s: Session| async move { tagged(&s) }),
        )
        .route(
            "/set/{key}/{value}",
            web::get().to(|s: Session, p: web::Path<(String, String)>| async move {
                let (k, v) = p.into_inner();
                s.insert(&k, v).expect("insert");
                "ok"
            }),
        )
        .route(
            "/permanent",
            web::get().to(|s: Session| async move {
                s.insert("user", "alice").expect("insert");
                s.set_permanent(true);
                "ok"
            }),
        )
        .route(
            "/clear",
            web::get().to(|s: Session| async move {
                s.clear();
                "cleared"
            }),
        )
        .route(
            "/purge",
            web::get().to(|s: Session| async move {
                s.purge();
                "purged"
            }),
        )
        .route(
            "/cycle",
            web::get().to(|s: Session| async move {
                s.cycle_id();
                "cycled"
            }),
        )
        .route(
            "/modify",
            web::get().to(|s: Session| async move {
                let n = s.get::<i64>("counter").expect("counter").unwrap_or(0);
                s.insert("counter", n + 1).expect("insert");
                tagged(&s)
            }),
        )
        .route(
            "/fail",
            web::get().to(|s: Session| async move {
                s.insert("user", "alice").expect("insert");
                HttpResponse::InternalServerError().finish()
            }),
        )
        .route(
            "/big",
            web::get().to(|s: Session| async move {
                s.insert("noise", noise()).expect("insert");
                "ok"
            }),
        );
}

pub(crate) use crate::support::sessions_for as layer;

/// An actix-web client for `sessions` with `routes`.
pub(crate) async fn actix_client(
    sessions: Sessions,
    routes: impl FnOnce(&mut web::ServiceConfig),
) -> impl Client {
    Actix(
        atest::init_service(
            App::new()
                .wrap(SessionMiddleware::new(sessions))
                .configure(routes),
        )
        .await,
    )
}

/// Every engine rule, against one client.
async fn suite(client: &dyn Client, clock: &TestClock, label: &str) {
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
    if label.contains("Memory") {
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

#[actix_web::test]
async fn both_adapters_follow_the_same_rules_in_every_mode() {
    for mode in [Mode::Signed, Mode::Sealed, Mode::Memory] {
        let clock = TestClock::at(T0);
        let config = || {
            SessionConfig::default()
                .with_clock(clock.clock())
                .with_lifetime(|l| l.with_permanent_lifetime(Duration::from_secs(60)))
        };

        let store = Arc::new(MemoryStore::new());
        let tower = Tower(app(layer(mode, &store, config())));
        suite(&tower, &clock, &format!("tower {mode:?}")).await;

        let store = Arc::new(MemoryStore::new());
        let actix = Actix(
            atest::init_service(
                App::new()
                    .wrap(SessionMiddleware::new(
                        layer(mode, &store, config()).expect("valid"),
                    ))
                    .configure(routes),
            )
            .await,
        );
        suite(&actix, &clock, &format!("actix {mode:?}")).await;
    }
}

#[actix_web::test]
async fn a_cookie_from_one_adapter_is_read_by_the_other() {
    let clock = TestClock::at(T0);
    for mode in [Mode::Signed, Mode::Sealed, Mode::Memory] {
        let store = Arc::new(MemoryStore::new());
        let config = || SessionConfig::default().with_clock(clock.clock());
        let tower = Tower(app(layer(mode, &store, config())));
        let actix = Actix(
            atest::init_service(
                App::new()
                    .wrap(SessionMiddleware::new(
                        layer(mode, &store, config()).expect("valid"),
                    ))
                    .configure(routes),
            )
            .await,
        );
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
    let svc = atest::init_service(
        App::new()
            .wrap(SessionMiddleware::new(sessions))
            .configure(routes),
    )
    .await;
    let actix = Actix(svc);
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
        atest::init_service(
            App::new()
                .wrap(SessionMiddleware::new(layer))
                .configure(routes)
                .route(
                    "/twice",
                    web::get().to(|a: Session, b: Session| async move {
                        format!(
                            "{:?} {:?}",
                            a.get::<String>("user").expect("user"),
                            b.get::<String>("user").expect("user")
                        )
                    }),
                ),
        )
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
        let tower = app(layer(mode, &store, config()));
        let actix = atest::init_service(
            App::new()
                .wrap(SessionMiddleware::new(
                    layer(mode, &store, config()).expect("valid"),
                ))
                .configure(routes),
        )
        .await;
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
