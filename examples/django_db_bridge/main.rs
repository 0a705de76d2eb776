//! The Rust half of the Django database-session bridge: reads and writes the
//! `django_session` rows a Django app uses, under its `sessionid` cookie,
//! and honours Django's logout on password change.
//!
//! ```text
//! SECRET_KEY='a shared secret of at least 32 bytes!' python examples/django_db_bridge/app.py &
//! SECRET_KEY='a shared secret of at least 32 bytes!' cargo run --example django_db_bridge
//! ```
//!
//! Log in on <http://127.0.0.1:5001/> (Django), then open
//! <http://127.0.0.1:5002/> (this app). See `examples/django_db_bridge/README.md`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use axum::extract::{Query, State};
use axum::response::{Html, Redirect};
use axum::routing::get;
use axum::Router;
use websession::{Key, KeyRing, Session, SessionConfig, SessionManagerLayer, Sessions};
use websession_examples::escape_html;
use websession_python::django::{
    session_auth_hash, session_auth_matches, AuthHashCheck, DjangoOptions, DjangoStore,
    HASH_SESSION_KEY, SESSION_KEY,
};

/// Where Django keeps its users: the Rust side reads `auth_user.password`
/// for Django's `_auth_user_hash` check.
enum Users {
    Sqlite(PathBuf),
    Postgres(tokio_postgres::Client),
}

impl Users {
    /// The password hash of the user with primary key `id`, if any.
    async fn password_hash(&self, id: &str) -> anyhow::Result<Option<String>> {
        let Ok(id) = id.parse::<i64>() else {
            return Ok(None);
        };
        match self {
            Self::Sqlite(path) => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || {
                    let db = rusqlite::Connection::open(path)?;
                    let mut query = db.prepare("SELECT password FROM auth_user WHERE id = ?1")?;
                    let mut rows = query.query_map([id], |row| row.get::<_, String>(0))?;
                    Ok(rows.next().transpose()?)
                })
                .await?
            }
            Self::Postgres(client) => Ok(client
                .query_opt("SELECT password FROM auth_user WHERE id = $1", &[&id])
                .await?
                .map(|row| row.get(0))),
        }
    }
}

struct App {
    keys: KeyRing,
    users: Users,
}

/// Django's check (`django.contrib.auth.get_user`): a session whose
/// `_auth_user_hash` no longer matches the user's password hash is flushed.
/// Gives the logged-in user's id.
async fn logged_in(app: &App, session: &Session) -> anyhow::Result<Option<String>> {
    let Some(id) = session.get::<String>(SESSION_KEY)? else {
        return Ok(None);
    };
    let stored: String = session.get(HASH_SESSION_KEY)?.unwrap_or_default();
    let current = app.users.password_hash(&id).await?.unwrap_or_default();
    match session_auth_matches(&app.keys, &current, &stored) {
        AuthHashCheck::Current => Ok(Some(id)),
        AuthHashCheck::Fallback => {
            // Signed under a key of SECRET_KEY_FALLBACKS: as Django does,
            // rotate the session and keep the current key's hash, so the
            // login outlives the old key.
            session.cycle_id();
            session.insert(HASH_SESSION_KEY, session_auth_hash(&app.keys, &current))?;
            Ok(Some(id))
        }
        // The password changed: logged out, as in Django.
        _ => {
            session.purge();
            Ok(None)
        }
    }
}

async fn index(State(app): State<Arc<App>>, session: Session) -> Html<String> {
    let who = match logged_in(&app, &session).await {
        Ok(Some(id)) => format!(
            "logged in as Django user #{} (Django's login, checked against auth_user)",
            escape_html(&id)
        ),
        Ok(None) => "not logged in".to_owned(),
        Err(e) => format!("could not read the user: {}", escape_html(&e.to_string())),
    };
    let pet = session
        .get::<String>("pet_name")
        .ok()
        .flatten()
        .unwrap_or_else(|| "(none)".to_owned());
    Html(format!(
        "<p>Rust: {who}. Pet name: <b>{}</b>.</p>\
         <form action=\"/pet\"><input name=\"name\" placeholder=\"pet name\"> <button>Name the pet from Rust</button></form>\
         <form action=\"/logout\"><button>Log out from Rust</button></form>\
         <p><a href=\"http://127.0.0.1:5001/\">Back to Django</a></p>",
        escape_html(&pet)
    ))
}

#[derive(serde::Deserialize)]
struct PetName {
    name: String,
}

async fn name_pet(session: Session, Query(q): Query<PetName>) -> Redirect {
    // One key of the Django row changes; Django sees it on its next request.
    let _ = session.insert("pet_name", q.name);
    Redirect::to("/")
}

async fn log_out(session: Session) -> Redirect {
    // The row and the cookie go: Django's flush().
    session.purge();
    Redirect::to("/")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().init();
    let secret =
        std::env::var("SECRET_KEY").context("set SECRET_KEY to the Django app's SECRET_KEY")?;
    let keys = KeyRing::new(Key::from_utf8(&secret)?);
    let options = DjangoOptions::new(keys.clone());
    let (store, users) = match std::env::var("DATABASE_URL") {
        Ok(url) => {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
            tokio::spawn(connection);
            (
                DjangoStore::postgres(&url, options).await?,
                Users::Postgres(client),
            )
        }
        Err(_) => {
            let path = std::env::var("DJANGO_SQLITE")
                .unwrap_or_else(|_| "target/django_db_bridge.sqlite3".to_owned());
            let store = DjangoStore::sqlite(&path, options)
                .await
                .context("start the Django app first: its migrate makes the table")?;
            (store, Users::Sqlite(path.into()))
        }
    };
    // Django's cookie: `sessionid`, two weeks, Expires on every session.
    let sessions = Sessions::store(store, SessionConfig::django())?;
    let app = Router::new()
        .route("/", get(index))
        .route("/pet", get(name_pet))
        .route("/logout", get(log_out))
        .with_state(Arc::new(App { keys, users }))
        .layer(SessionManagerLayer::new(sessions));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:5002").await?;
    tracing::info!("the Rust half on http://127.0.0.1:5002");
    axum::serve(listener, app).await?;
    Ok(())
}
