//! The Rust half of the Flask bridge: reads the login a Flask app wrote.
//!
//! ```text
//! SECRET_KEY='a shared secret of at least 32 bytes!' python examples/flask_bridge/app.py &
//! SECRET_KEY='a shared secret of at least 32 bytes!' cargo run --example flask_bridge
//! ```
//!
//! Log in on <http://127.0.0.1:5001/> (Flask), then open
//! <http://127.0.0.1:5002/> (this app). See `examples/flask_bridge/README.md`.

use anyhow::Context as _;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use websession::{Key, KeyRing, Session, SessionConfig, SessionManagerLayer, Sessions};
use websession_examples::escape_html;

async fn whoami(session: Session) -> Html<String> {
    let who = match session.get::<String>("user_id") {
        Ok(Some(user)) => format!(
            "Rust sees you are logged in as <b>{}</b>, a login done in Flask.",
            escape_html(&user)
        ),
        _ => "Rust sees no login. Log in on the Flask app first.".to_owned(),
    };
    // Every other key (Flask's `_permanent`, flash messages, anything) is left
    // exactly as Flask wrote it.
    let keys = session.keys().join(", ");
    Html(format!("<p>{who}</p><p>Session keys: {keys}</p><p><a href=\"http://127.0.0.1:5001/\">Back to Flask</a></p>"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().init();
    let secret =
        std::env::var("SECRET_KEY").context("set SECRET_KEY to the Flask app's SECRET_KEY")?;
    let keys = KeyRing::new(Key::from_utf8(&secret)?);
    // Flask's own cookie settings, so both apps write identical cookies.
    let sessions = Sessions::signed(keys, SessionConfig::flask())?;
    let app = Router::new()
        .route("/", get(whoami))
        .layer(SessionManagerLayer::new(sessions));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:5002").await?;
    tracing::info!("the Rust half on http://127.0.0.1:5002");
    axum::serve(listener, app).await?;
    Ok(())
}
