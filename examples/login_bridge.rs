//! The Rust half of the Flask-Login bridge: the same pages as
//! `examples/flask_login_bridge/app.py` (Flask, Flask-Login, Flask-WTF),
//! written with `websession::flask`. Used by the `flask_login_bridge`
//! example and by the live tests in `interop/`.

use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use websession::flask::{
    CsrfRejected, CsrfRequest, FlashExt, FlaskCsrf, FlaskLogin, FlaskLoginConfig, Login,
    LoginOptions, SessionProtection,
};
use websession::{Clock, Key, KeyRing, SessionConfig, SessionManagerLayer, Sessions, Value};

use crate::escape_html;

/// The tiny user table, as in the Flask app: id, name, password.
const USERS: [(&str, &str, &str); 2] = [("1", "alice", "wonderland"), ("2", "bob", "builder")];

fn user_name(id: &str) -> Option<&'static str> {
    USERS
        .iter()
        .find(|(uid, _, _)| *uid == id)
        .map(|(_, name, _)| *name)
}

/// The login form's fields (all optional, so a form without a CSRF token is
/// refused for that, as Flask-WTF does, not for a missing field).
#[derive(serde::Deserialize)]
struct LoginForm {
    username: Option<String>,
    password: Option<String>,
    remember: Option<String>,
    csrf_token: Option<String>,
}

#[derive(Clone)]
struct AppState {
    csrf: FlaskCsrf,
}

/// Flask's `redirect("/")`: a 302.
fn redirect_home() -> Response {
    (StatusCode::FOUND, [(LOCATION, "/")]).into_response()
}

/// The current user's name, as Flask's `current_user.name` (an id the
/// table doesn't know is anonymous, as with Flask-Login's `user_loader`).
fn current_user(login: &Login) -> Option<&'static str> {
    login.user_id().as_deref().and_then(user_name)
}

fn python_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

async fn home(login: Login) -> Html<String> {
    let who = match current_user(&login) {
        Some(name) => format!(
            "Rust sees <b>{}</b> (fresh: {}). <a href=/logout>Log out</a>",
            escape_html(name),
            python_bool(login.is_fresh())
        ),
        None => "Rust sees nobody. <a href=/login>Log in</a>".to_owned(),
    };
    let messages: String = login
        .session()
        .take_flashes()
        .iter()
        .map(|f| {
            format!(
                "<li class={}>{}</li>",
                escape_html(&f.category),
                escape_html(&f.message)
            )
        })
        .collect();
    Html(format!(
        "<p>{who}</p><ul>{messages}</ul><p><a href=http://127.0.0.1:5001/>The Flask app</a></p>"
    ))
}

async fn login_form(login: Login, State(state): State<AppState>) -> Html<String> {
    let token = state.csrf.generate(login.session());
    Html(format!(
        r#"<form method="post" action="/login">
<input id="csrf_token" name="csrf_token" type="hidden" value="{token}">
<label>Username <input id="username" name="username" type="text" value=""></label>
<label>Password <input id="password" name="password" type="password" value=""></label>
<label><input id="remember" name="remember" type="checkbox" value="y"> Remember me</label>
<button>Log in</button>
</form>"#
    ))
}

/// The posted token: the form field, else Flask-WTF's headers.
fn posted_token<'a>(
    csrf: &FlaskCsrf,
    field: Option<&'a str>,
    headers: &'a HeaderMap,
) -> Option<&'a str> {
    field
        .filter(|t| !t.is_empty())
        .or_else(|| csrf.header_token(|name| headers.get(name)?.to_str().ok()))
}

async fn login(
    login: Login,
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, CsrfRejected> {
    let token = posted_token(&state.csrf, form.csrf_token.as_deref(), &headers);
    state
        .csrf
        .protect(login.session(), &CsrfRequest::new("POST").with_token(token))?;
    let user = USERS.iter().find(|(_, name, password)| {
        form.username.as_deref() == Some(*name) && form.password.as_deref() == Some(*password)
    });
    let Some((id, _, _)) = user else {
        return Ok((StatusCode::UNAUTHORIZED, "Invalid username or password.").into_response());
    };
    // WTForms' BooleanField: any non-empty value but "false" is checked.
    let remember = form
        .remember
        .as_deref()
        .is_some_and(|v| !v.is_empty() && v != "false");
    login.login_user_with(id, LoginOptions::default().with_remember(remember));
    login.session().flash("message", "Logged in successfully.");
    Ok(redirect_home())
}

async fn logout(login: Login) -> Response {
    login.logout_user();
    login.session().flash("message", "You were logged out.");
    redirect_home()
}

async fn whoami(login: Login) -> String {
    match current_user(&login) {
        Some(name) => format!("{name} fresh={}", python_bool(login.is_fresh())),
        None => "anonymous".to_owned(),
    }
}

async fn flashes(login: Login) -> String {
    let pairs: Vec<[String; 2]> = login
        .session()
        .take_flashes()
        .into_iter()
        .map(|f| [f.category, f.message])
        .collect();
    // Python's json.dumps layout, so both apps answer the same bytes (a
    // string in Flask's tagged JSON is json.dumps' ASCII-only string).
    let text = |s: &str| Value::from(s).to_tagged_json();
    let items: Vec<String> = pairs
        .iter()
        .map(|[c, m]| format!("[{}, {}]", text(c), text(m)))
        .collect();
    format!("[{}]", items.join(", "))
}

#[derive(serde::Deserialize)]
struct SubmitForm {
    csrf_token: Option<String>,
}

async fn submit(
    login: Login,
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SubmitForm>,
) -> Result<&'static str, CsrfRejected> {
    let token = posted_token(&state.csrf, form.csrf_token.as_deref(), &headers);
    state
        .csrf
        .protect(login.session(), &CsrfRequest::new("POST").with_token(token))?;
    Ok("accepted")
}

/// The bridge app: Flask's session cookie settings, Flask-Login with
/// `protection`, Flask-WTF's CSRF tokens, all keyed with `secret` (Flask's
/// `SECRET_KEY`), reading time from `clock`.
///
/// Serve it with `into_make_service_with_connect_info::<SocketAddr>()`, so
/// Flask-Login's identifier sees the client's address as Flask does.
///
/// # Errors
///
/// A configuration websession refuses (it doesn't, for these settings).
pub fn router(secret: &Key, protection: SessionProtection, clock: Clock) -> anyhow::Result<Router> {
    let sessions = Sessions::signed(
        KeyRing::new(secret.clone()),
        SessionConfig::flask().with_clock(clock),
    )?;
    let login = FlaskLogin::new(
        secret,
        FlaskLoginConfig::default().with_session_protection(protection),
    )?;
    let state = AppState {
        csrf: FlaskCsrf::new(secret),
    };
    Ok(Router::new()
        .route("/", get(home))
        .route("/login", get(login_form).post(self::login))
        .route("/logout", get(logout))
        .route("/whoami", get(whoami))
        .route("/flashes", get(flashes))
        .route("/submit", post(submit))
        .with_state(state)
        .layer(login.layer())
        .layer(SessionManagerLayer::new(sessions)))
}
