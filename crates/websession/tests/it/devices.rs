//! "Where you're logged in" (issue 18): a handler lists its user's sessions
//! with `SessionStore::sessions_of` and logs out every other one with
//! `delete_others_of`, the current session found by `Session::id`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use websession::core::store::{MemoryStore, SessionStore};
use websession::core::Value;
use websession::{Session, SessionConfig, SessionManagerLayer, Sessions};

use crate::support::{send, TestClock};

const T0: i64 = 1_700_000_000;

fn devices_app(store: Arc<MemoryStore>, clock: &TestClock) -> Router {
    let config = SessionConfig::default().with_clock(clock.clock());
    let sessions = Sessions::store(store.clone(), config).expect("valid");
    Router::new()
        .route(
            "/login/{user}/{device}",
            get(|s: Session, Path((user, device)): Path<(String, String)>| async move {
                s.insert("device", device).expect("insert");
                s.set_user(Some(&user));
                s.cycle_id();
                "logged in"
            }),
        )
        .route(
            "/devices",
            get(
                |s: Session, State((store, clock)): State<(Arc<MemoryStore>, TestClock)>| async move {
                    let me = s.id().expect("a stored session").hash();
                    let now = clock.clock().unix_seconds();
                    let mut list: Vec<String> = store
                        .sessions_of("alice", now)
                        .await
                        .expect("sessions_of")
                        .into_iter()
                        .map(|(id, record)| {
                            let device = match record.data.get("device") {
                                Some(Value::Str(d)) => d.clone(),
                                _ => "?".into(),
                            };
                            if id == me { format!("{device} (this one)") } else { device }
                        })
                        .collect();
                    list.sort();
                    list.join(", ")
                },
            ),
        )
        .route(
            "/logout-others",
            get(
                |s: Session, State((store, clock)): State<(Arc<MemoryStore>, TestClock)>| async move {
                    let me = s.id().expect("a stored session").hash();
                    let now = clock.clock().unix_seconds();
                    let n = store
                        .delete_others_of("alice", &me, now)
                        .await
                        .expect("delete_others_of");
                    format!("{n} logged out")
                },
            ),
        )
        .route(
            "/device",
            get(|s: Session| async move { format!("{:?}", s.get::<String>("device")) }),
        )
        .layer(SessionManagerLayer::new(sessions))
        .with_state((store, clock.clone()))
}

#[tokio::test]
async fn a_user_sees_their_sessions_and_logs_out_the_others() {
    let clock = TestClock::at(T0);
    let store = Arc::new(MemoryStore::new());
    let app = devices_app(store.clone(), &clock);
    let mut cookies = Vec::new();
    for device in ["phone", "laptop", "tablet"] {
        let r = send(&app, &format!("/login/alice/{device}"), None).await;
        cookies.push(format!(
            "session={}",
            r.cookie_value("session").expect("cookie")
        ));
    }
    let bob = send(&app, "/login/bob/desktop", None).await;
    let bob = format!("session={}", bob.cookie_value("session").expect("cookie"));

    let r = send(&app, "/devices", Some(&cookies[1])).await;
    assert_eq!(r.body, "laptop (this one), phone, tablet");

    let r = send(&app, "/logout-others", Some(&cookies[1])).await;
    assert_eq!(r.body, "2 logged out");
    assert_eq!(
        send(&app, "/device", Some(&cookies[0])).await.body,
        "Ok(None)"
    );
    assert_eq!(
        send(&app, "/device", Some(&cookies[2])).await.body,
        "Ok(None)"
    );
    assert_eq!(
        send(&app, "/device", Some(&cookies[1])).await.body,
        r#"Ok(Some("laptop"))"#
    );
    assert_eq!(
        send(&app, "/device", Some(&bob)).await.body,
        r#"Ok(Some("desktop"))"#,
        "other users keep their sessions"
    );
    let r = send(&app, "/devices", Some(&cookies[1])).await;
    assert_eq!(r.body, "laptop (this one)");
}
