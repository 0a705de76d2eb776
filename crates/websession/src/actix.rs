//! actix-web integration (feature `actix`): [`SessionMiddleware`], the
//! [`Session`] extractor and [`SessionExt`].
//!
//! The same engine as the tower layer makes every decision, so both adapters
//! behave the same in every mode; the test suite runs one set of behaviour
//! tests against both. This module only copies headers.
//!
//! ```no_run
//! use actix_web::{web, App, HttpServer};
//! use websession::actix::SessionMiddleware;
//! use websession::{Key, KeyRing, Session, SessionConfig, Sessions};
//!
//! async fn home(session: Session) -> String {
//!     match session.get::<String>("pet_name") {
//!         Ok(Some(name)) => format!("Your pet's name is {name}."),
//!         _ => "I do not know your pet's name.".into(),
//!     }
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let sessions: Sessions = Sessions::signed(KeyRing::new(Key::generate()), SessionConfig::default())?.into();
//! HttpServer::new(move || {
//!     App::new()
//!         .wrap(SessionMiddleware::new(sessions.clone()))
//!         .route("/", web::get().to(home))
//! })
//! .bind("127.0.0.1:5000")?
//! .run()
//! .await?;
//! # Ok(()) }
//! ```

use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderMap, HeaderValue, CACHE_CONTROL, COOKIE, SET_COOKIE, VARY};
use actix_web::http::StatusCode;
use actix_web::{error, Error, FromRequest, HttpMessage, HttpRequest, HttpResponse};

use crate::error::SessionError;
use crate::outcome::{varies_on, Header, ResponseHeaders};
use crate::raw::RawCookie;
use crate::session::{PendingSession, Session};
use crate::sessions::{outcome, Sessions};

/// The actix-web middleware: give it [`Sessions`] (signed, sealed or store,
/// with its config) and `wrap` the app with it.
#[derive(Clone)]
pub struct SessionMiddleware {
    sessions: Sessions,
}

impl std::fmt::Debug for SessionMiddleware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionMiddleware").finish_non_exhaustive()
    }
}

impl SessionMiddleware {
    /// The middleware for these sessions. It can't fail: [`Sessions`] was
    /// checked when it was built.
    #[must_use]
    pub fn new(sessions: impl Into<Sessions>) -> Self {
        Self {
            sessions: sessions.into(),
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for SessionMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = SessionMiddlewareService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(SessionMiddlewareService {
            service: Rc::new(service),
            sessions: self.sessions.clone(),
        }))
    }
}

/// The service made by [`SessionMiddleware`].
pub struct SessionMiddlewareService<S> {
    service: Rc<S>,
    sessions: Sessions,
}

impl<S> std::fmt::Debug for SessionMiddlewareService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionMiddlewareService")
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for SessionMiddlewareService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let sessions = self.sessions.clone();
        let headers = req.headers();
        let raw = sessions.config().transport().read(
            sessions.cookie_name(),
            headers.get_all(COOKIE),
            |name| headers.get(name),
            HeaderValue::as_bytes,
            |h, range| RawCookie::Actix(h.clone(), range),
        );
        let session = sessions.begin(raw);
        req.extensions_mut().insert(session.clone());
        let service = self.service.clone();
        Box::pin(async move {
            let mut res = service.call(req).await?;
            let outcome = outcome(sessions.end(&session, res.status().as_u16())).await;
            match outcome.failed {
                None => {
                    outcome.apply(&mut Headers(res.headers_mut()));
                    Ok(res.map_into_left_body())
                }
                Some(status) => {
                    let status =
                        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                    let (req, _) = res.into_parts();
                    let bare = marked(HttpResponse::new(status));
                    Ok(ServiceResponse::new(req, bare).map_into_right_body())
                }
            }
        })
    }
}

struct Headers<'a>(&'a mut HeaderMap);

impl ResponseHeaders for Headers<'_> {
    fn varies_on(&self, name: &str) -> bool {
        varies_on(self.0.get_all(VARY).map(HeaderValue::as_bytes), name)
    }

    fn contains(&self, name: Header<'_>) -> bool {
        header_name(name).is_some_and(|name| self.0.contains_key(name))
    }

    fn append(&mut self, name: Header<'_>, value: String) {
        match (header_name(name), HeaderValue::try_from(value)) {
            (Some(name), Ok(v)) => self.0.append(name, v),
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
}

fn header_name(name: Header<'_>) -> Option<actix_web::http::header::HeaderName> {
    Some(match name {
        Header::Vary => VARY,
        Header::SetCookie => SET_COOKIE,
        Header::CacheControl => CACHE_CONTROL,
        Header::Named(name) => {
            actix_web::http::header::HeaderName::from_bytes(name.as_bytes()).ok()?
        }
    })
}

/// Extracts the loaded [`Session`]. A route without [`SessionMiddleware`]
/// gets a bare 500; an unreachable store a bare 503 (the handler never runs
/// as anonymous).
impl FromRequest for Session {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let pending = req.extensions().get::<PendingSession>().cloned();
        Box::pin(async move {
            let Some(pending) = pending else {
                tracing::error!("Session extracted on a route without SessionMiddleware; add `.wrap(SessionMiddleware::new(...))`");
                return Err(
                    error::InternalError::new("", StatusCode::INTERNAL_SERVER_ERROR).into(),
                );
            };
            pending.load().await.map_err(|_| {
                let res = marked(HttpResponse::new(StatusCode::SERVICE_UNAVAILABLE));
                error::InternalError::from_response("the session store is unavailable", res).into()
            })
        })
    }
}

/// A [`SessionError`] returned from a handler answers an opaque 500 (503
/// for an unreachable store), as on axum; the details go to the log only,
/// never to the client.
///
/// ```
/// use actix_web::{web, HttpResponse};
/// use websession::{Session, SessionError};
///
/// async fn visit(session: Session) -> Result<HttpResponse, SessionError> {
///     let visits = session.get::<u64>("visits")?.unwrap_or(0) + 1;
///     session.insert("visits", visits)?;
///     Ok(HttpResponse::Ok().body(format!("{visits} visits")))
/// }
/// # let _ = web::get().to(visit);
/// ```
impl error::ResponseError for SessionError {
    fn status_code(&self) -> StatusCode {
        match self {
            SessionError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        tracing::error!(error = %self, "session error");
        marked(HttpResponse::new(self.status_code()))
    }
}

/// The session of a request, for middleware and guards: load it with
/// [`PendingSession::load`].
pub trait SessionExt {
    /// The request's session, or `None` outside [`SessionMiddleware`].
    fn get_session(&self) -> Option<PendingSession>;
}

impl SessionExt for HttpRequest {
    fn get_session(&self) -> Option<PendingSession> {
        self.extensions().get::<PendingSession>().cloned()
    }
}

impl SessionExt for ServiceRequest {
    fn get_session(&self) -> Option<PendingSession> {
        self.extensions().get::<PendingSession>().cloned()
    }
}

/// A bare failure response, marked [`StoreOutage`](crate::StoreOutage)
/// when it is a 503.
fn marked(mut res: HttpResponse) -> HttpResponse {
    if res.status() == StatusCode::SERVICE_UNAVAILABLE {
        res.extensions_mut().insert(crate::StoreOutage);
    }
    res
}
