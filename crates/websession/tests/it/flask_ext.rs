//! The Flask extensions (flash, Flask-Login, Flask-WTF) against whole
//! requests recorded from the real Flask app of
//! `interop/make_flask_ext_vectors.py`: the same requests through an axum
//! app using `websession::flask` give the same status, body and every
//! `Set-Cookie` byte for byte.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::Value as J;
use tower::ServiceExt;
use websession::flask::{
    CsrfRejected, CsrfRequest, FlashExt, FlaskCsrf, FlaskLogin, FlaskLoginConfig, Login,
    LoginOptions, SessionProtection,
};
use websession::{Key, KeyRing, Session, SessionConfig, SessionManagerLayer, Sessions, Value};
use websession_core::testing::{flask_ext_vectors, ManualClock};

const RAW_CSRF: &str = "5f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c";

fn python_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// `a=1&b=2` with `+` and `%XX` decoded.
fn parse_form(body: &[u8]) -> HashMap<String, String> {
    let decode = |s: &str| {
        let b = s.replace('+', " ");
        let b = b.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' && i + 2 < b.len() {
                if let Ok(v) =
                    u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    out.push(v);
                    i += 3;
                    continue;
                }
            }
            out.push(b[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    std::str::from_utf8(body)
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.split_once('=').map(|(k, v)| (decode(k), decode(v))))
        .collect()
}

async fn login(login: Login, Query(q): Query<HashMap<String, String>>) -> &'static str {
    let mut options =
        LoginOptions::default().with_remember(q.get("remember").map(String::as_str) == Some("1"));
    if let Some(days) = q.get("days").and_then(|d| d.parse::<u64>().ok()) {
        options = options.with_remember_duration(std::time::Duration::from_secs(days * 86_400));
    }
    login.login_user_with(&q["user"], options);
    login.session().flash("message", "Logged in successfully.");
    "ok"
}

async fn whoami(login: Login) -> String {
    match login.user_id() {
        Some(id) => format!("{id} fresh={}", python_bool(login.is_fresh())),
        None => "anonymous".into(),
    }
}

async fn logout(login: Login) -> &'static str {
    login.logout_user();
    login.session().flash("info", "You were logged out.");
    "ok"
}

async fn do_flash(session: Session, Query(q): Query<HashMap<String, String>>) -> &'static str {
    let category = q.get("c").map_or("message", String::as_str);
    session.flash(category, &q["m"]);
    "ok"
}

async fn flashes(session: Session, Query(q): Query<Vec<(String, String)>>) -> String {
    let filter: Vec<&str> = q
        .iter()
        .filter(|(k, _)| k == "c")
        .map(|(_, v)| v.as_str())
        .collect();
    let pairs = |list: Vec<websession::flask::Flash>| -> J {
        list.into_iter()
            .map(|f| J::from(vec![f.category, f.message]))
            .collect()
    };
    let first = pairs(session.take_flashes_in(&filter));
    let again = pairs(session.take_flashes());
    serde_json::json!({ "first": first, "again": again }).to_string()
}

async fn form(session: Session, State(csrf): State<FlaskCsrf>) -> String {
    session.insert_value("csrf_token", Value::from(RAW_CSRF));
    csrf.generate(&session)
}

async fn submit(
    session: Session,
    State(csrf): State<FlaskCsrf>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<&'static str, CsrfRejected> {
    let form = parse_form(&body);
    let field = form
        .get(csrf.field_name())
        .filter(|t| !t.is_empty())
        .map(String::as_str);
    let token = field.or_else(|| csrf.header_token(|name| headers.get(name)?.to_str().ok()));
    csrf.protect(&session, &CsrfRequest::new("POST").with_token(token))?;
    Ok("accepted")
}

fn login_config(flow: &J) -> FlaskLoginConfig {
    FlaskLoginConfig::default()
        .with_session_protection(protection(flow))
        .with_refresh_each_request(flow["refresh_each_request"].as_bool().unwrap_or(false))
}

fn app(flow: &J, clock: &ManualClock, key: &Key) -> Router {
    let login_manager = FlaskLogin::new(key, login_config(flow)).expect("config");
    let sessions = Sessions::signed(
        KeyRing::new(key.clone()),
        SessionConfig::flask().with_clock(clock.clock()),
    )
    .expect("sessions");
    Router::new()
        .route("/login", get(login))
        .route("/whoami", get(whoami))
        .route("/logout", get(logout))
        .route("/flash", get(do_flash))
        .route("/flashes", get(flashes))
        .route("/form", get(form))
        .route("/submit", post(submit))
        .with_state(FlaskCsrf::new(key))
        .layer(login_manager.layer())
        .layer(SessionManagerLayer::new(sessions))
}

async fn send(app: &Router, step: &J) -> (u16, String, Vec<String>) {
    let mut req = Request::builder()
        .method(step["method"].as_str().expect("method"))
        .uri(step["path"].as_str().expect("path"));
    for (k, v) in step["headers"].as_object().expect("headers") {
        req = req.header(k.as_str(), v.as_str().expect("header"));
    }
    let form = step["form"].as_object().expect("form");
    let body = if form.is_empty() {
        Body::empty()
    } else {
        req = req.header("content-type", "application/x-www-form-urlencoded");
        let pairs: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().expect("value")))
            .collect();
        Body::from(pairs.join("&"))
    };
    let mut req = req.body(body).expect("request");
    let ip = step["remote_addr"]
        .as_str()
        .expect("addr")
        .parse()
        .expect("ip");
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::new(ip, 0)));
    let res: Response = app
        .clone()
        .oneshot(req)
        .await
        .expect("infallible")
        .into_response();
    let status = res.status().as_u16();
    let cookies = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .collect();
    let body = res.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned(), cookies)
}

/// What Flask answered to `step`, compared with what Rust answered.
fn check(at: &str, step: &J, status: u16, body: &str, cookies: &[String]) {
    assert_eq!(
        u64::from(status),
        step["status"].as_u64().expect("status"),
        "{at}"
    );
    let expected_body = step["body"].as_str().expect("body");
    if step["path"]
        .as_str()
        .is_some_and(|p| p.starts_with("/flashes"))
    {
        let a: J = serde_json::from_str(body).expect("json");
        let b: J = serde_json::from_str(expected_body).expect("json");
        assert_eq!(a, b, "{at}");
    } else {
        assert_eq!(body, expected_body, "{at}");
    }
    let expected: Vec<&str> = step["set_cookie"]
        .as_array()
        .expect("set_cookie")
        .iter()
        .map(|c| c.as_str().expect("cookie"))
        .collect();
    assert_eq!(cookies, expected.as_slice(), "{at}");
}

fn protection(flow: &J) -> SessionProtection {
    match flow["session_protection"].as_str() {
        Some("strong") => SessionProtection::Strong,
        Some("basic") => SessionProtection::Basic,
        _ => SessionProtection::Off,
    }
}

fn flow_key() -> Key {
    let v = flask_ext_vectors();
    Key::from_utf8(v["flow_secret_key"].as_str().expect("key")).expect("key")
}

#[tokio::test]
async fn flask_login_flash_and_csrf_flows_match_flask_byte_for_byte() {
    let v = flask_ext_vectors();
    let key = flow_key();
    let flows = v["flows"].as_array().expect("flows");
    assert_eq!(flows.len(), 7);
    for flow in flows {
        let clock = ManualClock::at(0);
        let app = app(flow, &clock, &key);
        for (i, step) in flow["steps"].as_array().expect("steps").iter().enumerate() {
            clock.set(step["now"].as_i64().expect("now"));
            let (status, body, cookies) = send(&app, step).await;
            let at = format!("{} step {i} ({})", flow["name"], step["path"]);
            check(&at, step, status, &body, &cookies);
        }
    }
}

/// `GET path` with a session cookie and a fixed client; the new
/// `session` cookie value, if any, and the body.
async fn get_with(app: &Router, path: &str, session: Option<&str>) -> (Option<String>, String) {
    let mut req = Request::builder()
        .uri(path)
        .header("user-agent", "test agent");
    if let Some(id) = session {
        req = req.header("cookie", format!("session={id}"));
    }
    let mut req = req.body(Body::empty()).expect("request");
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 4000))));
    let res = app.clone().oneshot(req).await.expect("infallible");
    let cookie = res.headers().get_all("set-cookie").iter().find_map(|v| {
        let v = v.to_str().ok()?.strip_prefix("session=")?;
        Some(v.split(';').next().unwrap_or("").to_owned())
    });
    let body = res.into_body().collect().await.expect("body").to_bytes();
    (cookie, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn login_moves_a_store_session_to_a_new_id() {
    let key = flow_key();
    let store = websession::store::MemoryStore::new();
    let sessions = Sessions::store(store, SessionConfig::flask()).expect("sessions");
    let manager = FlaskLogin::new(&key, FlaskLoginConfig::default()).expect("config");
    let app = Router::new()
        .route("/login", get(login))
        .route("/whoami", get(whoami))
        .route("/flash", get(do_flash))
        .layer(manager.layer())
        .layer(SessionManagerLayer::new(sessions));
    let (before, _) = get_with(&app, "/flash?m=hello", None).await;
    let before = before.expect("a new session");
    let (after, _) = get_with(&app, "/login?user=42", Some(&before)).await;
    let after = after.expect("the login rotates the session");
    assert_ne!(after, before);
    // The old id is dead; the new one carries the login and the flashes.
    assert_eq!(
        get_with(&app, "/whoami", Some(&before)).await.1,
        "anonymous"
    );
    assert_eq!(
        get_with(&app, "/whoami", Some(&after)).await.1,
        "42 fresh=True"
    );
}

#[test]
fn debug_output_hides_secrets() {
    let key = Key::from_utf8("a very secret key value for debug").expect("key");
    let login = FlaskLogin::new(&key, FlaskLoginConfig::default()).expect("config");
    let csrf = FlaskCsrf::new(&key);
    let client =
        websession::flask::ClientInfo::new().with_remember_cookie(login.remember_token("42"));
    let shown = format!("{login:?} {csrf:?} {client:?}");
    assert!(
        !shown.contains("very secret") && !shown.contains("42|"),
        "{shown}"
    );
}

#[test]
fn bad_remember_cookie_settings_are_config_errors() {
    let key = Key::generate();
    assert!(FlaskLogin::new(
        &key,
        FlaskLoginConfig::default().with_cookie(|c| c.with_name("a b"))
    )
    .is_err());
    assert!(FlaskLogin::new(
        &key,
        FlaskLoginConfig::default().with_cookie(|c| c.with_path("nope"))
    )
    .is_err());
    assert!(FlaskLogin::new(
        &key,
        FlaskLoginConfig::default()
            .with_cookie(|c| c.with_same_site(Some(websession::SameSite::None)))
    )
    .is_err());
    assert!(FlaskLogin::new(
        &key,
        FlaskLoginConfig::default().with_duration(std::time::Duration::ZERO)
    )
    .is_err());
}

/// The same flows through the actix-web middleware and extractor (the
/// CSRF flow's handlers are framework-free and run above).
mod on_actix {
    use std::collections::HashMap;
    use std::net::SocketAddr;

    use actix_web::http::header::SET_COOKIE;
    use actix_web::{test, web, App};
    use websession::actix::SessionMiddleware;
    use websession::flask::{FlashExt, FlaskLogin, Login, LoginOptions};
    use websession::{KeyRing, Session, SessionConfig, Sessions};
    use websession_core::testing::{flask_ext_vectors, ManualClock};

    async fn login(login: Login, q: web::Query<HashMap<String, String>>) -> &'static str {
        let remember = q.get("remember").map(String::as_str) == Some("1");
        let mut options = LoginOptions::default().with_remember(remember);
        if let Some(days) = q.get("days").and_then(|d| d.parse::<u64>().ok()) {
            options = options.with_remember_duration(std::time::Duration::from_secs(days * 86_400));
        }
        login.login_user_with(&q["user"], options);
        login.session().flash("message", "Logged in successfully.");
        "ok"
    }

    async fn logout(login: Login) -> &'static str {
        login.logout_user();
        login.session().flash("info", "You were logged out.");
        "ok"
    }

    async fn flashes(session: Session, q: web::Query<Vec<(String, String)>>) -> String {
        let filter: Vec<&str> = q
            .iter()
            .filter(|(k, _)| k == "c")
            .map(|(_, v)| v.as_str())
            .collect();
        let pairs = |list: Vec<websession::flask::Flash>| -> serde_json::Value {
            list.into_iter()
                .map(|f| serde_json::Value::from(vec![f.category, f.message]))
                .collect()
        };
        let first = pairs(session.take_flashes_in(&filter));
        let again = pairs(session.take_flashes());
        serde_json::json!({ "first": first, "again": again }).to_string()
    }

    async fn do_flash(session: Session, q: web::Query<HashMap<String, String>>) -> &'static str {
        session.flash(q.get("c").map_or("message", String::as_str), &q["m"]);
        "ok"
    }

    #[actix_web::test]
    async fn flask_login_flows_match_flask_on_actix() {
        let v = flask_ext_vectors();
        let key = super::flow_key();
        let mut replayed = 0;
        for flow in v["flows"].as_array().expect("flows") {
            if flow["name"] == "csrf" {
                continue;
            }
            let clock = ManualClock::at(0);
            let sessions = Sessions::signed(
                KeyRing::new(key.clone()),
                SessionConfig::flask().with_clock(clock.clock()),
            )
            .expect("sessions");
            let manager = FlaskLogin::new(&key, super::login_config(flow)).expect("config");
            let app = test::init_service(
                App::new()
                    .wrap(manager.middleware())
                    .wrap(SessionMiddleware::new(sessions))
                    .route("/login", web::get().to(login))
                    .route("/whoami", web::get().to(|l: Login| super::whoami(l)))
                    .route("/logout", web::get().to(logout))
                    .route("/flash", web::get().to(do_flash))
                    .route("/flashes", web::get().to(flashes)),
            )
            .await;
            for (i, step) in flow["steps"].as_array().expect("steps").iter().enumerate() {
                clock.set(step["now"].as_i64().expect("now"));
                let ip = step["remote_addr"]
                    .as_str()
                    .expect("addr")
                    .parse()
                    .expect("ip");
                let mut req = test::TestRequest::get()
                    .uri(step["path"].as_str().expect("path"))
                    .peer_addr(SocketAddr::new(ip, 0));
                for (k, v) in step["headers"].as_object().expect("headers") {
                    req = req.insert_header((k.as_str(), v.as_str().expect("header")));
                }
                let res = test::call_service(&app, req.to_request()).await;
                let status = res.status().as_u16();
                let cookies: Vec<String> = res
                    .headers()
                    .get_all(SET_COOKIE)
                    .map(|v| v.to_str().expect("ascii").to_owned())
                    .collect();
                let body = test::read_body(res).await;
                let at = format!("actix: {} step {i} ({})", flow["name"], step["path"]);
                super::check(&at, step, status, &String::from_utf8_lossy(&body), &cookies);
                replayed += 1;
            }
        }
        assert!(replayed >= 20, "{replayed} steps");
    }
}
