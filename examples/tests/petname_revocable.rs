//! The demo as `WEBSESSION_REVOCATION=memory WEBSESSION_OVERFLOW=memory`
//! sets it up: a pet name longer than a cookie still works (the session
//! moves to the store), and "Forget me" stops every copy of the cookie.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use tower::ServiceExt;
use websession::{Key, KeyRing, Overflow, SessionConfig, SessionManagerLayer, Sessions};
use websession_examples::{overflow_store, petname_routes, revocation};

async fn get(app: &Router, path: &str, cookie: &str) -> (StatusCode, Option<String>, String) {
    let res = app
        .clone()
        .oneshot(
            Request::get(path)
                .header(header::COOKIE, cookie)
                .body(Body::empty())
                .expect("req"),
        )
        .await
        .expect("ok");
    let status = res.status();
    let set = set_cookie(&res);
    let body = axum::body::to_bytes(res.into_body(), 1 << 16)
        .await
        .expect("body");
    (status, set, String::from_utf8_lossy(&body).into_owned())
}

fn set_cookie(res: &axum::response::Response) -> Option<String> {
    res.headers().get(header::SET_COOKIE).map(|v| {
        v.to_str()
            .expect("a")
            .split(';')
            .next()
            .expect("c")
            .to_owned()
    })
}

async fn post_pet(app: &Router, pet: &str) -> String {
    let req = Request::post("/petname")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("pet={pet}")))
        .expect("req");
    let res = app.clone().oneshot(req).await.expect("ok");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    set_cookie(&res).expect("a session cookie")
}

#[tokio::test]
async fn long_names_overflow_and_forget_me_revokes() {
    let sessions = Sessions::signed(KeyRing::new(Key::generate()), SessionConfig::default())
        .expect("valid")
        .with_revocation(revocation("memory").await.expect("revocation"))
        .with_overflow(Overflow::new(
            overflow_store("memory").await.expect("store"),
        ))
        .expect("valid overflow");
    let app = petname_routes().layer(SessionManagerLayer::new(sessions));

    // A name of 6,000 characters: 500 without overflow; with it, the
    // cookie holds an id.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let long: String = (0..6000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + (x % 26) as u8) // random letters: zlib can't fold them
        })
        .collect();
    let cookie = post_pet(&app, &long).await;
    assert!(
        cookie.len() < 100,
        "the cookie holds an id: {}",
        cookie.len()
    );
    let (_, _, page) = get(&app, "/", &cookie).await;
    assert!(page.contains(&long[..100]), "the name is read back");

    // A short name: the session returns to the cookie.
    let short = post_pet(&app, "Rex").await;
    let (_, _, page) = get(&app, "/", &short).await;
    assert!(page.contains("Your pet's name is Rex."));

    // Forget me: the copy of the cookie no longer opens.
    let (status, _, _) = get(&app, "/forget", &short).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, page) = get(&app, "/", &short).await;
    assert!(page.contains("I do not know your pet's name."), "{page}");
}
