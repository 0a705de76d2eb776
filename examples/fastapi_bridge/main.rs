//! The Rust half of the FastAPI bridge: the same cart as the FastAPI app,
//! in the same Starlette session cookie.
//!
//! ```text
//! SECRET_KEY='a shared secret of at least 32 bytes!' python examples/fastapi_bridge/app.py &
//! SECRET_KEY='a shared secret of at least 32 bytes!' cargo run --example fastapi_bridge
//! ```
//!
//! See `examples/fastapi_bridge/README.md`.

use anyhow::Context as _;
use websession::{Key, KeyRing, SessionConfig, Sessions};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().init();
    let secret =
        std::env::var("SECRET_KEY").context("set SECRET_KEY to the FastAPI app's secret_key")?;
    let keys = KeyRing::new(Key::from_utf8(&secret)?);
    // Starlette's defaults: cookie `session`, 14 days, SameSite=Lax, HttpOnly.
    let sessions = Sessions::starlette(keys, SessionConfig::starlette())?;
    let app = websession_examples::fastapi_bridge::router(sessions);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:5002").await?;
    tracing::info!("the Rust half on http://127.0.0.1:5002");
    axum::serve(listener, app).await?;
    Ok(())
}
