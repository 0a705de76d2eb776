//! The Rust half of the Flask-Login bridge: one login, one set of flashed
//! messages and one CSRF token shared with a real Flask app using
//! Flask-Login and Flask-WTF.
//!
//! ```text
//! export SECRET_KEY='a shared secret of at least 32 bytes!'
//! $(bash .ci/python-env) examples/flask_login_bridge/app.py &   # Flask on :5001
//! cargo run --example flask_login_bridge                          # Rust  on :5002
//! ```
//!
//! See `examples/flask_login_bridge/README.md`; the pages are in
//! `examples/login_bridge.rs`.

use std::net::SocketAddr;

use anyhow::Context as _;
use websession::flask::SessionProtection;
use websession::{Clock, Key};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().init();
    let secret =
        std::env::var("SECRET_KEY").context("set SECRET_KEY to the Flask app's SECRET_KEY")?;
    // Flask's SECRET_KEY is text: its UTF-8 bytes sign the session, its
    // Latin-1 bytes the remember cookie; the same for an ASCII key.
    let secret = Key::from_utf8(&secret)?;
    let app = websession_examples::login_bridge::router(
        &secret,
        SessionProtection::Strong,
        Clock::system(),
    )?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:5002").await?;
    tracing::info!("the Rust half on http://127.0.0.1:5002 (log in as alice / wonderland)");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
