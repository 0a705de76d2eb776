//! "Where you're logged in": a devices page with "log out my other
//! sessions", on server-side sessions.
//!
//! Only store mode can list a user's sessions (a cookie is seen only when
//! it comes back), so `Logins::devices` answers `None` for cookie modes and
//! the page says so. Here the store is in memory; an app on one machine
//! uses `websession_sqlite::SqliteStore`, several machines Redis or
//! PostgreSQL (see the `production_store` example).
//!
//! ```text
//! cargo run -p websession-examples --example devices
//! curl -c phone -b phone -A phone -d user=alice http://127.0.0.1:3000/login
//! curl -c laptop -b laptop -A laptop -d user=alice http://127.0.0.1:3000/login
//! curl -b laptop http://127.0.0.1:3000/devices        # two devices
//! curl -b laptop -X POST http://127.0.0.1:3000/log-out-others
//! curl -b phone http://127.0.0.1:3000/devices         # not logged in
//! ```

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use std::fmt::Write as _;
use websession::store::MemoryStore;
use websession::{
    Logins, Session, SessionConfig, SessionError, SessionManagerLayer, Sessions, Value,
};

/// The session key for the browser's name, kept at login so the devices
/// page can tell the sessions apart.
const DEVICE_KEY: &str = "device";

/// The app, over `store`-mode sessions.
pub(crate) fn app(sessions: websession::StoreSessions) -> Router {
    Router::new()
        .route("/login", post(login))
        .route("/devices", get(devices))
        .route("/log-out-others", post(log_out_others))
        .with_state(sessions.logins())
        .layer(SessionManagerLayer::new(sessions))
}

#[derive(Deserialize)]
struct LoginForm {
    user: String,
}

async fn login(
    session: Session,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<String, SessionError> {
    session.log_in(&form.user);
    let device = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown browser");
    // Keep it short: it is stored with every session.
    session.insert(DEVICE_KEY, device.chars().take(100).collect::<String>())?;
    Ok(format!("logged in as {}", form.user))
}

async fn devices(State(logins): State<Logins>, session: Session) -> Result<String, SessionError> {
    let Some(user) = session.user() else {
        return Ok("not logged in".to_owned());
    };
    let Some(devices) = logins.devices(&session).await? else {
        return Ok("this mode keeps no list of sessions".to_owned());
    };
    let mut page = format!("{user} is logged in on {} device(s):\n", devices.len());
    for device in devices {
        let name = match device.data.get(DEVICE_KEY) {
            Some(Value::Str(name)) => name.as_str(),
            _ => "unknown browser",
        };
        let this = if device.current { " (this one)" } else { "" };
        let _ = writeln!(page, "- {name}{this}, since {}", device.created_at);
    }
    Ok(page)
}

async fn log_out_others(
    State(logins): State<Logins>,
    session: Session,
) -> Result<&'static str, SessionError> {
    Ok(if logins.log_out_others(&session).await? {
        "your other sessions are logged out"
    } else {
        "log in again"
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sessions = Sessions::store(MemoryStore::new(), SessionConfig::default())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app(sessions)).await?;
    Ok(())
}
