//! Revocation for cookie sessions (issue 19): logout that stops copies of
//! the cookie, "log out everywhere", the cache's staleness bound on the
//! injected clock, and a store that can't be reached. Two `Sessions` that
//! share one revocation store and keys stand for two processes. Every
//! cookie mode, and (the suite) both adapters.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use axum::http::StatusCode;
use std::time::Duration;
use websession::store::{
    IdHash, MemoryRevocations, MemoryStore, RevocationStore, StoreError, StoreErrorKind, Verdict,
};
use websession::{Revocation, SessionConfig, Sessions};

use crate::kit::{self, scenario, Tower};
use crate::support::{sessions_for, sessions_with, Client, Mode, Reply, TestClock, COOKIE_MODES};

const T0: i64 = 1_700_000_000;
const STALENESS: i64 = 5;

/// A revocation store that counts its calls and can be taken down.
#[derive(Default)]
struct Backend {
    inner: MemoryRevocations,
    calls: AtomicUsize,
    down: AtomicBool,
}

impl Backend {
    fn call(&self) -> Result<(), StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::new(
                StoreErrorKind::Unavailable,
                "down for the test",
            ));
        }
        Ok(())
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl RevocationStore for Backend {
    async fn check(
        &self,
        user: Option<&str>,
        id: &IdHash,
        now: u64,
    ) -> Result<Verdict, StoreError> {
        self.call()?;
        self.inner.check(user, id, now).await
    }
    async fn generation(&self, user: &str) -> Result<u64, StoreError> {
        self.call()?;
        self.inner.generation(user).await
    }
    async fn bump_generation(&self, user: &str) -> Result<u64, StoreError> {
        self.call()?;
        self.inner.bump_generation(user).await
    }
    async fn deny(&self, id: &IdHash, until: u64) -> Result<(), StoreError> {
        self.call()?;
        self.inner.deny(id, until).await
    }
    async fn delete_expired_denials(&self, now: u64) -> Result<u64, StoreError> {
        self.call()?;
        self.inner.delete_expired_denials(now).await
    }
}

fn config(clock: &TestClock) -> SessionConfig {
    SessionConfig::default()
        .with_clock(clock.clock())
        .with_lifetime(|l| l.with_permanent_lifetime(Duration::from_secs(86_400)))
}

fn sessions(mode: Mode, clock: &TestClock, revocation: &Revocation) -> Sessions {
    let store = Arc::new(MemoryStore::new());
    let sessions = sessions_with(mode, &store, config(clock), Some(revocation.clone()), None);
    sessions.expect("valid")
}

/// The kit's app on axum, for the tests that need its router.
fn tower(sessions: Sessions) -> Tower {
    Tower(kit::router(sessions))
}

fn cookie(reply: &Reply) -> String {
    format!(
        "session={}",
        reply.cookie_value("session").expect("a session cookie")
    )
}

/// Two processes (`a`, `b`) on one backend; each has its own cache.
struct World {
    backend: Arc<Backend>,
    clock: TestClock,
    a: Revocation,
    b: Revocation,
}

impl World {
    fn new() -> Self {
        let backend = Arc::new(Backend::default());
        let staleness = Duration::from_secs(STALENESS as u64);
        Self {
            a: Revocation::new(backend.clone()).with_staleness(staleness),
            b: Revocation::new(backend.clone()).with_staleness(staleness),
            backend,
            clock: TestClock::at(T0),
        }
    }
}

async fn read(client: &dyn Client, cookie: &str) -> Reply {
    client.get("/read", Some(cookie)).await
}

/// A cookie revoked elsewhere still opens on `b`, which last asked the
/// store at `asked`, until `asked + STALENESS`, and from then on never.
async fn staleness_bound(
    w: &World,
    b: &dyn Client,
    revoked: &str,
    asked: i64,
    body: &str,
    label: &str,
) {
    w.clock.set(asked + STALENESS - 1);
    assert_eq!(
        read(b, revoked).await.body,
        body,
        "{label}: within b's staleness, the revoked cookie still opens there"
    );
    w.clock.set(asked + STALENESS);
    assert_eq!(read(b, revoked).await.body, "{}", "{label}: past it, never");
}

/// The behaviour, against process `a` and process `b` built with one adapter.
async fn suite(w: &World, a: &dyn Client, b: &dyn Client, label: &str) {
    // Login: the hidden keys never reach handlers.
    let r = a.get("/signin/alice", None).await;
    assert_eq!(r.status, StatusCode::OK, "{label}");
    let c1 = cookie(&r);
    assert_eq!(
        read(a, &c1).await.body,
        r#"{"_ws_login":"alice"}"#,
        "{label}"
    );
    assert_eq!(
        read(b, &c1).await.body,
        r#"{"_ws_login":"alice"}"#,
        "{label}: b caches at T0"
    );

    // A warm cache pays no round trip.
    let calls = w.backend.calls();
    for _ in 0..3 {
        assert_eq!(
            read(a, &c1).await.body,
            r#"{"_ws_login":"alice"}"#,
            "{label}"
        );
        assert_eq!(
            read(b, &c1).await.body,
            r#"{"_ws_login":"alice"}"#,
            "{label}"
        );
    }
    assert_eq!(
        w.backend.calls(),
        calls,
        "{label}: warm reads ask the store nothing"
    );

    // Logout on a: the copy of the old cookie dies on a at once; the
    // session goes on under a new id.
    w.clock.advance(1);
    let r = a.get("/signout+set/flash/bye", Some(&c1)).await;
    let c2 = cookie(&r);
    assert_eq!(read(a, &c2).await.body, r#"{"flash":"bye"}"#, "{label}");
    assert_eq!(
        read(a, &c1).await.body,
        "{}",
        "{label}: logged out here, at once"
    );
    // b asked at T0: it may trust that until T0 + STALENESS, not one second more.
    staleness_bound(w, b, &c1, T0, r#"{"_ws_login":"alice"}"#, label).await;
    assert_eq!(read(b, &c2).await.body, r#"{"flash":"bye"}"#, "{label}");

    // Purge denies too.
    let r = a.get("/signin/carol", None).await;
    let c3 = cookie(&r);
    let r = a.get("/purge", Some(&c3)).await;
    assert!(
        r.set_cookie[0].starts_with("session=;"),
        "{label}: {:?}",
        r.set_cookie
    );
    assert_eq!(
        read(a, &c3).await.body,
        "{}",
        "{label}: a purged copy is dead"
    );
    assert_eq!(
        read(b, &c3).await.body,
        "{}",
        "{label}: b never saw it: it asks"
    );

    // Log out everywhere.
    let d1 = cookie(&a.get("/signin/dave", None).await);
    let d2 = cookie(&b.get("/signin/dave", None).await);
    let e1 = cookie(&a.get("/signin/erin", None).await);
    let at = w.clock.now();
    assert_eq!(
        read(b, &d1).await.body,
        r#"{"_ws_login":"dave"}"#,
        "{label}"
    );
    websession::Logins::from(w.a.clone())
        .log_out_everywhere("dave")
        .await
        .expect("revoke");
    assert_eq!(
        read(a, &d1).await.body,
        "{}",
        "{label}: every dave cookie, at once on a"
    );
    assert_eq!(read(a, &d2).await.body, "{}", "{label}");
    assert_eq!(
        read(a, &e1).await.body,
        r#"{"_ws_login":"erin"}"#,
        "{label}: erin stays"
    );
    staleness_bound(w, b, &d1, at, r#"{"_ws_login":"dave"}"#, label).await;
    // A login after the revocation is good everywhere.
    let d3 = cookie(&a.get("/signin/dave", None).await);
    assert_eq!(
        read(a, &d3).await.body,
        r#"{"_ws_login":"dave"}"#,
        "{label}"
    );
    assert_eq!(
        read(b, &d3).await.body,
        r#"{"_ws_login":"dave"}"#,
        "{label}"
    );

    // Tampering is refused before revocation is asked.
    let calls = w.backend.calls();
    let tampered = d3.replacen('e', "f", 1);
    assert_eq!(read(a, &tampered).await.body, "{}", "{label}");
    assert_eq!(
        w.backend.calls(),
        calls,
        "{label}: a bad cookie costs no round trip"
    );

    // The store down: fail closed (503), on a cold cache and at login.
    w.clock.advance(STALENESS);
    w.backend.down.store(true, Ordering::SeqCst);
    let r = read(b, &e1).await;
    assert_eq!(
        r.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{label}: cold check"
    );
    let r = a.get("/signin/frank", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{label}: login");
    assert!(
        r.set_cookie.is_empty(),
        "{label}: no cookie without its generation"
    );
    let r = a.get("/signout+set/flash/bye", Some(&d3)).await;
    assert_eq!(
        r.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{label}: logout can't be promised"
    );
    // A session nobody logged into needs no store to be written, but gets an id.
    let r = a.get("/set/v/x", None).await;
    assert_eq!(r.status, StatusCode::OK, "{label}");
    w.backend.down.store(false, Ordering::SeqCst);
    assert_eq!(
        read(b, &e1).await.body,
        r#"{"_ws_login":"erin"}"#,
        "{label}: back up"
    );
}

scenario!(
    /// Every cookie mode is revocable, on both adapters.
    fn sessions_are_revocable(mode, adapter) in [Signed, Sealed] {
        let w = World::new();
        let a = kit::client(adapter, sessions(mode, &w.clock, &w.a)).await;
        let b = kit::client(adapter, sessions(mode, &w.clock, &w.b)).await;
        suite(&w, &*a, &*b, &format!("{mode:?} {adapter:?}")).await;
    }
);

/// Fail open: the cookie opens unchecked, and a login is saved.
#[tokio::test]
async fn fail_open_lets_cookies_through_an_outage() {
    for mode in COOKIE_MODES {
        let backend = Arc::new(Backend::default());
        let clock = TestClock::at(T0);
        let revocation = Revocation::new(backend.clone())
            .with_staleness(Duration::ZERO)
            .with_fail_open(true);
        let app = tower(sessions(mode, &clock, &revocation));
        let c = cookie(&app.get("/signin/alice", None).await);
        backend.down.store(true, Ordering::SeqCst);
        let r = app.get("/read", Some(&c)).await;
        assert_eq!(
            (r.status, r.body.as_str()),
            (StatusCode::OK, r#"{"_ws_login":"alice"}"#),
            "{mode:?}"
        );
        let r = app.get("/signin/bob", None).await;
        assert_eq!(r.status, StatusCode::OK, "{mode:?}");
        assert!(r.cookie_value("session").is_some(), "{mode:?}");
    }
}

/// The signed cookie stays a Flask cookie: Flask reads the data and sees
/// the id, user and generation as three more keys.
#[tokio::test]
async fn a_revocable_signed_cookie_is_still_flasks() {
    let clock = TestClock::at(T0);
    let revocation = Revocation::new(MemoryRevocations::new());
    let app = tower(sessions(Mode::Signed, &clock, &revocation));
    let r = app.get("/signin/alice", None).await;
    let value = r.cookie_value("session").expect("cookie");
    let codec = websession_core::FlaskCodec::new(&crate::support::keys());
    let decoded = codec
        .decode(&value, clock.now().try_into().expect("positive"))
        .expect("Flask's format");
    let keys: Vec<&str> = decoded.data.keys().map(String::as_str).collect();
    assert_eq!(keys, ["_ws_gen", "_ws_login", "_ws_sid", "_ws_user"]);
}

/// A cookie written before revocation was on has no id: it opens, and gets
/// one when it is next written.
#[tokio::test]
async fn cookies_from_before_revocation_open_and_gain_an_id() {
    for mode in COOKIE_MODES {
        let clock = TestClock::at(T0);
        let plain = tower(
            sessions_for(
                mode,
                &Arc::new(MemoryStore::new()),
                SessionConfig::default().with_clock(clock.clock()),
            )
            .expect("valid"),
        );
        let old = cookie(&plain.get("/set/v/1", None).await);
        let backend = Arc::new(Backend::default());
        let app = tower(sessions(mode, &clock, &Revocation::new(backend.clone())));
        assert_eq!(
            app.get("/read", Some(&old)).await.body,
            r#"{"v":"1"}"#,
            "{mode:?}"
        );
        assert_eq!(backend.calls(), 0, "{mode:?}: nothing to check");
        let new = cookie(&app.get("/set/v/2", Some(&old)).await);
        let r = app.get("/purge", Some(&new)).await;
        assert_eq!(r.status, StatusCode::OK, "{mode:?}");
        assert_eq!(
            app.get("/read", Some(&new)).await.body,
            "{}",
            "{mode:?}: now revocable"
        );
    }
}

/// The deny-list holds an id only until any copy of its cookie would have
/// expired: the longest session lifetime, plus the staleness (here none)
/// and the clock skew allowed (60 s).
#[tokio::test]
async fn a_denial_lasts_as_long_as_the_cookie_could() {
    let backend = Arc::new(Backend::default());
    let clock = TestClock::at(T0);
    let revocation = Revocation::new(backend.clone()).with_staleness(Duration::ZERO);
    let app = tower(sessions(Mode::Sealed, &clock, &revocation));
    let c = cookie(&app.get("/signin/alice", None).await);
    app.get("/purge", Some(&c)).await;
    let now = u64::try_from(T0).expect("positive");
    assert_eq!(
        backend
            .inner
            .delete_expired_denials(now + 86_400 + 59)
            .await
            .expect("ok"),
        0
    );
    assert_eq!(
        backend
            .inner
            .delete_expired_denials(now + 86_400 + 60)
            .await
            .expect("ok"),
        1
    );
}

/// A logout and a login as someone else in one request: the first user's
/// copies of the cookie stop working.
#[tokio::test]
async fn switching_users_in_one_request_retires_the_old_cookie() {
    for mode in COOKIE_MODES {
        let clock = TestClock::at(T0);
        let revocation = Revocation::new(MemoryRevocations::new());
        let app = tower(sessions(mode, &clock, &revocation));
        let alice = cookie(&app.get("/signin/alice", None).await);
        let bob = cookie(&app.get("/signout+signin/bob", Some(&alice)).await);
        assert_eq!(
            read(&app, &bob).await.body,
            r#"{"_ws_login":"bob"}"#,
            "{mode:?}"
        );
        assert_eq!(
            read(&app, &alice).await.body,
            "{}",
            "{mode:?}: alice's copy is dead"
        );
    }
}

/// A handler can't write the hidden keys: they are the engine's.
#[tokio::test]
async fn handlers_cannot_forge_the_hidden_keys() {
    let clock = TestClock::at(T0);
    let revocation = Revocation::new(MemoryRevocations::new());
    let app = tower(sessions(Mode::Signed, &clock, &revocation));
    let value = app
        .get("/forge", None)
        .await
        .cookie_value("session")
        .expect("cookie");
    let codec = websession_core::FlaskCodec::new(&crate::support::keys());
    let decoded = codec
        .decode(&value, clock.now().try_into().expect("positive"))
        .expect("Flask's format");
    let keys: Vec<&str> = decoded.data.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["_ws_sid", "x"],
        "no user, no generation: nobody logged in"
    );
}

/// Every 256th denial of a process deletes the expired ones.
#[tokio::test]
async fn expired_denials_are_swept() {
    let backend = Arc::new(Backend::default());
    let clock = TestClock::at(T0);
    let revocation = Revocation::new(backend.clone());
    let app = tower(sessions(Mode::Signed, &clock, &revocation));
    for _ in 0..255 {
        let c = cookie(&app.get("/set/v/x", None).await);
        app.get("/purge", Some(&c)).await;
    }
    clock.advance(3 * 86_400); // every denial so far has run out
    let c = cookie(&app.get("/set/v/x", None).await);
    app.get("/purge", Some(&c)).await; // the 256th: sweeps
    let now = u64::try_from(clock.now()).expect("positive");
    assert_eq!(
        backend
            .inner
            .delete_expired_denials(now + 10 * 86_400)
            .await
            .expect("ok"),
        1,
        "only the last denial is left"
    );
}
