//! Store mode through the tower layer, over `MemoryStore` wrapped so a test
//! can take it down and count its operations.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use axum::http::StatusCode;
use axum::Router;
use std::time::Duration;
use websession::store::{
    ChangeSet, IdHash, MemoryStore, Record, SessionId, SessionStore, StoreError, StoreErrorKind,
};
use websession::{SessionConfig, SessionManagerLayer, Sessions, StoreSessions};

use crate::support::{app, send, TestClock};

const T0: i64 = 1_700_000_000;

#[derive(Default)]
pub(crate) struct Probe {
    pub(crate) inner: MemoryStore,
    pub(crate) down: AtomicBool,
    /// Loads report a corrupt record.
    pub(crate) corrupt: AtomicBool,
    /// Every load yields to the runtime twice first (so concurrent loads
    /// interleave), then sleeps this many milliseconds.
    pub(crate) load_delay_ms: AtomicU64,
    pub(crate) reads: AtomicUsize,
    pub(crate) writes: AtomicUsize,
}

impl Probe {
    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError::new(
                StoreErrorKind::Unavailable,
                "connection refused",
            ))
        } else {
            Ok(())
        }
    }
    fn write(&self) -> Result<(), StoreError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.check()
    }
}

#[async_trait::async_trait]
impl SessionStore for Probe {
    async fn load(&self, id: &IdHash, now: u64) -> Result<Option<Record>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        tokio::task::yield_now().await;
        tokio::task::yield_now().await;
        let delay = self.load_delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        self.check()?;
        if self.corrupt.load(Ordering::SeqCst) {
            return Err(StoreError::new(
                StoreErrorKind::Corrupt,
                "bad tagged JSON at offset 3",
            ));
        }
        self.inner.load(id, now).await
    }
    async fn create(&self, id: &IdHash, record: &Record, now: u64) -> Result<(), StoreError> {
        self.write()?;
        self.inner.create(id, record, now).await
    }
    async fn update(&self, id: &IdHash, changes: &ChangeSet, now: u64) -> Result<(), StoreError> {
        self.write()?;
        self.inner.update(id, changes, now).await
    }
    async fn cycle_id(
        &self,
        old: &IdHash,
        new: &IdHash,
        changes: &ChangeSet,
        now: u64,
    ) -> Result<(), StoreError> {
        self.write()?;
        self.inner.cycle_id(old, new, changes, now).await
    }
    async fn delete(&self, id: &IdHash) -> Result<(), StoreError> {
        self.write()?;
        self.inner.delete(id).await
    }
    async fn delete_all_for(&self, user: &str) -> Result<u64, StoreError> {
        self.inner.delete_all_for(user).await
    }
}

fn setup(f: impl FnOnce(SessionConfig) -> SessionConfig) -> (Router, Arc<Probe>, TestClock) {
    setup_with(f, |s| s)
}

/// As [`setup`], with the store mode's own options.
fn setup_with(
    f: impl FnOnce(SessionConfig) -> SessionConfig,
    g: impl FnOnce(StoreSessions) -> StoreSessions,
) -> (Router, Arc<Probe>, TestClock) {
    let clock = TestClock::at(T0);
    let probe = Arc::new(Probe::default());
    let config = f(SessionConfig::default().with_clock(clock.clock()));
    (
        app(Sessions::store(probe.clone(), config).map(g)),
        probe,
        clock,
    )
}

async fn login(app: &Router) -> String {
    let r = send(app, "/set/user/alice", None).await;
    let id = r.cookie_value("session").expect("cookie");
    assert_eq!(id.len(), 43, "the cookie holds only the id");
    format!("session={id}")
}

#[tokio::test]
async fn the_cookie_holds_an_id_and_the_store_the_data() {
    let (app, probe, _) = setup(|c| c);
    let cookie = login(&app).await;
    assert!(!cookie.contains("alice"));
    assert_eq!(probe.inner.len(), 1);
    let r = send(&app, "/read", Some(&cookie)).await;
    assert_eq!(r.body, r#"{"user":"alice"}"#);
    assert!(r.set_cookie.is_empty(), "nothing changed, nothing sent");
    assert_eq!(r.vary, ["Cookie"]);
}

#[tokio::test]
async fn routes_that_do_not_use_the_session_never_touch_the_store() {
    let (app, probe, _) = setup(|c| c);
    let cookie = login(&app).await;
    let (reads, writes) = (
        probe.reads.load(Ordering::SeqCst),
        probe.writes.load(Ordering::SeqCst),
    );
    for _ in 0..10 {
        send(&app, "/noop", Some(&cookie)).await;
    }
    assert_eq!(probe.reads.load(Ordering::SeqCst), reads);
    assert_eq!(probe.writes.load(Ordering::SeqCst), writes);
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_never_adopted_and_reads_create_nothing() {
    let (app, probe, _) = setup(|c| c);
    let unknown = SessionId::generate();
    for cookie in [
        format!("session={unknown}"),
        "session=short".into(),
        "session=".into(),
        format!("session={}=", &unknown.as_str()[..42]),
    ] {
        let r = send(&app, "/read", Some(&cookie)).await;
        assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "{}"));
        assert!(r.set_cookie.is_empty());
    }
    assert_eq!(probe.writes.load(Ordering::SeqCst), 0, "no store write");
    assert!(probe.inner.is_empty(), "a read never creates a record");
    // Writing under an unknown id gets a fresh id, not the attacker's.
    let r = send(&app, "/set/a/b", Some(&format!("session={unknown}"))).await;
    let fresh = r.cookie_value("session").expect("new id");
    assert_ne!(fresh, unknown.as_str());
}

#[tokio::test]
async fn a_flood_of_bogus_cookies_causes_no_writes() {
    let (app, probe, _) = setup(|c| c);
    for _ in 0..10_000 {
        send(
            &app,
            "/read",
            Some(&format!("session={}", SessionId::generate())),
        )
        .await;
    }
    assert_eq!(probe.writes.load(Ordering::SeqCst), 0);
    assert_eq!(
        probe.reads.load(Ordering::SeqCst),
        10_000,
        "one read each, bounded"
    );
}

#[tokio::test]
async fn a_down_store_fails_closed_and_recovers() {
    let (app, probe, _) = setup(|c| c);
    let cookie = login(&app).await;
    probe.down.store(true, Ordering::SeqCst);
    let r = send(&app, "/read", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.body.is_empty(), "opaque: {}", r.body);
    assert!(r.set_cookie.is_empty(), "the old cookie is untouched");
    // A write that fails is a 500 with no cookie for unpersisted state.
    probe.down.store(false, Ordering::SeqCst);
    let loaded_then_down = send(&app, "/read", Some(&cookie)).await;
    assert_eq!(loaded_then_down.status, StatusCode::OK);
    probe.down.store(true, Ordering::SeqCst);
    let r = send(&app, "/set/x/y", None).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.set_cookie.is_empty());
    // Back up: the same cookie works again, nothing was lost.
    probe.down.store(false, Ordering::SeqCst);
    assert_eq!(
        send(&app, "/read", Some(&cookie)).await.body,
        r#"{"user":"alice"}"#
    );
}

#[tokio::test]
async fn failing_open_is_an_explicit_option() {
    let (app, probe, _) = setup_with(|c| c, |s| s.with_fail_open(true));
    let cookie = login(&app).await;
    probe.down.store(true, Ordering::SeqCst);
    let writes = probe.writes.load(Ordering::SeqCst);
    let r = send(&app, "/modify", Some(&cookie)).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::OK, r#"{"counter":1}"#),
        "served as an empty session"
    );
    assert!(r.set_cookie.is_empty(), "and never saved");
    assert_eq!(probe.writes.load(Ordering::SeqCst), writes);
    // The handler can tell.
    assert_eq!(send(&app, "/unsaved", Some(&cookie)).await.body, "true");
    probe.down.store(false, Ordering::SeqCst);
    assert_eq!(send(&app, "/unsaved", Some(&cookie)).await.body, "false");
}

#[tokio::test]
async fn overlapping_requests_to_different_keys_both_keep_their_writes() {
    let (app, probe, _) = setup(|c| c);
    let cookie = login(&app).await;
    // Run 20 requests at once, each setting its own key.
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (app, cookie) = (app.clone(), cookie.clone());
            tokio::spawn(async move {
                send(&app, &format!("/set/k{i}/v{i}"), Some(&cookie))
                    .await
                    .status
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.expect("task"), StatusCode::OK);
    }
    let r = send(&app, "/read", Some(&cookie)).await;
    let data: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&r.body).expect("json");
    assert_eq!(data.len(), 21, "user + 20 keys: {}", r.body);
    assert_eq!(probe.inner.len(), 1);
}

#[tokio::test]
async fn purge_deletes_the_record_and_the_old_cookie_replays_as_anonymous() {
    let (app, probe, _) = setup(|c| c.with_cookie(|c| c.with_domain("example.com")));
    let cookie = login(&app).await;
    let r = send(&app, "/purge", Some(&cookie)).await;
    assert!(
        r.set_cookie[0].starts_with("session=; Domain=example.com; Expires=Thu, 01 Jan 1970"),
        "{:?}",
        r.set_cookie
    );
    assert!(probe.inner.is_empty(), "the record is gone");
    assert_eq!(send(&app, "/read", Some(&cookie)).await.body, "{}");
    // A slow request that loaded before the purge can't write it back.
    let r = send(&app, "/set/late/write", Some(&cookie)).await;
    assert_ne!(
        r.cookie_value("session").as_deref(),
        Some(cookie.trim_start_matches("session="))
    );
}

#[tokio::test]
async fn cycle_id_moves_the_data_and_kills_the_old_id() {
    let (app, _, _) = setup(|c| c);
    let cookie = login(&app).await;
    let r = send(&app, "/cycle", Some(&cookie)).await;
    let fresh = format!("session={}", r.cookie_value("session").expect("new id"));
    assert_ne!(fresh, cookie);
    assert_eq!(
        send(&app, "/read", Some(&fresh)).await.body,
        r#"{"user":"alice"}"#
    );
    assert_eq!(
        send(&app, "/read", Some(&cookie)).await.body,
        "{}",
        "the old id is dead"
    );
}

#[tokio::test]
async fn nothing_is_written_on_5xx() {
    let (app, probe, _) = setup(|c| c);
    let r = send(&app, "/fail", None).await;
    assert!(r.set_cookie.is_empty());
    assert_eq!(probe.writes.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn expiry_is_extended_only_when_most_of_the_ttl_is_gone() {
    let (app, probe, clock) =
        setup(|c| c.with_lifetime(|l| l.with_permanent_lifetime(Duration::from_secs(1000))));
    let cookie = login(&app).await;
    let writes = probe.writes.load(Ordering::SeqCst);
    clock.advance(100);
    send(&app, "/read", Some(&cookie)).await;
    assert_eq!(
        probe.writes.load(Ordering::SeqCst),
        writes,
        "90% of the TTL left: no write"
    );
    clock.advance(500);
    send(&app, "/read", Some(&cookie)).await;
    assert_eq!(
        probe.writes.load(Ordering::SeqCst),
        writes + 1,
        "past half: one cheap touch"
    );
    clock.advance(900);
    assert_eq!(
        send(&app, "/read", Some(&cookie)).await.body,
        r#"{"user":"alice"}"#,
        "the touch extended it"
    );
    clock.advance(1001);
    assert_eq!(
        send(&app, "/read", Some(&cookie)).await.body,
        "{}",
        "expired"
    );
}

#[tokio::test]
async fn permanent_sessions_get_expires_from_the_record() {
    let (app, _, _) =
        setup(|c| c.with_lifetime(|l| l.with_permanent_lifetime(Duration::from_secs(60))));
    let r = send(&app, "/permanent", None).await;
    assert!(
        r.set_cookie[0].contains("Expires=Tue, 14 Nov 2023 22:14:20 GMT"),
        "{:?}",
        r.set_cookie
    );
}

#[tokio::test]
async fn absolute_timeout_holds_in_store_mode() {
    let (app, _, clock) =
        setup(|c| c.with_lifetime(|l| l.with_absolute_timeout(Duration::from_secs(300))));
    let cookie = login(&app).await;
    for _ in 0..4 {
        clock.advance(70);
        assert!(send(&app, "/modify", Some(&cookie))
            .await
            .body
            .contains("alice"));
    }
    clock.set(T0 + 301);
    assert_eq!(send(&app, "/read", Some(&cookie)).await.body, "{}");
}

#[tokio::test]
async fn log_out_everywhere() {
    let clock = TestClock::at(T0);
    let store = Arc::new(MemoryStore::new());
    let app =
        Router::new()
            .route(
                "/login/{user}",
                axum::routing::get(
                    |s: websession::Session,
                     axum::extract::Path(u): axum::extract::Path<String>| async move {
                        s.insert("user", &u).expect("insert");
                        s.log_in(&u);
                        s.cycle_id();
                        "ok"
                    },
                ),
            )
            .merge(app(Sessions::signed(
                websession::KeyRing::new(websession::Key::generate()),
                SessionConfig::default(),
            )))
            .layer(SessionManagerLayer::new(
                Sessions::store(
                    store.clone(),
                    SessionConfig::default().with_clock(clock.clock()),
                )
                .expect("valid"),
            ));
    let phone = send(&app, "/login/alice", None)
        .await
        .cookie_value("session")
        .expect("c");
    let laptop = send(&app, "/login/alice", None)
        .await
        .cookie_value("session")
        .expect("c");
    let bob = send(&app, "/login/bob", None)
        .await
        .cookie_value("session")
        .expect("c");
    assert_eq!(store.delete_all_for("alice").await.expect("revoke"), 2);
    assert_eq!(store.len(), 1);
    for (c, left) in [(phone, false), (laptop, false), (bob, true)] {
        let now = u64::try_from(T0).expect("t");
        let id = SessionId::parse(&c).expect("id");
        assert_eq!(
            store.load(&id.hash(), now).await.expect("load").is_some(),
            left
        );
    }
}

/// The app's own outage page: every 503 websession answers for a store it
/// can't reach carries `StoreOutage`, which an outer layer swaps for the
/// app's page; the app's own 503s and other failures are left alone.
#[tokio::test]
async fn an_outage_is_marked_for_the_apps_own_page() {
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;
    use websession::{Session, SessionError, StoreOutage};

    async fn page(res: Response) -> Response {
        match res.extensions().get::<StoreOutage>() {
            Some(_) => (StatusCode::SERVICE_UNAVAILABLE, "back soon").into_response(),
            None => res,
        }
    }
    let probe = Arc::new(Probe::default());
    let sessions = Sessions::store(probe.clone(), SessionConfig::default()).expect("valid");
    let app = Router::new()
        .route(
            "/set",
            get(|s: Session| async move {
                s.insert("user", "alice")?;
                Ok::<_, SessionError>("set")
            }),
        )
        .route(
            "/read",
            get(|s: Session| async move { format!("{:?}", s.len()) }),
        )
        .route(
            "/handler-store-error",
            get(|| async {
                Err::<(), _>(SessionError::Store(StoreError::from_kind(
                    StoreErrorKind::Unavailable,
                )))
            }),
        )
        .route(
            "/own-503",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "maintenance") }),
        )
        .layer(SessionManagerLayer::new(sessions))
        .layer(axum::middleware::map_response(page));
    let cookie = format!(
        "session={}",
        send(&app, "/set", None)
            .await
            .cookie_value("session")
            .expect("cookie")
    );
    probe.down.store(true, Ordering::SeqCst);
    for path in ["/read", "/handler-store-error"] {
        let r = send(&app, path, Some(&cookie)).await;
        assert_eq!(
            (r.status, r.body.as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, "back soon"),
            "{path}"
        );
    }
    let r = send(&app, "/own-503", Some(&cookie)).await;
    assert_eq!(r.body, "maintenance", "not websession's outage");
}
