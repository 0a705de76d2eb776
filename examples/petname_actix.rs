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
    let (addr, sessions) = settings_from_env().await?;
    let sessions = SessionMiddleware::new(sessions);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(sessions.clone())
            .configure(actix_pages::routes)
    })
    .bind(addr)
    .with_context(|| format!("binding {addr}"))?;
    tracing::info!("pet name demo (actix-web) on http://{addr}");
    server.run().await?;
    Ok(())
}
