//! Flask's session tutorial app, in axum with websession.
//!
//! ```text
//! cargo run --example petname
//! ```
//!
//! The pages: `/` (the pet's name, who is signed in), `/petname` (the form),
//! `/forget` (ends the session), `/login` (a demo sign-in: a user name, no
//! password), `/logout`, and `/devices` ("where you're logged in": the
//! user's sessions in store mode, "log out my other sessions" and "log out
//! everywhere"; see `accounts.rs` for what each mode can do).
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
//! - `WEBSESSION_REVOCATION`: `memory`, `sqlite://PATH`, `redis://HOST:PORT`
//!   or `postgres://USER@HOST/DB`: cookie sessions become revocable ("Forget
//!   me" and "Sign out" stop every copy of the cookie, "Log out everywhere"
//!   every cookie the user signed in with; see `docs::revocation`).
//! - `WEBSESSION_REVOCATION_STALENESS`: with `WEBSESSION_REVOCATION`, how
//!   long (whole seconds, default 5) a process trusts what it last read
//!   there: a revocation made by another process is seen within that time.
//! - `WEBSESSION_OVERFLOW`: `memory` or `sqlite://PATH`: a cookie session
//!   that outgrows the cookie limit (a very long pet name) moves there, and
//!   back when it shrinks (see `docs::overflow`).
//!
//! - `WEBSESSION_METRICS=1`: serve websession's metrics for Prometheus on
//!   `/metrics`.

use anyhow::Context as _;
use websession::SessionManagerLayer;
use websession_examples::{demo_routes, init_tracing, prometheus_route, settings_from_env};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_tracing();
    let settings = settings_from_env().await?;
    let addr = settings.addr;
    let mut app = demo_routes(settings.accounts).layer(SessionManagerLayer::new(settings.sessions));
    if std::env::var("WEBSESSION_METRICS").is_ok_and(|v| v == "1") {
        app = app.merge(prometheus_route()?); // outside the session layer
        tracing::info!("metrics on /metrics");
    }
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
