//! An app with one route per session operation, a frozen clock and helpers.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Path;
use axum::http::{Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use http_body_util::BodyExt;
use tower::ServiceExt;
use websession::store::SessionStore;
use websession::{
    ConfigError, CookieSessions, Overflow, Revocation, Session, SessionConfig, SessionManagerLayer,
    Sessions,
};
use websession_core::json;

/// The test kit's key ring (`00 01 … 1f`).
pub(crate) use websession_core::testing::test_keys as keys;
/// The test kit's clock, moved by hand.
pub(crate) use websession_core::testing::ManualClock as TestClock;

/// The three ways to keep a session, for tests that run in every mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Signed,
    Sealed,
    /// A store (the test's own, often a `MemoryStore`).
    Memory,
}

/// The cookie modes.
pub(crate) const COOKIE_MODES: [Mode; 2] = [Mode::Signed, Mode::Sealed];

/// Sessions of `mode` with the test keys (and `store` in store mode).
pub(crate) fn sessions_for<St: SessionStore>(
    mode: Mode,
    store: &Arc<St>,
    config: SessionConfig,
) -> Result<Sessions, ConfigError> {
    sessions_with(mode, store, config, None, None)
}

/// As [`sessions_for`], with a revocation (in store mode, for remember
/// cookies) and, in the cookie modes, an overflow store.
pub(crate) fn sessions_with<St: SessionStore>(
    mode: Mode,
    store: &Arc<St>,
    config: SessionConfig,
    revocation: Option<Revocation>,
    overflow: Option<Overflow>,
) -> Result<Sessions, ConfigError> {
    let cookie = |sessions: Result<CookieSessions, ConfigError>| {
        let mut sessions = sessions?;
        if let Some(r) = revocation.clone() {
            sessions = sessions.with_revocation(r);
        }
        if let Some(o) = overflow.clone() {
            sessions = sessions.with_overflow(o)?;
        }
        Ok(sessions.into())
    };
    match mode {
        Mode::Signed => cookie(Sessions::signed(keys(), config)),
        Mode::Sealed => cookie(Sessions::sealed(keys(), config)),
        Mode::Memory => {
            assert!(overflow.is_none(), "store mode has no overflow");
            let mut sessions = Sessions::store(store.clone(), config)?;
            if let Some(r) = revocation {
                sessions = sessions.with_revocation(r);
            }
            Ok(sessions.into())
        }
    }
}

pub(crate) fn tagged(session: &Session) -> String {
    let mut out = String::new();
    json::write_map(&mut out, &session.to_map());
    out
}

/// Routes that each do one thing to the session, behind the layer for
/// `sessions` (which must be a valid configuration).
pub(crate) fn app<S: Into<Sessions>>(sessions: Result<S, ConfigError>) -> Router {
    Router::new()
        .route("/noop", get(|| async { "noop" }))
        .route(
            "/write",
            get(
                |s: Session,
                 axum::extract::Query(q): axum::extract::Query<
                    std::collections::HashMap<String, String>,
                >| async move {
                    s.insert("v", q.get("v").cloned().unwrap_or_default())
                        .expect("insert");
                    "ok"
                },
            ),
        )
        .route("/read", get(|s: Session| async move { tagged(&s) }))
        .route("/extract", get(|_s: Session| async { "extracted" }))
        .route(
            "/unsaved",
            get(|s: Session| async move { s.is_unsaved().to_string() }),
        )
        .route(
            "/set/{key}/{value}",
            get(
                |s: Session, Path((k, v)): Path<(String, String)>| async move {
                    s.insert(&k, &v).expect("insert");
                    "ok"
                },
            ),
        )
        .route(
            "/remove/{key}",
            get(|s: Session, Path(k): Path<String>| async move {
                format!("{:?}", s.remove_value(&k).is_some())
            }),
        )
        .route(
            "/permanent",
            get(|s: Session| async move {
                s.insert("user", "alice").expect("insert");
                s.set_permanent(true);
                "ok"
            }),
        )
        .route(
            "/clear",
            get(|s: Session| async move {
                s.clear();
                "cleared"
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
            "/purge",
            get(|s: Session| async move {
                s.purge();
                "purged"
            }),
        )
        .route(
            "/signin/{user}",
            get(|s: Session, Path(user): Path<String>| async move {
                s.log_in(&user);
                "logged in"
            }),
        )
        .route(
            // The usual logout: destroy the session, then flash a message.
            "/logout",
            get(|s: Session| async move {
                s.purge();
                s.insert("flash", "bye").expect("insert");
                "logged out"
            }),
        )
        .route(
            "/modify",
            get(|s: Session| async move {
                let n = s.get::<i64>("counter").expect("counter").unwrap_or(0);
                s.insert("counter", n + 1).expect("insert");
                tagged(&s)
            }),
        )
        .route(
            "/fail",
            get(|s: Session| async move {
                s.insert("user", "alice").expect("insert");
                StatusCode::INTERNAL_SERVER_ERROR
            }),
        )
        .route(
            "/big",
            get(|s: Session| async move {
                let noise = noise();
                s.insert("noise", &noise).expect("insert");
                "ok"
            }),
        )
        .route(
            "/cached",
            get(|s: Session| async move {
                s.insert("user", "alice").expect("insert");
                (
                    [
                        ("cache-control", "private, max-age=60"),
                        ("vary", "Accept-Encoding"),
                    ],
                    "ok",
                )
                    .into_response()
            }),
        )
        .layer(SessionManagerLayer::new(
            sessions.expect("a valid configuration"),
        ))
}

#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) set_cookie: Vec<String>,
    pub(crate) vary: Vec<String>,
    pub(crate) cache_control: Option<String>,
    pub(crate) body: String,
}

impl Reply {
    /// The value of the session cookie set by this reply.
    pub(crate) fn cookie_value(&self, name: &str) -> Option<String> {
        self.set_cookie.iter().find_map(|h| {
            let v = h.strip_prefix(name)?.strip_prefix('=')?;
            Some(v.split(';').next().unwrap_or("").to_owned())
        })
    }
}

pub(crate) async fn send(app: &Router, path: &str, cookie: Option<&str>) -> Reply {
    send_bytes(app, path, cookie.map(str::as_bytes)).await
}

/// As [`send`], with a Cookie header of arbitrary bytes.
pub(crate) async fn send_bytes(app: &Router, path: &str, cookie: Option<&[u8]>) -> Reply {
    let mut req = Request::get(path);
    if let Some(c) = cookie {
        req = req.header(
            "cookie",
            axum::http::HeaderValue::from_bytes(c).expect("a header value"),
        );
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let headers = res.headers().clone();
    let all = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().expect("ascii").to_owned())
            .collect()
    };
    Reply {
        status: res.status(),
        set_cookie: all("set-cookie"),
        vary: all("vary"),
        cache_control: headers
            .get("cache-control")
            .map(|v| v.to_str().expect("ascii").to_owned()),
        body: String::from_utf8(
            res.into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes()
                .to_vec(),
        )
        .expect("utf8"),
    }
}

pub(crate) fn flask_layer(
    keys: websession::KeyRing,
    clock: &TestClock,
) -> Result<Sessions, ConfigError> {
    Sessions::signed(keys, SessionConfig::flask().with_clock(clock.clock())).map(Sessions::from)
}

/// ~5 KB of pseudo-random text that zlib can't shrink below the cookie limit.
pub(crate) fn noise() -> String {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..5000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                    [(x % 62) as usize],
            )
        })
        .collect()
}

pub(crate) type BoxFut<'a> = Pin<Box<dyn Future<Output = Reply> + 'a>>;

/// "An app built with adapter X": GET a path with an optional Cookie header.
pub(crate) trait Client {
    fn get_bytes<'a>(&'a self, path: &'a str, cookie: Option<&'a [u8]>) -> BoxFut<'a>;

    fn get<'a>(&'a self, path: &'a str, cookie: Option<&'a str>) -> BoxFut<'a> {
        self.get_bytes(path, cookie.map(str::as_bytes))
    }
}

pub(crate) struct Tower(pub(crate) Router);

impl Client for Tower {
    fn get_bytes<'a>(&'a self, path: &'a str, cookie: Option<&'a [u8]>) -> BoxFut<'a> {
        Box::pin(send_bytes(&self.0, path, cookie))
    }
}
