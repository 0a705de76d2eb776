//! The tower middleware (feature `tower`): [`SessionManagerLayer`] and
//! [`SessionManager`]. It only copies headers between `http` types and the
//! engine's outcome.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::header::{CACHE_CONTROL, COOKIE, SET_COOKIE, VARY};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::outcome::{varies_on, Finish, Header, Outcome, ResponseHeaders};
use crate::raw::RawCookie;
use crate::session::PendingSession;
use crate::sessions::Sessions;

/// A tower [`Layer`] that gives every request a session.
///
/// Handlers take it with the axum extractor ([`crate::Session`]); other
/// tower services find a [`PendingSession`] in the request's extensions.
///
/// # Examples
///
/// ```no_run
/// use axum::{routing::get, Router};
/// use websession::{Key, KeyRing, Session, SessionConfig, SessionManagerLayer, Sessions};
///
/// async fn home(session: Session) -> String {
///     match session.get::<String>("pet_name") {
///         Ok(Some(name)) => format!("Your pet's name is {name}."),
///         _ => "I do not know your pet's name.".to_owned(),
///     }
/// }
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let keys = KeyRing::new(Key::from_hex(&std::env::var("SECRET_KEY_HEX")?)?);
/// let config = SessionConfig::default().with_lifetime(|l| l.with_permanent_lifetime(std::time::Duration::from_secs(7 * 86_400)));
/// let sessions = Sessions::signed(keys, config)?;
/// let app = Router::new()
///     .route("/", get(home))
///     .layer(SessionManagerLayer::new(sessions));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
/// axum::serve(listener, app).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct SessionManagerLayer {
    sessions: Sessions,
}

impl SessionManagerLayer {
    /// The layer for these sessions. It can't fail: [`Sessions`] was
    /// checked when it was built.
    #[must_use]
    pub fn new(sessions: impl Into<Sessions>) -> Self {
        Self {
            sessions: sessions.into(),
        }
    }
}

impl<S> Layer<S> for SessionManagerLayer {
    type Service = SessionManager<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionManager {
            inner,
            sessions: self.sessions.clone(),
        }
    }
}

/// The middleware made by [`SessionManagerLayer`].
#[derive(Clone)]
pub struct SessionManager<S> {
    inner: S,
    sessions: Sessions,
}

impl<S> std::fmt::Debug for SessionManager<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionManager").finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SessionManager<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let headers = req.headers();
        let raw = self.sessions.config().transport().read(
            self.sessions.cookie_name(),
            headers.get_all(COOKIE),
            |name| headers.get(name),
            HeaderValue::as_bytes,
            |h, range| RawCookie::Http(h.clone(), range),
        );
        let session = self.sessions.begin(raw);
        req.extensions_mut().insert(session.clone());
        ResponseFuture {
            inner: self.inner.call(req),
            session: Some((self.sessions.clone(), session)),
            saving: None,
        }
    }
}

pin_project! {
    /// Response future of [`SessionManager`]: the handler's response, then
    /// (in store mode) the store write, then the session headers.
    pub struct ResponseFuture<F, B> {
        #[pin]
        inner: F,
        session: Option<(Sessions, PendingSession)>,
        // Store mode: the write under way, and the response it will complete
        // (boxed: most requests never have one, and every poll of the
        // layers around this one moves the future).
        saving: Option<Box<(crate::state::BoxFuture<'static, Outcome>, Response<B>)>>,
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F, ResBody>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    ResBody: Default,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Some(saving) = this.saving.as_mut() {
            let outcome = ready!(saving.0.as_mut().poll(cx));
            if let Some(saving) = this.saving.take() {
                return Poll::Ready(Ok(respond(saving.1, outcome)));
            }
        }
        let mut res = ready!(this.inner.as_mut().poll(cx))?;
        let Some((sessions, session)) = this.session.take() else {
            return Poll::Ready(Ok(res)); // polled again after completion
        };
        match sessions.end(&session, res.status().as_u16()) {
            Finish::Ready(outcome) => {
                apply(&mut res, outcome);
                Poll::Ready(Ok(res))
            }
            Finish::Save(mut save) => match save.as_mut().poll(cx) {
                Poll::Ready(outcome) => Poll::Ready(Ok(respond(res, outcome))),
                Poll::Pending => {
                    *this.saving = Some(Box::new((save, res)));
                    Poll::Pending
                }
            },
        }
    }
}

/// The response with the session's headers, or the bare failure status
/// (a 503 marked [`StoreOutage`](crate::StoreOutage)).
fn respond<B: Default>(mut res: Response<B>, outcome: Outcome) -> Response<B> {
    apply(&mut res, outcome);
    res
}

/// [`respond`] in place: the common case edits the headers of a response
/// that stays where it is.
fn apply<B: Default>(res: &mut Response<B>, outcome: Outcome) {
    match outcome.failed {
        None => outcome.apply(&mut Headers(res.headers_mut())),
        Some(status) => {
            let mut bare = Response::new(B::default());
            *bare.status_mut() =
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if bare.status() == StatusCode::SERVICE_UNAVAILABLE {
                bare.extensions_mut().insert(crate::StoreOutage);
            }
            *res = bare;
        }
    }
}

struct Headers<'a>(&'a mut HeaderMap);

impl ResponseHeaders for Headers<'_> {
    fn varies_on(&self, name: &str) -> bool {
        varies_on(self.0.get_all(VARY).iter().map(HeaderValue::as_bytes), name)
    }

    fn contains(&self, name: Header<'_>) -> bool {
        header_name(name).is_some_and(|name| self.0.contains_key(name))
    }

    fn append(&mut self, name: Header<'_>, value: String) {
        match (header_name(name), HeaderValue::try_from(value)) {
            (Some(name), Ok(v)) => {
                self.0.append(name, v);
            }
            // The engine only builds visible ASCII, and the config checked
            // token header names; this can't happen.
            _ => tracing::error!("a session header was not a valid header"),
        }
    }

    fn append_static(&mut self, name: Header<'_>, value: &'static str) {
        if let Some(name) = header_name(name) {
            self.0.append(name, HeaderValue::from_static(value));
        }
    }

    fn no_store_unless_set(&mut self) {
        if let http::header::Entry::Vacant(e) = self.0.entry(CACHE_CONTROL) {
            e.insert(HeaderValue::from_static("no-store"));
        }
    }

    fn vary_on_cookie(&mut self) {
        // One lookup of `Vary` for the check and the append.
        let cookie = HeaderValue::from_static("Cookie");
        match self.0.entry(VARY) {
            http::header::Entry::Vacant(e) => {
                e.insert(cookie);
            }
            http::header::Entry::Occupied(mut e) => {
                if !varies_on(e.iter().map(HeaderValue::as_bytes), "Cookie") {
                    e.append(cookie);
                }
            }
        }
    }
}

fn header_name(name: Header<'_>) -> Option<http::HeaderName> {
    Some(match name {
        Header::Vary => VARY,
        Header::SetCookie => SET_COOKIE,
        Header::CacheControl => CACHE_CONTROL,
        Header::Named(name) => http::HeaderName::from_bytes(name.as_bytes()).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vary_after(existing: &[&'static str]) -> Vec<String> {
        let mut map = HeaderMap::new();
        for v in existing {
            map.append(VARY, HeaderValue::from_static(v));
        }
        Headers(&mut map).vary_on_cookie();
        map.get_all(VARY)
            .iter()
            .map(|v| v.to_str().unwrap_or("?").to_owned())
            .collect()
    }

    #[test]
    fn no_store_never_overrides_the_apps_cache_control() {
        let mut map = HeaderMap::new();
        Headers(&mut map).no_store_unless_set();
        assert_eq!(map.get_all(CACHE_CONTROL).iter().count(), 1);
        assert_eq!(
            map.get(CACHE_CONTROL).map(HeaderValue::as_bytes),
            Some(&b"no-store"[..])
        );
        let mut map = HeaderMap::new();
        map.insert(
            CACHE_CONTROL,
            HeaderValue::from_static("private, max-age=60"),
        );
        Headers(&mut map).no_store_unless_set();
        assert_eq!(map.get_all(CACHE_CONTROL).iter().count(), 1);
        assert_eq!(
            map.get(CACHE_CONTROL).map(HeaderValue::as_bytes),
            Some(&b"private, max-age=60"[..])
        );
    }

    #[test]
    fn vary_cookie_is_added_once() {
        assert_eq!(vary_after(&[]), ["Cookie"]);
        assert_eq!(
            vary_after(&["Accept-Encoding"]),
            ["Accept-Encoding", "Cookie"]
        );
        assert_eq!(
            vary_after(&["Accept-Encoding, cookie"]),
            ["Accept-Encoding, cookie"]
        );
        assert_eq!(vary_after(&["Origin", "COOKIE"]), ["Origin", "COOKIE"]);
        assert_eq!(vary_after(&["*"]), ["*"]);
    }
}
