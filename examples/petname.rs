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

use std::net::SocketAddr;

use anyhow::Context as _;
use websession::core::store::MemoryStore;
use websession::{Key, KeyRing, SessionConfig, SessionManagerLayer};
use websession_examples::petname_routes;
use websession_postgres::PostgresStore;
use websession_redis::RedisStore;
use websession_sqlite::SqliteStore;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    let addr: SocketAddr = std::env::var("WEBSESSION_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:5000".into())
        .parse()
        .context("WEBSESSION_ADDR must be HOST:PORT")?;

    let key = match std::env::var("WEBSESSION_SECRET_KEY") {
        Ok(text) => Key::from_utf8(&text).context("WEBSESSION_SECRET_KEY is empty")?,
        Err(_) => {
            tracing::warn!(
                "WEBSESSION_SECRET_KEY is not set: using a random key, so sessions won't survive a restart"
            );
            Key::generate()
        }
    };

    let lifetime = match std::env::var("WEBSESSION_PERMANENT_LIFETIME") {
        Ok(secs) => time::Duration::seconds(
            secs.parse()
                .context("WEBSESSION_PERMANENT_LIFETIME must be whole seconds")?,
        ),
        Err(_) => time::Duration::days(31),
    };

    // Secure cookies reach the server over HTTPS, and browsers also send them
    // to http://localhost and http://127.0.0.1. The demo serves plain HTTP on
    // any address, so it drops Secure unless it listens on loopback.
    let mut config = SessionConfig::default().with_permanent_lifetime(lifetime);
    if !addr.ip().is_loopback() {
        tracing::warn!("serving plain HTTP on {addr}: the session cookie is sent without Secure");
        config = config.with_insecure_cookie();
    }
    let keys = KeyRing::new(key);
    let layer = match std::env::var("WEBSESSION_STORE") {
        Ok(store) => store_layer(&store).await?,
        Err(_) => match std::env::var("WEBSESSION_MODE").as_deref() {
            Ok("signed") | Err(_) => SessionManagerLayer::signed(keys),
            Ok("sealed") => SessionManagerLayer::sealed(keys),
            Ok(other) => {
                anyhow::bail!("WEBSESSION_MODE must be `signed` or `sealed`, not {other:?}")
            }
        },
    }
    .with_config(config);
    layer.check().context("session configuration")?;

    let app = petname_routes().layer(layer);
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

/// The session layer for a `WEBSESSION_STORE` value.
async fn store_layer(spec: &str) -> anyhow::Result<SessionManagerLayer> {
    let layer = if spec == "memory" {
        SessionManagerLayer::with_store(MemoryStore::new())
    } else if spec.starts_with("sqlite:") {
        let store = SqliteStore::open(spec)
            .await
            .context("opening the SQLite store")?;
        let _cleanup = store.spawn_cleanup(std::time::Duration::from_secs(600));
        SessionManagerLayer::with_store(store)
    } else if let Some(nodes) = spec.strip_prefix("redis+cluster://") {
        let urls: Vec<String> = nodes.split(',').map(|n| format!("redis://{n}")).collect();
        let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
        SessionManagerLayer::with_store(
            RedisStore::connect_cluster(&urls)
                .await
                .context("connecting to the Redis Cluster")?,
        )
    } else if spec.starts_with("redis://") {
        SessionManagerLayer::with_store(
            RedisStore::connect(spec)
                .await
                .context("connecting to Redis")?,
        )
    } else if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
        let store = PostgresStore::connect(spec)
            .await
            .context("connecting to PostgreSQL")?;
        store
            .migrate()
            .await
            .context("creating the session table")?;
        let _cleanup = store.spawn_cleanup(std::time::Duration::from_secs(600));
        SessionManagerLayer::with_store(store)
    } else {
        anyhow::bail!(
            "WEBSESSION_STORE must be memory, sqlite://PATH, redis://HOST:PORT, redis+cluster://HOST:PORT,... or postgres://..., not {spec:?}"
        );
    };
    tracing::info!(
        "sessions are kept in {}",
        spec.split('@').next_back().unwrap_or(spec)
    );
    Ok(layer)
}
