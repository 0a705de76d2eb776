//! The pet-name demo on actix-web: the same pages, the same environment
//! variables and the same cookies as `cargo run --example petname`.
//!
//! ```text
//! cargo run --example petname_actix
//! ```
//!
//! With the same `WEBSESSION_SECRET_KEY`, a cookie set by the axum demo is
//! read here and the reverse. See `petname.rs` for the variables.

use actix_web::{App, HttpServer};
use anyhow::Context as _;
use websession::actix::SessionMiddleware;
use websession_examples::{actix_pages, init_tracing, settings_from_env};

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    init_tracing();
    let settings = settings_from_env().await?;
    let addr = settings.addr;
    let sessions = SessionMiddleware::new(settings.sessions);
    let accounts = settings.accounts;
    let server = HttpServer::new(move || {
        App::new()
            .wrap(sessions.clone())
            .configure(actix_pages::demo_routes(accounts.clone()))
    })
    .bind(addr)
    .with_context(|| format!("binding {addr}"))?;
    tracing::info!("pet name demo (actix-web) on http://{addr}");
    server.run().await?;
    Ok(())
}
