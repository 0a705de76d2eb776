//! The scenario kit: one app with every session operation the tests use,
//! written once and mounted on both adapters, and [`scenario!`], which runs
//! one behaviour in every mode it lists and on both adapters.
//!
//! A path is one or more steps joined by `+` (`/set/who/alice+signin/alice`,
//! `/signout+set/flash/bye`); each step is one operation with `/`-separated
//! arguments, and the body is the last step's. `/noop` never extracts the
//! session; every other path extracts it once, through the adapter's own
//! `Session` extractor (so its load errors answer as an app's would).
//!
//! | step | does | body |
//! |---|---|---|
//! | `noop` (alone) | nothing, no `Session` | `noop` |
//! | `write` (`?v=`) | `v` = the query's `v` | `ok` |
//! | `read` | nothing | the session as JSON ([`tagged`]) |
//! | `extract` | nothing | `extracted` |
//! | `unsaved` | nothing | `is_unsaved()` |
//! | `set/{k}/{v}` | `k` = `v` (a string) | `ok` |
//! | `remove/{k}` | `remove_value(k)` | whether it was there |
//! | `drop/{k}` | `remove::<String>(k)` | `ok` |
//! | `put/{k}/{len}` | `k` = [`text`]`(k, len)` | `ok` |
//! | `keys` | nothing | the keys, `,`-joined |
//! | `permanent` | `user` = alice, permanent | `ok` |
//! | `clear` | `clear()` | `cleared` |
//! | `cycle` | `cycle_id()` | `cycled` |
//! | `purge` | `purge()` | `purged` |
//! | `signin/{user}` | `log_in(user)` | `logged in` |
//! | `signout` | `log_out()` | `out` |
//! | `logout` | `purge()`, then `flash` = bye | `logged out` |
//! | `modify` | `counter` += 1 | the session as JSON |
//! | `fail` | `user` = alice, then a 500 | empty |
//! | `big` | `noise` = [`noise`]`()` | `ok` |
//! | `cached` | `user` = alice, with Cache-Control and Vary | `ok` |
//! | `forge` | `x` = 1, `_ws_user` = mallory, `_ws_gen` = `i64::MAX` | `forged` |

use actix_web::dev::{Service, ServiceResponse};
use actix_web::{test as atest, web, App, HttpRequest, HttpResponse};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use websession::actix::SessionMiddleware;
use websession::{Session, SessionManagerLayer, Sessions};

use crate::support::{send_bytes, tagged, BoxFut, Client, Reply};

/// The two adapters every scenario runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Adapter {
    Tower,
    Actix,
}

/// What a path answers, before an adapter makes it a response.
pub(crate) struct Out {
    pub(crate) status: StatusCode,
    pub(crate) headers: Vec<(&'static str, &'static str)>,
    pub(crate) body: String,
}

/// Runs `path`'s steps on `s`, in order.
pub(crate) fn act(path: &str, query: Option<&str>, s: &Session) -> Out {
    let mut out = Out {
        status: StatusCode::OK,
        headers: Vec::new(),
        body: String::new(),
    };
    for step in path.trim_start_matches('/').split('+') {
        let args: Vec<String> = step.split('/').map(|a| decode(a, false)).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let insert = |k: &str, v: &str| s.insert(k, v).expect("insert");
        out.body = match args[..] {
            ["write"] => {
                let v = query
                    .into_iter()
                    .flat_map(|q| q.split('&'))
                    .find_map(|pair| pair.strip_prefix("v="))
                    .map(|v| decode(v, true))
                    .unwrap_or_default();
                insert("v", &v);
                "ok".into()
            }
            ["read"] => tagged(s),
            ["extract"] => "extracted".into(),
            ["unsaved"] => s.is_unsaved().to_string(),
            ["set", k, v] => {
                insert(k, v);
                "ok".into()
            }
            ["remove", k] => format!("{:?}", s.remove_value(k).is_some()),
            ["drop", k] => {
                let _ = s.remove::<String>(k);
                "ok".into()
            }
            ["put", k, len] => {
                insert(k, &text(k, len.parse().expect("a length")));
                "ok".into()
            }
            ["keys"] => s.keys().join(","),
            ["permanent"] => {
                insert("user", "alice");
                s.set_permanent(true);
                "ok".into()
            }
            ["clear"] => {
                s.clear();
                "cleared".into()
            }
            ["cycle"] => {
                s.cycle_id();
                "cycled".into()
            }
            ["purge"] => {
                s.purge();
                "purged".into()
            }
            ["signin", user] => {
                s.log_in(user);
                "logged in".into()
            }
            ["signout"] => {
                s.log_out();
                "out".into()
            }
            // The usual logout: destroy the session, then flash a message.
            ["logout"] => {
                s.purge();
                insert("flash", "bye");
                "logged out".into()
            }
            ["modify"] => {
                let n = s.get::<i64>("counter").expect("counter").unwrap_or(0);
                s.insert("counter", n + 1).expect("insert");
                tagged(s)
            }
            ["fail"] => {
                insert("user", "alice");
                out.status = StatusCode::INTERNAL_SERVER_ERROR;
                String::new()
            }
            ["big"] => {
                insert("noise", &noise());
                "ok".into()
            }
            ["cached"] => {
                insert("user", "alice");
                out.headers.extend([
                    ("cache-control", "private, max-age=60"),
                    ("vary", "Accept-Encoding"),
                ]);
                "ok".into()
            }
            ["forge"] => {
                s.insert("x", 1).expect("insert");
                insert("_ws_user", "mallory");
                s.insert("_ws_gen", i64::MAX).expect("insert");
                "forged".into()
            }
            _ => panic!("the kit has no step {step:?} (in {path:?})"),
        };
    }
    out
}

/// Percent-decodes a path segment, or (`form`) a query value, where `+` is
/// a space too, as the adapters' `Path` and `Query` extractors do.
fn decode(text: &str, form: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
                continue;
            }
            (b'+', _) if form => out.push(b' '),
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// ~5 KB of pseudo-random text that zlib can't shrink below the cookie limit.
pub(crate) fn noise() -> String {
    text("", 5000)
}

/// `n` pseudo-random characters, different for each key, that zlib can't
/// shrink much (nor share between keys).
pub(crate) fn text(key: &str, n: usize) -> String {
    let mut x = key.bytes().fold(0x9e37_79b9_7f4a_7c15_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    (0..n)
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

/// The kit on axum, behind the layer for `sessions`.
pub(crate) fn router(sessions: impl Into<Sessions>) -> Router {
    Router::new()
        .route("/noop", get(|| async { "noop" }))
        .fallback(|s: Session, uri: Uri| async move {
            let out = act(uri.path(), uri.query(), &s);
            let mut headers = HeaderMap::new();
            for (name, value) in out.headers {
                headers.insert(
                    HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                );
            }
            (out.status, headers, out.body).into_response()
        })
        .layer(SessionManagerLayer::new(sessions.into()))
}

/// The kit on actix-web, with the app's own routes (`extra`) first.
pub(crate) fn actix_app(
    sessions: Sessions,
    extra: impl FnOnce(&mut web::ServiceConfig),
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .wrap(SessionMiddleware::new(sessions))
        .configure(extra)
        .route("/noop", web::get().to(|| async { "noop" }))
        .default_service(web::to(|s: Session, req: HttpRequest| async move {
            let query = Some(req.query_string()).filter(|q| !q.is_empty());
            let out = act(req.path(), query, &s);
            let status =
                actix_web::http::StatusCode::from_u16(out.status.as_u16()).expect("status");
            let mut res = HttpResponse::build(status);
            for header in out.headers {
                res.insert_header(header);
            }
            res.body(out.body)
        }))
}

/// The kit on actix-web as a test service.
pub(crate) async fn actix_service(
    sessions: Sessions,
) -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl actix_web::body::MessageBody>,
    Error = actix_web::Error,
> {
    atest::init_service(actix_app(sessions, |_| {})).await
}

/// A client of the kit on `adapter`, for `sessions`.
pub(crate) async fn client(adapter: Adapter, sessions: impl Into<Sessions>) -> Box<dyn Client> {
    match adapter {
        Adapter::Tower => Box::new(Tower(router(sessions))),
        Adapter::Actix => Box::new(Actix(actix_service(sessions.into()).await)),
    }
}

/// An axum app, driven with `oneshot`.
pub(crate) struct Tower(pub(crate) Router);

impl Client for Tower {
    fn get_bytes<'a>(&'a self, path: &'a str, cookie: Option<&'a [u8]>) -> BoxFut<'a> {
        Box::pin(send_bytes(&self.0, path, cookie))
    }
}

/// An actix-web test service.
pub(crate) struct Actix<S>(pub(crate) S);

impl<S, B> Client for Actix<S>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    fn get_bytes<'a>(&'a self, path: &'a str, cookie: Option<&'a [u8]>) -> BoxFut<'a> {
        Box::pin(async move {
            let mut req = atest::TestRequest::get().uri(path);
            if let Some(c) = cookie {
                let value =
                    actix_web::http::header::HeaderValue::from_bytes(c).expect("a header value");
                req = req.insert_header((actix_web::http::header::COOKIE, value));
            }
            let res = atest::call_service(&self.0, req.to_request()).await;
            let all = |name: &str| -> Vec<String> {
                res.headers()
                    .get_all(name)
                    .map(|v| v.to_str().expect("ascii").to_owned())
                    .collect()
            };
            let (set_cookie, vary) = (all("set-cookie"), all("vary"));
            let cache_control = res
                .headers()
                .get("cache-control")
                .map(|v| v.to_str().expect("a").to_owned());
            let status = StatusCode::from_u16(res.status().as_u16()).expect("status");
            let body = atest::read_body(res).await;
            Reply {
                status,
                set_cookie,
                vary,
                cache_control,
                body: String::from_utf8(body.to_vec()).expect("utf8"),
            }
        })
    }
}

/// One behaviour, one test per listed mode and adapter:
/// `scenario!(fn name(mode, adapter) in [Signed, Memory] { .. })` gives
/// `name::Signed::tower`, `name::Signed::actix`, `name::Memory::tower`, ….
/// The body sees the file's imports and `mode: Mode`, `adapter: Adapter`.
macro_rules! scenario {
    ($(#[$attr:meta])* fn $name:ident($mode:ident, $adapter:ident) in [$($m:ident),+ $(,)?] $body:block) => {
        $(#[$attr])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn scenario($mode: crate::support::Mode, $adapter: crate::kit::Adapter) $body

            $(
                #[allow(non_snake_case)]
                mod $m {
                    #[actix_web::test]
                    async fn tower() {
                        super::scenario(crate::support::Mode::$m, crate::kit::Adapter::Tower).await;
                    }

                    #[actix_web::test]
                    async fn actix() {
                        super::scenario(crate::support::Mode::$m, crate::kit::Adapter::Actix).await;
                    }
                }
            )+
        }
    };
}
pub(crate) use scenario;
