//! The task examples (`examples/tasks/*.rs`), driven in-process through the
//! routers their `main`s serve: what each one's doc comment promises.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use tower::ServiceExt;
use websession::Key;

#[allow(dead_code)]
#[path = "../tasks/login.rs"]
mod login;

#[allow(dead_code)]
#[path = "../tasks/log_out_everywhere.rs"]
mod log_out_everywhere;

#[allow(dead_code)]
#[path = "../tasks/devices.rs"]
mod devices;

#[allow(dead_code)]
#[path = "../tasks/bearer_tokens.rs"]
mod bearer_tokens;

#[allow(dead_code)]
#[path = "../tasks/production_store.rs"]
mod production_store;

/// A client: the session cookie (or token) it holds, updated from each
/// response as a browser (or an API client) would.
#[derive(Default, Clone)]
struct Client {
    cookie: Option<String>,
    token: Option<String>,
    agent: &'static str,
}

impl Client {
    fn new(agent: &'static str) -> Self {
        Self {
            agent,
            ..Self::default()
        }
    }

    async fn call(
        &mut self,
        app: &Router,
        method: &str,
        path: &str,
        form: &str,
    ) -> (StatusCode, String) {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::USER_AGENT, self.agent)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(c) = &self.cookie {
            req = req.header(header::COOKIE, format!("session={c}"));
        }
        if let Some(t) = &self.token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let res = app
            .clone()
            .oneshot(req.body(Body::from(form.to_owned())).expect("request"))
            .await
            .expect("infallible");
        if let Some(set) = res.headers().get(header::SET_COOKIE) {
            let set = set.to_str().expect("ascii");
            let value = set
                .strip_prefix("session=")
                .and_then(|v| v.split(';').next())
                .expect("the session cookie");
            self.cookie = (!value.is_empty()).then(|| value.to_owned());
        }
        if let Some(t) = res.headers().get(bearer_tokens::TOKEN_HEADER) {
            self.token = Some(t.to_str().expect("ascii").to_owned());
        }
        let status = res.status();
        let body = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .expect("body");
        (status, String::from_utf8(body.to_vec()).expect("utf-8"))
    }
}

fn key() -> Key {
    Key::generate()
}

#[tokio::test]
async fn login_then_logout() {
    let app = login::app(
        websession::Sessions::signed(key(), websession::SessionConfig::default()).expect("config"),
    );
    let mut browser = Client::new("browser");
    assert_eq!(browser.call(&app, "GET", "/", "").await.1, "not logged in");
    let (status, body) = browser.call(&app, "POST", "/login", "user=alice").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "logged in as alice")
    );
    assert_eq!(browser.call(&app, "GET", "/", "").await.1, "hello, alice");
    // A copy of the pre-login cookie learns nothing: the login rotated it.
    let before = browser.cookie.clone();
    browser.call(&app, "POST", "/logout", "").await;
    assert_eq!(browser.call(&app, "GET", "/", "").await.1, "not logged in");
    assert_ne!(before, browser.cookie, "the logout rotates the session too");
}

#[tokio::test]
async fn log_out_everywhere_ends_every_cookie_of_the_user() {
    let app = log_out_everywhere::app(log_out_everywhere::sessions(key()).expect("config"))
        .expect("revocable cookies have logins");
    let mut phone = Client::new("phone");
    let mut laptop = Client::new("laptop");
    let mut other = Client::new("other");
    phone.call(&app, "POST", "/login", "user=alice").await;
    laptop.call(&app, "POST", "/login", "user=alice").await;
    other.call(&app, "POST", "/login", "user=bob").await;
    let phone_copy = phone.clone();
    assert_eq!(phone.call(&app, "GET", "/", "").await.1, "hello, alice");

    let (_, body) = laptop.call(&app, "POST", "/log-out-everywhere", "").await;
    assert_eq!(body, "logged out everywhere");
    assert_eq!(laptop.call(&app, "GET", "/", "").await.1, "not logged in");
    assert_eq!(phone.call(&app, "GET", "/", "").await.1, "not logged in");
    let mut stolen = phone_copy;
    assert_eq!(stolen.call(&app, "GET", "/", "").await.1, "not logged in");
    assert_eq!(
        other.call(&app, "GET", "/", "").await.1,
        "hello, bob",
        "bob stays"
    );
}

#[tokio::test]
async fn devices_lists_and_ends_the_other_sessions() {
    let sessions = websession::Sessions::store(
        websession::store::MemoryStore::new(),
        websession::SessionConfig::default(),
    )
    .expect("config");
    let app = devices::app(sessions);
    let mut phone = Client::new("phone");
    let mut laptop = Client::new("laptop");
    phone.call(&app, "POST", "/login", "user=alice").await;
    laptop.call(&app, "POST", "/login", "user=alice").await;

    let (_, page) = laptop.call(&app, "GET", "/devices", "").await;
    assert!(
        page.starts_with("alice is logged in on 2 device(s)"),
        "{page}"
    );
    assert!(page.contains("- laptop (this one)"), "{page}");
    assert!(page.contains("- phone, since"), "{page}");

    let (_, body) = laptop.call(&app, "POST", "/log-out-others", "").await;
    assert_eq!(body, "your other sessions are logged out");
    let (_, page) = laptop.call(&app, "GET", "/devices", "").await;
    assert!(
        page.starts_with("alice is logged in on 1 device(s)"),
        "{page}"
    );
    assert_eq!(
        phone.call(&app, "GET", "/devices", "").await.1,
        "not logged in"
    );
}

#[tokio::test]
async fn bearer_tokens_carry_the_session_without_cookies() {
    let app = bearer_tokens::app(bearer_tokens::sessions().expect("config"));
    let mut client = Client::new("api client");
    let (status, _) = client.call(&app, "GET", "/me", "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    client.call(&app, "POST", "/login", "user=alice").await;
    assert!(client.cookie.is_none(), "no cookie with a header transport");
    let token = client.token.clone().expect("a token after the login");
    assert_eq!(client.call(&app, "GET", "/me", "").await.1, "alice");

    let mut copy = client.clone();
    client.call(&app, "POST", "/logout", "").await;
    let (status, _) = copy.call(&app, "GET", "/me", "").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the token {token} is dead after the logout"
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL: DATABASE_URL"]
async fn production_store_keeps_sessions_in_postgres() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL for the PostgreSQL tests");
    let store = production_store::store(&url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let app = production_store::app(store).expect("config");
    let mut browser = Client::new("browser");
    assert_eq!(browser.call(&app, "GET", "/", "").await.1, "visits: 1");
    let cookie = browser.cookie.clone().expect("a session id cookie");
    assert_eq!(cookie.len(), 43, "the cookie holds only the id: {cookie}");
    assert_eq!(browser.call(&app, "GET", "/", "").await.1, "visits: 2");

    // Another instance of the app on the same database serves the session.
    let other = production_store::app(production_store::store(&url).await.expect("connect"))
        .expect("config");
    assert_eq!(browser.call(&other, "GET", "/", "").await.1, "visits: 3");
}
