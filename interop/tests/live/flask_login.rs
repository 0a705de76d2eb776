//! Live: a real Flask app with Flask-Login and Flask-WTF
//! (`examples/flask_login_bridge/app.py`, `SESSION_PROTECTION = "strong"`)
//! beside the Rust app of the same pages (`examples/login_bridge.rs`),
//! sharing one `SECRET_KEY` and one cookie jar, as a browser would for two
//! apps on one host. Both clocks are frozen at `T` where bytes are compared.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use websession::flask::SessionProtection;
use websession::Key;
use websession_interop::{frozen_clock, request, Flask, Reply};

const SECRET: &str = "the Flask-Login interop secret, 32+ bytes";
const T: i64 = 1_750_000_000;
const UA1: &str = "Mozilla/5.0 (first browser)";
const UA2: &str = "Mozilla/5.0 (another browser)";

/// The Rust app on a free port, its clock frozen by `now` (0: the system clock).
struct RustApp {
    port: u16,
    now: Arc<AtomicI64>,
}

impl RustApp {
    async fn start() -> Self {
        let (clock, now) = frozen_clock();
        let key = Key::from_utf8(SECRET).expect("key");
        let app = websession_examples::login_bridge::router(&key, SessionProtection::Strong, clock)
            .expect("router");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await;
        });
        Self { port, now }
    }
}

async fn flask() -> Flask {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/flask_login_bridge/app.py");
    Flask::start_script(
        script,
        &["strong"],
        &[("SECRET_KEY", SECRET), ("WEBSESSION_TEST_HOOKS", "1")],
    )
    .await
}

/// Both apps, frozen at `t`.
async fn apps_at(t: i64) -> (Flask, RustApp) {
    let (flask, rust) = (flask().await, RustApp::start().await);
    freeze(&flask, &rust, t).await;
    (flask, rust)
}

async fn freeze(flask: &Flask, rust: &RustApp, t: i64) {
    let reply = flask.get(&format!("/config?now={t}"), None).await;
    assert_eq!(reply.body, "ok");
    rust.now.store(t, Ordering::SeqCst);
}

/// A browser's cookies for 127.0.0.1 (both apps).
#[derive(Clone, Default, Debug)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn update(&mut self, reply: &Reply) {
        for c in &reply.set_cookie {
            let pair = c.split(';').next().unwrap_or("");
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            if c.contains("Max-Age=0") {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn without(&self, name: &str) -> Self {
        let mut jar = self.clone();
        jar.0.remove(name);
        jar
    }
}

/// One request from a browser with `ua` and the jar's cookies; the jar
/// takes the response's cookies.
async fn call(
    port: u16,
    method: &str,
    path: &str,
    jar: &mut Jar,
    ua: &str,
    form: Option<&str>,
) -> Reply {
    call_with(port, method, path, jar, &[("User-Agent", ua)], form).await
}

/// As [`call`], with these headers (and the jar's cookies).
async fn call_with(
    port: u16,
    method: &str,
    path: &str,
    jar: &mut Jar,
    extra: &[(&str, &str)],
    form: Option<&str>,
) -> Reply {
    let cookie = jar.header();
    let mut headers = extra.to_vec();
    if !cookie.is_empty() {
        headers.push(("Cookie", cookie.as_str()));
    }
    let reply = request(port, method, path, &headers, form).await;
    jar.update(&reply);
    reply
}

async fn get(port: u16, path: &str, jar: &mut Jar) -> Reply {
    call(port, "GET", path, jar, UA1, None).await
}

/// The `csrf_token` of a rendered login form.
fn form_token(html: &str) -> String {
    let at = html
        .find(r#"name="csrf_token""#)
        .expect("a csrf_token field");
    let rest = &html[at..];
    let start = rest.find(r#"value=""#).expect("a value") + 7;
    let end = rest[start..].find('"').expect("closing quote");
    rest[start..start + end].to_owned()
}

/// Renders the login form on `port`, posts it back to `post_to`.
async fn log_in(render_on: u16, post_to: u16, jar: &mut Jar, remember: bool) -> Reply {
    let token = form_token(&get(render_on, "/login", jar).await.body);
    post_login(post_to, jar, &token, remember).await
}

/// Posts the login form with this CSRF token.
async fn post_login(post_to: u16, jar: &mut Jar, token: &str, remember: bool) -> Reply {
    let remember = if remember { "&remember=y" } else { "" };
    let form = format!("csrf_token={token}&username=alice&password=wonderland{remember}");
    let reply = call(post_to, "POST", "/login", jar, UA1, Some(&form)).await;
    assert_eq!(reply.status, 302, "login: {}", reply.body);
    reply
}

#[tokio::test]
#[ignore = "needs Python with the pinned Flask, Flask-Login, Flask-WTF (WEBSESSION_PYTHON; .ci/run sets it)"]
async fn a_login_on_either_side_is_a_fresh_login_on_both() {
    let (flask, rust) = apps_at(T).await;

    for (login_on, other) in [(flask.port, rust.port), (rust.port, flask.port)] {
        let mut jar = Jar::default();
        log_in(login_on, login_on, &mut jar, false).await;
        for port in [other, login_on] {
            let body = get(port, "/whoami", &mut jar).await.body;
            assert_eq!(
                body, "alice fresh=True",
                "logged in on {login_on}, asked {port}"
            );
        }
    }

    // One rendered form (one raw CSRF token in the session) posted to
    // either side: the same bytes, session and remember cookie.
    let mut jar = Jar::default();
    let token = form_token(&get(flask.port, "/login", &mut jar).await.body);
    let (mut a, mut b) = (jar.clone(), jar.clone());
    let from_flask = post_login(flask.port, &mut a, &token, true).await;
    let from_rust = post_login(rust.port, &mut b, &token, true).await;
    assert_eq!(
        from_rust.set_cookie, from_flask.set_cookie,
        "login Set-Cookie"
    );
}

#[tokio::test]
#[ignore = "needs Python with the pinned Flask, Flask-Login, Flask-WTF (WEBSESSION_PYTHON; .ci/run sets it)"]
async fn a_flash_shows_once_on_either_side() {
    let (flask, rust) = apps_at(T).await;
    let shown = r#"[["message", "Logged in successfully."]]"#;

    // Flashed by Flask's login, shown by Rust, then gone on both.
    let mut jar = Jar::default();
    log_in(flask.port, flask.port, &mut jar, false).await;
    assert_eq!(get(rust.port, "/flashes", &mut jar).await.body, shown);
    assert_eq!(get(flask.port, "/flashes", &mut jar).await.body, "[]");
    assert_eq!(get(rust.port, "/flashes", &mut jar).await.body, "[]");

    // Flashed by Rust's login, shown by Flask, then gone on both.
    let mut jar = Jar::default();
    log_in(rust.port, rust.port, &mut jar, false).await;
    assert_eq!(get(flask.port, "/flashes", &mut jar).await.body, shown);
    assert_eq!(get(rust.port, "/flashes", &mut jar).await.body, "[]");
    assert_eq!(get(flask.port, "/flashes", &mut jar).await.body, "[]");
}

/// Posts `/submit` with `form` to both apps from copies of `jar` and
/// checks both answer `status` and `body`.
async fn submit_both(
    flask: &Flask,
    rust: &RustApp,
    jar: &Jar,
    form: &str,
    header: Option<&str>,
    status: u16,
    body: &str,
) {
    for port in [flask.port, rust.port] {
        let mut jar = jar.clone();
        let mut headers = vec![("User-Agent", UA1)];
        if let Some(token) = header {
            headers.push(("X-CSRFToken", token));
        }
        let reply = call_with(port, "POST", "/submit", &mut jar, &headers, Some(form)).await;
        let side = if port == flask.port { "Flask" } else { "Rust" };
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (status, body),
            "{side}: {form} {header:?}"
        );
    }
}

#[tokio::test]
#[ignore = "needs Python with the pinned Flask, Flask-Login, Flask-WTF (WEBSESSION_PYTHON; .ci/run sets it)"]
async fn csrf_tokens_cross_over_and_both_refuse_the_same_way() {
    let (flask, rust) = apps_at(T).await;
    let mut jar = Jar::default();
    let from_flask = form_token(&get(flask.port, "/login", &mut jar).await.body);
    let from_rust = form_token(&get(rust.port, "/login", &mut jar).await.body);
    // One raw token in the session, one second: one signed token.
    assert_eq!(from_rust, from_flask);

    let ok = |t: &str| format!("csrf_token={t}");
    submit_both(&flask, &rust, &jar, &ok(&from_flask), None, 200, "accepted").await;
    submit_both(&flask, &rust, &jar, "", Some(&from_rust), 200, "accepted").await;

    submit_both(
        &flask,
        &rust,
        &jar,
        "",
        None,
        400,
        "The CSRF token is missing.",
    )
    .await;
    submit_both(
        &flask,
        &rust,
        &jar,
        "csrf_token=",
        None,
        400,
        "The CSRF token is missing.",
    )
    .await;
    // The signature's first character: all six of its bits are signature
    // bits. (The last character also holds padding bits that Python's
    // base64 ignores, so changing it can leave the signature intact there.)
    let sig = from_flask.rfind('.').expect("a signed token") + 1;
    let first = &from_flask[sig..=sig];
    let tampered = format!(
        "{}{}{}",
        &from_flask[..sig],
        if first == "A" { 'B' } else { 'A' },
        &from_flask[sig + 1..]
    );
    submit_both(
        &flask,
        &rust,
        &jar,
        &ok(&tampered),
        None,
        400,
        "The CSRF token is invalid.",
    )
    .await;
    submit_both(
        &flask,
        &rust,
        &Jar::default(),
        &ok(&from_flask),
        None,
        400,
        "The CSRF session token is missing.",
    )
    .await;

    // A token rendered by the other side, an hour and a second later.
    freeze(&flask, &rust, T + 3601).await;
    submit_both(
        &flask,
        &rust,
        &jar,
        &ok(&from_rust),
        None,
        400,
        "The CSRF token has expired.",
    )
    .await;
    freeze(&flask, &rust, T + 3600).await;
    submit_both(&flask, &rust, &jar, &ok(&from_rust), None, 200, "accepted").await;
}

#[tokio::test]
#[ignore = "needs Python with the pinned Flask, Flask-Login, Flask-WTF (WEBSESSION_PYTHON; .ci/run sets it)"]
async fn the_remember_cookie_restores_the_login_on_both_sides() {
    let (flask, rust) = apps_at(T).await;
    for (login_on, name) in [(flask.port, "Flask"), (rust.port, "Rust")] {
        let mut jar = Jar::default();
        log_in(login_on, login_on, &mut jar, true).await;
        assert!(
            jar.0.contains_key("remember_token"),
            "{name}: remember_token set"
        );
        // The browser closed: the session cookie is gone, the remember cookie stays.
        let restored = jar.without("session");
        let mut on_flask = restored.clone();
        let mut on_rust = restored.clone();
        let f = get(flask.port, "/whoami", &mut on_flask).await;
        let r = get(rust.port, "/whoami", &mut on_rust).await;
        assert_eq!(f.body, "alice fresh=False", "{name}: Flask restores");
        assert_eq!(r.body, "alice fresh=False", "{name}: Rust restores");
        assert_eq!(
            r.set_cookie, f.set_cookie,
            "{name}: the restored session, byte for byte"
        );

        // A tampered remember cookie (bob's id under alice's digest) restores nobody.
        let token = restored.0["remember_token"].clone();
        let (_, digest) = token.rsplit_once('|').expect("id|digest");
        let mut forged = Jar::default();
        forged
            .0
            .insert("remember_token".into(), format!("2|{digest}"));
        assert_eq!(
            get(flask.port, "/whoami", &mut forged.clone()).await.body,
            "anonymous"
        );
        assert_eq!(
            get(rust.port, "/whoami", &mut forged).await.body,
            "anonymous"
        );
    }
}

#[tokio::test]
#[ignore = "needs Python with the pinned Flask, Flask-Login, Flask-WTF (WEBSESSION_PYTHON; .ci/run sets it)"]
async fn strong_protection_logs_out_a_changed_user_agent_identically() {
    let (flask, rust) = apps_at(T).await;
    let mut jar = Jar::default();
    log_in(flask.port, flask.port, &mut jar, true).await;
    let (mut on_flask, mut on_rust) = (jar.clone(), jar.clone());
    let f = call(flask.port, "GET", "/whoami", &mut on_flask, UA2, None).await;
    let r = call(rust.port, "GET", "/whoami", &mut on_rust, UA2, None).await;
    assert_eq!(
        (f.body.as_str(), r.body.as_str()),
        ("anonymous", "anonymous")
    );
    assert_eq!(
        r.set_cookie, f.set_cookie,
        "same session left, same remember cookie deletion"
    );
    assert!(r
        .set_cookie
        .iter()
        .any(|c| c.starts_with("remember_token=;")));
    // Back with the first browser: still logged out, on both.
    assert_eq!(
        get(flask.port, "/whoami", &mut on_rust).await.body,
        "anonymous"
    );
    assert_eq!(
        get(rust.port, "/whoami", &mut on_flask).await.body,
        "anonymous"
    );
}

#[tokio::test]
#[ignore = "needs Python with the pinned Flask, Flask-Login, Flask-WTF (WEBSESSION_PYTHON; .ci/run sets it)"]
async fn a_logout_on_either_side_ends_the_login_on_both() {
    let (flask, rust) = apps_at(T).await;
    // One rendered form, so both logins hold the same raw CSRF token.
    let mut rendered = Jar::default();
    let token = form_token(&get(rust.port, "/login", &mut rendered).await.body);
    let mut replies = Vec::new();
    for (logout_on, other) in [(rust.port, flask.port), (flask.port, rust.port)] {
        let mut jar = rendered.clone();
        post_login(other, &mut jar, &token, true).await;
        let out = get(logout_on, "/logout", &mut jar).await;
        assert_eq!(out.status, 302);
        assert!(
            !jar.0.contains_key("remember_token"),
            "the remember cookie is deleted"
        );
        assert_eq!(get(other, "/whoami", &mut jar).await.body, "anonymous");
        assert_eq!(get(logout_on, "/whoami", &mut jar).await.body, "anonymous");
        replies.push(out.set_cookie);
    }
    // Logging out of a Rust login on Rust, and of a Flask login on Flask,
    // at one frozen second: the same headers.
    assert_eq!(replies[0], replies[1]);
}
