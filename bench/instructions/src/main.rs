//! One in-process `GET /` through axum, N times, for callgrind to count:
//! the request loop of `bench/instructions/run`, which runs this binary at
//! two values of N and divides the difference, so start-up and the set-up
//! below cancel out.
//!
//! ```text
//! websession-instructions CASE N
//! ```
//!
//! Cases (each a `Router` with one `GET /` route, its handlers made into
//! routes once by `with_state` as `axum::serve` does, called through
//! `ServiceExt::ready` + `call` on a current-thread runtime, as the
//! criterion bench `cargo bench -p websession --bench request` does):
//!
//! - `bare`: no session layer; the handler formats the same answer as
//!   `read` (with a fixed name) into a `String`, so that the app's own
//!   work isn't counted as websession's. The request carries the `signed`
//!   case's cookie all the same, so that the header's cost isn't either.
//! - `bare_layer`: `bare` behind a tower layer that does nothing (a
//!   `MapRequestLayer` of the identity), added with `Router::layer` as the
//!   session layer is: what axum makes any layer cost (the layered route
//!   is boxed again, cloned per request, and its future boxed and moved),
//!   so that a case minus `bare_layer` is the session layer's own work.
//! - `signed`: the default signed (Flask-compatible) cookie,
//!   `SessionConfig::default()`; the request carries a permanent session
//!   `{"pet_name": "Rex"}`; the handler reads `pet_name` as a `String`.
//! - `sealed`: the same through the sealed (AEAD) cookie.
//! - `memory`: server-side, `MemoryStore`; the request carries the session
//!   id's cookie.
//! - `signed_write`: signed; the request carries the same permanent
//!   session's cookie (as the HTTP benchmark's `POST /petname` carries a
//!   session made before), and the handler inserts `pet_name` and makes the
//!   session permanent, so every response sets a new cookie; it answers
//!   as `read` and `bare` do (the same `format!`).
//!
//! - `floor_signed`, `floor_sealed`, `floor_memory`: the same reads with
//!   no session layer, only the work a session read can't skip: an axum
//!   extractor finds the cookie (`locate_cookie`), opens it with
//!   websession-core's codec (`FlaskCodec`, `SealedCodec`: the HMAC or
//!   AEAD, base64, the JSON index) or parses the id, hashes it and loads
//!   the record from a `MemoryStore` shared with the set-up's `Sessions`,
//!   and the handler reads `pet_name` as a `String` and answers with
//!   `Vary: Cookie`. No shared handle, no policy, no save path: what
//!   websession's share would be if its layer cost nothing of its own, so
//!   a case minus its floor is the layer's own work (issue 26's floors).
//! - `floor_signed_write`: `signed_write`'s floor. The extractor opens the
//!   cookie as `floor_signed` does; the handler inserts `pet_name` and
//!   `_permanent`, writes the data with `FlaskCodec` (JSON, base64, the
//!   HMAC) and answers with the `Set-Cookie` websession sends by default
//!   (the value, then `Expires` and the attributes as the set-up's cookie
//!   has them), `Vary: Cookie` and `Cache-Control: no-store`. The date is
//!   formatted once, as websession's per-second cache does within a run.
//!
//! Every request's `Cookie` header is a clone of one value whose bytes are
//! shared, as a header parsed by hyper is (a slice of the read buffer), so
//! a layer that keeps the header pays a reference count, as in a server.
//!
//! The session is made once before the loop by one request through a write
//! handler on the same `Sessions` (so the memory store holds its record),
//! and one request is checked before the loop (status, the body says
//! "Rex", a `Set-Cookie` only where the case writes) and one after it (no
//! refresh happened meanwhile: the default refreshes a cookie once it is a
//! minute old, so a run must end within a minute). Both are the same at
//! every N, so they cancel out with the start-up.

use std::convert::Infallible;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use http::header::{HeaderName, CACHE_CONTROL, COOKIE, SET_COOKIE, VARY};
use http::request::Parts;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::BodyExt;
use tower::{Service, ServiceExt};
use websession::store::MemoryStore;
use websession::{
    Compression, Key, KeyRing, Session, SessionConfig, SessionManagerLayer, Sessions, Value,
};
use websession_core::cookie::find_cookie;
use websession_core::format::CookieFormat;
use websession_core::json::LazyMap;
use websession_core::sealed::SealedCodec;
use websession_core::store::SessionStore;
use websession_core::{Clock, FlaskCodec};

/// The fixed test secret key (32 bytes or more, as the sealed mode needs).
const KEY: &str = "the instructions benchmark's secret key, not secret";

const CASES: [&str; 10] = [
    "bare",
    "bare_layer",
    "signed",
    "sealed",
    "memory",
    "signed_write",
    "floor_signed",
    "floor_sealed",
    "floor_memory",
    "floor_signed_write",
];

/// The answer every handler gives: the app's own work, the same in `bare`,
/// so that it isn't counted as websession's.
fn answer(name: &str) -> String {
    format!("Your pet's name is {name}.")
}

/// The app's own work of `read` and `write` without a session.
async fn bare() -> String {
    answer(std::hint::black_box("Rex"))
}

/// The answer of a read: the pet's name if the session has one.
fn reply(name: Option<String>) -> String {
    match name {
        Some(name) => answer(&name),
        None => "I do not know your pet's name.".to_owned(),
    }
}

async fn read(session: Session) -> String {
    reply(session.get::<String>("pet_name").ok().flatten())
}

async fn write(session: Session) -> Result<String, websession::SessionError> {
    session.insert("pet_name", "Rex")?;
    session.set_permanent(true);
    Ok(answer(std::hint::black_box("Rex")))
}

/// What a floor case opens the session with.
enum Floor {
    Cookie(Box<dyn CookieFormat>),
    Store(Arc<MemoryStore>),
}

/// The floor case's opener, set once before its loop.
static FLOOR: OnceLock<Floor> = OnceLock::new();

/// A floor case's session data: the cookie opened, nothing else.
struct FloorData(LazyMap);

impl<S: Send + Sync> FromRequestParts<S> for FloorData {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let headers = parts.headers.get_all(COOKIE);
        let value = find_cookie(headers.iter().map(HeaderValue::as_bytes), "session");
        let now = Clock::system().unix_seconds();
        let data = match (FLOOR.get(), value) {
            (Some(Floor::Cookie(format)), Some(value)) => {
                format.read(value, now).ok().map(|opened| opened.data)
            }
            (Some(Floor::Store(store)), Some(value)) => {
                let ids = store.id_format();
                match ids.parse(value) {
                    Some(id) => store.load(&ids.key(&id), now).await.ok().flatten(),
                    None => None,
                }
                .map(|record| record.data)
            }
            _ => None,
        };
        Ok(Self(data.unwrap_or_default()))
    }
}

async fn floor(data: FloorData) -> ([(HeaderName, HeaderValue); 1], String) {
    let name = data
        .0
        .get("pet_name")
        .and_then(|v| v.deserialize_into::<String>().ok());
    // A static value, as websession's own `Vary` is: no copy, no check.
    ([(VARY, HeaderValue::from_static("Cookie"))], reply(name))
}

/// `floor_signed_write`'s cookie after its value: `; Expires=` and the
/// date, then the attributes, as the set-up's cookie has them (formatted
/// once).
static ATTRIBUTES: OnceLock<String> = OnceLock::new();

async fn floor_write(data: FloorData) -> Response<Body> {
    let mut data = data.0;
    data.insert("pet_name", Value::from("Rex"));
    data.insert("_permanent", Value::Bool(true));
    let now = Clock::system().unix_seconds();
    let value = match FLOOR.get() {
        Some(Floor::Cookie(format)) => format.write(&mut data, now, None).ok(),
        _ => None,
    };
    // The same `String` answer as `write`'s, with its `Content-Type`.
    let mut res = answer(std::hint::black_box("Rex")).into_response();
    if let (Some(value), Some(attributes)) = (value, ATTRIBUTES.get()) {
        let mut cookie = String::with_capacity(value.len() + 8 + attributes.len());
        cookie.push_str("session=");
        cookie.push_str(&value);
        cookie.push_str(attributes);
        if let Ok(cookie) = HeaderValue::try_from(cookie) {
            let headers = res.headers_mut();
            headers.append(SET_COOKIE, cookie);
            headers.append(VARY, HeaderValue::from_static("Cookie"));
            headers.append(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
    res
}

/// One `GET /` on `svc`, with `cookie` as the `Cookie` header if given.
///
/// The header is a clone of one value whose bytes are already shared, as
/// hyper's are (its headers are slices of the connection's read buffer): a
/// clone is a reference count, not an allocation. A value parsed from a
/// `&str` on every request would allocate the first time the session layer
/// keeps it, a cost no server pays.
async fn get_root(
    svc: &mut axum::routing::RouterIntoService<Body>,
    cookie: Option<&HeaderValue>,
) -> Response<Body> {
    let mut req = Request::get("/");
    if let Some(cookie) = cookie {
        req = req.header(COOKIE, cookie.clone());
    }
    let req = req.body(Body::empty()).expect("a valid request");
    let svc = svc.ready().await.expect("infallible");
    svc.call(req).await.expect("infallible")
}

/// The `name=value` pair of the response's session cookie, if it set one.
fn session_cookie(resp: &Response<Body>) -> Option<String> {
    resp.headers().get_all(SET_COOKIE).iter().find_map(|v| {
        let pair = v.to_str().ok()?.split(';').next()?.trim();
        pair.starts_with("session=").then(|| pair.to_owned())
    })
}

/// What follows the value of the response's session cookie, from its
/// `; Expires=` on.
fn cookie_attributes(resp: &Response<Body>) -> Option<String> {
    resp.headers().get_all(SET_COOKIE).iter().find_map(|v| {
        let v = v.to_str().ok()?;
        v.starts_with("session=")
            .then(|| v.find("; Expires=").map(|i| v[i..].to_owned()))?
    })
}

/// Checks one response of the case: 200, a body that names the pet where
/// the case reads it, and a new cookie exactly where the case writes.
async fn check(case: &str, resp: Response<Body>) -> Result<(), String> {
    if resp.status() != StatusCode::OK {
        return Err(format!("{case}: status {}", resp.status()));
    }
    let sets_cookie = session_cookie(&resp).is_some();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("{case}: body: {e}"))?
        .to_bytes();
    let body = String::from_utf8_lossy(&body);
    let reads = !matches!(case, "bare" | "bare_layer") && !case.ends_with("signed_write");
    if reads && !body.contains("Rex") {
        return Err(format!("{case}: the body doesn't name the pet: {body:?}"));
    }
    if sets_cookie != case.ends_with("signed_write") {
        return Err(format!(
            "{case}: {} Set-Cookie (a read must not refresh, a write must set one)",
            if sets_cookie { "a" } else { "no" }
        ));
    }
    Ok(())
}

async fn run(case: &str, n: u64) -> Result<(), String> {
    let keys = KeyRing::new(Key::from_utf8(KEY).map_err(|e| e.to_string())?);
    let config = SessionConfig::default();
    // `bare` has no session layer, but it gets the signed case's cookie
    // (which it ignores), so that building and sending the header isn't
    // counted in websession's share.
    let floor_store = Arc::new(MemoryStore::new());
    let floor_opener = match case {
        // `SessionConfig::default()`'s compression: only payloads of 256
        // bytes or more are tried.
        "floor_signed" | "floor_signed_write" => Some(Floor::Cookie(Box::new(
            FlaskCodec::new(&keys).with_compression(Compression::Above(256)),
        ))),
        "floor_sealed" => Some(Floor::Cookie(Box::new(
            SealedCodec::new(&keys, "session").map_err(|e| e.to_string())?,
        ))),
        "floor_memory" => Some(Floor::Store(floor_store.clone())),
        _ => None,
    };
    if let Some(opener) = floor_opener {
        FLOOR
            .set(opener)
            .map_err(|_| "the floor was already set".to_owned())?;
    }
    let sessions = match case {
        "bare" | "bare_layer" | "signed" | "signed_write" | "floor_signed"
        | "floor_signed_write" => Sessions::signed(keys, config).map(Sessions::from),
        "sealed" | "floor_sealed" => Sessions::sealed(keys, config).map(Sessions::from),
        "memory" => Sessions::store(MemoryStore::new(), config).map(Sessions::from),
        "floor_memory" => Sessions::store(floor_store, config).map(Sessions::from),
        other => {
            return Err(format!(
                "unknown case {other:?} (cases: {})",
                CASES.join(", ")
            ))
        }
    };
    let layer = SessionManagerLayer::new(sessions.map_err(|e| e.to_string())?);
    // The session, made once by a write on the same `Sessions`.
    let mut setup = Router::new()
        .route("/", get(write))
        .layer(layer.clone())
        .with_state(())
        .into_service::<Body>();
    let set_up = get_root(&mut setup, None).await;
    let cookie = session_cookie(&set_up)
        .ok_or_else(|| format!("{case}: the set-up request set no session cookie"))?;
    let app = match case {
        "bare" => Router::new().route("/", get(bare)),
        "bare_layer" => Router::new()
            .route("/", get(bare))
            .layer(tower::util::MapRequestLayer::new(|r: Request<Body>| r)),
        "signed_write" => Router::new().route("/", get(write)).layer(layer),
        "floor_signed" | "floor_sealed" | "floor_memory" => Router::new().route("/", get(floor)),
        "floor_signed_write" => Router::new().route("/", get(floor_write)),
        _ => Router::new().route("/", get(read)).layer(layer),
    };
    // `with_state` turns the handlers into routes once, as `axum::serve`
    // does (`into_make_service`); without it every request would build its
    // route (and clone the layer) again.
    let mut svc = app.with_state(()).into_service::<Body>();
    // The set-up's own cookie has the date and attributes to send.
    let attributes = cookie_attributes(&set_up).ok_or_else(|| format!("{case}: no Expires"))?;
    ATTRIBUTES
        .set(attributes)
        .map_err(|_| "the attributes were already set".to_owned())?;
    let cookie = HeaderValue::from_str(&cookie).map_err(|e| format!("{case}: {e}"))?;
    // One clone makes its bytes shared (what hyper's already are).
    drop(cookie.clone());
    let cookie = Some(&cookie);
    check(case, get_root(&mut svc, cookie).await).await?;
    for _ in 0..n {
        let resp = get_root(&mut svc, cookie).await;
        if resp.status() != StatusCode::OK {
            return Err(format!("{case}: status {}", resp.status()));
        }
    }
    check(case, get_root(&mut svc, cookie).await).await
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (case, n) = match args.as_slice() {
        [case, n] => match n.parse::<u64>() {
            Ok(n) => (case.as_str(), n),
            Err(_) => {
                eprintln!("N must be a whole number, not {n:?}");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!(
                "usage: websession-instructions CASE N   (cases: {})",
                CASES.join(", ")
            );
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(case, n)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
