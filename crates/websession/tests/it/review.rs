//! Issue 25's adversarial reviews of its own fix. Each test reproduces a
//! finding and failed on the commit its section names (r*: 06a1916, f*:
//! 4049a95, g*: f885355, h*: e433c55); all pass now. Not here: r5 (the
//! Flask quickstart's `pop` logout) and g3 (a double submit of
//! `revoke_others`), which are documented limits. The helpers are
//! `back_doors.rs`'s.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use websession::flask::{FlaskLogin, FlaskLoginConfig, Login, LoginOptions};
use websession::store::{MemoryRevocations, MemoryStore, SessionId, SessionStore};
use websession::{
    Key, Overflow, Revocation, Session, SessionConfig, SessionManagerLayer, Transport,
};

use crate::back_doors::{jar, secret, user_of, Gate};
use crate::kit::noise;
use crate::support::{send, sessions_for, sessions_with, tagged, Mode, Reply, TestClock};

const T0: i64 = 1_700_000_000;

fn login_router(login: &FlaskLogin, gate: Gate) -> Router<()> {
    Router::new()
        .route(
            "/login/{user}",
            get(|login: Login, Path(user): Path<String>| async move {
                login.login_user_with(&user, LoginOptions::default().with_remember(true));
                "in"
            }),
        )
        .route(
            "/login-plain/{user}",
            get(|login: Login, Path(user): Path<String>| async move {
                login.login_user(&user);
                "in"
            }),
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
            "/whoami-slow",
            get(|login: Login, State(gate): State<Gate>| async move {
                let who = login.user_id();
                gate.loaded.notify_one();
                gate.go.notified().await;
                match who {
                    Some(id) => format!("{id} fresh={}", login.is_fresh()),
                    None => "anonymous".into(),
                }
            }),
        )
        .with_state(gate)
        .layer(login.layer())
}

// ---------------------------------------------------------------------------
// R1: the generation-bound remember token has no domain separation from
// Flask-Login's generation-0 token: a gen-0 token for the user id
// "websession-remember\0<n>\0<victim>" IS a gen-n token for <victim>.

#[tokio::test]
async fn r1_gen0_token_of_a_crafted_user_id_is_a_gen_n_token_for_the_victim() {
    for revocation in [false, true] {
        let clock = TestClock::at(T0);
        let store = Arc::new(MemoryStore::new());
        let rev = revocation.then(|| Revocation::new(MemoryRevocations::new()));
        let config = SessionConfig::flask().with_clock(clock.clock());
        let sessions = sessions_with(Mode::Signed, &store, config, rev.clone(), None);
        let sessions = sessions.expect("valid");
        let login = FlaskLogin::new(&secret(), FlaskLoginConfig::default()).expect("valid");
        let app = login_router(&login, Gate::default()).layer(SessionManagerLayer::new(sessions));
        if let Some(r) = &rev {
            // The victim was even "logged out everywhere" twice.
            websession::Logins::from(r.clone())
                .log_out_everywhere("admin")
                .await
                .expect("revoke");
            websession::Logins::from(r.clone())
                .log_out_everywhere("admin")
                .await
                .expect("revoke");
        }
        // The attacker registers (or is given) the user id below and logs
        // in with "remember me": a plain Flask-Login generation-0 token.
        let r = send(&app, "/login/websession-remember%00999%00admin", None).await;
        let token = r.cookie_value("remember_token").expect("remember cookie");
        // Werkzeug-quoted; the digest is the last 128 characters before the quote.
        let digest = token.trim_end_matches('"');
        let digest = &digest[digest.len() - 128..];
        let forged = format!("remember_token=admin|g999.{digest}");
        let who = send(&app, "/whoami", Some(&forged)).await.body;
        assert_eq!(
            who, "anonymous",
            "revocation={revocation}: forged admin login"
        );
    }
}

// ---------------------------------------------------------------------------
// R2: with refresh_each_request, a session accepted on a stale cache (inside
// the staleness window on another process) gets a remember cookie bound
// to the *post-revocation* generation, if the cache learnt it mid-request.

#[tokio::test]
async fn r2_refresh_mints_a_post_revocation_remember_cookie() {
    let clock = TestClock::at(T0);
    let shared = Arc::new(MemoryRevocations::new());
    let store = Arc::new(MemoryStore::new());
    let cfg = FlaskLoginConfig::default().with_refresh_each_request(true);
    let login = FlaskLogin::new(&secret(), cfg).expect("valid");
    let make = |rev: &Revocation, gate: Gate| {
        let config = SessionConfig::flask().with_clock(clock.clock());
        let sessions = sessions_with(Mode::Signed, &store, config, Some(rev.clone()), None);
        login_router(&login, gate).layer(SessionManagerLayer::new(sessions.expect("valid")))
    };
    let rev_a = Revocation::new(shared.clone());
    let rev_b = Revocation::new(shared.clone());
    let gate = Gate::default();
    let a = make(&rev_a, Gate::default());
    let b = make(&rev_b, gate.clone());

    // Two devices of user 42 (no "remember me" on either).
    let stolen = jar(&send(&b, "/login-plain/42", None).await, "session");
    let other = jar(&send(&a, "/login-plain/42", None).await, "session");
    // B has the stolen session in its cache (a request a second ago).
    assert_eq!(
        send(&b, "/whoami", Some(&stolen)).await.body,
        "42 fresh=true"
    );

    // Password change: log out everywhere, on A.
    websession::Logins::from(rev_a.clone())
        .log_out_everywhere("42")
        .await
        .expect("revoke");
    clock.advance(1);

    // The thief's request on B, inside B's staleness window.
    let slow = tokio::spawn({
        let (b, stolen) = (b.clone(), stolen.clone());
        async move { send(&b, "/whoami-slow", Some(&stolen)).await }
    });
    gate.loaded.notified().await;
    // Meanwhile another request of user 42 reaches B (their other device):
    // B asks the store and caches generation 1.
    assert_eq!(send(&b, "/whoami", Some(&other)).await.body, "anonymous");
    gate.go.notify_one();
    let r = slow.await.expect("joined");
    assert_eq!(
        r.body, "42 fresh=true",
        "accepted inside the staleness window (documented)"
    );
    let minted = r.cookie_value("remember_token");

    // Long after the staleness bound, on A.
    clock.advance(3600);
    if let Some(token) = minted {
        let who = send(&a, "/whoami", Some(&format!("remember_token={token}")))
            .await
            .body;
        assert_eq!(
            who, "anonymous",
            "the thief's remember cookie outlives revoke_all_for: {token}"
        );
    }
}

// ---------------------------------------------------------------------------
// R3: FlaskLogin's layer outside the session layer (misordered): the header
// transport's "no remember cookie" falls back to enabled.

#[tokio::test]
async fn r3_misordered_layers_bring_back_the_remember_cookie_with_bearer() {
    let clock = TestClock::at(T0);
    let store = Arc::new(MemoryStore::new());
    let config = SessionConfig::flask()
        .with_clock(clock.clock())
        .with_transport(Transport::bearer("x-session-token"));
    let sessions = sessions_for(Mode::Signed, &store, config).expect("valid");
    let login = FlaskLogin::new(&secret(), FlaskLoginConfig::default()).expect("valid");
    let app = Router::new()
        .route(
            "/whoami",
            get(|login: Login| async move {
                match login.user_id() {
                    Some(id) => format!("{id} fresh={}", login.is_fresh()),
                    None => "anonymous".into(),
                }
            }),
        )
        .layer(SessionManagerLayer::new(sessions))
        .layer(login.layer()); // wrong order (an error is logged)
    let planted = format!("remember_token={}", login.remember_token("42"));
    let who = send(&app, "/whoami", Some(&planted)).await.body;
    assert_eq!(who, "anonymous", "ambient cookie logged a bearer client in");
}

// ---------------------------------------------------------------------------
// Cookie/overflow apps.

struct App {
    app: Router,
    store: Arc<MemoryStore>,
    clock: TestClock,
}

fn app(mode: Mode, overflow: bool, revocation: bool, idle: Option<i64>) -> App {
    let clock = TestClock::at(T0);
    let store = Arc::new(MemoryStore::new());
    let mut config = SessionConfig::default().with_clock(clock.clock());
    if let Some(idle) = idle {
        config = config.with_lifetime(|l| {
            l.with_idle_timeout(std::time::Duration::from_secs(idle.unsigned_abs()))
        });
    }
    let revocation = revocation.then(|| Revocation::new(MemoryRevocations::new()));
    let overflow = overflow.then(|| Overflow::new(store.clone()).with_return_below(1500));
    let sessions = sessions_with(mode, &store, config, revocation, overflow).expect("valid");
    let app = Router::new()
        .route(
            "/login/{user}",
            get(|s: Session, Path(user): Path<String>| async move {
                s.insert("user", &user).expect("insert");
                s.log_in(&user);
                "in"
            }),
        )
        .route(
            "/flask-login/{user}",
            get(|s: Session, Path(user): Path<String>| async move {
                s.insert("user", &user).expect("insert");
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
            "/write",
            get(|s: Session| async move {
                let n: i64 = s.get("v").ok().flatten().unwrap_or(0);
                s.insert("v", n + 1).expect("insert");
                "ok"
            }),
        )
        .route(
            // Flask quickstart-style logout, then a flash.
            "/pop-user-then-flash",
            get(|s: Session| async move {
                let _ = s.remove::<String>("user");
                s.insert("_flashes", "You were logged out").expect("insert");
                "out"
            }),
        )
        .route(
            "/touch-user",
            get(|s: Session| async move {
                // "make sure the session is tagged", every request, the
                // documented way: log_in once (it rotates), user() after.
                if let Ok(Some(u)) = s.get::<String>("user") {
                    if s.user().is_none() {
                        s.log_in(&u);
                    }
                }
                tagged(&s)
            }),
        )
        .route(
            "/purge",
            get(|s: Session| async move {
                s.purge();
                "purged"
            }),
        )
        .route(
            // Session::cycle_id's own doc example: "After login, against session fixation".
            "/cycle-login/{user}",
            get(|s: Session, Path(user): Path<String>| async move {
                s.insert("user", &user).expect("insert");
                s.cycle_id();
                "in"
            }),
        )
        .route(
            "/cycle",
            get(|s: Session| async move {
                s.cycle_id();
                "cycled"
            }),
        )
        .route("/read", get(|s: Session| async move { tagged(&s) }))
        .layer(SessionManagerLayer::new(sessions));
    App { app, store, clock }
}

impl App {
    async fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        send(&self.app, path, cookie).await
    }
    async fn read(&self, cookie: &str) -> String {
        self.get("/read", Some(cookie)).await.body
    }
    fn now(&self) -> u64 {
        u64::try_from(self.clock.now()).expect("positive")
    }
}

fn id_of(cookie: &str) -> SessionId {
    SessionId::parse(cookie.trim_start_matches("session=")).expect("a store id")
}

// R4: a login in a second tab, on an overflowed id another tab has just
// changed, gives a live session that an active user keeps (the first fix
// carried a hidden "snapshot" marker into it, and it died).
#[tokio::test]
async fn r4_a_login_on_a_snapshot_inherits_the_snapshot_marker() {
    let a = app(Mode::Signed, true, false, Some(600));
    let x = jar(&a.get("/big", None).await, "session");
    id_of(&x);
    // A change in one tab.
    let _ = a.get("/write", Some(&x)).await;
    // A second tab, still on X, logs in (Session::set_user: a cycle).
    let n = jar(&a.get("/login/alice", Some(&x)).await, "session");
    let record = a
        .store
        .load(&id_of(&n).hash(), a.now())
        .await
        .expect("load")
        .expect("live");
    let marked = record.data.contains_key("_ws_superseded");
    // Behaviour: N is used (read) every 5 minutes, within the 10-minute
    // idle timeout, yet dies.
    let mut last = String::new();
    for _ in 0..4 {
        a.clock.advance(300);
        last = a.read(&n).await;
    }
    assert!(
        !marked && user_of(&last).as_deref() == Some("alice"),
        "marked={marked}; an active session after 20 minutes reads {last}"
    );
}

// R6: set_user with the same user on every request retired the id every
// request: a concurrent request sent with the previous cookie was logged
// out. `set_user` is gone; `log_in` rotates by design, once per login, and
// a page that tags the session every request checks `user()` first.
#[tokio::test]
async fn r6_same_user_set_user_every_request_logs_out_parallel_requests() {
    let a = app(Mode::Signed, false, true, None);
    let c = jar(&a.get("/login/alice", None).await, "session");
    let r1 = a.get("/touch-user", Some(&c)).await; // the page
    assert_eq!(user_of(&r1.body).as_deref(), Some("alice"));
    let r2 = a.get("/touch-user", Some(&c)).await; // an XHR sent at the same time
    assert_eq!(
        user_of(&r2.body).as_deref(),
        Some("alice"),
        "parallel request saw {}",
        r2.body
    );
}

// R7: overflow, a response that never reaches the browser (client abort):
// the browser's id becomes a snapshot and dies 60 s later: the whole
// session is lost (cookie mode loses only that request's change).
#[tokio::test]
async fn r7_a_lost_response_loses_the_whole_overflowed_session() {
    for overflow in [false, true] {
        let a = app(Mode::Signed, overflow, false, None);
        let mut c = jar(&a.get("/login/alice", None).await, "session");
        if overflow {
            c = jar(&a.get("/big", Some(&c)).await, "session");
        }
        let _lost = a.get("/write", Some(&c)).await; // the response is lost
        a.clock.advance(61);
        assert_eq!(
            user_of(&a.read(&c).await).as_deref(),
            Some("alice"),
            "overflow={overflow}: the browser's cookie after one lost response"
        );
    }
}

// R8: overflow without revocation: a thief who changes a stolen id forks an
// independent live session that the victim's logout doesn't end (before
// 06a1916 the change updated the one shared record, which logout deleted).
#[tokio::test]
async fn r8_a_forked_stolen_id_survives_the_victims_logout() {
    for revocation in [false, true] {
        let a = app(Mode::Signed, true, revocation, None);
        let c = jar(&a.get("/login/alice", None).await, "session");
        let x = jar(&a.get("/big", Some(&c)).await, "session");
        // Thief copies X and makes any change.
        let r = a.get("/write", Some(&x)).await;
        let z = r
            .cookie_value("session")
            .map_or_else(|| x.clone(), |v| format!("session={v}"));
        // Victim logs out with the cookie it holds.
        assert_eq!(a.get("/purge", Some(&x)).await.body, "purged");
        let who = user_of(&a.read(&z).await);
        assert_eq!(
            who, None,
            "revocation={revocation}: fork survives the logout"
        );
    }
}

// R9: two concurrent changes leave orphan *live* records (full lifetime,
// user recorded): phantom "devices" in sessions_of.
#[tokio::test]
async fn r9_concurrent_changes_leave_orphan_live_records() {
    let a = app(Mode::Signed, true, false, None);
    let x = jar(&a.get("/big", None).await, "session");
    let n = jar(&a.get("/login/alice", Some(&x)).await, "session");
    let _ = a.get("/write", Some(&n)).await; // page
    let _ = a.get("/write", Some(&n)).await; // XHR, same cookie
    a.clock.advance(61);
    let devices = a.store.sessions_of("alice", a.now()).await.expect("list");
    assert_eq!(
        devices.len(),
        1,
        "one browser, {} live records",
        devices.len()
    );
}

// R8b: without revocation, logging out the live session leaves the snapshot
// of the previous change, which its holder can fork into a new live session.
#[tokio::test]
async fn r8b_a_snapshot_is_forked_after_the_logout_of_its_successor() {
    for revocation in [false, true] {
        let a = app(Mode::Signed, true, revocation, None);
        let c = jar(&a.get("/login/alice", None).await, "session");
        let x = jar(&a.get("/big", Some(&c)).await, "session"); // copied by a thief
        let r = a.get("/write", Some(&x)).await; // victim's next change
        let y = r
            .cookie_value("session")
            .map_or_else(|| x.clone(), |v| format!("session={v}"));
        assert_eq!(a.get("/purge", Some(&y)).await.body, "purged"); // victim logs out
        a.clock.advance(30);
        let r = a.get("/write", Some(&x)).await; // thief, within 60 s
        let z = r.cookie_value("session").map(|v| format!("session={v}"));
        a.clock.advance(3600);
        let who = match &z {
            Some(z) => user_of(&a.read(z).await),
            None => None,
        };
        assert_eq!(
            who, None,
            "revocation={revocation}: the logged-out session lives on an hour later"
        );
    }
}

// Control for R4: the same login on the live id keeps the session alive.
#[tokio::test]
async fn r4_control_login_on_a_live_id() {
    let a = app(Mode::Signed, true, false, Some(600));
    let x = jar(&a.get("/big", None).await, "session");
    let n = jar(&a.get("/login/alice", Some(&x)).await, "session");
    let mut last = String::new();
    for _ in 0..4 {
        a.clock.advance(300);
        last = a.read(&n).await;
    }
    assert_eq!(user_of(&last).as_deref(), Some("alice"));
}

// R10: the documented anti-fixation recipe (insert + cycle_id) keeps the
// revocation id: a pre-login copy can log the victim out (issue 25 item 5).
#[tokio::test]
async fn r10_cycle_id_login_keeps_the_pre_login_id() {
    let a = app(Mode::Signed, false, true, None);
    let pre = jar(&a.get("/write", None).await, "session");
    let victim = jar(&a.get("/cycle-login/alice", Some(&pre)).await, "session");
    assert_eq!(a.get("/purge", Some(&pre)).await.body, "purged");
    assert_eq!(
        user_of(&a.read(&victim).await).as_deref(),
        Some("alice"),
        "victim logged out by the planted copy"
    );
}

// ---------------------------------------------------------------------------
// The second review (of 4049a95): f1-f4, each failing there.

/// f1: the derived key of generation tokens is not any Flask-Login token's
/// digest (it was: the digest for the user id
/// "websession-remember-generation").
#[tokio::test]
async fn f1_no_user_id_reveals_the_generation_key() {
    let clock = TestClock::at(T0);
    let store = Arc::new(MemoryStore::new());
    let rev = Revocation::new(MemoryRevocations::new());
    let config = SessionConfig::flask().with_clock(clock.clock());
    let sessions = sessions_with(Mode::Signed, &store, config, Some(rev.clone()), None);
    let sessions = sessions.expect("valid");
    let login = FlaskLogin::new(&secret(), FlaskLoginConfig::default()).expect("valid");
    let app = login_router(&login, Gate::default()).layer(SessionManagerLayer::new(sessions));
    websession::Logins::from(rev.clone())
        .log_out_everywhere("admin")
        .await
        .expect("revoke");
    for label in [
        "websession-remember-generation",
        "%C3%BFwebsession-remember-generation",
    ] {
        let r = send(&app, &format!("/login/{label}"), None).await;
        let token = r.cookie_value("remember_token").expect("remember cookie");
        let token = token.trim_end_matches('"');
        let k_hex = &token[token.len() - 128..];
        let k =
            websession_core::flask_login::RememberSigner::new(&Key::from_hex(k_hex).expect("hex"));
        let signed = k.sign("999\0admin");
        let digest = &signed[signed.len() - 128..];
        let forged = format!("remember_token=admin|g999.{digest}");
        let who = send(&app, "/whoami", Some(&forged)).await.body;
        assert_eq!(
            who, "anonymous",
            "{label}: forged admin login from the derived key"
        );
    }
}

/// f2: "log out my other sessions" run by a thief on another process,
/// within its staleness after the victim's own, neither lifts the thief's
/// revoked cookie nor logs the victim out.
#[tokio::test]
async fn f2_revoke_others_never_lifts_a_revoked_copy() {
    let clock = TestClock::at(T0);
    let store = Arc::new(MemoryStore::new());
    let shared = Arc::new(MemoryRevocations::new());
    let make = |rev: Revocation| {
        let config = SessionConfig::default().with_clock(clock.clock());
        let sessions = sessions_with(Mode::Signed, &store, config, Some(rev.clone()), None);
        let sessions = sessions.expect("valid");
        let rev = sessions.logins().expect("revocable");
        Router::new()
            .route(
                "/login/{user}",
                get(|s: Session, Path(user): Path<String>| async move {
                    s.insert("user", &user).expect("insert");
                    s.log_in(&user);
                    s.cycle_id();
                    "in"
                }),
            )
            .route(
                "/logout-others",
                get(move |s: Session| {
                    let rev = rev.clone();
                    async move {
                        match rev.log_out_others(&s).await.expect("store") {
                            true => "others out",
                            false => "nothing done",
                        }
                    }
                }),
            )
            .route("/read", get(|s: Session| async move { tagged(&s) }))
            .layer(SessionManagerLayer::new(sessions))
    };
    let a = make(Revocation::new(shared.clone()));
    let b = make(Revocation::new(shared.clone()));
    let victim = jar(&send(&a, "/login/alice", None).await, "session");
    let other_device = jar(&send(&a, "/login/alice", None).await, "session");
    let stolen = jar(&send(&b, "/login/alice", None).await, "session");
    assert_eq!(
        user_of(&send(&b, "/read", Some(&stolen)).await.body).as_deref(),
        Some("alice")
    );

    let r = send(&a, "/logout-others", Some(&victim)).await;
    assert_eq!(r.body, "others out");
    let victim = jar(&r, "session");
    assert_eq!(
        user_of(&send(&a, "/read", Some(&victim)).await.body).as_deref(),
        Some("alice")
    );
    assert_eq!(
        user_of(&send(&a, "/read", Some(&other_device)).await.body),
        None
    );

    clock.advance(1);
    // The thief, inside B's staleness window: accepted (documented), but
    // revoke_others does nothing for a revoked session.
    let r = send(&b, "/logout-others", Some(&stolen)).await;
    assert_eq!(r.body, "nothing done");
    let after = r
        .cookie_value("session")
        .map_or_else(|| stolen.clone(), |v| format!("session={v}"));
    clock.advance(3600);
    assert_eq!(
        user_of(&send(&a, "/read", Some(&victim)).await.body).as_deref(),
        Some("alice"),
        "the victim stays logged in"
    );
    assert_eq!(
        user_of(&send(&a, "/read", Some(&after)).await.body),
        None,
        "thief lifted"
    );
}

/// f3: `set_user` with the recorded user on every request, with
/// refresh_each_request, never mints a remember cookie at a generation
/// newer than the session's.
#[tokio::test]
async fn f3_a_same_user_set_user_refresh_keeps_the_recorded_generation() {
    let clock = TestClock::at(T0);
    let store = Arc::new(MemoryStore::new());
    let shared = Arc::new(MemoryRevocations::new());
    let cfg = FlaskLoginConfig::default().with_refresh_each_request(true);
    let login = FlaskLogin::new(&secret(), cfg).expect("valid");
    let make = |rev: Revocation| {
        let config = SessionConfig::flask().with_clock(clock.clock());
        let sessions = sessions_with(Mode::Signed, &store, config, Some(rev), None);
        let sessions = sessions.expect("valid");
        Router::new()
            .route(
                "/login/{user}",
                get(|login: Login, Path(user): Path<String>| async move {
                    login.login_user(&user);
                    "in"
                }),
            )
            .route(
                "/page",
                get(|login: Login| async move {
                    // (It called `set_user` with the same user here; that is
                    // Flask-Login's internal step now, and `log_in` rotates.)
                    login.user_id().unwrap_or_else(|| "anonymous".into())
                }),
            )
            .layer(login.layer())
            .layer(SessionManagerLayer::new(sessions))
    };
    let rev_a = Revocation::new(shared.clone());
    let a = make(rev_a.clone());
    let b = make(Revocation::new(shared.clone()));
    let stolen = jar(&send(&b, "/login/42", None).await, "session");
    assert_eq!(send(&b, "/page", Some(&stolen)).await.body, "42");
    websession::Logins::from(rev_a.clone())
        .log_out_everywhere("42")
        .await
        .expect("revoke");
    clock.advance(1);
    let r = send(&b, "/page", Some(&stolen)).await;
    assert_eq!(r.body, "42", "inside B's staleness window (documented)");
    clock.advance(3600);
    if let Some(token) = r.cookie_value("remember_token") {
        let who = send(&a, "/page", Some(&format!("remember_token={token}")))
            .await
            .body;
        assert_eq!(who, "anonymous", "minted at the new generation: {token}");
    }
}

/// f4: a bare `cycle_id` of an overflowed session with revocation keeps it
/// logged in under its new id.
#[tokio::test]
async fn f4_a_bare_cycle_id_of_an_overflowed_session_keeps_it() {
    let a = app(Mode::Signed, true, true, None);
    let c = jar(&a.get("/login/alice", None).await, "session");
    let x = jar(&a.get("/big", Some(&c)).await, "session");
    id_of(&x);
    let r = a.get("/cycle-login/alice", Some(&x)).await;
    let y = jar(&r, "session");
    assert_ne!(x, y);
    assert_eq!(user_of(&a.read(&y).await).as_deref(), Some("alice"));
    // and with no change of data at all
    let r = send(&a.app, "/cycle", Some(&y)).await;
    let z = jar(&r, "session");
    assert_ne!(y, z);
    assert_eq!(
        user_of(&a.read(&z).await).as_deref(),
        Some("alice"),
        "cycle_id logged it out"
    );
    assert_eq!(user_of(&a.read(&y).await), None, "the old id is dead");
}

// ---------------------------------------------------------------------------
// The third review (of f885355): g1, g2, each failing there. (g3, a double
// submit of revoke_others logging its caller out, is a documented limit.)

fn g_app(clock: &TestClock, store: &Arc<MemoryStore>, rev: Revocation) -> Router<()> {
    let config = SessionConfig::default().with_clock(clock.clock());
    let sessions = sessions_with(Mode::Signed, store, config, Some(rev.clone()), None);
    let sessions = sessions.expect("valid");
    let rev = sessions.logins().expect("revocable");
    let rev2 = rev.clone();
    let rev3 = rev.clone();
    Router::new()
        .route(
            "/login/{user}",
            get(|s: Session, Path(user): Path<String>| async move {
                s.insert("user", &user).expect("insert");
                s.log_in(&user);
                s.cycle_id();
                "in"
            }),
        )
        .route(
            "/logout",
            get(|s: Session| async move {
                s.purge();
                "out"
            }),
        )
        .route(
            "/logout-others",
            get(move |s: Session| {
                let rev = rev.clone();
                async move {
                    match rev.log_out_others(&s).await.expect("store") {
                        true => "others out",
                        false => "nothing done",
                    }
                }
            }),
        )
        .route(
            "/logout-others-then-set-user",
            get(move |s: Session| {
                let rev = rev2.clone();
                async move {
                    let r = rev.log_out_others(&s).await.expect("store");
                    // an app that re-asserts its user on every request
                    let u: String = s.get("user").expect("readable").expect("logged in");
                    s.log_in(&u);
                    format!("{r}")
                }
            }),
        )
        .route(
            "/cycle",
            get(|s: Session| async move {
                s.cycle_id();
                "cycled"
            }),
        )
        .route(
            "/login-and-revoke-others/{user}",
            get({
                let rev = rev3.clone();
                move |s: Session, Path(user): Path<String>| {
                    let rev = rev.clone();
                    async move {
                        s.insert("user", &user).expect("insert");
                        s.log_in(&user);
                        s.cycle_id();
                        format!("{}", rev.log_out_others(&s).await.expect("store"))
                    }
                }
            }),
        )
        .route(
            "/logout-then-revoke-others",
            get({
                let rev = rev3.clone();
                move |s: Session| {
                    let rev = rev.clone();
                    async move {
                        let _ = s.remove::<String>("user");
                        s.log_out();
                        let r = rev.log_out_others(&s).await.expect("store");
                        s.insert("_flashes", "bye").expect("insert");
                        format!("{r}")
                    }
                }
            }),
        )
        .route(
            "/revoke-others-then-clear",
            get({
                let rev = rev3.clone();
                move |s: Session| {
                    let rev = rev.clone();
                    async move {
                        let r = rev.log_out_others(&s).await.expect("store");
                        s.clear();
                        s.insert("_flashes", "bye").expect("insert");
                        format!("{r}")
                    }
                }
            }),
        )
        .route("/read", get(|s: Session| async move { tagged(&s) }))
        .layer(SessionManagerLayer::new(sessions))
}

/// g1: a copy of a session the victim LOGGED OUT (its id denied, not its
/// generation bumped), accepted on another process within its staleness,
/// passes revoke_others' store check (it asks the generation only) and is
/// lifted to a fresh id at the new generation: it outlives the logout
/// forever, and logs the victim's other devices out.
#[tokio::test]
async fn g1_revoke_others_lifts_a_logged_out_copy() {
    let clock = TestClock::at(T0);
    let store = Arc::new(MemoryStore::new());
    let shared = Arc::new(MemoryRevocations::new());
    let a = g_app(&clock, &store, Revocation::new(shared.clone()));
    let b = g_app(&clock, &store, Revocation::new(shared.clone()));
    let victim = jar(&send(&a, "/login/alice", None).await, "session");
    let laptop = jar(&send(&a, "/login/alice", None).await, "session");
    let stolen = victim.clone();
    // B has seen the cookie (its cache now says: not denied).
    assert_eq!(
        user_of(&send(&b, "/read", Some(&stolen)).await.body).as_deref(),
        Some("alice")
    );
    // The victim logs out on A: the id is denied.
    send(&a, "/logout", Some(&victim)).await;
    assert_eq!(user_of(&send(&a, "/read", Some(&victim)).await.body), None);
    clock.advance(1);
    let r = send(&b, "/logout-others", Some(&stolen)).await;
    let after = r
        .cookie_value("session")
        .map_or_else(|| stolen.clone(), |v| format!("session={v}"));
    clock.advance(3600);
    let thief = user_of(&send(&a, "/read", Some(&after)).await.body);
    let laptop_now = user_of(&send(&a, "/read", Some(&laptop)).await.body);
    assert_eq!(
        laptop_now.as_deref(),
        Some("alice"),
        "the thief logged the laptop out"
    );
    assert_eq!(thief, None, "a logged-out copy was lifted past its logout");
}

/// g2: revoke_others followed by set_user(same user) in the request (an app
/// that re-asserts its user each request; the docs call this "a login of
/// its own") logs the caller out.
#[tokio::test]
async fn g2_set_user_after_revoke_others_logs_the_caller_out() {
    let clock = TestClock::at(T0);
    let store = Arc::new(MemoryStore::new());
    let a = g_app(&clock, &store, Revocation::new(MemoryRevocations::new()));
    let me = jar(&send(&a, "/login/alice", None).await, "session");
    let r = send(&a, "/logout-others-then-set-user", Some(&me)).await;
    let me = r
        .cookie_value("session")
        .map_or(me, |v| format!("session={v}"));
    assert_eq!(
        user_of(&send(&a, "/read", Some(&me)).await.body).as_deref(),
        Some("alice"),
        "the caller was logged out"
    );
}

// ---------------------------------------------------------------------------
// The fourth review (of e433c55): h1-h4, each failing there.

fn cookie_after(r: &Reply, sent: &str) -> String {
    r.cookie_value("session")
        .map_or_else(|| sent.to_owned(), |v| format!("session={v}"))
}

/// h1: a copy of a logged-out session, accepted on another process within
/// its staleness, doesn't escape the logout by `cycle_id` (a new id).
#[tokio::test]
async fn h1_a_logged_out_copy_does_not_escape_by_cycle_id() {
    let clock = TestClock::at(T0);
    let store = Arc::new(MemoryStore::new());
    let shared = Arc::new(MemoryRevocations::new());
    let a = g_app(&clock, &store, Revocation::new(shared.clone()));
    let b = g_app(&clock, &store, Revocation::new(shared.clone()));
    let victim = jar(&send(&a, "/login/alice", None).await, "session");
    let stolen = victim.clone();
    assert_eq!(
        user_of(&send(&b, "/read", Some(&stolen)).await.body).as_deref(),
        Some("alice")
    );
    send(&a, "/logout", Some(&victim)).await;
    clock.advance(1);
    let escaped = cookie_after(&send(&b, "/cycle", Some(&stolen)).await, &stolen);
    clock.advance(3600);
    assert_eq!(
        user_of(&send(&a, "/read", Some(&escaped)).await.body),
        None,
        "escaped its logout"
    );
}

/// h2: a login as someone else, then `revoke_others`, in one request:
/// nothing is lifted, and the new user's session is not recorded as the
/// old user's.
#[tokio::test]
async fn h2_revoke_others_after_a_login_as_another_user_does_nothing() {
    let clock = TestClock::at(T0);
    let store = Arc::new(MemoryStore::new());
    let rev = Revocation::new(MemoryRevocations::new());
    let a = g_app(&clock, &store, rev.clone());
    let alice = jar(&send(&a, "/login/alice", None).await, "session");
    let r = send(&a, "/login-and-revoke-others/bob", Some(&alice)).await;
    assert_eq!(r.body, "false");
    let bob = cookie_after(&r, &alice);
    assert_eq!(
        user_of(&send(&a, "/read", Some(&bob)).await.body).as_deref(),
        Some("bob")
    );
    websession::Logins::from(rev.clone())
        .log_out_everywhere("bob")
        .await
        .expect("revoke");
    assert_eq!(
        user_of(&send(&a, "/read", Some(&bob)).await.body),
        None,
        "bob's session is bob's"
    );
}

/// h3: a logout, then `revoke_others`, in one request: the logout stands.
#[tokio::test]
async fn h3_revoke_others_after_a_logout_does_not_undo_it() {
    let clock = TestClock::at(T0);
    let store = Arc::new(MemoryStore::new());
    let a = g_app(&clock, &store, Revocation::new(MemoryRevocations::new()));
    let alice = jar(&send(&a, "/login/alice", None).await, "session");
    let r = send(&a, "/logout-then-revoke-others", Some(&alice)).await;
    assert_eq!(r.body, "false");
    let after = cookie_after(&r, &alice);
    assert_eq!(
        send(&a, "/logout-others", Some(&after)).await.body,
        "nothing done"
    );
}

/// h4: `revoke_others`, then `clear()` and a flash: the session goes on
/// with no user, as `clear` promises.
#[tokio::test]
async fn h4_clear_after_revoke_others_leaves_no_user() {
    let clock = TestClock::at(T0);
    let store = Arc::new(MemoryStore::new());
    let a = g_app(&clock, &store, Revocation::new(MemoryRevocations::new()));
    let alice = jar(&send(&a, "/login/alice", None).await, "session");
    let r = send(&a, "/revoke-others-then-clear", Some(&alice)).await;
    assert_eq!(r.body, "true");
    let after = cookie_after(&r, &alice);
    assert_eq!(
        send(&a, "/logout-others", Some(&after)).await.body,
        "nothing done"
    );
}

/// The fifth review: a double-clicked same-user login (two requests with
/// one cookie, each `set_user` + `cycle_id`) keeps the user logged in,
/// whichever response the browser keeps.
#[tokio::test]
async fn a_double_clicked_login_keeps_the_user() {
    let clock = TestClock::at(T0);
    let store = Arc::new(MemoryStore::new());
    let shared = Arc::new(MemoryRevocations::new());
    let a = g_app(&clock, &store, Revocation::new(shared.clone()));
    let b = g_app(&clock, &store, Revocation::new(shared.clone()));
    let me = jar(&send(&a, "/login/alice", None).await, "session");
    assert_eq!(
        user_of(&send(&b, "/read", Some(&me)).await.body).as_deref(),
        Some("alice")
    );
    let r1 = send(&a, "/login/alice", Some(&me)).await;
    let r2 = send(&b, "/login/alice", Some(&me)).await;
    for r in [r1, r2] {
        let last = cookie_after(&r, &me);
        assert_eq!(
            user_of(&send(&a, "/read", Some(&last)).await.body).as_deref(),
            Some("alice")
        );
    }
}
