//! The pet-name flow with a server-side store: the cookie carries only an id.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use tower::ServiceExt;
use websession::store::MemoryStore;
use websession::{SessionConfig, SessionManagerLayer, Sessions};
use websession_examples::petname_routes;

#[tokio::test]
async fn the_flow_with_a_memory_store() {
    let store = std::sync::Arc::new(MemoryStore::new());
    let app = petname_routes().layer(SessionManagerLayer::new(
        Sessions::store(store.clone(), SessionConfig::default()).expect("valid"),
    ));
    let req = Request::post("/petname")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("pet=Rex"))
        .expect("req");
    let res = app.clone().oneshot(req).await.expect("ok");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = res.headers()[header::SET_COOKIE]
        .to_str()
        .expect("a")
        .split(';')
        .next()
        .expect("c")
        .to_owned();
    assert!(!cookie.contains("Rex"), "the cookie holds only an id");
    assert_eq!(store.len(), 1);
    let res = app
        .oneshot(
            Request::get("/")
                .header(header::COOKIE, cookie)
                .body(Body::empty())
                .expect("req"),
        )
        .await
        .expect("ok");
    let body = axum::body::to_bytes(res.into_body(), 1 << 16)
        .await
        .expect("body");
    assert!(String::from_utf8_lossy(&body).contains("Your pet's name is Rex."));
}
