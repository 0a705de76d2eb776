//! Pieces shared by the websession examples: the pet-name app itself, so the
//! example binaries, the tests and the benchmarks serve the same pages.

pub mod accounts;
pub mod fastapi_bridge;
pub mod login_bridge;

use axum::response::{Html, Redirect};
use axum::routing::get;
use axum::{Form, Router};
use std::net::SocketAddr;

use anyhow::Context as _;
use websession::store::{ExpiredDeletion as _, MemoryRevocations, MemoryStore, SessionStore};
use websession::{
    Key, KeyRing, Overflow, Revocation, Session, SessionConfig, SessionError, Sessions,
};
use websession_postgres::PostgresStore;
use websession_redis::{RedisOptions, RedisStore};
use websession_sqlite::SqliteStore;

pub use accounts::Accounts;

/// The form posted to `/petname`.
#[derive(serde::Deserialize)]
pub struct PetForm {
    /// The pet's name.
    pub pet: String,
}

/// Escapes text for HTML: the pet's name comes from the user.
#[must_use]
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// The home page for a session: the pet's name, or that we don't know it,
/// and who is signed in.
#[must_use]
pub fn home_page(session: &Session) -> String {
    let body = match session.get::<String>("pet_name") {
        Ok(Some(name)) => format!("<p>Your pet's name is {}.</p>", escape_html(&name)),
        _ => "<p>I do not know your pet's name.</p>".to_owned(),
    };
    let account = accounts::account_bar(session);
    format!("<!doctype html><title>Pet name</title>{body}<p><a href=\"/petname\">Set your pet's name</a> \
             <a href=\"/forget\">Forget me</a></p>{account}")
}

/// The form page.
pub const FORM_PAGE: &str = "<!doctype html><title>Pet name</title>\
     <form method=\"post\" action=\"/petname\">\
     <label>Pet's name <input name=\"pet\" autofocus></label> \
     <button type=\"submit\">Save</button></form>";

/// What `POST /petname` does to the session.
///
/// # Errors
///
/// When the name can't be stored.
pub fn store_pet(session: &Session, pet: &str) -> Result<(), SessionError> {
    session.insert("pet_name", pet)?;
    session.set_permanent(true);
    Ok(())
}

/// `GET /`: the pet's name, or that we don't know it.
pub async fn home(session: Session) -> Html<String> {
    Html(home_page(&session))
}

/// `GET /forget`: ends the session (with `WEBSESSION_REVOCATION`, copies of
/// its cookie stop working too), then home.
pub async fn forget(session: Session) -> Redirect {
    session.purge();
    Redirect::to("/")
}

/// `GET /petname`: the form.
pub async fn form() -> Html<&'static str> {
    Html(FORM_PAGE)
}

/// `POST /petname`: store the name, make the session permanent, go home.
///
/// # Errors
///
/// A session error, answered as an opaque 500.
pub async fn set_pet(
    session: Session,
    Form(form): Form<PetForm>,
) -> Result<Redirect, SessionError> {
    store_pet(&session, &form.pet)?;
    Ok(Redirect::to("/"))
}

/// The same pages for actix-web.
pub mod actix_pages {
    use actix_web::{http::header, web, HttpResponse};
    use websession::{Session, SessionError};

    use super::{home_page, store_pet, PetForm, FORM_PAGE};

    fn html(body: String) -> HttpResponse {
        HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(body)
    }

    async fn home(session: Session) -> HttpResponse {
        html(home_page(&session))
    }

    async fn forget(session: Session) -> HttpResponse {
        session.purge();
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/"))
            .finish()
    }

    async fn form() -> HttpResponse {
        html(FORM_PAGE.to_owned())
    }

    async fn set_pet(
        session: Session,
        form: web::Form<PetForm>,
    ) -> Result<HttpResponse, SessionError> {
        store_pet(&session, &form.pet)?;
        Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/"))
            .finish())
    }

    /// The pet-name routes, to `configure` an actix `App` with; the
    /// account pages need theirs too (see [`demo_routes`]).
    pub fn routes(cfg: &mut web::ServiceConfig) {
        cfg.route("/", web::get().to(home))
            .route("/petname", web::get().to(form))
            .route("/petname", web::post().to(set_pet))
            .route("/forget", web::get().to(forget));
    }

    /// The whole demo, to `configure` an actix `App` with: the pet-name
    /// routes and the account pages.
    pub fn demo_routes(accounts: super::Accounts) -> impl FnOnce(&mut web::ServiceConfig) {
        move |cfg| {
            routes(cfg);
            crate::accounts::actix::routes(accounts)(cfg);
        }
    }
}

/// The pet-name routes, without the session layer or the account pages
/// (see [`demo_routes`]).
pub fn petname_routes() -> Router {
    Router::new()
        .route("/", get(home))
        .route("/petname", get(form).post(set_pet))
        .route("/forget", get(forget))
}

/// The whole demo, without the session layer: the pet-name routes and the
/// account pages (sign-in, "where you're logged in"), which reach other
/// sessions through `accounts`.
pub fn demo_routes(accounts: Accounts) -> Router {
    petname_routes().merge(accounts::routes(accounts))
}

/// The demo's settings (see [`settings_from_env`]).
#[derive(Debug)]
pub struct Settings {
    /// Where to listen.
    pub addr: SocketAddr,
    /// The session layer's mode and configuration.
    pub sessions: Sessions,
    /// What the account pages can reach: the store in store mode, the
    /// revocation in cookie modes.
    pub accounts: Accounts,
}

/// A Prometheus scrape endpoint for the demo: installs the process's
/// `metrics` recorder and gives the `/metrics` route that renders it
/// (websession's metrics, `docs::metrics`). The demo serves it when
/// `WEBSESSION_METRICS=1`.
///
/// # Errors
///
/// When a recorder is installed already.
pub fn prometheus_route() -> anyhow::Result<Router> {
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
    Ok(Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move { handle.render() }
        }),
    ))
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
}

/// The demo's settings, read from the environment: where to listen, the
/// session layer (mode, store, key, lifetime, revocation, overflow) and
/// what the account pages reach. Shared by the axum and the actix-web
/// demos, so both read the same variables the same way.
///
/// # Errors
///
/// A malformed variable, or a store that can't be reached.
pub async fn settings_from_env() -> anyhow::Result<Settings> {
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
        Ok(secs) => std::time::Duration::from_secs(
            secs.parse()
                .context("WEBSESSION_PERMANENT_LIFETIME must be whole seconds")?,
        ),
        Err(_) => std::time::Duration::from_secs(31 * 86_400),
    };

    // Secure cookies reach the server over HTTPS, and browsers also send them
    // to http://localhost and http://127.0.0.1. The demo serves plain HTTP on
    // any address, so it drops Secure unless it listens on loopback.
    let mut config =
        SessionConfig::default().with_lifetime(|l| l.with_permanent_lifetime(lifetime));
    if !addr.ip().is_loopback() {
        tracing::warn!("serving plain HTTP on {addr}: the session cookie is sent without Secure");
        config = config.with_cookie(|c| c.with_secure(false));
    }
    let mut revocations = None;
    if let Ok(spec) = std::env::var("WEBSESSION_REVOCATION") {
        let mut revocation = revocation(&spec).await?;
        let mut staleness = websession::DEFAULT_STALENESS;
        if let Ok(secs) = std::env::var("WEBSESSION_REVOCATION_STALENESS") {
            let secs = secs
                .parse()
                .context("WEBSESSION_REVOCATION_STALENESS must be whole seconds")?;
            staleness = std::time::Duration::from_secs(secs);
            revocation = revocation.with_staleness(staleness);
        }
        tracing::info!(
            "cookie sessions are revocable ({}; other processes see a revocation within {} s)",
            spec.split('@').next_back().unwrap_or(&spec),
            staleness.as_secs()
        );
        revocations = Some(revocation);
    }
    let mut overflow = None;
    if let Ok(spec) = std::env::var("WEBSESSION_OVERFLOW") {
        overflow = Some(Overflow::new(overflow_store(&spec).await?));
        tracing::info!("cookie sessions past 4 KB move to {spec}");
    }
    let keys = KeyRing::new(key);
    let (sessions, accounts) = match std::env::var("WEBSESSION_STORE") {
        Ok(spec) => {
            let store = open_store(&spec).await?;
            let mut sessions =
                Sessions::store(store.clone(), config).context("session configuration")?;
            if let Some(revocation) = revocations {
                sessions = sessions.with_revocation(revocation);
            }
            let sessions: Sessions = sessions.into();
            let accounts = Accounts::new(&sessions);
            (sessions, accounts)
        }
        Err(_) => {
            let mut sessions = match std::env::var("WEBSESSION_MODE").as_deref() {
                Ok("signed") | Err(_) => Sessions::signed(keys, config),
                Ok("sealed") => Sessions::sealed(keys, config),
                Ok(other) => {
                    anyhow::bail!("WEBSESSION_MODE must be `signed` or `sealed`, not {other:?}")
                }
            }
            .context("session configuration")?;
            if let Some(revocation) = revocations.clone() {
                sessions = sessions.with_revocation(revocation);
            }
            if let Some(overflow) = overflow {
                sessions = sessions.with_overflow(overflow).context("overflow")?;
            }
            let sessions: Sessions = sessions.into();
            let accounts = Accounts::new(&sessions);
            (sessions, accounts)
        }
    };
    Ok(Settings {
        addr,
        sessions,
        accounts,
    })
}

/// The revocation store for a `WEBSESSION_REVOCATION` value: `memory`,
/// `sqlite://PATH`, `redis://HOST:PORT` or `postgres://...` (the store
/// crates' revocations, on their own connections).
///
/// # Errors
///
/// An unknown value, or a store that can't be reached.
pub async fn revocation(spec: &str) -> anyhow::Result<Revocation> {
    Ok(if spec == "memory" {
        Revocation::new(MemoryRevocations::new())
    } else if spec.starts_with("sqlite:") {
        let store = SqliteStore::connect(spec)
            .await
            .context("opening the SQLite revocation store")?;
        Revocation::new(store.revocations())
    } else if spec.starts_with("redis://") {
        let store = RedisStore::connect(spec)
            .await
            .context("connecting to Redis")?;
        Revocation::new(store.revocations())
    } else if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
        let store = PostgresStore::connect(spec)
            .await
            .context("connecting to PostgreSQL")?;
        store.migrate().await.context("creating the tables")?;
        Revocation::new(store.revocations())
    } else {
        anyhow::bail!(
            "WEBSESSION_REVOCATION must be memory, sqlite://PATH, redis://HOST:PORT or postgres://..., not {spec:?}"
        );
    })
}

/// The overflow store for a `WEBSESSION_OVERFLOW` value: `memory` or
/// `sqlite://PATH`.
///
/// # Errors
///
/// An unknown value, or a store that can't be opened.
pub async fn overflow_store(spec: &str) -> anyhow::Result<std::sync::Arc<dyn SessionStore>> {
    if spec == "memory" {
        return Ok(std::sync::Arc::new(MemoryStore::new()));
    }
    if spec.starts_with("sqlite:") {
        let store = SqliteStore::connect(spec)
            .await
            .context("opening the SQLite overflow store")?;
        let _cleanup = store.spawn_cleanup(std::time::Duration::from_secs(600));
        return Ok(std::sync::Arc::new(store));
    }
    anyhow::bail!("WEBSESSION_OVERFLOW must be memory or sqlite://PATH, not {spec:?}")
}

/// Store-mode sessions for a `WEBSESSION_STORE` value.
///
/// # Errors
///
/// An unknown scheme, a store that can't be reached, or a bad configuration.
pub async fn store_sessions(spec: &str, config: SessionConfig) -> anyhow::Result<Sessions> {
    let sessions = Sessions::store(open_store(spec).await?, config);
    Ok(sessions.context("session configuration")?.into())
}

/// The session store for a `WEBSESSION_STORE` value: `memory`,
/// `sqlite://PATH`, `redis://HOST:PORT`, `redis+cluster://HOST:PORT,...` or
/// `postgres://...` (the SQL stores with their expired records swept every
/// ten minutes).
///
/// # Errors
///
/// An unknown scheme, or a store that can't be reached.
pub async fn open_store(spec: &str) -> anyhow::Result<std::sync::Arc<dyn SessionStore>> {
    let store: std::sync::Arc<dyn SessionStore> = if spec == "memory" {
        std::sync::Arc::new(MemoryStore::new())
    } else if spec.starts_with("sqlite:") {
        let store = SqliteStore::connect(spec)
            .await
            .context("opening the SQLite store")?;
        let _cleanup = store.spawn_cleanup(std::time::Duration::from_secs(600));
        std::sync::Arc::new(store)
    } else if let Some(nodes) = spec.strip_prefix("redis+cluster://") {
        let urls: Vec<String> = nodes.split(',').map(|n| format!("redis://{n}")).collect();
        let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
        std::sync::Arc::new(
            RedisStore::connect_cluster(&urls, RedisOptions::default())
                .await
                .context("connecting to the Redis Cluster")?,
        )
    } else if spec.starts_with("redis://") {
        std::sync::Arc::new(
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
        std::sync::Arc::new(store)
    } else {
        anyhow::bail!(
            "WEBSESSION_STORE must be memory, sqlite://PATH, redis://HOST:PORT, redis+cluster://HOST:PORT,... or postgres://..., not {spec:?}"
        );
    };
    tracing::info!(
        "sessions are kept in {}",
        spec.split('@').next_back().unwrap_or(spec)
    );
    Ok(store)
}
