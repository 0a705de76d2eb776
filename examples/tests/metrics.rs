//! The demo's Prometheus scrape (`WEBSESSION_METRICS=1`): websession's
//! metrics through a real exporter. Its own test binary: it installs the
//! process's global recorder.

use axum::body::Body;
use axum::http::{header, Request};
use axum::Router;
use http_body_util::BodyExt;
use tower::ServiceExt;
use websession::{Key, KeyRing, SessionConfig, SessionManagerLayer, Sessions};
use websession_examples::{petname_routes, prometheus_route};

async fn call(app: &Router, req: Request<Body>) -> (Option<String>, String) {
    let res = app.clone().oneshot(req).await.expect("infallible");
    let cookie = res
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned);
    let body = res.into_body().collect().await.expect("body").to_bytes();
    (cookie, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn the_demo_serves_websessions_metrics_to_prometheus() {
    let keys = KeyRing::new(Key::from_utf8("a metrics test key of 32 bytes!!").expect("key"));
    let sessions = Sessions::signed(keys, SessionConfig::default()).expect("valid");
    let app = petname_routes()
        .layer(SessionManagerLayer::new(sessions))
        .merge(prometheus_route().expect("recorder"));
    let post = Request::post("/petname")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("pet=Rex"))
        .expect("request");
    let (cookie, _) = call(&app, post).await;
    assert!(cookie.is_some());
    let forged = Request::get("/")
        .header(
            header::COOKIE,
            "session=eyJ4IjoxfQ.ZVPxAA.not-the-signature-at-all",
        )
        .body(Body::empty())
        .expect("request");
    call(&app, forged).await;
    let (_, scrape) = call(
        &app,
        Request::get("/metrics").body(Body::empty()).expect("req"),
    )
    .await;
    assert!(
        scrape.contains(r#"websession_sessions_total{event="created",mode="signed"} 1"#),
        "{scrape}"
    );
    assert!(
        scrape.contains(r#"websession_cookies_rejected_total{reason="BadSignature"} 1"#),
        "{scrape}"
    );
    assert!(!scrape.contains("Rex"), "{scrape}");
    println!("{scrape}");
}
