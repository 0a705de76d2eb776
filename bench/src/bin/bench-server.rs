//! One contender of the HTTP benchmark: the same pet-name app on every
//! framework and session library. `GET /` reads `pet_name` from the session;
//! `POST /petname` (form field `pet`) writes it and redirects to `/`.
//!
//! ```text
//! bench-server CONTENDER ADDR
//! ```
//!
//! Contenders: `bare-axum`, `bare-actix`, `websession-{axum,actix}-{signed,sealed,memory,sqlite,redis,postgres}`,
//! `tower-sessions-memory`, `tower-sessions-redis`, `axum-extra-signed`,
//! `actix-session-cookie`, `actix-session-redis`. Redis and PostgreSQL come
//! from `REDIS_URL` and `DATABASE_URL`.

use std::net::SocketAddr;

use anyhow::{bail, Context};
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::get;
use axum::{Form, Router};
use websession::core::store::MemoryStore;
use websession::{Key, KeyRing, SessionConfig, SessionManagerLayer, Sessions};

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

async fn websession_sessions(mode: &str) -> anyhow::Result<Sessions> {
    let keys = KeyRing::new(Key::from_utf8(KEY)?);
    // Plain HTTP on loopback for wrk: no Secure needed by the client.
    let config = SessionConfig::default().with_insecure_cookie();
    let sessions = match mode {
        "signed" => Sessions::signed(keys, config),
        "sealed" => Sessions::sealed(keys, config),
        "memory" => Sessions::with_store(MemoryStore::new(), config),
        "sqlite" => {
            let path =
                std::env::temp_dir().join(format!("websession-bench-{}.db", std::process::id()));
            Sessions::with_store(
                websession_sqlite::SqliteStore::open(path.to_str().unwrap_or("bench.db")).await?,
                config,
            )
        }
        "redis" => Sessions::with_store(
            websession_redis::RedisStore::connect(&redis_url()).await?,
            config,
        ),
        "postgres" => {
            let store = websession_postgres::PostgresStore::connect(&database_url()).await?;
            store.migrate().await?;
            Sessions::with_store(store, config)
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

fn axum_extra_signed() -> Router {
    use axum_extra::extract::cookie::{Cookie, Key as CookieKey, SignedCookieJar};

    #[derive(Clone)]
    struct State(CookieKey);
    impl axum::extract::FromRef<State> for CookieKey {
        fn from_ref(s: &State) -> Self {
            s.0.clone()
        }
    }
    async fn home(jar: SignedCookieJar) -> Html<String> {
        Html(page(jar.get("pet_name").map(|c| c.value().to_owned())))
    }
    async fn set(jar: SignedCookieJar, Form(f): Form<Pet>) -> (SignedCookieJar, Redirect) {
        (jar.add(Cookie::new("pet_name", f.pet)), Redirect::to("/"))
    }
    Router::new()
        .route("/", get(home))
        .route("/petname", axum::routing::post(set))
        .with_state(State(CookieKey::generate()))
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
    } else if contender == "actix-session-cookie" {
        let key = actix_web::cookie::Key::generate();
        HttpServer::new(move || {
            let mw = actix_session::SessionMiddleware::builder(
                actix_session::storage::CookieSessionStore::default(),
                key.clone(),
            )
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
            "axum-extra-signed" => axum_extra_signed(),
            other => match other.strip_prefix("websession-axum-") {
                Some(mode) => axum_websession(websession_layer(mode).await?),
                None => bail!("unknown contender {other}"),
            },
        };
        serve_axum(app, addr).await
    })
}
