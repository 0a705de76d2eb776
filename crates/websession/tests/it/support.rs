//! Sessions in every mode, a frozen clock, and requests to an app.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use tower::ServiceExt;
use websession::store::SessionStore;
use websession::{
    ConfigError, CookieSessions, Overflow, Revocation, Session, SessionConfig, Sessions,
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

/// The kit's app ([`crate::kit::router`]) behind the layer for `sessions`
/// (which must be a valid configuration).
pub(crate) fn app<S: Into<Sessions>>(sessions: Result<S, ConfigError>) -> Router {
    crate::kit::router(sessions.expect("a valid configuration").into())
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

pub(crate) type BoxFut<'a> = Pin<Box<dyn Future<Output = Reply> + 'a>>;

/// "An app built with adapter X": GET a path with an optional Cookie header.
pub(crate) trait Client {
    fn get_bytes<'a>(&'a self, path: &'a str, cookie: Option<&'a [u8]>) -> BoxFut<'a>;

    fn get<'a>(&'a self, path: &'a str, cookie: Option<&'a str>) -> BoxFut<'a> {
        self.get_bytes(path, cookie.map(str::as_bytes))
    }
}
