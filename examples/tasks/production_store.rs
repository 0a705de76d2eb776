//! Server-side sessions in production: PostgreSQL shared by every instance
//! of the app, its schema, the sweep of expired records, timeouts, the
//! app's own page when the database is down, and a clean shutdown.
//!
//! One environment variable, `DATABASE_URL`; `--print-schema` prints the
//! SQL for a DBA instead of running it. The same app on Redis swaps the
//! store line for `websession_redis::RedisStore::connect_with(url,
//! RedisOptions::default())` (Redis expires records itself: no sweep), and
//! on one machine for `websession_sqlite::SqliteStore::connect(url)`.
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1/test cargo run -p websession-examples --example production_store
//! curl -c jar -b jar http://127.0.0.1:3000/      # visits: 1, 2, 3 ...
//! ```

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Router};
use websession::store::ExpiredDeletion;
use websession::{
    Session, SessionConfig, SessionError, SessionManagerLayer, Sessions, StoreOutage,
};
use websession_postgres::{PostgresOptions, PostgresStore};

/// How often expired records are deleted.
const SWEEP_EVERY: Duration = Duration::from_secs(10 * 60);

/// The store: bounded waits, so a sick database answers 503 quickly
/// instead of holding every request.
///
/// # Errors
///
/// The database can't be reached or refuses the login.
pub(crate) async fn store(url: &str) -> Result<PostgresStore, websession::store::StoreError> {
    let options = PostgresOptions::default()
        .with_connect_timeout(Duration::from_secs(5))
        .with_response_timeout(Duration::from_secs(2));
    PostgresStore::connect_with(url, options).await
}

/// The app on `store`.
///
/// # Errors
///
/// An invalid session config.
pub(crate) fn app(store: PostgresStore) -> Result<Router, websession::ConfigError> {
    // A week's login, ended by 30 idle minutes; the cookie is only an id.
    let config = SessionConfig::default().with_lifetime(|l| {
        l.with_permanent_lifetime(Duration::from_secs(7 * 86_400))
            .with_idle_timeout(Duration::from_secs(30 * 60))
    });
    // Fail closed (the default): no session data is invented while the
    // database is away.
    let sessions = Sessions::store(store, config)?;
    Ok(Router::new()
        .route("/", get(visits))
        .layer(SessionManagerLayer::new(sessions))
        .layer(middleware::map_response(outage_page)))
}

async fn visits(session: Session) -> Result<String, SessionError> {
    session.set_permanent(true);
    let n = session.get::<u64>("visits")?.unwrap_or(0) + 1;
    session.insert("visits", n)?;
    Ok(format!("visits: {n}"))
}

/// The app's own page for a database outage (websession marks its 503s).
async fn outage_page(response: Response) -> Response {
    if response.extensions().get::<StoreOutage>().is_some() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [("retry-after", "30")],
            "We'll be right back.",
        )
            .into_response();
    }
    response
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt::init();
    if std::env::args().any(|a| a == "--print-schema") {
        println!("{}", PostgresStore::schema_sql(&PostgresOptions::default()));
        return Ok(());
    }
    let url = std::env::var("DATABASE_URL").map_err(|_| "set DATABASE_URL=postgres://...")?;
    let store = store(&url).await?;
    store.migrate().await?; // idempotent: CREATE ... IF NOT EXISTS
    let sweep = store.spawn_cleanup(SWEEP_EVERY);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app(store)?)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    sweep.abort();
    Ok(())
}
