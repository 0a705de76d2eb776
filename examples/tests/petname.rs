//! The pet-name flow, in-process: the form, the redirect, the name after
//! "reload", permanence, expiry, and HTML escaping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use tower::ServiceExt;
use websession::{Clock, Key, KeyRing, SessionConfig, SessionManagerLayer, Sessions};
use websession_examples::petname_routes;

struct Demo {
    app: Router,
    now: Arc<AtomicI64>,
}

fn make_demo(key: &str, lifetime_secs: u64) -> Demo {
    let now = Arc::new(AtomicI64::new(1_700_000_000));
    let t = now.clone();
    let config = SessionConfig::default()
        .with_lifetime(|l| l.with_permanent_lifetime(std::time::Duration::from_secs(lifetime_secs)))
        .with_clock(Clock::from_fn(move || {
            time::OffsetDateTime::from_unix_timestamp(t.load(Ordering::SeqCst)).expect("time")
        }));
    let keys = KeyRing::new(Key::from_utf8(key).expect("key"));
    Demo {
        app: petname_routes().layer(SessionManagerLayer::new(
            Sessions::signed(keys, config).expect("valid"),
        )),
        now,
    }
}

async fn get(
    app: &Router,
    path: &str,
    cookie: Option<&str>,
) -> (StatusCode, Option<String>, String) {
    let mut req = Request::get(path);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, format!("session={c}"));
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).expect("req"))
        .await
        .expect("ok");
    split(res).await
}

async fn split(res: axum::response::Response) -> (StatusCode, Option<String>, String) {
    let status = res.status();
    let cookie = res
        .headers()
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().expect("ascii").to_owned());
    let body = res.into_body().collect().await.expect("body").to_bytes();
    (
        status,
        cookie,
        String::from_utf8(body.to_vec()).expect("utf8"),
    )
}

async fn post_pet(app: &Router, pet: &str) -> (StatusCode, Option<String>, String, Option<String>) {
    let body = format!(
        "pet={}",
        pet.replace(' ', "+")
            .replace('<', "%3C")
            .replace('>', "%3E")
            .replace('&', "%26")
    );
    let req = Request::post("/petname")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .expect("req");
    let res = app.clone().oneshot(req).await.expect("ok");
    let location = res
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().expect("a").to_owned());
    let (s, c, b) = split(res).await;
    (s, c, b, location)
}

fn value_of(set_cookie: &str) -> String {
    set_cookie
        .strip_prefix("session=")
        .expect("session cookie")
        .split(';')
        .next()
        .expect("v")
        .to_owned()
}

#[tokio::test]
async fn the_whole_flow() {
    let demo = make_demo("the demo's secret key, long enough", 60);
    let (status, cookie, body) = get(&demo.app, "/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(cookie.is_none());
    assert!(body.contains("I do not know your pet's name."), "{body}");
    assert!(body.contains("href=\"/petname\""));

    let (_, _, form) = get(&demo.app, "/petname", None).await;
    assert!(form.contains("method=\"post\"") && form.contains("name=\"pet\""));

    let (status, cookie, _, location) = post_pet(&demo.app, "Rex the dog").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/"));
    let set_cookie = cookie.expect("cookie set");
    assert!(set_cookie.contains("Expires="), "permanent: {set_cookie}");
    assert!(set_cookie.contains("HttpOnly"));
    let value = value_of(&set_cookie);

    let (_, refreshed, body) = get(&demo.app, "/", Some(&value)).await;
    assert!(body.contains("Your pet's name is Rex the dog."), "{body}");
    assert!(refreshed.is_none(), "a fresh cookie is not re-issued");
    // The default refresh interval (a minute, capped at half the 60 s lifetime).
    demo.now.fetch_add(30, Ordering::SeqCst);
    let (_, refreshed, _) = get(&demo.app, "/", Some(&value)).await;
    assert!(
        refreshed.is_some(),
        "a permanent session is re-issued once its cookie is old enough"
    );

    // A restart with the same key still knows the name.
    let restarted = demo_at(
        "the demo's secret key, long enough",
        60,
        demo.now.load(Ordering::SeqCst),
    );
    assert!(get(&restarted.app, "/", Some(&value))
        .await
        .2
        .contains("Rex the dog"));
    // A different key does not.
    let other = make_demo("another secret key, long enough!!", 60);
    assert!(get(&other.app, "/", Some(&value))
        .await
        .2
        .contains("I do not know"));

    // Past the permanent lifetime, the name is forgotten.
    demo.now.fetch_add(61, Ordering::SeqCst);
    assert!(get(&demo.app, "/", Some(&value))
        .await
        .2
        .contains("I do not know"));
}

fn demo_at(key: &str, lifetime: u64, now: i64) -> Demo {
    let d = make_demo(key, lifetime);
    d.now.store(now, Ordering::SeqCst);
    d
}

#[tokio::test]
async fn the_name_is_escaped() {
    let demo = make_demo("the demo's secret key, long enough", 60);
    let (_, cookie, _, _) = post_pet(&demo.app, "<script>alert(1)</script> & co").await;
    let value = value_of(&cookie.expect("cookie"));
    let (_, _, body) = get(&demo.app, "/", Some(&value)).await;
    assert!(
        body.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"),
        "{body}"
    );
    assert!(!body.contains("<script>"));
}

#[tokio::test]
async fn a_flask_cookie_is_read() {
    // The cookie Flask writes for {"pet_name": "Rex"} at 1700000000 with this
    // key, computed independently with Python's hmac/base64 per the format.
    let key = "correct horse battery staple";
    let cookie = "eyJwZXRfbmFtZSI6IlJleCJ9.ZVPxAA.ZIinBTrUZTK0gSPDq50ufOH9mEE";
    let demo = make_demo(key, 3600);
    assert!(get(&demo.app, "/", Some(cookie))
        .await
        .2
        .contains("Your pet's name is Rex."));
}
