//! Overflow (issue 19): a cookie session that outgrows the cookie limit
//! moves to a store and comes back when it shrinks, with hysteresis; the
//! store's promises hold while it is there; an outage answers 503 and loses
//! nothing the browser holds. Both cookie modes, and (the moves) both
//! adapters.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::http::StatusCode;
use websession::store::{SessionId, SessionStore};
use websession::{ConfigError, Overflow, Revocation, SessionConfig, Sessions};

use crate::kit::{self, scenario, Tower};
use crate::store_mode::Probe;
use crate::support::{sessions_with, Client, Mode, Reply, TestClock, COOKIE_MODES};

const T0: i64 = 1_700_000_000;
/// The return threshold the tests use (the limit is the default 4093).
const RETURN_BELOW: usize = 1500;

fn config(clock: &TestClock) -> SessionConfig {
    SessionConfig::default().with_clock(clock.clock())
}

fn overflow(store: &Arc<Probe>) -> Option<Overflow> {
    Some(Overflow::new(store.clone()).with_return_below(RETURN_BELOW))
}

fn sessions(mode: Mode, clock: &TestClock, store: &Arc<Probe>) -> Sessions {
    sessions_with(mode, store, config(clock), None, overflow(store)).expect("valid")
}

/// The kit's app on axum, for the tests that need its router.
fn tower(sessions: Sessions) -> Tower {
    Tower(kit::router(sessions))
}

/// The cookie a reply set (or `sent`, if it set none).
fn next(reply: &Reply, sent: &str) -> String {
    reply
        .cookie_value("session")
        .map_or_else(|| sent.to_owned(), |v| format!("session={v}"))
}

fn in_store(cookie: &str) -> bool {
    SessionId::parse(cookie.trim_start_matches("session=")).is_some()
}

/// Out at the limit, in the store while between the thresholds, back at
/// or below the return threshold; the record goes when it comes back.
async fn moves(client: &dyn Client, store: &Probe, label: &str) {
    let r = client.get("/put/a/500", None).await;
    let c = next(&r, "");
    assert!(!in_store(&c), "{label}: small: in the cookie");
    let r = client.get("/put/b/4500", Some(&c)).await;
    assert_eq!(r.status, StatusCode::OK, "{label}");
    let c = next(&r, &c);
    assert!(
        in_store(&c),
        "{label}: past the limit: the cookie holds an id"
    );
    assert_eq!(store.inner.len(), 1, "{label}");
    assert_eq!(client.get("/keys", Some(&c)).await.body, "a,b", "{label}");
    // Shrinks, but not to the return threshold: stays (no flapping).
    let r = client.get("/put/b/1200", Some(&c)).await;
    let c = next(&r, &c);
    assert!(
        in_store(&c),
        "{label}: between the thresholds: stays in the store"
    );
    // Grows inside the store: no size limit there.
    let r = client.get("/put/c/9000", Some(&c)).await;
    assert_eq!(r.status, StatusCode::OK, "{label}");
    let c2 = next(&r, &c);
    assert_eq!(c2, c, "{label}: an update keeps the id");
    assert_eq!(client.get("/keys", Some(&c)).await.body, "a,b,c", "{label}");
    // Back under the return threshold: the data returns to the cookie,
    // and the record is gone before the cookie is sent.
    client.get("/drop/c", Some(&c)).await;
    let r = client.get("/drop/b", Some(&c)).await;
    let back = next(&r, &c);
    assert!(!in_store(&back), "{label}: back in the cookie");
    assert!(back.len() <= RETURN_BELOW, "{label}");
    assert_eq!(client.get("/keys", Some(&back)).await.body, "a", "{label}");
    assert_eq!(store.inner.len(), 0, "{label}: the record is deleted");
    assert_eq!(
        client.get("/keys", Some(&c)).await.body,
        "",
        "{label}: the old id no longer opens: never readable both ways"
    );
}

scenario!(
    fn a_session_moves_out_and_back_at_the_thresholds(mode, adapter) in [Signed, Sealed] {
        let (clock, store) = (TestClock::at(T0), Arc::new(Probe::default()));
        let client = kit::client(adapter, sessions(mode, &clock, &store)).await;
        moves(&*client, &store, &format!("{mode:?} {adapter:?}")).await;
    }
);

/// Requests that run at once on a session in the store each apply their
/// own keys: none is lost.
#[tokio::test]
async fn concurrent_requests_in_the_store_lose_no_key() {
    for mode in COOKIE_MODES {
        let (clock, store) = (TestClock::at(T0), Arc::new(Probe::default()));
        let app = tower(sessions(mode, &clock, &store));
        let c = next(&app.get("/put/big/5000", None).await, "");
        assert!(in_store(&c));
        let mut requests = tokio::task::JoinSet::new();
        for i in 0..20 {
            let (router, c) = (app.0.clone(), c.clone());
            requests.spawn(async move {
                let r = crate::support::send(&router, &format!("/put/k{i:02}/10"), Some(&c)).await;
                assert_eq!(r.status, StatusCode::OK);
                // An update keeps the id: no cookie, or the same one.
                assert!(r.cookie_value("session").is_none_or(|v| c.ends_with(&v)));
            });
        }
        while let Some(done) = requests.join_next().await {
            done.expect("request");
        }
        let keys = app.get("/keys", Some(&c)).await.body;
        assert_eq!(keys.split(',').count(), 21, "{mode:?}: {keys}");
    }
}

/// The store down: the move out, a load and the move back answer 503, and
/// the browser keeps the cookie it had (no Set-Cookie): nothing is lost.
#[tokio::test]
async fn a_store_outage_during_a_move_is_a_503_and_loses_nothing() {
    for mode in COOKIE_MODES {
        let (clock, store) = (TestClock::at(T0), Arc::new(Probe::default()));
        let app = tower(sessions(mode, &clock, &store));
        let small = next(&app.get("/put/a/100", None).await, "");
        store.down.store(true, Ordering::SeqCst);
        let r = app.get("/put/b/5000", Some(&small)).await;
        assert_eq!(
            r.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{mode:?}: move out"
        );
        assert!(r.set_cookie.is_empty(), "{mode:?}");
        assert_eq!(
            app.get("/keys", Some(&small)).await.body,
            "a",
            "{mode:?}: still there"
        );
        store.down.store(false, Ordering::SeqCst);
        let big = next(&app.get("/put/b/5000", Some(&small)).await, &small);
        assert!(in_store(&big));
        store.down.store(true, Ordering::SeqCst);
        let r = app.get("/keys", Some(&big)).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{mode:?}: load");
        let r = app.get("/drop/b", Some(&big)).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{mode:?}");
        store.down.store(false, Ordering::SeqCst);
        assert_eq!(
            app.get("/keys", Some(&big)).await.body,
            "a,b",
            "{mode:?}: nothing lost"
        );
        let r = app.get("/drop/b", Some(&big)).await;
        assert!(
            !in_store(&next(&r, &big)),
            "{mode:?}: and moves back once it is up"
        );
    }
}

/// While in a signed cookie, a Flask app reads the session; once it has
/// moved, the cookie holds an id Flask can't verify: an empty session there.
#[tokio::test]
async fn flask_reads_the_cookie_until_the_session_moves() {
    let (clock, store) = (TestClock::at(T0), Arc::new(Probe::default()));
    let app = tower(sessions(Mode::Signed, &clock, &store));
    let codec = websession_core::FlaskCodec::new(&crate::support::keys());
    let now = u64::try_from(T0).expect("positive");
    let c = next(&app.get("/put/a/100", None).await, "");
    let decoded = codec
        .decode(c.trim_start_matches("session="), now)
        .expect("Flask's");
    assert!(decoded.data.contains_key("a"));
    let c = next(&app.get("/put/b/5000", Some(&c)).await, &c);
    assert!(codec.decode(c.trim_start_matches("session="), now).is_err());
}

/// A logged-in session that moved keeps its user (the store's
/// `delete_all_for` reaches it) and, with revocation, is refused after
/// `revoke_all_for` and after a purge, like a cookie.
#[tokio::test]
async fn moved_sessions_stay_revocable() {
    for mode in COOKIE_MODES {
        let (clock, store) = (TestClock::at(T0), Arc::new(Probe::default()));
        let revocation = Revocation::new(websession::store::MemoryRevocations::new())
            .with_staleness(std::time::Duration::ZERO);
        let sessions = sessions_with(
            mode,
            &store,
            config(&clock),
            Some(revocation.clone()),
            overflow(&store),
        );
        let app = tower(sessions.expect("valid"));
        let c = next(&app.get("/set/who/alice+signin/alice", None).await, "");
        let c = next(&app.get("/put/big/5000", Some(&c)).await, &c);
        assert!(in_store(&c), "{mode:?}");
        assert_eq!(
            app.get("/keys", Some(&c)).await.body,
            "_ws_login,big,who",
            "{mode:?}: the revocation keys hidden (log_in's is the session's)"
        );
        let listed = store
            .inner
            .sessions_of("alice", u64::try_from(T0).expect("positive"))
            .await
            .expect("listing");
        assert_eq!(listed.len(), 1, "{mode:?}: the record has the user");
        websession::Logins::from(revocation.clone())
            .log_out_everywhere("alice")
            .await
            .expect("revoke");
        assert_eq!(
            app.get("/keys", Some(&c)).await.body,
            "",
            "{mode:?}: revoked"
        );

        let c = next(&app.get("/set/who/bob+signin/bob", None).await, "");
        let c = next(&app.get("/put/big/5000", Some(&c)).await, &c);
        let t = u64::try_from(T0).expect("positive");
        let bobs = store.inner.sessions_of("bob", t).await.expect("listing");
        assert_eq!(bobs.len(), 1, "{mode:?}");
        let r = app.get("/purge", Some(&c)).await;
        assert!(r.set_cookie[0].starts_with("session=;"), "{mode:?}: {r:?}");
        let bobs = store
            .inner
            .sessions_of("bob", u64::try_from(T0).expect("positive"))
            .await
            .expect("listing");
        assert!(bobs.is_empty(), "{mode:?}: the purge deletes the record");
    }
}

#[test]
fn a_return_threshold_at_the_limit_is_refused() {
    let store = Arc::new(Probe::default());
    let sessions = Sessions::signed(crate::support::keys(), SessionConfig::default())
        .expect("valid")
        .with_overflow(Overflow::new(store).with_return_below(4093));
    assert_eq!(
        sessions.err(),
        Some(ConfigError::OverflowThreshold {
            return_below: 4093,
            max_cookie_size: 4093
        })
    );
}

/// A login or logout of a session in the store moves its record to a new
/// id: a copy of the old cookie (or an id an attacker planted) opens nothing.
#[tokio::test]
async fn logins_and_logouts_in_the_store_move_to_a_new_id() {
    for mode in COOKIE_MODES {
        for revocable in [false, true] {
            let (clock, store) = (TestClock::at(T0), Arc::new(Probe::default()));
            let revocation =
                revocable.then(|| Revocation::new(websession::store::MemoryRevocations::new()));
            let sessions =
                sessions_with(mode, &store, config(&clock), revocation, overflow(&store));
            let app = tower(sessions.expect("valid"));
            let label = format!("{mode:?}, revocation {revocable}");
            // Fixation: the attacker's overflowed session, then the victim logs in on it.
            let planted = next(&app.get("/put/junk/5000", None).await, "");
            assert!(in_store(&planted), "{label}");
            let r = app.get("/set/who/alice+signin/alice", Some(&planted)).await;
            let victim = next(&r, &planted);
            assert_ne!(victim, planted, "{label}: a new id at login");
            assert_eq!(
                app.get("/keys", Some(&planted)).await.body,
                "",
                "{label}: planted id dead"
            );
            assert_eq!(
                app.get("/keys", Some(&victim)).await.body,
                "_ws_login,junk,who",
                "{label}"
            );
            // Logout: the copy of the logged-in cookie dies.
            let r = app.get("/signout", Some(&victim)).await;
            let after = next(&r, &victim);
            assert_ne!(after, victim, "{label}: a new id at logout");
            assert_eq!(
                app.get("/keys", Some(&victim)).await.body,
                "",
                "{label}: copy dead"
            );
            assert_eq!(
                app.get("/keys", Some(&after)).await.body,
                "junk,who",
                "{label}"
            );
        }
    }
}

/// Requests that only read, running while another moves the session out,
/// send no cookie, so the browser ends with the moved session's id: no key
/// is lost to a reader's response.
#[tokio::test]
async fn readers_during_a_move_out_clobber_nothing() {
    for mode in COOKIE_MODES {
        let (clock, store) = (TestClock::at(T0), Arc::new(Probe::default()));
        let app = tower(sessions(mode, &clock, &store));
        let small = next(&app.get("/put/a/100", None).await, "");
        store.load_delay_ms.store(0, Ordering::SeqCst);
        let mut requests = tokio::task::JoinSet::new();
        for i in 0..10 {
            let (router, c) = (app.0.clone(), small.clone());
            requests.spawn(async move {
                let path = if i == 5 { "/put/b/5000" } else { "/keys" };
                (i, crate::support::send(&router, path, Some(&c)).await)
            });
        }
        let mut moved = None;
        while let Some(done) = requests.join_next().await {
            let (i, r) = done.expect("request");
            assert_eq!(r.status, StatusCode::OK, "{mode:?}");
            if i == 5 {
                moved = Some(next(&r, &small));
            } else {
                assert!(r.set_cookie.is_empty(), "{mode:?}: a reader writes nothing");
            }
        }
        let moved = moved.expect("the mover answered");
        assert!(in_store(&moved), "{mode:?}");
        assert_eq!(app.get("/keys", Some(&moved)).await.body, "a,b", "{mode:?}");
    }
}

/// An overflow store that fails open serves an empty, unsaved session on
/// an outage (as store mode's `fail_open` does), instead of a 503; one that
/// doesn't answers 503. Found by the review of issue 29's refactor: 0.1's
/// `with_store_fail_open` covered this load, 0.2 first lost the option.
#[tokio::test]
async fn an_overflow_load_fails_open_only_when_asked() {
    for fail_open in [false, true] {
        let (clock, store) = (TestClock::at(T0), Arc::new(Probe::default()));
        let mut overflow = Overflow::new(store.clone()).with_return_below(RETURN_BELOW);
        if fail_open {
            overflow = overflow.with_fail_open(true);
        }
        let sessions = sessions_with(Mode::Signed, &store, config(&clock), None, Some(overflow));
        let app = tower(sessions.expect("valid"));
        let c = next(&app.get("/put/big/5000", None).await, "");
        assert!(in_store(&c));
        store.down.store(true, Ordering::SeqCst);
        let r = app.get("/read", Some(&c)).await;
        if fail_open {
            assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "{}"));
            assert!(r.set_cookie.is_empty(), "and nothing is saved");
        } else {
            assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
        }
    }
}

/// The overflow store's records follow its touch interval: an unchanged
/// record older than the interval is extended (without one, the default
/// slack is half the lifetime, and a minute later nothing is written).
#[tokio::test]
async fn overflow_records_follow_the_touch_interval() {
    for touch in [None, Some(60)] {
        let (clock, store) = (TestClock::at(T0), Arc::new(Probe::default()));
        let mut overflow = Overflow::new(store.clone()).with_return_below(RETURN_BELOW);
        if let Some(t) = touch {
            overflow = overflow.with_touch_interval(std::time::Duration::from_secs(t));
        }
        let sessions = sessions_with(Mode::Signed, &store, config(&clock), None, Some(overflow));
        let app = tower(sessions.expect("valid"));
        let c = next(&app.get("/put/big/5000", None).await, "");
        assert!(in_store(&c));
        let writes = store.writes.load(Ordering::SeqCst);
        clock.advance(61);
        assert_eq!(app.get("/read", Some(&c)).await.status, StatusCode::OK);
        let extended = store.writes.load(Ordering::SeqCst) > writes;
        assert_eq!(extended, touch.is_some(), "touch interval {touch:?}");
    }
}

/// A sealed session's own `_ws_created` key (the signed format's hidden
/// key, an ordinary key in sealed mode) moves to the overflow store with
/// the session. Before issue 29's format trait, the engine stripped it from
/// every format's data on the way out.
#[tokio::test]
async fn a_sealed_sessions_own_ws_created_key_moves_with_it() {
    let (clock, store) = (TestClock::at(T0), Arc::new(Probe::default()));
    let app = tower(sessions(Mode::Sealed, &clock, &store));
    let c = next(&app.get("/put/_ws_created/8", None).await, "");
    let c = next(&app.get("/put/big/5000", Some(&c)).await, &c);
    assert!(in_store(&c));
    let keys = app.get("/keys", Some(&c)).await.body;
    assert!(keys.split(',').any(|k| k == "_ws_created"), "{keys}");
}

/// A store keyed by the raw id (as the Python bridges are): its records
/// belong to another program, so overflow refuses it at start-up.
#[tokio::test]
async fn a_store_of_another_programs_ids_is_refused() {
    use websession::store::{
        ChangeSet, HashedIds, IdFormat, IdHash, MemoryStore, Record, StoreError,
    };

    /// websession's ids, filed under their own bytes instead of their hash.
    struct RawIds;
    impl IdFormat for RawIds {
        fn generate(&self) -> SessionId {
            HashedIds.generate()
        }
        fn parse(&self, cookie: &str) -> Option<SessionId> {
            HashedIds.parse(cookie)
        }
        fn key(&self, id: &SessionId) -> IdHash {
            let mut bytes = [0_u8; 32];
            bytes.copy_from_slice(&id.as_str().as_bytes()[..32]);
            IdHash::from_bytes(&bytes).expect("32 bytes")
        }
    }

    struct Foreign(MemoryStore);
    #[async_trait::async_trait]
    impl SessionStore for Foreign {
        fn id_format(&self) -> &dyn IdFormat {
            &RawIds
        }
        async fn load(&self, id: &IdHash, now: u64) -> Result<Option<Record>, StoreError> {
            self.0.load(id, now).await
        }
        async fn create(&self, id: &IdHash, r: &Record, now: u64) -> Result<(), StoreError> {
            self.0.create(id, r, now).await
        }
        async fn update(&self, id: &IdHash, c: &ChangeSet, now: u64) -> Result<(), StoreError> {
            self.0.update(id, c, now).await
        }
        async fn cycle_id(
            &self,
            old: &IdHash,
            new: &IdHash,
            c: &ChangeSet,
            now: u64,
        ) -> Result<(), StoreError> {
            self.0.cycle_id(old, new, c, now).await
        }
        async fn delete(&self, id: &IdHash) -> Result<(), StoreError> {
            self.0.delete(id).await
        }
        async fn delete_all_for(&self, user: &str) -> Result<u64, StoreError> {
            self.0.delete_all_for(user).await
        }
    }

    let keys = websession::KeyRing::new(websession::Key::generate());
    let signed = || Sessions::signed(keys.clone(), SessionConfig::default()).expect("valid");
    let refused = signed()
        .with_overflow(Overflow::new(Foreign(MemoryStore::new())))
        .map(|_| ());
    assert!(
        matches!(refused, Err(ConfigError::Unsupported(_))),
        "{refused:?}"
    );
    assert!(signed()
        .with_overflow(Overflow::new(MemoryStore::new()))
        .is_ok());
}
