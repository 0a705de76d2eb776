//! The `Session` conveniences peers have (issue 18): typed `remove`,
//! `get_or_insert_with`, `update`, `id`, and the bool cookie setters.

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use websession::store::MemoryStore;
use websession::{Session, SessionConfig, SessionManagerLayer};

use crate::support::{send, sessions_for, Mode};

fn api_app(mode: Mode, config: SessionConfig) -> Router {
    let sessions = sessions_for(mode, &Arc::new(MemoryStore::new()), config).expect("valid");
    Router::new()
        .route(
            "/visit",
            get(|s: Session| async move {
                let visits = s.update("visits", |n: Option<u64>| n.unwrap_or(0) + 1);
                let cart: Result<Vec<String>, _> = s.get_or_insert_with("cart", || vec!["tea".into()]);
                format!("{visits:?} {cart:?}")
            }),
        )
        .route(
            "/take",
            get(|s: Session| async move {
                let first: Result<Option<u64>, _> = s.remove("visits");
                let again: Result<Option<u64>, _> = s.remove("visits");
                let wrong: Result<Option<u64>, _> = s.remove("cart");
                format!(
                    "{first:?} {again:?} {} {}",
                    wrong.is_err(),
                    s.contains("cart")
                )
            }),
        )
        .route(
            "/wrong-update",
            get(|s: Session| async move {
                let r = s.update("cart", |n: Option<u64>| n.unwrap_or(0) + 1);
                format!("{} {:?}", r.is_err(), s.get::<Vec<String>>("cart"))
            }),
        )
        .route(
            "/id",
            get(|s: Session| async move { format!("{:?}", s.id().map(|id| id.as_str().to_owned())) }),
        )
        .layer(SessionManagerLayer::new(sessions))
}

#[tokio::test]
async fn typed_remove_update_and_get_or_insert_with() {
    for mode in [Mode::Signed, Mode::Sealed, Mode::Memory] {
        let app = api_app(mode, SessionConfig::default());
        let first = send(&app, "/visit", None).await;
        assert_eq!(first.body, r#"Ok(1) Ok(["tea"])"#, "{mode:?}");
        let cookie = format!("session={}", first.cookie_value("session").expect("set"));
        let second = send(&app, "/visit", Some(&cookie)).await;
        assert_eq!(second.body, r#"Ok(2) Ok(["tea"])"#, "{mode:?}");
        // Store mode keeps the id (no new cookie); cookie modes send the data.
        let cookie = second
            .cookie_value("session")
            .map_or(cookie, |v| format!("session={v}"));
        let wrong = send(&app, "/wrong-update", Some(&cookie)).await;
        assert_eq!(
            wrong.body, r#"true Ok(Some(["tea"]))"#,
            "{mode:?}: nothing changed"
        );
        assert!(
            wrong.set_cookie.is_empty(),
            "{mode:?}: {:?}",
            wrong.set_cookie
        );
        let take = send(&app, "/take", Some(&cookie)).await;
        assert_eq!(take.body, "Ok(Some(2)) Ok(None) true false", "{mode:?}");
    }
}

#[tokio::test]
async fn id_is_the_store_records_id() {
    let app = api_app(Mode::Memory, SessionConfig::default());
    assert_eq!(send(&app, "/id", None).await.body, "None", "no record yet");
    let saved = send(&app, "/visit", None).await;
    let id = saved.cookie_value("session").expect("set");
    let cookie = format!("session={id}");
    assert_eq!(
        send(&app, "/id", Some(&cookie)).await.body,
        format!("Some({id:?})")
    );
    for mode in [Mode::Signed, Mode::Sealed] {
        let app = api_app(mode, SessionConfig::default());
        let saved = send(&app, "/visit", None).await;
        let cookie = format!("session={}", saved.cookie_value("session").expect("set"));
        assert_eq!(
            send(&app, "/id", Some(&cookie)).await.body,
            "None",
            "{mode:?}"
        );
    }
}

#[tokio::test]
async fn secure_and_http_only_take_a_bool() {
    let attrs = |config: SessionConfig| async move {
        let r = send(&api_app(Mode::Signed, config), "/visit", None).await;
        let header = r.set_cookie.first().cloned().expect("set");
        (header.contains("; Secure"), header.contains("; HttpOnly"))
    };
    assert_eq!(attrs(SessionConfig::default()).await, (true, true));
    assert_eq!(
        attrs(SessionConfig::default().with_cookie(|c| c.with_secure(false).with_http_only(false)))
            .await,
        (false, false)
    );
    assert_eq!(
        attrs(SessionConfig::default().with_cookie(|c| c.with_secure(false).with_secure(true)))
            .await,
        (true, true)
    );
}

/// `Option<Session>` on axum: `None` without the layer, a session with it.
#[tokio::test]
async fn optional_session_extraction() {
    let handler = |s: Option<Session>| async move { format!("{}", s.is_some()) };
    let bare = Router::new().route("/", get(handler));
    assert_eq!(send(&bare, "/", None).await.body, "false");
    let sessions = sessions_for(
        Mode::Signed,
        &Arc::new(MemoryStore::new()),
        SessionConfig::default(),
    )
    .expect("valid");
    let wrapped = Router::new()
        .route("/", get(handler))
        .layer(SessionManagerLayer::new(sessions));
    assert_eq!(send(&wrapped, "/", None).await.body, "true");
}
