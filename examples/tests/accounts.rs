//! The demo's account pages in-process, in every mode: the sign-in against
//! fixation, escaping, "where you're logged in", "log out my other
//! sessions" and "log out everywhere", and what each mode says it can't do.
//! (`two_processes.rs` runs them across real processes, `browser.rs` in
//! Chromium.)

use std::sync::Arc;

use actix_web::{test as atest, App};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use tower::ServiceExt;
use websession::store::{MemoryStore, SessionStore};
use websession::{Key, KeyRing, SessionConfig, SessionManagerLayer, Sessions};
use websession_examples::{actix_pages, demo_routes, revocation, Accounts};

struct Res {
    status: StatusCode,
    cookie: Option<String>,
    location: Option<String>,
    body: String,
}

async fn call(app: &Router, method: &str, path: &str, cookie: Option<&str>, form: &str) -> Res {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::USER_AGENT, "accounts test <agent>");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, format!("session={c}"));
    }
    if method == "POST" {
        req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::from(form.to_owned())).expect("req"))
        .await
        .expect("infallible");
    let header_str = |name| {
        res.headers()
            .get(name)
            .map(|v: &header::HeaderValue| v.to_str().expect("ascii").to_owned())
    };
    let cookie = header_str(header::SET_COOKIE).map(|v| {
        v.strip_prefix("session=")
            .expect("the session cookie")
            .split(';')
            .next()
            .expect("value")
            .to_owned()
    });
    let location = header_str(header::LOCATION);
    let status = res.status();
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .expect("body");
    Res {
        status,
        cookie,
        location,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

async fn sign_in(app: &Router, cookie: Option<&str>, user: &str) -> String {
    let res = call(app, "POST", "/login", cookie, &format!("user={user}")).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location.as_deref(), Some("/"));
    res.cookie.expect("a new cookie")
}

async fn home(app: &Router, cookie: &str) -> String {
    let res = call(app, "GET", "/", Some(cookie), "").await;
    assert_eq!(res.status, StatusCode::OK);
    res.body
}

fn signed_in(page: &str, user: &str) -> bool {
    page.contains(&format!("Signed in as <b>{user}</b>"))
}

fn store_demo() -> (Router, Arc<dyn SessionStore>) {
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let sessions: Sessions = Sessions::store(store.clone(), SessionConfig::default())
        .expect("valid")
        .into();
    let app = demo_routes(Accounts::new(&sessions)).layer(SessionManagerLayer::new(sessions));
    (app, store)
}

async fn revocable_demo() -> Router {
    let revocation = revocation("memory").await.expect("revocation");
    let sessions: Sessions =
        Sessions::signed(KeyRing::new(Key::generate()), SessionConfig::default())
            .expect("valid")
            .with_revocation(revocation)
            .into();
    demo_routes(Accounts::new(&sessions)).layer(SessionManagerLayer::new(sessions))
}

fn plain_demo() -> Router {
    let sessions: Sessions =
        Sessions::signed(KeyRing::new(Key::generate()), SessionConfig::default())
            .expect("valid")
            .into();
    demo_routes(Accounts::new(&sessions)).layer(SessionManagerLayer::new(sessions))
}

#[tokio::test]
async fn the_sign_in_page_says_it_is_a_demo_and_checks_names() {
    let app = plain_demo();
    let page = call(&app, "GET", "/login", None, "").await;
    assert!(
        page.body.contains("This is a demo sign-in"),
        "{}",
        page.body
    );
    assert!(page.body.contains("no passwords"));
    for bad in ["", "+++", &"x".repeat(65), "a%07b"] {
        let res = call(&app, "POST", "/login", None, &format!("user={bad}")).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad:?}");
        assert!(res.cookie.is_none(), "{bad:?}: no session");
        assert!(res.body.contains("class=\"error\""));
    }
    let home = call(&app, "GET", "/", None, "").await;
    assert!(home.body.contains("You are not signed in."));
    assert!(home.body.contains("href=\"/login\""));
}

#[tokio::test]
async fn the_user_name_is_escaped_everywhere() {
    let (app, _) = store_demo();
    let cookie = sign_in(&app, None, "%3Cscript%3Eeve%26co%3C%2Fscript%3E").await;
    for path in ["/", "/devices"] {
        let page = call(&app, "GET", path, Some(&cookie), "").await.body;
        assert!(
            page.contains("Signed in as <b>&lt;script&gt;eve&amp;co&lt;/script&gt;</b>"),
            "{path}: {page}"
        );
        assert!(!page.contains("<script>"), "{path}: {page}");
    }
    let devices = call(&app, "GET", "/devices", Some(&cookie), "").await.body;
    assert!(devices.contains("accounts test &lt;agent&gt;"), "{devices}");
}

/// Against fixation: a cookie from before the sign-in (planted, or copied)
/// never opens the signed-in session; the data carries over.
#[tokio::test]
async fn signing_in_moves_the_session_to_a_new_id() {
    for (mode, app) in [
        ("store", store_demo().0),
        ("revocable", revocable_demo().await),
        ("plain", plain_demo()),
    ] {
        let before = call(&app, "POST", "/petname", None, "pet=Rex").await;
        let before = before.cookie.expect("a session");
        let after = sign_in(&app, Some(&before), "alice").await;
        assert_ne!(before, after, "{mode}");
        let page = home(&app, &after).await;
        assert!(signed_in(&page, "alice"), "{mode}: {page}");
        assert!(page.contains("Your pet's name is Rex."), "{mode}: {page}");
        let page = home(&app, &before).await;
        assert!(!signed_in(&page, "alice"), "{mode}: {page}");
        if mode != "plain" {
            // The old id is gone (store) or denied (revocation); a plain
            // signed cookie can't be recalled, but it holds no sign-in.
            assert!(page.contains("I do not know your pet's name."), "{mode}");
        }
    }
}

#[tokio::test]
async fn store_mode_lists_and_ends_sessions() {
    let (app, store) = store_demo();
    let laptop = sign_in(&app, None, "alice").await;
    let phone = sign_in(&app, None, "alice").await;
    let other_user = sign_in(&app, None, "bob").await;
    let page = call(&app, "GET", "/devices", Some(&laptop), "").await.body;
    assert!(page.contains("2 sessions:"), "{page}");
    assert_eq!(page.matches("class=\"session\"").count(), 2);
    assert_eq!(page.matches("(this browser)").count(), 1);
    assert!(page.contains("signed in 2"), "a sign-in time: {page}");

    let res = call(&app, "POST", "/devices/logout-others", Some(&laptop), "").await;
    assert_eq!(res.location.as_deref(), Some("/devices?ended=others"));
    assert!(!signed_in(&home(&app, &phone).await, "alice"));
    assert!(signed_in(&home(&app, &laptop).await, "alice"));
    let page = call(&app, "GET", "/devices?ended=others", Some(&laptop), "")
        .await
        .body;
    assert!(
        page.contains("Your other sessions are logged out."),
        "{page}"
    );
    assert!(page.contains("1 session:"), "{page}");

    let phone = sign_in(&app, None, "alice").await;
    let res = call(&app, "POST", "/devices/logout-everywhere", Some(&phone), "").await;
    assert_eq!(res.location.as_deref(), Some("/"));
    assert_eq!(res.cookie.as_deref(), Some(""), "the cookie is deleted");
    assert!(!signed_in(&home(&app, &phone).await, "alice"));
    assert!(!signed_in(&home(&app, &laptop).await, "alice"));
    assert!(signed_in(&home(&app, &other_user).await, "bob"));
    let now = websession::Clock::system().unix_seconds();
    assert!(store
        .sessions_of("alice", now)
        .await
        .expect("list")
        .is_empty());

    // Sign out: the record goes.
    let res = call(&app, "POST", "/logout", Some(&other_user), "").await;
    assert_eq!(res.location.as_deref(), Some("/"));
    assert!(!signed_in(&home(&app, &other_user).await, "bob"));
    assert!(store
        .sessions_of("bob", now)
        .await
        .expect("list")
        .is_empty());
}

#[tokio::test]
async fn revocable_cookies_end_sessions_without_a_list() {
    let app = revocable_demo().await;
    let laptop = sign_in(&app, None, "alice").await;
    let phone = sign_in(&app, None, "alice").await;
    let page = call(&app, "GET", "/devices", Some(&laptop), "").await.body;
    assert!(page.contains("can't show where you're logged in"), "{page}");
    assert!(page.contains("within 5 seconds"), "the staleness: {page}");
    assert!(page.contains("id=\"logout-others\"") && page.contains("id=\"logout-everywhere\""));

    // Log out the others: this session signs in again with a new cookie.
    let res = call(&app, "POST", "/devices/logout-others", Some(&laptop), "").await;
    assert_eq!(res.location.as_deref(), Some("/devices?ended=others"));
    let new_laptop = res.cookie.expect("signed in again");
    assert!(!signed_in(&home(&app, &phone).await, "alice"));
    assert!(
        !signed_in(&home(&app, &laptop).await, "alice"),
        "the old cookie"
    );
    assert!(signed_in(&home(&app, &new_laptop).await, "alice"));

    // Everywhere: every cookie signed in before, this one too.
    let phone = sign_in(&app, None, "alice").await;
    let res = call(&app, "POST", "/devices/logout-everywhere", Some(&phone), "").await;
    assert_eq!(res.cookie.as_deref(), Some(""), "the cookie is deleted");
    assert!(!signed_in(&home(&app, &phone).await, "alice"));
    assert!(!signed_in(&home(&app, &new_laptop).await, "alice"));

    // Sign out: copies of the cookie stop working.
    let copy = sign_in(&app, None, "alice").await;
    call(&app, "POST", "/logout", Some(&copy), "").await;
    assert!(!signed_in(&home(&app, &copy).await, "alice"));
}

#[tokio::test]
async fn plain_cookies_say_what_they_cant_do() {
    let app = plain_demo();
    let cookie = sign_in(&app, None, "alice").await;
    let page = call(&app, "GET", "/devices", Some(&cookie), "").await.body;
    assert!(
        page.contains("can't list your sessions or log them out"),
        "{page}"
    );
    assert!(!page.contains("id=\"logout-others\""));
    for action in ["/devices/logout-others", "/devices/logout-everywhere"] {
        let res = call(&app, "POST", action, Some(&cookie), "").await;
        assert_eq!(res.status, StatusCode::NOT_IMPLEMENTED, "{action}");
    }
    assert!(signed_in(&home(&app, &cookie).await, "alice"));
    // Not signed in: the actions go to the sign-in page.
    let res = call(&app, "POST", "/devices/logout-others", None, "").await;
    assert_eq!(res.location.as_deref(), Some("/login"));
}

#[actix_web::test]
async fn the_actix_demo_has_the_same_account_pages() {
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let sessions: Sessions = Sessions::store(store.clone(), SessionConfig::default())
        .expect("valid")
        .into();
    let accounts = Accounts::new(&sessions);
    let app = atest::init_service(
        App::new()
            .wrap(websession::actix::SessionMiddleware::new(sessions))
            .configure(actix_pages::demo_routes(accounts)),
    )
    .await;
    let mut cookies = Vec::new();
    for _ in 0..2 {
        let res = atest::call_service(
            &app,
            atest::TestRequest::post()
                .uri("/login")
                .set_form([("user", "alice")])
                .to_request(),
        )
        .await;
        assert_eq!(res.status().as_u16(), 303);
        let set = res
            .headers()
            .get("set-cookie")
            .expect("cookie")
            .to_str()
            .expect("a")
            .to_owned();
        cookies.push(set.split(';').next().expect("pair").to_owned());
    }
    let devices = |cookie: &str| {
        atest::TestRequest::get()
            .uri("/devices")
            .insert_header(("cookie", cookie.to_owned()))
            .to_request()
    };
    let res = atest::call_service(&app, devices(&cookies[0])).await;
    let page = String::from_utf8_lossy(&atest::read_body(res).await).into_owned();
    assert!(page.contains("2 sessions:"), "{page}");
    let res = atest::call_service(
        &app,
        atest::TestRequest::post()
            .uri("/devices/logout-others")
            .insert_header(("cookie", cookies[0].clone()))
            .to_request(),
    )
    .await;
    assert_eq!(
        res.headers().get("location").expect("location"),
        "/devices?ended=others"
    );
    let res = atest::call_service(&app, devices(&cookies[1])).await;
    let page = String::from_utf8_lossy(&atest::read_body(res).await).into_owned();
    assert!(page.contains("You are not signed in."), "{page}");
}
