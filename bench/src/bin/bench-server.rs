//! One contender of the HTTP benchmark: the same pet-name app on every
//! framework and session library. `GET /` reads `pet_name` from the session;
//! `POST /petname` (form field `pet`) writes it, makes the session permanent
//! (31 days) and redirects to `/`.
//!
//! ```text
//! bench-server CONTENDER ADDR
//! ```
//!
//! Contenders:
//!
//! - `bare-axum`, `bare-actix`: no session.
//! - `websession-{axum,actix}-{signed,sealed,memory,sqlite,redis,postgres}`:
//!   websession's defaults (refresh at most once a minute) with an insecure
//!   cookie for plain HTTP; `websession-{axum,actix}-signed-every` refreshes
//!   on every request (Flask's rule).
//! - `websession-axum-py-flask-redis`, `websession-axum-py-django-postgres`:
//!   websession on a Python app's records (websession-python): Flask-Session's
//!   Redis keys, Django's `django_session` table (schema `bench_django`).
//! - `axum-extra-signed` (`SignedCookieJar`), `axum-extra-private`
//!   (`PrivateCookieJar`): the cookie is written on `POST` only;
//!   `axum-extra-signed-every` also re-adds it on every `GET` that carries it
//!   (a refresh written in the handler: axum-extra has no policy for it).
//! - `actix-session-cookie` (`CookieContentSecurity::Private`, the crate's
//!   default), `actix-session-signed` (`Signed`): `PersistentSession` of 31
//!   days, `TtlExtensionPolicy::OnStateChanges`; `actix-session-signed-every`:
//!   `Signed` with `TtlExtensionPolicy::OnEveryRequest`.
//! - `tower-sessions-memory`, `tower-sessions-redis`, `actix-session-redis`:
//!   the store peers, with their defaults.
//! - `tower-sessions-sqlite`, `tower-sessions-postgres`: tower-sessions with
//!   `tower-sessions-sqlx-store`, its defaults otherwise, on a pool set up
//!   like websession's store of the same kind (SQLite: a file in the temp
//!   directory, WAL, `synchronous=NORMAL`, 5 s busy timeout, 8 connections;
//!   PostgreSQL: 16 connections) so both pay the same durability and
//!   concurrency. The PostgreSQL store uses the schema
//!   `bench_tower_sessions`, which `bench/run` drops before the contender.
//!
//! Redis and PostgreSQL come from `REDIS_URL` and `DATABASE_URL`.

use std::net::SocketAddr;

use anyhow::{bail, Context};
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::get;
use axum::{Form, Router};
use websession::store::MemoryStore;
use websession::{Key, KeyRing, Refresh, SessionConfig, SessionManagerLayer, Sessions};

#[derive(serde::Deserialize)]
struct Pet {
    pet: String,
}

const KEY: &str = "a benchmark secret key, 32 bytes or more";

fn page(name: Option<String>) -> String {
    match name {
        Some(n) => format!("Your pet's name is {n}."),
        None => "I do not know your pet's name.".to_owned(),
    }
}

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The permanent session's lifetime, for every contender (Flask's default).
const LIFETIME_DAYS: i64 = 31;

async fn websession_sessions(mode: &str) -> anyhow::Result<Sessions> {
    let keys = KeyRing::new(Key::from_utf8(KEY)?);
    // Plain HTTP on loopback for wrk: no Secure needed by the client.
    let mut config = SessionConfig::default().with_cookie(|c| c.with_secure(false));
    // `-every`: Flask's refresh on every request instead of the default interval.
    let mode = match mode.strip_suffix("-every") {
        Some(mode) => {
            config = config.with_lifetime(|l| l.with_refresh(Refresh::EveryRequest));
            mode
        }
        None => mode,
    };
    let sessions = match mode {
        "signed" => Sessions::signed(keys, config).map(Sessions::from),
        "sealed" => Sessions::sealed(keys, config).map(Sessions::from),
        "memory" => Sessions::store(MemoryStore::new(), config).map(Sessions::from),
        "sqlite" => {
            let path =
                std::env::temp_dir().join(format!("websession-bench-{}.db", std::process::id()));
            // BENCH_SQLITE_DIRECT_READS=0: every load on a reader thread
            // (for comparisons; the store's default is on).
            let direct = std::env::var("BENCH_SQLITE_DIRECT_READS").map_or(true, |v| v != "0");
            let options = websession_sqlite::SqliteOptions::default().with_direct_reads(direct);
            Sessions::store(
                websession_sqlite::SqliteStore::connect_with(
                    path.to_str().unwrap_or("bench.db"),
                    options,
                )
                .await?,
                config,
            )
            .map(Sessions::from)
        }
        "redis" => Sessions::store(
            websession_redis::RedisStore::connect(&redis_url()).await?,
            config,
        )
        .map(Sessions::from),
        "postgres" => {
            let store = websession_postgres::PostgresStore::connect(&database_url()).await?;
            store.migrate().await?;
            Sessions::store(store, config).map(Sessions::from)
        }
        // Shared with a Python app (websession-python): Flask-Session's
        // Redis records under the Flask contender's key prefix, and
        // Django's django_session table in the schema bench/run has
        // Django's own migration make (bench/django_db_petname.py).
        "py-flask-redis" => Sessions::store(
            websession_python::flask_session::FlaskSessionStore::redis(
                &redis_url(),
                websession_python::flask_session::FlaskSessionOptions::new()
                    .with_key_prefix("bench-flask-session:"),
            )
            .await?,
            config,
        )
        .map(Sessions::from),
        "py-django-postgres" => {
            let url = database_url();
            let sep = if url.contains('?') { '&' } else { '?' };
            let url = format!("{url}{sep}options=-c%20search_path%3Dbench_django");
            let store = websession_python::django::DjangoStore::postgres(
                &url,
                websession_python::django::DjangoOptions::new(KeyRing::new(Key::from_utf8(KEY)?)),
            )
            .await?;
            Sessions::store(store, config).map(Sessions::from)
        }
        other => bail!("unknown websession mode {other}"),
    };
    Ok(sessions?)
}

async fn websession_layer(mode: &str) -> anyhow::Result<SessionManagerLayer> {
    Ok(SessionManagerLayer::new(websession_sessions(mode).await?))
}

async fn serve_axum(app: Router, addr: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("bind {addr}"))?;
    axum::serve(listener, app).await?;
    Ok(())
}

fn axum_websession(layer: SessionManagerLayer) -> Router {
    async fn home(s: websession::Session) -> Html<String> {
        Html(page(s.get::<String>("pet_name").ok().flatten()))
    }
    async fn set(
        s: websession::Session,
        Form(f): Form<Pet>,
    ) -> Result<Redirect, websession::SessionError> {
        s.insert("pet_name", f.pet)?;
        s.set_permanent(true);
        Ok(Redirect::to("/"))
    }
    Router::new()
        .route("/", get(home))
        .route("/petname", axum::routing::post(set))
        .layer(layer)
}

fn axum_bare() -> Router {
    async fn home() -> Html<String> {
        Html(page(None))
    }
    async fn set(Form(_f): Form<Pet>) -> Redirect {
        Redirect::to("/")
    }
    Router::new()
        .route("/", get(home))
        .route("/petname", axum::routing::post(set))
}

fn axum_tower_sessions<S: tower_sessions::SessionStore + Clone>(store: S) -> Router {
    async fn home(s: tower_sessions::Session) -> Html<String> {
        Html(page(s.get::<String>("pet_name").await.ok().flatten()))
    }
    async fn set(s: tower_sessions::Session, Form(f): Form<Pet>) -> impl IntoResponse {
        match s.insert("pet_name", f.pet).await {
            Ok(()) => Redirect::to("/").into_response(),
            Err(_) => axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
    let layer = tower_sessions::SessionManagerLayer::new(store).with_secure(false);
    Router::new()
        .route("/", get(home))
        .route("/petname", axum::routing::post(set))
        .layer(layer)
}

/// axum-extra's cookie jars: the pet name is the cookie, written on `POST`
/// with the same attributes as websession's permanent session (`Path=/`,
/// `HttpOnly`, `SameSite=Lax`, 31 days). `refresh_on_get` re-adds it on
/// every `GET` that carries it: Flask's every-request refresh, by hand.
fn axum_extra(private: bool, refresh_on_get: bool) -> Router {
    use axum::extract::FromRequestParts;
    use axum::response::IntoResponseParts;
    use axum_extra::extract::cookie::{
        Cookie, Key as CookieKey, PrivateCookieJar, SameSite, SignedCookieJar,
    };

    #[derive(Clone)]
    struct State(CookieKey, bool);
    impl axum::extract::FromRef<State> for CookieKey {
        fn from_ref(s: &State) -> Self {
            s.0.clone()
        }
    }
    fn cookie(value: String) -> Cookie<'static> {
        Cookie::build(("pet_name", value))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .max_age(time::Duration::days(LIFETIME_DAYS))
            .build()
    }
    /// What both jars offer.
    trait Jar: FromRequestParts<State> + IntoResponseParts + Sized + Send + 'static {
        fn value(&self) -> Option<String>;
        fn with(self, value: String) -> Self;
    }
    impl Jar for SignedCookieJar {
        fn value(&self) -> Option<String> {
            self.get("pet_name").map(|c| c.value().to_owned())
        }
        fn with(self, value: String) -> Self {
            self.add(cookie(value))
        }
    }
    impl Jar for PrivateCookieJar {
        fn value(&self) -> Option<String> {
            self.get("pet_name").map(|c| c.value().to_owned())
        }
        fn with(self, value: String) -> Self {
            self.add(cookie(value))
        }
    }
    async fn home<J: Jar>(
        axum::extract::State(state): axum::extract::State<State>,
        jar: J,
    ) -> axum::response::Response {
        let name = jar.value();
        match name {
            Some(n) if state.1 => (jar.with(n.clone()), Html(page(Some(n)))).into_response(),
            name => Html(page(name)).into_response(),
        }
    }
    async fn set<J: Jar>(jar: J, Form(f): Form<Pet>) -> (J, Redirect) {
        (jar.with(f.pet), Redirect::to("/"))
    }
    fn routes<J: Jar>(state: State) -> Router
    where
        J::Rejection: IntoResponse,
    {
        Router::new()
            .route("/", get(home::<J>))
            .route("/petname", axum::routing::post(set::<J>))
            .with_state(state)
    }
    let state = State(CookieKey::generate(), refresh_on_get);
    if private {
        routes::<PrivateCookieJar>(state)
    } else {
        routes::<SignedCookieJar>(state)
    }
}

async fn run_actix(contender: &str, addr: SocketAddr) -> anyhow::Result<()> {
    use actix_web::{web, App, HttpResponse, HttpServer};

    async fn bare_home() -> HttpResponse {
        HttpResponse::Ok()
            .content_type("text/html")
            .body(page(None))
    }
    async fn bare_set(_f: web::Form<Pet>) -> HttpResponse {
        HttpResponse::SeeOther()
            .insert_header(("location", "/"))
            .finish()
    }
    async fn ws_home(s: websession::Session) -> HttpResponse {
        HttpResponse::Ok()
            .content_type("text/html")
            .body(page(s.get::<String>("pet_name").ok().flatten()))
    }
    async fn ws_set(s: websession::Session, f: web::Form<Pet>) -> HttpResponse {
        if s.insert("pet_name", &f.pet).is_err() {
            return HttpResponse::InternalServerError().finish();
        }
        s.set_permanent(true);
        HttpResponse::SeeOther()
            .insert_header(("location", "/"))
            .finish()
    }
    async fn as_home(s: actix_session::Session) -> HttpResponse {
        HttpResponse::Ok()
            .content_type("text/html")
            .body(page(s.get::<String>("pet_name").ok().flatten()))
    }
    async fn as_set(s: actix_session::Session, f: web::Form<Pet>) -> HttpResponse {
        if s.insert("pet_name", &f.pet).is_err() {
            return HttpResponse::InternalServerError().finish();
        }
        HttpResponse::SeeOther()
            .insert_header(("location", "/"))
            .finish()
    }

    let workers = 1;
    if contender == "bare-actix" {
        HttpServer::new(|| {
            App::new()
                .route("/", web::get().to(bare_home))
                .route("/petname", web::post().to(bare_set))
        })
        .workers(workers)
        .bind(addr)?
        .run()
        .await?;
    } else if let Some(mode) = contender.strip_prefix("websession-actix-") {
        let mw = websession::actix::SessionMiddleware::new(websession_sessions(mode).await?);
        HttpServer::new(move || {
            App::new()
                .wrap(mw.clone())
                .route("/", web::get().to(ws_home))
                .route("/petname", web::post().to(ws_set))
        })
        .workers(workers)
        .bind(addr)?
        .run()
        .await?;
    } else if let Some(variant) = contender
        .strip_prefix("actix-session-")
        .filter(|v| ["cookie", "signed", "signed-every"].contains(v))
    {
        use actix_session::config::{CookieContentSecurity, PersistentSession, TtlExtensionPolicy};
        // `cookie` is the crate's default content security, Private (AES-256-GCM).
        let security = if variant == "cookie" {
            CookieContentSecurity::Private
        } else {
            CookieContentSecurity::Signed
        };
        let policy = if variant == "signed-every" {
            TtlExtensionPolicy::OnEveryRequest
        } else {
            TtlExtensionPolicy::OnStateChanges
        };
        let lifecycle = PersistentSession::default()
            .session_ttl(actix_web::cookie::time::Duration::days(LIFETIME_DAYS))
            .session_ttl_extension_policy(policy);
        let key = actix_web::cookie::Key::generate();
        HttpServer::new(move || {
            let mw = actix_session::SessionMiddleware::builder(
                actix_session::storage::CookieSessionStore::default(),
                key.clone(),
            )
            .cookie_secure(false)
            .cookie_content_security(security)
            .session_lifecycle(lifecycle.clone())
            .build();
            App::new()
                .wrap(mw)
                .route("/", web::get().to(as_home))
                .route("/petname", web::post().to(as_set))
        })
        .workers(workers)
        .bind(addr)?
        .run()
        .await?;
    } else if contender == "actix-session-redis" {
        let key = actix_web::cookie::Key::generate();
        let store = actix_session::storage::RedisSessionStore::new(redis_url()).await?;
        HttpServer::new(move || {
            let mw = actix_session::SessionMiddleware::builder(store.clone(), key.clone())
                .cookie_secure(false)
                .build();
            App::new()
                .wrap(mw)
                .route("/", web::get().to(as_home))
                .route("/petname", web::post().to(as_set))
        })
        .workers(workers)
        .bind(addr)?
        .run()
        .await?;
    } else {
        bail!("unknown actix contender {contender}");
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let contender = args.next().context("usage: bench-server CONTENDER ADDR")?;
    let addr: SocketAddr = args
        .next()
        .context("usage: bench-server CONTENDER ADDR")?
        .parse()?;
    let actix = contender == "bare-actix"
        || contender.starts_with("websession-actix-")
        || contender.starts_with("actix-session");
    if actix {
        return actix_web::rt::System::new().block_on(run_actix(&contender, addr));
    }
    // One worker thread: the server gets one core, wrk the other.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let app = match contender.as_str() {
            "bare-axum" => axum_bare(),
            "tower-sessions-memory" => axum_tower_sessions(tower_sessions::MemoryStore::default()),
            "tower-sessions-redis" => {
                use tower_sessions_redis_store::fred::prelude::*;
                let config = Config::from_url(&redis_url())?;
                let pool = Pool::new(config, None, None, None, 4)?;
                pool.connect();
                pool.wait_for_connect().await?;
                axum_tower_sessions(tower_sessions_redis_store::RedisStore::new(pool))
            }
            "tower-sessions-sqlite" => {
                use tower_sessions_sqlx_store::sqlx::sqlite::{
                    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
                };
                // The same file name as websession's SQLite contender: `bench/run` removes it.
                let path = std::env::temp_dir()
                    .join(format!("websession-bench-{}.db", std::process::id()));
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(std::time::Duration::from_secs(5));
                let pool = SqlitePoolOptions::new()
                    .max_connections(8)
                    .connect_with(options)
                    .await?;
                let store = tower_sessions_sqlx_store::SqliteStore::new(pool);
                store.migrate().await?;
                axum_tower_sessions(store)
            }
            "tower-sessions-postgres" => {
                let pool = tower_sessions_sqlx_store::sqlx::postgres::PgPoolOptions::new()
                    .max_connections(16)
                    .connect(&database_url())
                    .await?;
                let store = tower_sessions_sqlx_store::PostgresStore::new(pool)
                    .with_schema_name("bench_tower_sessions")
                    .map_err(anyhow::Error::msg)?;
                store.migrate().await?;
                axum_tower_sessions(store)
            }
            "axum-extra-signed" => axum_extra(false, false),
            "axum-extra-signed-every" => axum_extra(false, true),
            "axum-extra-private" => axum_extra(true, false),
            other => match other.strip_prefix("websession-axum-") {
                Some(mode) => axum_websession(websession_layer(mode).await?),
                None => bail!("unknown contender {other}"),
            },
        };
        serve_axum(app, addr).await
    })
}
