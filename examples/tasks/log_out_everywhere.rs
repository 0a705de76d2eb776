//! "Log out everywhere" for cookie sessions: a password change or a lost
//! phone ends every session of the user, on every device.
//!
//! A signed cookie lives in the browser, so the server can't delete it; a
//! [`Revocation`] keeps, per user, a generation that every login records.
//! `Logins::log_out_everywhere` moves it on, and every older cookie of that
//! user opens as an empty session from then on (on this process at once,
//! on others within the revocation's staleness). Store mode has the same
//! call (see the `devices` example); plain cookies without a `Revocation`
//! have no `Logins` at all, an error at start-up rather than a silent no-op.
//!
//! Here the revocations live in memory; several processes share a
//! `RedisRevocations`, `PostgresRevocations` or `SqliteRevocations`
//! (`store.revocations()`).
//!
//! ```text
//! cargo run -p websession-examples --example log_out_everywhere
//! curl -c phone -b phone -d user=alice http://127.0.0.1:3000/login
//! curl -c laptop -b laptop -d user=alice http://127.0.0.1:3000/login
//! curl -b laptop -X POST http://127.0.0.1:3000/log-out-everywhere
//! curl -b phone http://127.0.0.1:3000/        # not logged in
//! ```

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use websession::store::MemoryRevocations;
use websession::{
    Key, Logins, Revocation, Session, SessionConfig, SessionError, SessionManagerLayer, Sessions,
};

/// The app, with the sessions' `Logins` as its state.
///
/// # Errors
///
/// `Sessions::logins` fails only for modes that can't end sessions from
/// the server; cookies with a `Revocation` can.
pub(crate) fn app(sessions: Sessions) -> Result<Router, websession::ConfigError> {
    let logins = sessions.logins()?;
    Ok(Router::new()
        .route("/", get(home))
        .route("/login", post(login))
        .route("/log-out-everywhere", post(log_out_everywhere))
        .with_state(logins)
        .layer(SessionManagerLayer::new(sessions)))
}

/// Signed cookie sessions whose logins can be revoked.
///
/// # Errors
///
/// A bad key or config.
pub(crate) fn sessions(key: Key) -> Result<Sessions, websession::ConfigError> {
    let revocation = Revocation::new(MemoryRevocations::new());
    Ok(Sessions::signed(key, SessionConfig::default())?
        .with_revocation(revocation)
        .into())
}

async fn home(session: Session) -> String {
    session.user().map_or_else(
        || "not logged in".to_owned(),
        |user| format!("hello, {user}"),
    )
}

#[derive(Deserialize)]
struct LoginForm {
    user: String,
}

async fn login(session: Session, Form(form): Form<LoginForm>) -> String {
    session.log_in(&form.user);
    format!("logged in as {}", form.user)
}

async fn log_out_everywhere(
    State(logins): State<Logins>,
    session: Session,
) -> Result<&'static str, SessionError> {
    let Some(user) = session.user() else {
        return Ok("not logged in");
    };
    // Every cookie of `user`, this one included, is refused from its next
    // request; `purge` also ends this one in this response.
    logins.log_out_everywhere(&user).await?;
    session.purge();
    Ok("logged out everywhere")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sessions = sessions(Key::from_env_or_generate("SECRET_KEY")?)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app(sessions)?).await?;
    Ok(())
}
