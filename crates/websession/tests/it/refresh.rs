//! The refresh policies at their boundaries, with the injected clock, in
//! both cookie modes.

use std::time::Duration;
use websession::{Refresh, SessionConfig};

use crate::support::{app, send, sessions_for, Mode, TestClock, COOKIE_MODES};

const T0: i64 = 1_700_000_000;

/// Logs in permanently at T0 and returns (app, clock, cookie).
async fn permanent(
    mode: Mode,
    f: impl FnOnce(SessionConfig) -> SessionConfig,
) -> (axum::Router, TestClock, String) {
    let clock = TestClock::at(T0);
    let store = std::sync::Arc::new(websession::store::MemoryStore::new());
    let config = f(SessionConfig::default().with_clock(clock.clock()));
    let app = app(sessions_for(mode, &store, config));
    let r = send(&app, "/permanent", None).await;
    let cookie = format!("session={}", r.cookie_value("session").expect("set"));
    (app, clock, cookie)
}

/// Whether a read at `at` seconds after the login re-issues the cookie.
async fn reissued(app: &axum::Router, clock: &TestClock, cookie: &str, at: i64) -> bool {
    clock.set(T0 + at);
    !send(app, "/read", Some(cookie)).await.set_cookie.is_empty()
}

#[tokio::test]
async fn every_request_reissues_each_time() {
    for mode in COOKIE_MODES {
        let (app, clock, cookie) = permanent(mode, |c| {
            c.with_lifetime(|l| l.with_refresh(Refresh::EveryRequest))
        })
        .await;
        assert!(reissued(&app, &clock, &cookie, 0).await, "{mode:?}");
        assert!(reissued(&app, &clock, &cookie, 1).await, "{mode:?}");
    }
}

#[tokio::test]
async fn interval_reissues_once_the_cookie_is_that_old() {
    for mode in COOKIE_MODES {
        let (app, clock, cookie) = permanent(mode, |c| {
            c.with_lifetime(|l| l.with_refresh(Refresh::Interval(Duration::from_secs(300))))
        })
        .await;
        assert!(!reissued(&app, &clock, &cookie, 0).await, "{mode:?}");
        assert!(
            !reissued(&app, &clock, &cookie, 299).await,
            "{mode:?}: 1 s early"
        );
        assert!(
            reissued(&app, &clock, &cookie, 300).await,
            "{mode:?}: on time"
        );
    }
}

#[tokio::test]
async fn the_interval_is_capped_by_half_the_lifetime_and_half_the_idle_timeout() {
    for mode in COOKIE_MODES {
        let (app, clock, cookie) = permanent(mode, |c| {
            c.with_lifetime(|l| {
                l.with_refresh(Refresh::Interval(Duration::from_secs(3_600)))
                    .with_permanent_lifetime(Duration::from_secs(100))
            })
        })
        .await;
        assert!(!reissued(&app, &clock, &cookie, 49).await, "{mode:?}");
        assert!(
            reissued(&app, &clock, &cookie, 50).await,
            "{mode:?}: half the lifetime"
        );

        let (app, clock, cookie) = permanent(mode, |c| {
            c.with_lifetime(|l| {
                l.with_refresh(Refresh::Interval(Duration::from_secs(3_600)))
                    .with_idle_timeout(Duration::from_secs(40))
            })
        })
        .await;
        assert!(!reissued(&app, &clock, &cookie, 19).await, "{mode:?}");
        assert!(
            reissued(&app, &clock, &cookie, 20).await,
            "{mode:?}: half the idle timeout"
        );
    }
}

#[tokio::test]
async fn on_change_never_reissues_unchanged_data_without_an_idle_timeout() {
    for mode in COOKIE_MODES {
        let (app, clock, cookie) = permanent(mode, |c| {
            c.with_lifetime(|l| l.with_refresh(Refresh::OnChange))
        })
        .await;
        assert!(!reissued(&app, &clock, &cookie, 0).await, "{mode:?}");
        assert!(!reissued(&app, &clock, &cookie, 86_400).await, "{mode:?}");
        clock.set(T0 + 86_400);
        let r = send(&app, "/modify", Some(&cookie)).await;
        assert_eq!(r.set_cookie.len(), 1, "{mode:?}: a change is written");

        let (app, clock, cookie) = permanent(mode, |c| {
            c.with_lifetime(|l| {
                l.with_refresh(Refresh::OnChange)
                    .with_idle_timeout(Duration::from_secs(40))
            })
        })
        .await;
        assert!(!reissued(&app, &clock, &cookie, 19).await, "{mode:?}");
        assert!(
            reissued(&app, &clock, &cookie, 20).await,
            "{mode:?}: an idle timeout still needs its cookie re-issued"
        );
    }
}

#[tokio::test]
async fn a_session_in_use_outlives_its_idle_timeout_under_the_default_interval() {
    for mode in COOKIE_MODES {
        let clock = TestClock::at(T0);
        let store = std::sync::Arc::new(websession::store::MemoryStore::new());
        let app = app(sessions_for(
            mode,
            &store,
            SessionConfig::default()
                .with_clock(clock.clock())
                .with_lifetime(|l| l.with_idle_timeout(Duration::from_secs(90))),
        ));
        let mut cookie = format!(
            "session={}",
            send(&app, "/set/user/alice", None)
                .await
                .cookie_value("session")
                .expect("set")
        );
        // A request every 44 s (just under half the idle timeout) for ten minutes.
        for _ in 0..14 {
            clock.advance(44);
            let r = send(&app, "/read", Some(&cookie)).await;
            assert_eq!(r.body, r#"{"user":"alice"}"#, "{mode:?}");
            if let Some(v) = r.cookie_value("session") {
                cookie = format!("session={v}");
            }
        }
    }
}

/// Signed mode's compression: by default deflate runs only for payloads of
/// 256 bytes and more; `flask()` keeps Flask's exact rule.
#[tokio::test]
async fn signed_compression_is_tried_only_above_the_threshold_by_default() {
    let clock = TestClock::at(T0);
    let store = std::sync::Arc::new(websession::store::MemoryStore::new());
    let cookie = |app: axum::Router, path: String| async move {
        send(&app, &path, None)
            .await
            .cookie_value("session")
            .expect("set")
    };
    // 100 bytes of JSON that zlib shrinks: Flask compresses it, the default doesn't.
    let small = format!("/set/v/{}", "a".repeat(80));
    let default = app(sessions_for(
        Mode::Signed,
        &store,
        SessionConfig::default().with_clock(clock.clock()),
    ));
    let flask = app(sessions_for(
        Mode::Signed,
        &store,
        SessionConfig::flask().with_clock(clock.clock()),
    ));
    assert!(!cookie(default.clone(), small.clone())
        .await
        .starts_with('.'));
    assert!(
        cookie(flask.clone(), small).await.starts_with('.'),
        "Flask's rule"
    );
    let large = format!("/set/v/{}", "a".repeat(400));
    assert!(cookie(default, large.clone()).await.starts_with('.'));
    assert!(cookie(flask, large).await.starts_with('.'));
}
