//! The actix-web demo serves the same flow, and a cookie set by either demo
//! is read by the other with the same key.

use actix_web::{test as atest, App};
use axum::body::Body;
use axum::http::{header, Request};
use tower::ServiceExt;
use websession::actix::SessionMiddleware;
use websession::{Key, KeyRing, SessionConfig, SessionManagerLayer, Sessions};
use websession_examples::{actix_pages, petname_routes};

fn sessions() -> Sessions {
    Sessions::signed(
        KeyRing::new(Key::from_utf8("the demo's secret key, long enough").expect("k")),
        SessionConfig::default(),
    )
    .expect("valid")
    .into()
}

fn cookie_of(set_cookie: &str) -> String {
    set_cookie.split(';').next().expect("pair").to_owned()
}

#[actix_web::test]
async fn actix_flow_and_cookies_shared_with_axum() {
    let actix = atest::init_service(
        App::new()
            .wrap(SessionMiddleware::new(sessions()))
            .configure(actix_pages::routes),
    )
    .await;
    let axum = petname_routes().layer(SessionManagerLayer::new(sessions()));

    // The actix flow on its own.
    let res = atest::call_service(&actix, atest::TestRequest::get().uri("/").to_request()).await;
    assert!(String::from_utf8_lossy(&atest::read_body(res).await)
        .contains("I do not know your pet's name."));
    let res = atest::call_service(
        &actix,
        atest::TestRequest::get().uri("/petname").to_request(),
    )
    .await;
    assert!(String::from_utf8_lossy(&atest::read_body(res).await).contains("name=\"pet\""));
    let res = atest::call_service(
        &actix,
        atest::TestRequest::post()
            .uri("/petname")
            .set_form([("pet", "Rex")])
            .to_request(),
    )
    .await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(res.headers().get("location").expect("location"), "/");
    let from_actix = cookie_of(
        res.headers()
            .get("set-cookie")
            .expect("cookie")
            .to_str()
            .expect("a"),
    );

    // Read by the axum demo.
    let res = axum
        .clone()
        .oneshot(
            Request::get("/")
                .header(header::COOKIE, &from_actix)
                .body(Body::empty())
                .expect("req"),
        )
        .await
        .expect("ok");
    let body = axum::body::to_bytes(res.into_body(), 1 << 16)
        .await
        .expect("body");
    assert!(String::from_utf8_lossy(&body).contains("Your pet's name is Rex."));

    // And the reverse.
    let res = axum
        .oneshot(
            Request::post("/petname")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("pet=Tom"))
                .expect("req"),
        )
        .await
        .expect("ok");
    let from_axum = cookie_of(res.headers()[header::SET_COOKIE].to_str().expect("a"));
    let res = atest::call_service(
        &actix,
        atest::TestRequest::get()
            .uri("/")
            .insert_header(("cookie", from_axum))
            .to_request(),
    )
    .await;
    assert!(
        String::from_utf8_lossy(&atest::read_body(res).await).contains("Your pet's name is Tom.")
    );
}
