//! Flask's session tutorial app, in axum with websession.
//!
//! ```text
//! cargo run --example petname
//! ```
//!
//! Environment:
//! - `WEBSESSION_ADDR`: where to listen (default `127.0.0.1:5000`).
//! - `WEBSESSION_SECRET_KEY`: the secret key as UTF-8 text, Flask's
//!   `SECRET_KEY`. When unset a random key is generated and sessions don't
//!   survive a restart.
//! - `WEBSESSION_PERMANENT_LIFETIME`: permanent session lifetime in seconds
//!   (default 31 days).
//! - `WEBSESSION_MODE`: `signed` (default: Flask's cookie, so a Flask app
//!   with the same `SECRET_KEY` reads it) or `sealed` (encrypted; the key must
//!   then be at least 32 bytes).
//! - `WEBSESSION_STORE`: keep sessions on the server instead: `memory`,
//!   `sqlite://PATH`, `redis://HOST:PORT`, `redis+cluster://HOST:PORT,HOST:PORT,...`
//!   or `postgres://USER@HOST/DB`. Without it, the cookie holds the session.

use anyhow::Context as _;
use websession::SessionManagerLayer;
use websession_examples::{init_tracing, petname_routes, settings_from_env};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_tracing();
    let (addr, sessions) = settings_from_env().await?;
    let app = petname_routes().layer(SessionManagerLayer::new(sessions));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    tracing::info!("pet name demo on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
