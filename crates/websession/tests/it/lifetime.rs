//! A lifetime for one session (issue 18): `Session::set_lifetime`, capped by
//! `SessionConfig::with_max_session_lifetime`, in every mode, on the
//! injected clock.

use std::sync::Arc;

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use std::time::Duration;
use websession::store::MemoryStore;
use websession::{Session, SessionConfig, SessionManagerLayer};

use crate::support::{send, sessions_for, Mode, Reply, TestClock};

const T0: i64 = 1_700_000_000;
const DAY: i64 = 86_400;
const MODES: [Mode; 3] = [Mode::Signed, Mode::Sealed, Mode::Memory];

/// Permanent lifetime one day; `max` the longest a session may ask for.
fn lifetime_app(mode: Mode, clock: &TestClock, max: Option<Duration>) -> Router {
    let mut config = SessionConfig::default()
        .with_lifetime(|l| l.with_permanent_lifetime(Duration::from_secs(86_400)))
        .with_clock(clock.clock());
    if let Some(max) = max {
        config = config.with_lifetime(|l| l.with_max_session_lifetime(max));
    }
    let sessions = sessions_for(mode, &Arc::new(MemoryStore::new()), config).expect("valid");
    Router::new()
        .route(
            "/remember/{hours}",
            get(|s: Session, Path(hours): Path<u64>| async move {
                s.insert("user", "alice").expect("insert");
                s.set_lifetime(Some(Duration::from_secs(hours * 3_600)));
                "remembered"
            }),
        )
        .route(
            "/forget",
            get(|s: Session| async move {
                s.set_lifetime(None);
                "forgotten"
            }),
        )
        .route(
            "/user",
            get(|s: Session| async move {
                let user = s.get::<String>("user").expect("a string");
                let lifetime = s.lifetime().map(|d| d.as_secs());
                format!("{user:?} {lifetime:?} {}", s.is_permanent())
            }),
        )
        .layer(SessionManagerLayer::new(sessions))
}

/// The cookie's `Expires`, in Unix seconds.
fn expires(reply: &Reply) -> i64 {
    let header = reply.set_cookie.first().expect("a Set-Cookie");
    let date = header
        .split("; ")
        .find_map(|part| part.strip_prefix("Expires="))
        .expect("Expires");
    let format = time::format_description::parse_borrowed::<2>(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT",
    )
    .expect("format");
    time::PrimitiveDateTime::parse(date, &format)
        .expect("an HTTP date")
        .assume_utc()
        .unix_timestamp()
}

/// The cookie to send next: the reply's, else the one sent.
fn next_cookie(reply: &Reply, sent: &str) -> String {
    reply
        .cookie_value("session")
        .map_or_else(|| sent.to_owned(), |v| format!("session={v}"))
}

#[tokio::test]
async fn a_session_lifetime_outlives_the_permanent_one_up_to_the_maximum() {
    for mode in MODES {
        let clock = TestClock::at(T0);
        let app = lifetime_app(mode, &clock, Some(Duration::from_secs(30 * 86_400)));
        let r = send(&app, "/remember/168", None).await; // 7 days
        assert_eq!(expires(&r) - T0, 7 * DAY, "{mode:?}: Expires");
        let cookie = next_cookie(&r, "");

        // Three days on: past the permanent lifetime (one day), still alive.
        clock.advance(3 * DAY);
        let r = send(&app, "/user", Some(&cookie)).await;
        assert_eq!(r.body, r#"Some("alice") Some(604800) true"#, "{mode:?}");
        // Refreshed with the session's own lifetime, from now.
        let cookie = next_cookie(&r, &cookie);
        if !r.set_cookie.is_empty() {
            assert_eq!(expires(&r) - (T0 + 3 * DAY), 7 * DAY, "{mode:?}: refresh");
        }

        // Seven days and a minute after the last use: gone.
        clock.advance(7 * DAY + 60);
        let r = send(&app, "/user", Some(&cookie)).await;
        assert!(
            r.body.starts_with("None None false"),
            "{mode:?}: {}",
            r.body
        );
    }
}

#[tokio::test]
async fn a_shorter_session_lifetime_ends_the_session_sooner() {
    for mode in MODES {
        let clock = TestClock::at(T0);
        let app = lifetime_app(mode, &clock, None);
        let r = send(&app, "/remember/1", None).await;
        assert_eq!(expires(&r) - T0, 3600, "{mode:?}: Expires");
        let cookie = next_cookie(&r, "");
        clock.advance(1800);
        let r = send(&app, "/user", Some(&cookie)).await;
        assert!(
            r.body.starts_with(r#"Some("alice")"#),
            "{mode:?}: {}",
            r.body
        );
        let cookie = next_cookie(&r, &cookie);
        // Past the hour (of the last cookie), well inside the permanent day.
        clock.advance(3600 + 60);
        let r = send(&app, "/user", Some(&cookie)).await;
        assert!(r.body.starts_with("None"), "{mode:?}: {}", r.body);
    }
}

#[tokio::test]
async fn a_lifetime_past_the_maximum_is_cut_to_it() {
    for mode in MODES {
        // No maximum configured: the permanent lifetime (one day) is it.
        let clock = TestClock::at(T0);
        let app = lifetime_app(mode, &clock, None);
        let r = send(&app, "/remember/168", None).await;
        assert_eq!(
            expires(&r) - T0,
            DAY,
            "{mode:?}: cut to the permanent lifetime"
        );
        let cookie = next_cookie(&r, "");
        clock.advance(DAY + 60);
        let r = send(&app, "/user", Some(&cookie)).await;
        assert!(r.body.starts_with("None"), "{mode:?}: {}", r.body);

        // A maximum of 30 days: 100 days asked, 30 given.
        let clock = TestClock::at(T0);
        let app = lifetime_app(mode, &clock, Some(Duration::from_secs(30 * 86_400)));
        let r = send(&app, "/remember/2400", None).await;
        assert_eq!(expires(&r) - T0, 30 * DAY, "{mode:?}: cut to the maximum");
    }
}

// Issue 29: `lifetime()` said the lifetime asked for (100 days) while the
// cookie got the capped one (30 days). It says what applies.
#[tokio::test]
async fn the_lifetime_read_back_is_the_capped_one() {
    let max = Some(Duration::from_secs(30 * 86_400));
    // (maximum, hours asked, seconds read back): above the cap, under it,
    // and with no maximum (the permanent lifetime, one day, is the cap).
    let cases = [
        (max, 2400, 2_592_000),
        (max, 168, 604_800),
        (None, 48, 86_400),
    ];
    for mode in MODES {
        for (max, hours, secs) in cases {
            let app = lifetime_app(mode, &TestClock::at(T0), max);
            let r = send(&app, &format!("/remember/{hours}"), None).await;
            let r = send(&app, "/user", Some(&next_cookie(&r, ""))).await;
            let want = format!(r#"Some("alice") Some({secs}) true"#);
            assert_eq!(r.body, want, "{mode:?}, {hours} hours");
        }
    }
}

#[tokio::test]
async fn clearing_the_lifetime_goes_back_to_the_permanent_one() {
    for mode in MODES {
        let clock = TestClock::at(T0);
        let app = lifetime_app(mode, &clock, Some(Duration::from_secs(30 * 86_400)));
        let r = send(&app, "/remember/168", None).await;
        let cookie = next_cookie(&r, "");
        clock.advance(60);
        let r = send(&app, "/forget", Some(&cookie)).await;
        assert_eq!(
            expires(&r) - (T0 + 60),
            DAY,
            "{mode:?}: the permanent lifetime again"
        );
        let cookie = next_cookie(&r, &cookie);
        let r = send(&app, "/user", Some(&cookie)).await;
        assert_eq!(r.body, r#"Some("alice") None true"#, "{mode:?}");
        // A cookie issued with the 7-day lifetime before the change is no
        // longer what counts: the current one ages out after a day.
        clock.advance(DAY + 60);
        let r = send(&app, "/user", Some(&cookie)).await;
        assert!(r.body.starts_with("None"), "{mode:?}: {}", r.body);
    }
}
