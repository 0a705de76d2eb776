//! "Where you're logged in" for the pet-name demo: a demo sign-in (a user
//! name, no password), the devices page, "log out my other sessions" and
//! "log out everywhere", in every mode the demo runs in.
//!
//! The same calls in every mode ([`Session::log_in`], [`Session::user`],
//! [`Session::purge`], and the sessions' [`Logins`]); what differs is what
//! the mode can do:
//!
//! | mode | list the sessions | log out the others | log out everywhere |
//! |---|---|---|---|
//! | store (`WEBSESSION_STORE`) | yes | yes, at once | yes, at once |
//! | cookies with `WEBSESSION_REVOCATION` | no: the server keeps no list | yes, within the staleness on other servers | likewise |
//! | plain cookies | no `Logins` | no | no: a copied cookie works until it expires |
//!
//! The page logic is framework-free (functions of a [`Session`] and
//! [`Accounts`]); [`routes`] mounts it on axum and [`actix::routes`] on
//! actix-web.
//!
//! The actions are `POST` forms without a CSRF token: the session cookie is
//! `SameSite=Lax`, so another site's form can't post with it. An app that
//! loosens that needs a token (`websession::flask::FlaskCsrf`).

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use websession::{Clock, Device, Logins, Session, SessionError, Sessions, Value};

use crate::escape_html;

/// The session key holding the sign-in time, Unix seconds.
pub const SIGNED_IN_AT_KEY: &str = "signed_in_at";
/// The session key holding the browser's `User-Agent` at sign-in (cut to
/// [`MAX_USER_AGENT`] characters, so a huge header can't bloat the cookie).
pub const USER_AGENT_KEY: &str = "user_agent";
/// The longest `User-Agent` kept.
pub const MAX_USER_AGENT: usize = 200;
/// The longest user name accepted.
pub const MAX_USER_NAME: usize = 64;

/// What the account pages can reach besides the request's own session:
/// the sessions' [`Logins`], when the mode has them (store mode, cookie
/// modes with `WEBSESSION_REVOCATION`). Plain cookie sessions have none:
/// they can end only the browser's own cookie.
#[derive(Clone, Debug, Default)]
pub struct Accounts {
    logins: Option<Logins>,
}

impl Accounts {
    /// What `sessions` can do about a user's other sessions.
    #[must_use]
    pub fn new(sessions: &Sessions) -> Self {
        // No `Logins` is an answer here, not an error: the devices page
        // says what plain cookies can't do.
        Self {
            logins: sessions.logins().ok(),
        }
    }
}

/// The signed-in user's name, if any.
#[must_use]
pub fn signed_in_user(session: &Session) -> Option<String> {
    session.user()
}

/// The account line of the home page: who is signed in, and the links.
#[must_use]
pub fn account_bar(session: &Session) -> String {
    match signed_in_user(session) {
        Some(user) => format!(
            "<p>Signed in as <b>{}</b>. <a href=\"/devices\">Where you're logged in</a></p>\
             <form method=\"post\" action=\"/logout\"><button type=\"submit\">Sign out</button></form>",
            escape_html(&user)
        ),
        None => "<p>You are not signed in. <a href=\"/login\">Sign in</a></p>".to_owned(),
    }
}

/// The demo's sign-in form, with an error message (already HTML) above it.
#[must_use]
pub fn login_page(error: &str) -> String {
    format!(
        "<!doctype html><title>Sign in</title>\
         <h1>Sign in</h1>\
         <p><strong>This is a demo sign-in:</strong> there are no passwords and no accounts. \
         Any name signs you in as that user, from any browser. A real app checks a password \
         (or a passkey) here, and then does with the session what this one does: \
         <code>session.log_in(user)</code>.</p>{error}\
         <form method=\"post\" action=\"/login\">\
         <label>User name <input name=\"user\" autofocus required maxlength=\"{MAX_USER_NAME}\"></label> \
         <button type=\"submit\">Sign in</button></form>\
         <p><a href=\"/\">Home</a></p>"
    )
}

/// The form posted to `/login`.
#[derive(serde::Deserialize)]
pub struct LoginForm {
    /// The user name.
    pub user: String,
}

/// Checks a user name: 1 to [`MAX_USER_NAME`] characters after trimming,
/// no control characters.
///
/// # Errors
///
/// What is wrong with it, for the page.
pub fn check_user_name(name: &str) -> Result<&str, &'static str> {
    let name = name.trim();
    if name.is_empty() {
        return Err("Enter a user name.");
    }
    if name.chars().count() > MAX_USER_NAME {
        return Err("That user name is too long.");
    }
    if name.chars().any(char::is_control) {
        return Err("A user name can't hold control characters.");
    }
    Ok(name)
}

/// Signs `session` in as `user`: what the devices page shows, then the
/// login (the user recorded for "log out everywhere", and a new id against
/// fixation). What a real app does after checking the password.
///
/// # Errors
///
/// When a value can't be stored.
pub fn sign_in(session: &Session, user: &str, user_agent: &str) -> Result<(), SessionError> {
    let agent: String = user_agent.chars().take(MAX_USER_AGENT).collect();
    let now = i64::try_from(Clock::system().unix_seconds()).unwrap_or(i64::MAX);
    session.insert(SIGNED_IN_AT_KEY, now)?;
    session.insert(USER_AGENT_KEY, agent)?;
    // Whoever planted or copied the cookie from before the sign-in doesn't
    // get the signed-in session: `log_in` moves it to a new id.
    session.log_in(user);
    session.set_permanent(true);
    Ok(())
}

/// Signs out: the session ends (store mode: its record is deleted; cookie
/// modes with revocation: every copy of its cookie is refused).
pub fn sign_out(session: &Session) {
    session.purge();
}

fn format_time(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
            ))
            .ok()
        })
        .unwrap_or_else(|| "an unknown time".to_owned())
}

fn data_str<'a>(device: &'a Device, key: &str) -> Option<&'a str> {
    match device.data.get(key) {
        Some(Value::Str(s)) => Some(s),
        _ => None,
    }
}

fn data_int(device: &Device, key: &str) -> Option<i64> {
    match device.data.get(key) {
        Some(Value::Int(n)) => Some(*n),
        _ => None,
    }
}

fn seconds(d: std::time::Duration) -> String {
    match d.as_secs() {
        1 => "1 second".to_owned(),
        n => format!("{n} seconds"),
    }
}

const LOG_OUT_OTHERS: &str = "<form method=\"post\" action=\"/devices/logout-others\">\
     <button type=\"submit\" id=\"logout-others\">Log out my other sessions</button></form>";
const LOG_OUT_EVERYWHERE: &str = "<form method=\"post\" action=\"/devices/logout-everywhere\">\
     <button type=\"submit\" id=\"logout-everywhere\">Log out everywhere</button></form>";

/// What `?ended=` reports on the devices page after "log out my other
/// sessions".
#[derive(serde::Deserialize, Default)]
pub struct DevicesQuery {
    /// `others` after "log out my other sessions".
    pub ended: Option<String>,
}

/// The devices page ("where you're logged in").
///
/// # Errors
///
/// The store's, when it can't be reached.
pub async fn devices_page(
    session: &Session,
    accounts: &Accounts,
    ended: Option<&str>,
) -> Result<String, SessionError> {
    let head =
        "<!doctype html><title>Where you're logged in</title><h1>Where you're logged in</h1>";
    let Some(user) = signed_in_user(session) else {
        return Ok(format!(
            "{head}<p>You are not signed in. <a href=\"/login\">Sign in</a></p><p><a href=\"/\">Home</a></p>"
        ));
    };
    let mut page = format!("{head}<p>Signed in as <b>{}</b>.</p>", escape_html(&user));
    if ended == Some("others") {
        page.push_str("<p class=\"notice\">Your other sessions are logged out.</p>");
    }
    let Some(logins) = &accounts.logins else {
        page.push_str(
            "<p id=\"no-list\">Sessions live in signed cookies here, and nothing on the server \
             knows about them: this mode can't list your sessions or log them out. A copy of a \
             cookie works until it expires; signing out ends only this browser's. Run the demo \
             with <code>WEBSESSION_REVOCATION</code> to end them, or <code>WEBSESSION_STORE</code> \
             to list them too.</p><p><a href=\"/\">Home</a></p>",
        );
        return Ok(page);
    };
    match logins.devices(session).await? {
        Some(devices) => {
            // This browser first, then the most recent sign-ins.
            let count = devices.len();
            page.push_str(&format!(
                "<p id=\"count\">{count} session{}:</p><ul>",
                if count == 1 { "" } else { "s" }
            ));
            for device in &devices {
                let agent = data_str(device, USER_AGENT_KEY).unwrap_or("an unknown browser");
                let since = data_int(device, SIGNED_IN_AT_KEY)
                    .map_or_else(|| "an unknown time".to_owned(), format_time);
                let until =
                    i64::try_from(device.expires_at).map_or_else(|_| "later".into(), format_time);
                let here = if device.current {
                    " <b class=\"this\">(this browser)</b>"
                } else {
                    ""
                };
                page.push_str(&format!(
                    "<li class=\"session\">{}, signed in {since}, expires {until}{here}</li>",
                    escape_html(agent)
                ));
            }
            page.push_str("</ul>");
            page.push_str(LOG_OUT_OTHERS);
            page.push_str(LOG_OUT_EVERYWHERE);
            page.push_str(
                "<p>Sessions are kept on the server (<code>WEBSESSION_STORE</code>): \
                 logging one out deletes its record, and its cookie stops working at once, \
                 on every server of the app.</p>",
            );
        }
        None => {
            let staleness = logins.staleness().unwrap_or_default();
            page.push_str(&format!(
                "<p id=\"no-list\">Sessions live in their cookies here, so the server keeps no list of \
                 them: this mode can't show where you're logged in. It can still end them \
                 (<code>WEBSESSION_REVOCATION</code>): each cookie records your sign-in generation, \
                 and both buttons raise it. Cookies signed in before stop working at once on this \
                 server, and within {} on the app's other servers.</p>",
                seconds(staleness)
            ));
            page.push_str(LOG_OUT_OTHERS);
            page.push_str(LOG_OUT_EVERYWHERE);
        }
    }
    page.push_str("<p><a href=\"/\">Home</a></p>");
    Ok(page)
}

/// What an account action did, for the adapters to answer with.
#[derive(Debug, PartialEq, Eq)]
pub enum Done {
    /// Go to this page.
    Redirect(String),
    /// The mode can't do it: answer 501 with this text.
    Unsupported(&'static str),
}

const CANT: &str = "This mode can't end other sessions: plain signed cookies can't be revoked. \
                    Run the demo with WEBSESSION_REVOCATION or WEBSESSION_STORE.";

/// "Log out my other sessions": every session of the signed-in user but
/// this one ends.
///
/// # Errors
///
/// The store's, when it can't be reached.
pub async fn log_out_others(session: &Session, accounts: &Accounts) -> Result<Done, SessionError> {
    if session.user().is_none() {
        return Ok(Done::Redirect("/login".into()));
    }
    let Some(logins) = &accounts.logins else {
        return Ok(Done::Unsupported(CANT));
    };
    if logins.log_out_others(session).await? {
        Ok(Done::Redirect("/devices?ended=others".into()))
    } else {
        // Not kept (not signed in, revoked already, or a second click
        // raced the first): sign in again.
        session.purge();
        Ok(Done::Redirect("/login".into()))
    }
}

/// "Log out everywhere": every session of the signed-in user ends, this
/// one too.
///
/// # Errors
///
/// The store's, when it can't be reached.
pub async fn log_out_everywhere(
    session: &Session,
    accounts: &Accounts,
) -> Result<Done, SessionError> {
    let Some(user) = session.user() else {
        return Ok(Done::Redirect("/login".into()));
    };
    let Some(logins) = &accounts.logins else {
        return Ok(Done::Unsupported(CANT));
    };
    logins.log_out_everywhere(&user).await?;
    session.purge(); // and this browser's cookie goes at once
    Ok(Done::Redirect("/".into()))
}

fn user_agent(headers: &HeaderMap) -> &str {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

impl IntoResponse for Done {
    fn into_response(self) -> Response {
        match self {
            Done::Redirect(to) => Redirect::to(&to).into_response(),
            Done::Unsupported(why) => (StatusCode::NOT_IMPLEMENTED, why).into_response(),
        }
    }
}

async fn login_form() -> Html<String> {
    Html(login_page(""))
}

async fn login(
    session: Session,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, SessionError> {
    match check_user_name(&form.user) {
        Ok(user) => {
            sign_in(&session, user, user_agent(&headers))?;
            Ok(Redirect::to("/").into_response())
        }
        Err(why) => Ok((
            StatusCode::BAD_REQUEST,
            Html(login_page(&format!("<p class=\"error\">{why}</p>"))),
        )
            .into_response()),
    }
}

async fn logout(session: Session) -> Redirect {
    sign_out(&session);
    Redirect::to("/")
}

async fn devices(
    session: Session,
    State(accounts): State<Accounts>,
    Query(query): Query<DevicesQuery>,
) -> Result<Html<String>, SessionError> {
    Ok(Html(
        devices_page(&session, &accounts, query.ended.as_deref()).await?,
    ))
}

async fn others(session: Session, State(accounts): State<Accounts>) -> Result<Done, SessionError> {
    log_out_others(&session, &accounts).await
}

async fn everywhere(
    session: Session,
    State(accounts): State<Accounts>,
) -> Result<Done, SessionError> {
    log_out_everywhere(&session, &accounts).await
}

/// The account routes for axum: `GET`/`POST /login`, `POST /logout`,
/// `GET /devices`, `POST /devices/logout-others`,
/// `POST /devices/logout-everywhere`. Without the session layer.
pub fn routes(accounts: Accounts) -> Router {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/devices", get(devices))
        .route("/devices/logout-others", post(others))
        .route("/devices/logout-everywhere", post(everywhere))
        .with_state(accounts)
}

/// The same routes for actix-web.
pub mod actix {
    use actix_web::http::{header, StatusCode};
    use actix_web::{web, HttpRequest, HttpResponse};
    use websession::{Session, SessionError};

    use super::{
        check_user_name, devices_page, log_out_everywhere, log_out_others, login_page, sign_in,
        sign_out, Accounts, DevicesQuery, Done,
    };

    fn html(status: StatusCode, body: String) -> HttpResponse {
        HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(body)
    }

    fn see_other(to: &str) -> HttpResponse {
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, to))
            .finish()
    }

    fn done(done: Done) -> HttpResponse {
        match done {
            Done::Redirect(to) => see_other(&to),
            Done::Unsupported(why) => HttpResponse::NotImplemented().body(why),
        }
    }

    async fn login_form() -> HttpResponse {
        html(StatusCode::OK, login_page(""))
    }

    async fn login(
        session: Session,
        req: HttpRequest,
        form: web::Form<super::LoginForm>,
    ) -> Result<HttpResponse, SessionError> {
        match check_user_name(&form.user) {
            Ok(user) => {
                let agent = req
                    .headers()
                    .get(header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                sign_in(&session, user, agent)?;
                Ok(see_other("/"))
            }
            Err(why) => Ok(html(
                StatusCode::BAD_REQUEST,
                login_page(&format!("<p class=\"error\">{why}</p>")),
            )),
        }
    }

    async fn logout(session: Session) -> HttpResponse {
        sign_out(&session);
        see_other("/")
    }

    async fn devices(
        session: Session,
        accounts: web::Data<Accounts>,
        query: web::Query<DevicesQuery>,
    ) -> Result<HttpResponse, SessionError> {
        let page = devices_page(&session, &accounts, query.ended.as_deref()).await?;
        Ok(html(StatusCode::OK, page))
    }

    async fn others(
        session: Session,
        accounts: web::Data<Accounts>,
    ) -> Result<HttpResponse, SessionError> {
        Ok(done(log_out_others(&session, &accounts).await?))
    }

    async fn everywhere(
        session: Session,
        accounts: web::Data<Accounts>,
    ) -> Result<HttpResponse, SessionError> {
        Ok(done(log_out_everywhere(&session, &accounts).await?))
    }

    /// The account routes, to `configure` an actix `App` with.
    pub fn routes(accounts: Accounts) -> impl FnOnce(&mut web::ServiceConfig) {
        move |cfg| {
            cfg.app_data(web::Data::new(accounts))
                .route("/login", web::get().to(login_form))
                .route("/login", web::post().to(login))
                .route("/logout", web::post().to(logout))
                .route("/devices", web::get().to(devices))
                .route("/devices/logout-others", web::post().to(others))
                .route("/devices/logout-everywhere", web::post().to(everywhere));
        }
    }
}
