//! Sessions for an API client that has no cookie jar: the session id
//! travels as `Authorization: Bearer <token>`, and a new token comes back
//! in a response header.
//!
//! Header tokens are for server-side sessions (the token is only an id, so
//! it is short and can be revoked); a client keeps the token it got last.
//! `Transport::bearer("x-session-token")` reads `Authorization: Bearer` and
//! answers new tokens (after a login, which rotates the id) in
//! `x-session-token`. The handlers are the same as with cookies.
//!
//! ```text
//! cargo run -p websession-examples --example bearer_tokens
//! curl -i -d user=alice http://127.0.0.1:3000/login     # x-session-token: …
//! curl -H "Authorization: Bearer <token>" http://127.0.0.1:3000/me
//! curl -X POST -H "Authorization: Bearer <token>" http://127.0.0.1:3000/logout
//! ```

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use websession::store::MemoryStore;
use websession::{Session, SessionConfig, SessionManagerLayer, Sessions, Transport};

/// The response header that carries a new token.
pub(crate) const TOKEN_HEADER: &str = "x-session-token";

/// The app, on `sessions` (see [`sessions`]).
pub(crate) fn app(sessions: impl Into<Sessions>) -> Router {
    Router::new()
        .route("/login", post(login))
        .route("/me", get(me))
        .route("/logout", post(logout))
        .layer(SessionManagerLayer::new(sessions))
}

/// Server-side sessions whose ids travel as bearer tokens.
///
/// # Errors
///
/// A config the transport can't serve.
pub(crate) fn sessions() -> Result<Sessions, websession::ConfigError> {
    let config = SessionConfig::default().with_transport(Transport::bearer(TOKEN_HEADER));
    Ok(Sessions::store(MemoryStore::new(), config)?.into())
}

#[derive(Deserialize)]
struct LoginForm {
    user: String,
}

async fn login(session: Session, Form(form): Form<LoginForm>) -> String {
    session.log_in(&form.user);
    format!(
        "logged in as {}; use the token in {TOKEN_HEADER}",
        form.user
    )
}

async fn me(session: Session) -> Result<String, StatusCode> {
    session.user().ok_or(StatusCode::UNAUTHORIZED)
}

async fn logout(session: Session) -> &'static str {
    // Deletes the record: the token is dead on every client holding it.
    session.purge();
    "logged out"
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app(sessions()?)).await?;
    Ok(())
}
