//! (Over 400 lines: one regression test per defect of issue 12, together.)
//! Regression tests for the defects an adversarial review found (issue 12):
//! each failed on the code before its fix.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::get;
use axum::{Extension, Router};
use std::time::Duration;
use websession::store::{MemoryStore, Record, SessionId, SessionStore};
use websession::{
    ConfigError, Key, KeyRing, PendingSession, SessionConfig, SessionManagerLayer, Sessions,
};
use websession_core::sealed::SealedCodec;
use websession_core::{FlaskCodec, Value};

use crate::store_mode::Probe;
use crate::support::{app, keys, send, TestClock};

const T0: i64 = 1_700_000_000;

fn cookie_of(r: &crate::support::Reply) -> String {
    format!("session={}", r.cookie_value("session").expect("cookie set"))
}

fn store_app(f: impl FnOnce(SessionConfig) -> SessionConfig) -> (Router, Arc<Probe>, TestClock) {
    store_app_with(f, None)
}

/// As [`store_app`], with a touch interval (seconds).
fn store_app_with(
    f: impl FnOnce(SessionConfig) -> SessionConfig,
    touch: Option<Duration>,
) -> (Router, Arc<Probe>, TestClock) {
    let clock = TestClock::at(T0);
    let probe = Arc::new(Probe::default());
    let config = f(SessionConfig::default().with_clock(clock.clock()));
    let sessions = Sessions::store(probe.clone(), config).map(|s| match touch {
        Some(t) => s.with_touch_interval(t),
        None => s,
    });
    (app(sessions), probe, clock)
}

/// The only record in the probe's memory store.
async fn only_record(probe: &Probe, id: &str, now: i64) -> Record {
    assert_eq!(probe.inner.len(), 1, "exactly one record");
    let id = SessionId::parse(id).expect("an id");
    probe
        .inner
        .load(&id.hash(), u64::try_from(now).expect("time"))
        .await
        .expect("load")
        .expect("the record is live")
}

// 1. purge() followed by a write starts a new session.

#[tokio::test]
async fn logout_then_flash_gets_a_new_id_and_the_old_cookie_is_worthless() {
    let (app, probe, clock) = store_app(|c| c);
    let r = send(&app, "/signin/alice", None).await;
    let old = cookie_of(&r);
    clock.advance(100);
    let r = send(&app, "/logout", Some(&old)).await;
    assert_eq!(r.status, StatusCode::OK);
    let new = cookie_of(&r);
    assert_ne!(new, old, "a new id after purge + insert");
    assert_eq!(
        send(&app, "/read", Some(&old)).await.body,
        "{}",
        "the copied cookie reads empty"
    );
    let record = only_record(&probe, new.trim_start_matches("session="), T0 + 100).await;
    assert_eq!(
        record.created_at,
        u64::try_from(T0 + 100).expect("t"),
        "a new creation time"
    );
    assert_eq!(record.user, None, "the old user is gone");
    assert_eq!(
        send(&app, "/read", Some(&new)).await.body,
        r#"{"flash":"bye"}"#
    );
    assert_eq!(
        probe.inner.delete_all_for("alice").await.expect("revoke"),
        0,
        "nothing of alice's is left to revoke"
    );
}

#[tokio::test]
async fn logout_then_flash_gets_a_new_creation_time_in_cookie_modes() {
    for sealed in [false, true] {
        let clock = TestClock::at(T0);
        let config = SessionConfig::default()
            .with_clock(clock.clock())
            .with_lifetime(|l| l.with_absolute_timeout(Duration::from_secs(3_600)));
        let app = app(if sealed {
            Sessions::sealed(keys(), config)
        } else {
            Sessions::signed(keys(), config)
        });
        let old = cookie_of(&send(&app, "/signin/alice", None).await);
        clock.advance(3000);
        let r = send(&app, "/logout", Some(&old)).await;
        let new = r.cookie_value("session").expect("cookie");
        let created = if sealed {
            SealedCodec::new(&keys(), "session")
                .expect("codec")
                .open(&new, u64::try_from(T0 + 3000).expect("t"))
                .expect("opens")
                .created_at
        } else {
            let decoded = FlaskCodec::new(&keys())
                .decode(&new, u64::try_from(T0 + 3000).expect("t"))
                .expect("decodes");
            match decoded.data.get("_ws_created") {
                Some(Value::Int(t)) => u64::try_from(*t).expect("t"),
                other => panic!("no creation time: {other:?}"),
            }
        };
        assert_eq!(
            created,
            u64::try_from(T0 + 3000).expect("t"),
            "sealed={sealed}: a new creation time"
        );
        // So the absolute timeout counts from the new session.
        clock.advance(1000);
        assert_eq!(
            send(&app, "/read", Some(&format!("session={new}")))
                .await
                .body,
            r#"{"flash":"bye"}"#,
            "sealed={sealed}"
        );
    }
}

// 2. Sealed mode checks for weak and published keys.

#[tokio::test]
async fn sealed_mode_refuses_published_keys_when_strict() {
    for published in [
        &b"CHANGE_ME_TO_A_COMPLEX_RANDOM_SECRET"[..],
        &b"192b9bdd22ab9ed4d12e236c78afcb9a393ec15f71bbf5dc987d54727823bcbf"[..],
    ] {
        let key = Key::from_bytes(published).expect("key");
        for ring in [
            KeyRing::new(key.clone()),
            KeyRing::new(Key::generate()).with_fallback(key),
        ] {
            let strict =
                Sessions::sealed(ring.clone(), SessionConfig::default().with_strict_keys());
            assert!(
                matches!(strict, Err(ConfigError::WeakKey { .. })),
                "{strict:?}"
            );
            let lenient = Sessions::sealed(ring, SessionConfig::default());
            assert!(lenient.is_ok(), "only a warning by default");
        }
    }
}

// 3. Concurrent loads of one session share one load.

#[tokio::test]
async fn concurrent_loads_of_one_session_share_the_load_tower() {
    let sessions: Sessions = Sessions::store(Probe::default(), SessionConfig::default())
        .expect("valid")
        .into();
    let app = app(Ok(sessions.clone())).merge(
        Router::new()
            .route(
                "/twice",
                get(|Extension(s): Extension<PendingSession>| async move {
                    let other = s.clone();
                    let (a, b) = tokio::join!(s.load(), other.load());
                    let (a, b) = (a.expect("loads"), b.expect("loads"));
                    format!("{:?} {:?}", a.user(), b.user())
                }),
            )
            .layer(SessionManagerLayer::new(sessions)),
    );
    let cookie = cookie_of(&send(&app, "/signin/alice", None).await);
    assert_eq!(
        send(&app, "/twice", Some(&cookie)).await.body,
        r#"Some("alice") Some("alice")"#
    );
}

// 7. A corrupt record is not an outage.

#[tokio::test]
async fn a_corrupt_record_gives_an_empty_session_and_is_deleted() {
    let (app, probe, _) = store_app(|c| c);
    let cookie = cookie_of(&send(&app, "/signin/alice", None).await);
    probe.corrupt.store(true, Ordering::SeqCst);
    let r = send(&app, "/read", Some(&cookie)).await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "{}"));
    probe.corrupt.store(false, Ordering::SeqCst);
    assert!(probe.inner.is_empty(), "the corrupt record was deleted");
    assert_eq!(send(&app, "/read", Some(&cookie)).await.body, "{}");
    // A real outage still answers 503.
    probe.down.store(true, Ordering::SeqCst);
    let r = send(&app, "/read", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
}

// 8. Idle timeouts in store mode: used once per idle timeout, never expires.

async fn idle_schedule(every: i64, touch: Option<Duration>) {
    let (app, _, clock) = store_app_with(
        |c| c.with_lifetime(|l| l.with_idle_timeout(Duration::from_secs(1800))),
        touch,
    );
    let cookie = cookie_of(&send(&app, "/signin/alice", None).await);
    let mut t = 0;
    while t + every <= 3600 * 3 {
        t += every;
        clock.set(T0 + t);
        assert_eq!(
            send(&app, "/read", Some(&cookie)).await.body,
            r#"{"_ws_login":"alice"}"#,
            "every {every} s, touch {touch:?}: alive at t={t}"
        );
    }
    // Unused, it ends at most the touch interval (default: a tenth of the
    // idle timeout) after the idle timeout.
    let slack = touch.map_or(180, |t| i64::try_from(t.as_secs()).expect("small"));
    clock.set(T0 + t + 1800 + slack);
    assert_eq!(
        send(&app, "/read", Some(&cookie)).await.body,
        "{}",
        "every {every} s, touch {touch:?}: gone once idle for the timeout plus the touch interval"
    );
}

#[tokio::test]
async fn store_idle_timeout_never_ends_a_session_used_once_per_timeout() {
    for touch in [
        None,
        Some(Duration::from_secs(60)),
        Some(Duration::from_secs(2 * 3_600)),
    ] {
        idle_schedule(600, touch).await;
        idle_schedule(840, touch).await;
        idle_schedule(1700, touch).await;
        idle_schedule(1799, touch).await;
    }
}

#[tokio::test]
async fn store_idle_timeout_still_ends_idle_sessions() {
    let (app, _, clock) = store_app_with(
        |c| c.with_lifetime(|l| l.with_idle_timeout(Duration::from_secs(1800))),
        Some(Duration::from_secs(60)),
    );
    let cookie = cookie_of(&send(&app, "/signin/alice", None).await);
    clock.advance(1000);
    assert!(send(&app, "/read", Some(&cookie))
        .await
        .body
        .contains("alice"));
    // At most idle + touch interval after the last use.
    clock.advance(1800 + 60);
    assert_eq!(send(&app, "/read", Some(&cookie)).await.body, "{}");
}

// 10. Long lifetimes.

#[tokio::test]
async fn lifetimes_past_the_calendar_are_a_config_error() {
    let huge = Duration::from_secs(365 * 9000 * 86_400);
    for config in [
        SessionConfig::default().with_lifetime(|l| l.with_permanent_lifetime(huge)),
        SessionConfig::default().with_lifetime(|l| l.with_idle_timeout(huge)),
        SessionConfig::default().with_lifetime(|l| l.with_absolute_timeout(huge)),
    ] {
        assert!(
            matches!(
                config.validate(),
                Err(ConfigError::Lifetime | ConfigError::Timeout)
            ),
            "{config:?}"
        );
    }
    // The longest accepted lifetime works in every mode, with a clock late in
    // the calendar: no panic, and a saturated (not 1970) Expires.
    let clock = TestClock::at(253_402_300_000); // 9999-12-31
    let config = || {
        SessionConfig::default()
            .with_clock(clock.clock())
            .with_lifetime(|l| l.with_permanent_lifetime(websession::MAX_LIFETIME))
    };
    for sessions in [
        Sessions::signed(keys(), config()).map(Sessions::from),
        Sessions::sealed(keys(), config()).map(Sessions::from),
        Sessions::store(MemoryStore::new(), config()).map(Sessions::from),
    ] {
        let app = app(sessions);
        let r = send(&app, "/permanent", None).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            r.set_cookie[0].contains("Expires=Fri, 31 Dec 9999 23:59:59 GMT"),
            "{:?}",
            r.set_cookie
        );
    }
}

// Smaller points.

#[test]
fn cookie_prefixes_match_case_insensitively() {
    for name in ["__HOST-s", "__host-s", "__Host-s"] {
        let c = SessionConfig::default().with_cookie(|c| c.with_name(name).with_path("/app"));
        assert!(c.validate().is_err(), "{name} with a Path other than /");
    }
    for name in ["__SECURE-s", "__secure-s"] {
        let c = SessionConfig::default().with_cookie(|c| c.with_name(name).with_secure(false));
        assert!(c.validate().is_err(), "{name} without Secure");
    }
}

#[tokio::test]
async fn store_absolute_timeout_allows_a_little_clock_skew() {
    let (app, probe, _) =
        store_app(|c| c.with_lifetime(|l| l.with_absolute_timeout(Duration::from_secs(3_600))));
    let id = SessionId::generate();
    let now = u64::try_from(T0).expect("t");
    let mut data = websession_core::Map::new();
    data.insert("user".into(), Value::from("alice"));
    // Created "in the future" by a server whose clock runs 2 s ahead.
    probe
        .inner
        .create(
            &id.hash(),
            &Record::new(data.clone(), now + 2, now + 600),
            now,
        )
        .await
        .expect("create");
    assert_eq!(
        send(&app, "/read", Some(&format!("session={id}")))
            .await
            .body,
        r#"{"user":"alice"}"#
    );
    // Far in the future is not skew.
    let far = SessionId::generate();
    probe
        .inner
        .create(&far.hash(), &Record::new(data, now + 3600, now + 7200), now)
        .await
        .expect("create");
    assert_eq!(
        send(&app, "/read", Some(&format!("session={far}")))
            .await
            .body,
        "{}"
    );
}

#[tokio::test]
async fn sealed_cookies_are_not_compressed_by_default() {
    let clock = TestClock::at(T0);
    let app = app(Sessions::sealed(
        keys(),
        SessionConfig::default().with_clock(clock.clock()),
    ));
    let small = send(&app, "/set/cart/x", None)
        .await
        .cookie_value("session")
        .expect("cookie");
    let repetitive = send(&app, &format!("/set/cart/{}", "x".repeat(400)), None)
        .await
        .cookie_value("session")
        .expect("cookie");
    assert!(
        repetitive.len() >= small.len() + 399 * 4 / 3,
        "the length follows the data: {} vs {}",
        repetitive.len(),
        small.len()
    );
}

// Found in review: a load given up on (a guard's timeout) must not lose the
// cookie, or the user is served as anonymous and logged out by the next write.
// Paused time: the 5 ms timeout always fires before the 50 ms load ends, on a
// loaded machine too.
#[tokio::test(start_paused = true)]
async fn a_cancelled_load_keeps_the_cookie_for_the_next_one() {
    let sessions = Sessions::store(
        Probe {
            load_delay_ms: AtomicU64::new(50),
            ..Probe::default()
        },
        SessionConfig::default(),
    )
    .expect("valid");
    let sessions = Sessions::from(sessions);
    let app = app(Ok(sessions.clone())).merge(
        Router::new()
            .route(
                "/impatient",
                get(|Extension(p): Extension<PendingSession>| async move {
                    let gave_up = tokio::time::timeout(Duration::from_millis(5), p.load())
                        .await
                        .is_err();
                    let s = p.load().await.expect("loads");
                    format!("{gave_up} {:?}", s.user())
                }),
            )
            .layer(SessionManagerLayer::new(sessions)),
    );
    let cookie = cookie_of(&send(&app, "/signin/alice", None).await);
    let r = send(&app, "/impatient", Some(&cookie)).await;
    assert_eq!(r.body, r#"true Some("alice")"#);
    assert!(
        r.set_cookie.is_empty(),
        "nothing changed: {:?}",
        r.set_cookie
    );
}

// Found in review: turning on an idle timeout (or shortening the lifetime)
// reaches existing store sessions at their next use.
#[tokio::test]
async fn a_tighter_policy_shortens_existing_store_records() {
    let clock = TestClock::at(T0);
    let store = Arc::new(MemoryStore::new());
    let before = app(Sessions::store(
        store.clone(),
        SessionConfig::default().with_clock(clock.clock()),
    ));
    let cookie = cookie_of(&send(&before, "/signin/alice", None).await);
    let after = app(Sessions::store(
        store.clone(),
        SessionConfig::default()
            .with_clock(clock.clock())
            .with_lifetime(|l| l.with_idle_timeout(Duration::from_secs(1800))),
    ));
    clock.advance(10_000);
    assert!(send(&after, "/read", Some(&cookie))
        .await
        .body
        .contains("alice"));
    clock.advance(1800 + 180); // the idle timeout plus the default touch interval
    assert_eq!(send(&after, "/read", Some(&cookie)).await.body, "{}");
}

// Found in review: with a touch interval of 0 (or an idle timeout under 10 s)
// a session used exactly once per idle timeout must still live.
#[tokio::test]
async fn idle_sessions_used_exactly_once_per_timeout_live_with_no_slack() {
    for (idle, touch) in [(5, None), (9, None), (60, Some(0)), (1800, Some(0))] {
        let (app, _, clock) = store_app_with(
            |c| c.with_lifetime(|l| l.with_idle_timeout(Duration::from_secs(idle))),
            touch.map(Duration::from_secs),
        );
        let cookie = cookie_of(&send(&app, "/signin/alice", None).await);
        for round in 1..=5 {
            clock.advance(i64::try_from(idle).expect("small"));
            assert!(
                send(&app, "/read", Some(&cookie))
                    .await
                    .body
                    .contains("alice"),
                "idle {idle}, touch {touch:?}: dead at round {round}"
            );
        }
    }
}

// Found in review: sub-second lifetimes passed validation and became 0 s.
#[test]
fn lifetimes_under_a_second_are_a_config_error() {
    let half = Duration::from_millis(500);
    assert!(SessionConfig::default()
        .with_lifetime(|l| l.with_permanent_lifetime(half))
        .validate()
        .is_err());
    assert!(SessionConfig::default()
        .with_lifetime(|l| l.with_idle_timeout(half))
        .validate()
        .is_err());
    assert!(SessionConfig::default()
        .with_lifetime(|l| l.with_absolute_timeout(half))
        .validate()
        .is_err());
}
