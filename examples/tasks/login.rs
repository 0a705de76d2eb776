//! Logging in and out, in the smallest app that does it.
//!
//! `log_in` records the user and gives the session a new id (a cookie
//! planted before the login learns nothing); `user()` reads it back;
//! `log_out` ends the login and keeps the rest of the session; `purge`
//! drops everything. The same calls work in every mode: swap
//! `Sessions::signed` for `Sessions::sealed` or `Sessions::store`.
//!
//! ```text
//! cargo run -p websession-examples --example login
//! curl -c jar -b jar -d user=alice http://127.0.0.1:3000/login
//! curl -b jar http://127.0.0.1:3000/          # hello, alice
//! curl -c jar -b jar -X POST http://127.0.0.1:3000/logout
//! ```

use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use websession::{Key, Session, SessionConfig, SessionError, SessionManagerLayer, Sessions};

/// The app: a home page that greets the logged-in user, a login form's
/// target and a logout button's.
pub(crate) fn app(sessions: impl Into<Sessions>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .layer(SessionManagerLayer::new(sessions))
}

async fn home(session: Session) -> String {
    match session.user() {
        Some(user) => format!("hello, {user}"),
        None => "not logged in".to_owned(),
    }
}

#[derive(Deserialize)]
struct LoginForm {
    user: String,
}

async fn login(session: Session, Form(form): Form<LoginForm>) -> Result<String, SessionError> {
    // A real app checks a password here.
    session.log_in(&form.user);
    // Anything else the session should carry from the login on.
    session.insert(
        "logged_in_at",
        time::OffsetDateTime::now_utc().unix_timestamp(),
    )?;
    Ok(format!("logged in as {}", form.user))
}

async fn logout(session: Session) -> &'static str {
    session.log_out();
    "logged out"
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sessions = Sessions::signed(
        Key::from_env_or_generate("SECRET_KEY")?,
        SessionConfig::default(),
    )?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app(sessions)).await?;
    Ok(())
}
