//! Issue 25: "log out everywhere" with no back door. Each test here is one
//! path around revocation that an adversarial review reproduced on the
//! code before the fix (the item number is the issue's): a remember cookie
//! (1), moving an overflowed session back into the cookie (2), header
//! tokens with Flask-Login (3), overflow and Flask-style logins (4), a
//! login that kept the anonymous id (5), and `clear()` (6).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::Router;
use websession::flask::{FlaskLogin, FlaskLoginConfig, Login, LoginOptions};
use websession::store::{MemoryRevocations, MemoryStore, SessionId, SessionStore};
use websession::{
    Key, Overflow, Revocation, Session, SessionConfig, SessionManagerLayer, Transport,
};

use crate::kit::noise;
use crate::support::{send, sessions_with, tagged, Mode, Reply, TestClock, COOKIE_MODES};

const T0: i64 = 1_700_000_000;

pub(crate) fn secret() -> Key {
    Key::from_utf8("issue 25: a secret key that is long enough").expect("key")
}

/// `name=value` of the cookie `name` this reply set.
pub(crate) fn jar(reply: &Reply, name: &str) -> String {
    let value = reply
        .cookie_value(name)
        .unwrap_or_else(|| panic!("no {name} cookie in {:?}", reply.set_cookie));
    format!("{name}={value}")
}

fn both(a: &str, b: &str) -> String {
    format!("{a}; {b}")
}

// ---------------------------------------------------------------------------
// Flask-Login: the remember cookie (1) and header tokens (3).

struct LoginApp {
    app: Router,
    store: Arc<MemoryStore>,
    revocation: Option<Revocation>,
    login: FlaskLogin,
}

impl LoginApp {
    fn new(mode: Mode, revocation: bool, transport: Transport) -> Self {
        let clock = TestClock::at(T0);
        let store = Arc::new(MemoryStore::new());
        let revocation = revocation.then(|| Revocation::new(MemoryRevocations::new()));
        let config = SessionConfig::flask()
            .with_clock(clock.clock())
            .with_transport(transport);
        let sessions = sessions_with(mode, &store, config, revocation.clone(), None);
        let sessions = sessions.expect("valid");
        let login = FlaskLogin::new(&secret(), FlaskLoginConfig::default()).expect("valid");
        let app = Router::new()
            .route(
                "/login/{user}",
                get(
                    |login: Login,
                     Path(user): Path<String>,
                     Query(q): Query<std::collections::HashMap<String, String>>| async move {
                        let remember = q.get("remember").is_some_and(|v| v == "1");
                        login.login_user_with(&user, LoginOptions::default().with_remember(remember));
                        "in"
                    },
                ),
            )
            .route(
                "/whoami",
                get(|login: Login| async move {
                    match login.user_id() {
                        Some(id) => format!("{id} fresh={}", login.is_fresh()),
                        None => "anonymous".into(),
                    }
                }),
            )
            .route(
                "/logout",
                get(|login: Login| async move {
                    login.logout_user();
                    "out"
                }),
            )
            .route(
                "/flash",
                get(|s: Session| async move {
                    s.insert("note", "hello").expect("insert");
                    "noted"
                }),
            )
            .layer(login.layer())
            .layer(SessionManagerLayer::new(sessions));
        Self {
            app,
            store,
            revocation,
            login,
        }
    }

    async fn get(&self, path: &str, cookies: Option<&str>) -> Reply {
        send(&self.app, path, cookies).await
    }

    async fn whoami(&self, cookies: &str) -> String {
        self.get("/whoami", Some(cookies)).await.body
    }

    /// "Log out everywhere" as the mode does it: revocation's generation,
    /// and in store mode the records too.
    async fn log_out_everywhere(&self, mode: Mode, user: &str) {
        if let Some(r) = &self.revocation {
            websession::Logins::from(r.clone())
                .log_out_everywhere(user)
                .await
                .expect("revoke");
        }
        if matches!(mode, Mode::Memory) {
            self.store.delete_all_for(user).await.expect("delete");
        }
    }
}

const MODES: [Mode; 3] = [Mode::Signed, Mode::Sealed, Mode::Memory];

/// 1: a remember cookie issued before "log out everywhere" no longer logs
/// the user back in, in every mode.
#[tokio::test]
async fn a_remember_cookie_does_not_survive_log_out_everywhere() {
    for mode in MODES {
        let app = LoginApp::new(mode, true, Transport::Cookie);
        let r = app.get("/login/42?remember=1", None).await;
        let (session, remember) = (jar(&r, "session"), jar(&r, "remember_token"));
        assert_eq!(app.whoami(&session).await, "42 fresh=true", "{mode:?}");
        app.log_out_everywhere(mode, "42").await;
        assert_eq!(app.whoami(&session).await, "anonymous", "{mode:?}");
        assert_eq!(
            app.whoami(&both(&session, &remember)).await,
            "anonymous",
            "{mode:?}: the remember cookie beside the revoked session"
        );
        assert_eq!(
            app.whoami(&remember).await,
            "anonymous",
            "{mode:?}: the remember cookie alone"
        );
        // A login afterwards remembers again.
        let r = app.get("/login/42?remember=1", None).await;
        let remember = jar(&r, "remember_token");
        assert_eq!(app.whoami(&remember).await, "42 fresh=false", "{mode:?}");
    }
}

/// 1: a login restored from the remember cookie is a login: it records its
/// user (so logout and "log out everywhere" reach it) and gets a new id.
#[tokio::test]
async fn a_restored_login_is_recorded_and_rotated() {
    for mode in MODES {
        let app = LoginApp::new(mode, true, Transport::Cookie);
        let remember = jar(
            &app.get("/login/42?remember=1", None).await,
            "remember_token",
        );

        // Restored on top of an anonymous session: a new id.
        let anonymous = jar(&app.get("/flash", None).await, "session");
        let r = app.get("/whoami", Some(&both(&anonymous, &remember))).await;
        assert_eq!(r.body, "42 fresh=false", "{mode:?}");
        let restored = jar(&r, "session");
        assert_ne!(restored, anonymous, "{mode:?}: a new id");
        if matches!(mode, Mode::Memory) {
            let ids: Vec<_> = app
                .store
                .sessions_of("42", u64::try_from(T0).expect("positive"))
                .await
                .expect("list")
                .into_iter()
                .map(|(id, _)| id)
                .collect();
            let id = SessionId::parse(restored.trim_start_matches("session=")).expect("id");
            assert!(
                ids.contains(&id.hash()),
                "{mode:?}: the store knows its user"
            );
            assert_eq!(
                app.whoami(&anonymous).await,
                "anonymous",
                "{mode:?}: the pre-login id is dead"
            );
        }

        // logout_user on the restored session ends its copies too.
        let r = app.get("/logout", Some(&restored)).await;
        assert_eq!(r.body, "out", "{mode:?}");
        assert_eq!(
            app.whoami(&restored).await,
            "anonymous",
            "{mode:?}: a copy of the restored session after logout"
        );

        // "Log out everywhere" reaches a restored session.
        let restored = jar(&app.get("/whoami", Some(&remember)).await, "session");
        assert_eq!(app.whoami(&restored).await, "42 fresh=false", "{mode:?}");
        app.log_out_everywhere(mode, "42").await;
        assert_eq!(app.whoami(&restored).await, "anonymous", "{mode:?}");
    }
}

/// 1: without revocation a remember cookie can't be revoked (Flask-Login's
/// own rule), but a restored store session is still found by
/// `delete_all_for`.
#[tokio::test]
async fn without_revocation_a_restored_store_session_is_still_deletable() {
    let app = LoginApp::new(Mode::Memory, false, Transport::Cookie);
    let remember = jar(
        &app.get("/login/42?remember=1", None).await,
        "remember_token",
    );
    let restored = jar(&app.get("/whoami", Some(&remember)).await, "session");
    app.store.delete_all_for("42").await.expect("delete");
    assert_eq!(app.whoami(&restored).await, "anonymous");
    // The documented limit: the remember cookie itself logs in again.
    assert_eq!(app.whoami(&remember).await, "42 fresh=false");
}

/// 1: with revocation, the remember cookie of a user never revoked is
/// byte for byte Flask-Login's; after a revocation it carries the
/// generation.
#[tokio::test]
async fn remember_cookies_are_flask_logins_until_a_revocation() {
    let app = LoginApp::new(Mode::Signed, true, Transport::Cookie);
    let r = app.get("/login/42?remember=1", None).await;
    assert_eq!(
        r.cookie_value("remember_token").expect("cookie"),
        app.login.remember_token("42")
    );
    app.log_out_everywhere(Mode::Signed, "42").await;
    let r = app.get("/login/42?remember=1", None).await;
    let token = r.cookie_value("remember_token").expect("cookie");
    assert!(token.starts_with("42|g1."), "{token}");
}

/// 3: with a header transport, no cookie logs anyone in, and none is
/// issued.
#[tokio::test]
async fn header_tokens_ignore_the_remember_cookie() {
    for revocation in [false, true] {
        let app = LoginApp::new(
            Mode::Signed,
            revocation,
            Transport::bearer("x-session-token"),
        );
        let planted = format!("remember_token={}", app.login.remember_token("42"));
        assert_eq!(
            app.whoami(&planted).await,
            "anonymous",
            "revocation {revocation}: an ambient cookie must not log in"
        );
        let r = app.get("/login/42?remember=1", None).await;
        assert_eq!(r.body, "in");
        assert!(
            r.cookie_value("remember_token").is_none(),
            "revocation {revocation}: no remember cookie: {:?}",
            r.set_cookie
        );
    }
}

// ---------------------------------------------------------------------------
// Cookie sessions with revocation and overflow (2, 4, 5, 6).

/// A gate a handler waits at, so a test can run another request while it
/// holds a loaded session.
#[derive(Clone, Default)]
pub(crate) struct Gate {
    pub(crate) loaded: Arc<tokio::sync::Notify>,
    pub(crate) go: Arc<tokio::sync::Notify>,
}

struct CookieApp {
    app: Router,
    store: Arc<MemoryStore>,
}

fn cookie_app(mode: Mode, overflow: bool, revocation: bool, gate: &Gate) -> CookieApp {
    let clock = TestClock::at(T0);
    let store = Arc::new(MemoryStore::new());
    let config = SessionConfig::default().with_clock(clock.clock());
    let revocation = revocation.then(|| Revocation::new(MemoryRevocations::new()));
    let overflow = overflow.then(|| Overflow::new(store.clone()).with_return_below(1500));
    let sessions = sessions_with(mode, &store, config, revocation, overflow).expect("valid");
    let app = Router::new()
        .route(
            "/login/{user}",
            get(|s: Session, Path(user): Path<String>| async move {
                s.log_in(&user);
                "in"
            }),
        )
        .route(
            // Flask's way: the login is a key, nothing else.
            "/flask-login/{user}",
            get(|s: Session, Path(user): Path<String>| async move {
                s.insert("user", &user).expect("insert");
                "in"
            }),
        )
        .route(
            // Flask-Login's way: its `_user_id` key (a Flask app sharing
            // the session writes it so).
            "/flask-login-key/{user}",
            get(|s: Session, Path(user): Path<String>| async move {
                s.insert("_user_id", &user).expect("insert");
                s.insert("user", &user).expect("insert");
                "in"
            }),
        )
        .route(
            // The documented way for any other login: a key, then cycle_id.
            "/login-cycled/{user}",
            get(|s: Session, Path(user): Path<String>| async move {
                s.insert("user", &user).expect("insert");
                s.cycle_id();
                "in"
            }),
        )
        .route(
            "/big",
            get(|s: Session| async move {
                s.insert("noise", noise()).expect("insert");
                "big"
            }),
        )
        .route(
            "/shrink-slowly",
            get(|s: Session, State(gate): State<Gate>| async move {
                gate.loaded.notify_one();
                gate.go.notified().await;
                let _ = s.remove::<String>("noise");
                "shrunk"
            }),
        )
        .route(
            "/write",
            get(|s: Session| async move {
                s.insert("v", 1).expect("insert");
                "ok"
            }),
        )
        .route(
            "/clear",
            get(|s: Session| async move {
                s.clear();
                s.insert("flash", "bye").expect("insert");
                "cleared"
            }),
        )
        .route(
            // The last key goes (a Flask-style login's, or log_in's).
            "/drop-user",
            get(|s: Session| async move {
                let _ = s.remove::<String>("user");
                let _ = s.remove::<String>(websession::LOGIN_KEY);
                "dropped"
            }),
        )
        .route(
            "/purge",
            get(|s: Session| async move {
                s.purge();
                "purged"
            }),
        )
        .route("/read", get(|s: Session| async move { tagged(&s) }))
        .with_state(gate.clone())
        .layer(SessionManagerLayer::new(sessions));
    CookieApp { app, store }
}

impl CookieApp {
    async fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        send(&self.app, path, cookie).await
    }
    async fn read(&self, cookie: &str) -> String {
        self.get("/read", Some(cookie)).await.body
    }
}

/// The user a cookie's session shows (its `user` key), or `None`.
pub(crate) fn user_of(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    // A Flask-style login's key, or `Session::log_in`'s.
    let user = value
        .get("user")
        .or_else(|| value.get(websession::LOGIN_KEY))?;
    user.as_str().map(str::to_owned)
}

/// 2: a slow request that shrinks an overflowed session while a concurrent
/// logout (a purge, or `delete_all_for`) ends it does not send the session
/// back in a cookie.
#[tokio::test]
async fn a_move_back_does_not_resurrect_an_ended_session() {
    for (mode, revocation, ender) in COOKIE_MODES
        .into_iter()
        .flat_map(|m| [(m, false), (m, true)])
        .flat_map(|(m, r)| [(m, r, "purge"), (m, r, "delete_all_for")])
        // Without revocation a cookie session records no user to delete by.
        .filter(|(_, r, ender)| *r || *ender == "purge")
    {
        {
            let gate = Gate::default();
            let app = cookie_app(mode, true, revocation, &gate);
            let c = jar(&app.get("/login/alice", None).await, "session");
            let x = jar(&app.get("/big", Some(&c)).await, "session");
            assert!(
                SessionId::parse(x.trim_start_matches("session=")).is_some(),
                "{mode:?}: overflowed to the store"
            );
            let slow = tokio::spawn({
                let (app, x) = (app.app.clone(), x.clone());
                async move { send(&app, "/shrink-slowly", Some(&x)).await }
            });
            gate.loaded.notified().await;
            match ender {
                "purge" => assert_eq!(app.get("/purge", Some(&x)).await.body, "purged"),
                _ => assert_eq!(app.store.delete_all_for("alice").await.expect("delete"), 1),
            }
            gate.go.notify_one();
            let r = slow.await.expect("joined");
            assert_eq!(r.body, "shrunk", "{mode:?} {ender}");
            if let Some(value) = r.cookie_value("session") {
                let body = app.read(&format!("session={value}")).await;
                assert_eq!(
                    user_of(&body),
                    None,
                    "{mode:?} revocation {revocation} {ender}: resurrected cookie opens as {body}"
                );
            }
        }
    }
}

/// 4: a store id planted in a victim's browser doesn't learn the victim's
/// later login: Flask-Login's (its `_user_id` key, as a Flask app sharing
/// the session writes it, without `set_user`) or any login that calls
/// `cycle_id`, as the docs ask.
#[tokio::test]
async fn a_planted_overflow_id_learns_no_later_login() {
    for (mode, revocation, login) in COOKIE_MODES
        .into_iter()
        .flat_map(|m| [(m, false), (m, true)])
        .flat_map(|(m, r)| {
            [
                (m, r, "/flask-login-key/victim"),
                (m, r, "/login-cycled/victim"),
            ]
        })
    {
        let app = cookie_app(mode, true, revocation, &Gate::default());
        let planted = jar(&app.get("/big", None).await, "session");
        assert!(SessionId::parse(planted.trim_start_matches("session=")).is_some());
        let r = app.get(login, Some(&planted)).await;
        // The victim goes on with the new cookie, if one was sent.
        let victim = r
            .cookie_value("session")
            .map_or_else(|| planted.clone(), |v| format!("session={v}"));
        assert_eq!(user_of(&app.read(&victim).await).as_deref(), Some("victim"));
        assert_eq!(
            user_of(&app.read(&planted).await),
            None,
            "{mode:?} revocation {revocation} {login}: the attacker's copy reads the victim's login"
        );
    }
}

/// 5: a login retires the anonymous session's id, so whoever holds a
/// pre-login copy can't log the victim out by purging it.
#[tokio::test]
async fn a_pre_login_copy_cannot_log_the_victim_out() {
    for mode in COOKIE_MODES {
        let app = cookie_app(mode, false, true, &Gate::default());
        let pre = jar(&app.get("/write", None).await, "session");
        let victim = jar(&app.get("/login/alice", Some(&pre)).await, "session");
        assert_eq!(app.get("/purge", Some(&pre)).await.body, "purged");
        assert_eq!(
            user_of(&app.read(&victim).await).as_deref(),
            Some("alice"),
            "{mode:?}: victim after attacker purged the planted pre-login copy"
        );
    }
}

/// 6: emptying a session (Flask's `session.clear()`, or removing its last
/// key) revokes its copies, as `purge` does.
#[tokio::test]
async fn emptying_a_session_revokes_its_copies() {
    for mode in COOKIE_MODES {
        for how in ["/clear", "/drop-user"] {
            let app = cookie_app(mode, false, true, &Gate::default());
            let c = jar(&app.get("/flask-login/alice", None).await, "session");
            let r = app.get(how, Some(&c)).await;
            assert!(!r.set_cookie.is_empty(), "{mode:?} {how}");
            assert_eq!(
                user_of(&app.read(&c).await),
                None,
                "{mode:?} {how}: copy after emptying"
            );
            // The same for a session that recorded its user.
            let c = jar(&app.get("/login/alice", None).await, "session");
            app.get(how, Some(&c)).await;
            assert_eq!(user_of(&app.read(&c).await), None, "{mode:?} {how}");
        }
    }
}
