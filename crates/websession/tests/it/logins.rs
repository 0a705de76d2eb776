//! One handler API in every mode (issue 29): `Session::log_in`, `user`,
//! `log_out`, and `Logins` ("log out everywhere", "log out my other
//! sessions", the devices list), written once and run over store mode and
//! revocable signed and sealed cookies; plain cookies and the Python
//! frameworks' cookies have no `Logins`, said when the app starts.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use websession::store::{MemoryRevocations, MemoryStore};
use websession::{ConfigError, Key, KeyRing, Logins, Revocation, Session, SessionConfig};
use websession::{SessionManagerLayer, Sessions};

use crate::support::{send, sessions_with, Mode, Reply, TestClock};

const T0: i64 = 1_700_000_000;

/// The modes that can end a session from the server.
const MODES: [Mode; 3] = [Mode::Memory, Mode::Signed, Mode::Sealed];

fn app(mode: Mode, clock: &TestClock) -> Router {
    let store = Arc::new(MemoryStore::new());
    let revocation =
        Revocation::new(MemoryRevocations::new()).with_staleness(std::time::Duration::ZERO);
    let config = SessionConfig::default().with_clock(clock.clock());
    let sessions = sessions_with(mode, &store, config, Some(revocation), None).expect("valid");
    let logins = sessions.logins().expect("this mode has logins");
    Router::new()
        .route(
            "/login/{user}/{device}",
            get(
                |s: Session, Path((user, device)): Path<(String, String)>| async move {
                    s.insert("device", device).expect("insert");
                    s.log_in(&user);
                    "in"
                },
            ),
        )
        .route(
            "/me",
            get(|s: Session| async move {
                let device = s.get::<String>("device").expect("a string");
                format!("{:?} {:?}", s.user(), device)
            }),
        )
        .route(
            "/cart",
            get(|s: Session| async move {
                s.insert("cart", 3).expect("insert");
                "cart"
            }),
        )
        .route(
            "/logout",
            get(|s: Session| async move {
                s.log_out();
                "out"
            }),
        )
        .route(
            "/cart-count",
            get(|s: Session| async move { format!("{:?}", s.get::<u32>("cart").expect("u32")) }),
        )
        .route(
            "/devices",
            get(|s: Session, State(logins): State<Logins>| async move {
                match logins.devices(&s).await.expect("devices") {
                    None => "no list".to_owned(),
                    Some(devices) => devices
                        .iter()
                        .map(|d| {
                            let name = match d.data.get("device") {
                                Some(websession::Value::Str(name)) => name.clone(),
                                _ => "?".into(),
                            };
                            if d.current {
                                format!("{name}*")
                            } else {
                                name
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(","),
                }
            }),
        )
        .route(
            "/logout-others",
            get(|s: Session, State(logins): State<Logins>| async move {
                format!("{}", logins.log_out_others(&s).await.expect("others"))
            }),
        )
        .route(
            "/logout-everywhere",
            get(|s: Session, State(logins): State<Logins>| async move {
                let user = s.user().expect("logged in");
                logins.log_out_everywhere(&user).await.expect("everywhere");
                s.purge();
                "ended"
            }),
        )
        .layer(SessionManagerLayer::new(sessions))
        .with_state(logins)
}

/// The browser's cookie after `r` (it keeps `before` when `r` set none).
fn next(r: &Reply, before: &str) -> String {
    match r.cookie_value("session") {
        Some(v) if !v.is_empty() => format!("session={v}"),
        Some(_) => String::new(),
        None => before.to_owned(),
    }
}

async fn login(app: &Router, user: &str, device: &str) -> String {
    next(
        &send(app, &format!("/login/{user}/{device}"), None).await,
        "",
    )
}

async fn me(app: &Router, cookie: &str) -> String {
    send(app, "/me", Some(cookie)).await.body
}

#[tokio::test]
async fn log_in_records_the_user_and_rotates_in_every_mode() {
    for mode in MODES {
        let clock = TestClock::at(T0);
        let app = app(mode, &clock);
        let anonymous = next(&send(&app, "/cart", None).await, "");
        let r = send(&app, "/login/alice/laptop", Some(&anonymous)).await;
        let alice = next(&r, &anonymous);
        assert_ne!(alice, anonymous, "{mode:?}: a new cookie at login");
        assert_eq!(
            me(&app, &alice).await,
            r#"Some("alice") Some("laptop")"#,
            "{mode:?}"
        );
        assert_eq!(
            me(&app, &anonymous).await,
            "None None",
            "{mode:?}: the cookie from before the login is worth nothing"
        );
    }
}

#[tokio::test]
async fn log_out_keeps_the_rest_of_the_session_and_ends_the_old_cookie() {
    for mode in MODES {
        let clock = TestClock::at(T0);
        let app = app(mode, &clock);
        let c = login(&app, "alice", "laptop").await;
        let c = next(&send(&app, "/cart", Some(&c)).await, &c);
        let out = next(&send(&app, "/logout", Some(&c)).await, &c);
        assert_eq!(me(&app, &out).await, r#"None Some("laptop")"#, "{mode:?}");
        assert_eq!(
            send(&app, "/cart-count", Some(&out)).await.body,
            "Some(3)",
            "{mode:?}"
        );
        assert!(
            me(&app, &c).await.starts_with("None"),
            "{mode:?}: a copy of the logged-in cookie is logged out too"
        );
    }
}

#[tokio::test]
async fn log_out_others_and_everywhere_are_the_same_calls_in_every_mode() {
    for mode in MODES {
        let clock = TestClock::at(T0);
        let app = app(mode, &clock);
        let phone = login(&app, "alice", "phone").await;
        clock.advance(1);
        let laptop = login(&app, "alice", "laptop").await;
        let bob = login(&app, "bob", "desk").await;

        let listed = send(&app, "/devices", Some(&laptop)).await.body;
        match mode {
            Mode::Memory => assert_eq!(listed, "laptop*,phone", "this one first, then newest"),
            _ => assert_eq!(listed, "no list", "{mode:?}: cookies keep no list"),
        }

        let r = send(&app, "/logout-others", Some(&laptop)).await;
        assert_eq!(r.body, "true", "{mode:?}");
        let laptop = next(&r, &laptop);
        assert_eq!(
            me(&app, &laptop).await,
            r#"Some("alice") Some("laptop")"#,
            "{mode:?}"
        );
        assert_eq!(
            me(&app, &phone).await,
            "None None",
            "{mode:?}: the phone is out"
        );
        assert_eq!(
            me(&app, &bob).await,
            r#"Some("bob") Some("desk")"#,
            "{mode:?}"
        );
        if mode == Mode::Memory {
            assert_eq!(send(&app, "/devices", Some(&laptop)).await.body, "laptop*");
        }

        let r = send(&app, "/logout-everywhere", Some(&laptop)).await;
        assert_eq!(r.body, "ended", "{mode:?}");
        assert_eq!(me(&app, &laptop).await, "None None", "{mode:?}: a copy too");
        assert_eq!(
            me(&app, &bob).await,
            r#"Some("bob") Some("desk")"#,
            "{mode:?}"
        );
        // Not logged in: nothing to keep.
        let anonymous = next(&send(&app, "/cart", None).await, "");
        let r = send(&app, "/logout-others", Some(&anonymous)).await;
        assert_eq!(r.body, "false", "{mode:?}");
    }
}

#[tokio::test]
async fn modes_that_cannot_end_a_session_have_no_logins_from_the_start() {
    let keys = || KeyRing::from(Key::generate());
    let signed = || Sessions::signed(keys(), SessionConfig::default()).expect("valid");
    let refused: Vec<(&str, Result<Logins, ConfigError>)> = vec![
        ("signed", signed().logins()),
        (
            "sealed",
            Sessions::sealed(keys(), SessionConfig::default())
                .expect("valid")
                .logins(),
        ),
        ("signed as Sessions", Sessions::from(signed()).logins()),
        (
            "starlette",
            Sessions::starlette(keys(), SessionConfig::starlette())
                .expect("valid")
                .logins(),
        ),
        (
            "django",
            Sessions::django(keys(), SessionConfig::django())
                .expect("valid")
                .logins(),
        ),
    ];
    for (name, logins) in refused {
        let err = logins.expect_err(name);
        assert!(matches!(err, ConfigError::Unsupported(_)), "{name}: {err}");
        assert!(
            err.to_string().contains("with_revocation"),
            "{name}: says what to do: {err}"
        );
    }
}

/// Without server state, `log_in` and `user` still work: the user is in
/// the session, as any key is.
#[tokio::test]
async fn plain_cookies_and_python_cookies_record_the_user_too() {
    let keys = || KeyRing::from(Key::generate());
    let all: Vec<(&str, Sessions)> = vec![
        (
            "signed",
            Sessions::signed(keys(), SessionConfig::default())
                .expect("valid")
                .into(),
        ),
        (
            "sealed",
            Sessions::sealed(keys(), SessionConfig::default())
                .expect("valid")
                .into(),
        ),
        (
            "starlette",
            Sessions::starlette(keys(), SessionConfig::starlette()).expect("valid"),
        ),
        (
            "django",
            Sessions::django(keys(), SessionConfig::django()).expect("valid"),
        ),
    ];
    for (name, sessions) in all {
        let cookie = sessions.config().cookie().name().to_owned();
        let app = Router::new()
            .route(
                "/login",
                get(|s: Session| async move {
                    s.log_in("alice");
                    "in"
                }),
            )
            .route(
                "/me",
                get(|s: Session| async move { format!("{:?}", s.user()) }),
            )
            .route(
                "/logout",
                get(|s: Session| async move {
                    s.log_out();
                    "out"
                }),
            )
            .layer(SessionManagerLayer::new(sessions));
        let r = send(&app, "/login", None).await;
        let c = format!("{cookie}={}", r.cookie_value(&cookie).expect(name));
        assert_eq!(
            send(&app, "/me", Some(&c)).await.body,
            r#"Some("alice")"#,
            "{name}"
        );
        let r = send(&app, "/logout", Some(&c)).await;
        let after = format!("{cookie}={}", r.cookie_value(&cookie).unwrap_or_default());
        assert_eq!(send(&app, "/me", Some(&after)).await.body, "None", "{name}");
    }
}
