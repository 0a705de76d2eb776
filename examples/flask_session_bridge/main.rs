//! The Rust half of the Flask-Session bridge: reads and writes the Redis
//! records of a Flask app using Flask-Session 0.8.
//!
//! ```text
//! SECRET_KEY='a shared secret of at least 32 bytes!' python examples/flask_session_bridge/app.py &
//! cargo run --example flask_session_bridge
//! ```
//!
//! Log in on <http://127.0.0.1:5001/> (Flask), then open
//! <http://127.0.0.1:5002/> (this app). See
//! `examples/flask_session_bridge/README.md`.

use axum::response::{Html, Redirect};
use axum::routing::{get, post};
use axum::Router;
use websession::{Session, SessionConfig, SessionManagerLayer, Sessions};
use websession_examples::escape_html;
use websession_python::flask_session::{FlaskSessionOptions, FlaskSessionStore};

async fn home(session: Session) -> Html<String> {
    let who = match session.get::<String>("user_id") {
        Ok(Some(user)) => format!(
            "Rust sees you are logged in as <b>{}</b>, a login done in Flask.",
            escape_html(&user)
        ),
        _ => "Rust sees no login. Log in on the Flask app first.".to_owned(),
    };
    // The counter Flask keeps, counted here too: one record, both apps.
    let visits = session.get::<i64>("visits").ok().flatten().unwrap_or(0) + 1;
    let counted = session.insert("visits", visits);
    let visits = if counted.is_ok() {
        visits.to_string()
    } else {
        "?".to_owned()
    };
    Html(format!(
        "<p>{who} Visits (both apps count): {visits}.</p>\
         <form method=\"post\" action=\"/logout\"><button>Log out from Rust</button></form>\
         <p><a href=\"http://127.0.0.1:5001/\">Back to Flask</a></p>"
    ))
}

/// Ends the session for both apps: the record goes from Redis.
async fn logout(session: Session) -> Redirect {
    session.purge();
    Redirect::to("/")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().init();
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    // Flask-Session's defaults: prefix "session:", msgpack, no signer. With
    // SESSION_USE_SIGNER = True, add `.with_signer(the SECRET_KEY)`.
    let store = FlaskSessionStore::redis(&url, FlaskSessionOptions::new()).await?;
    // Flask's cookie settings and PERMANENT_SESSION_LIFETIME (31 days), the
    // TTL Flask-Session gives every record.
    let sessions = Sessions::store(store, SessionConfig::flask())?;
    let app = Router::new()
        .route("/", get(home))
        .route("/logout", post(logout))
        .layer(SessionManagerLayer::new(sessions));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:5002").await?;
    tracing::info!("the Rust half on http://127.0.0.1:5002");
    axum::serve(listener, app).await?;
    Ok(())
}
