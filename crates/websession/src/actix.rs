//! actix-web integration (feature `actix`): [`SessionMiddleware`], the
//! [`Session`] extractor and [`SessionExt`].
//!
//! The same engine as the tower layer makes every decision, so both adapters
//! behave the same in every mode; the test suite runs one set of behaviour
//! tests against both.
//!
//! ```no_run
//! use actix_web::{web, App, HttpServer};
//! use websession::actix::SessionMiddleware;
//! use websession::{Key, KeyRing, Session, SessionManagerLayer};
//!
//! async fn home(session: Session) -> String {
//!     match session.get::<String>("pet_name") {
//!         Ok(Some(name)) => format!("Your pet's name is {name}."),
//!         _ => "I do not know your pet's name.".into(),
//!     }
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let keys = KeyRing::new(Key::generate());
//! let sessions = SessionMiddleware::new(SessionManagerLayer::signed(keys));
//! HttpServer::new(move || App::new().wrap(sessions.clone()).route("/", web::get().to(home)))
//!     .bind("127.0.0.1:5000")?
//!     .run()
//!     .await
//! # }
//! ```

use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderName, HeaderValue, CACHE_CONTROL, COOKIE, SET_COOKIE, VARY};
use actix_web::{error, Error, FromRequest, HttpMessage, HttpRequest, HttpResponse};

use crate::engine::{find_cookie, varies_on_cookie, Engine, Outcome};
use crate::service::SessionManagerLayer;
use crate::session::Session;

/// The actix-web middleware: give it any [`SessionManagerLayer`] (signed,
/// sealed or store, with its config) and `wrap` the app with it.
///
/// # Panics
///
/// [`SessionMiddleware::new`] panics when the configuration is invalid, as
/// the tower layer does; check it first with [`SessionManagerLayer::check`].
#[derive(Clone)]
pub struct SessionMiddleware {
    engine: Arc<Engine>,
}

impl std::fmt::Debug for SessionMiddleware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionMiddleware").finish_non_exhaustive()
    }
}

impl SessionMiddleware {
    /// The middleware for the mode and configuration of `layer`.
    #[must_use]
    pub fn new(layer: SessionManagerLayer) -> Self {
        match layer.engine() {
            Ok(engine) => Self { engine },
            Err(e) => panic!("invalid websession configuration: {e}"),
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
            engine: self.engine.clone(),
        }))
    }
}

/// The service made by [`SessionMiddleware`].
pub struct SessionMiddlewareService<S> {
    service: Rc<S>,
    engine: Arc<Engine>,
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
        let engine = self.engine.clone();
        let raw = find_cookie(
            req.headers().get_all(COOKIE).map(HeaderValue::as_bytes),
            &engine.config.cookie_name,
        )
        .map(str::to_owned);
        let session = Session::new(engine.clone(), raw);
        req.extensions_mut().insert(session.clone());
        let service = self.service.clone();
        Box::pin(async move {
            let mut res = service.call(req).await?;
            let status = res.status().as_u16();
            let outcome = if engine.is_store() {
                engine.finish_store(session, status).await
            } else {
                engine.finish(&session, status)
            };
            match outcome {
                Ok(outcome) => {
                    apply(res.headers_mut(), outcome);
                    Ok(res.map_into_left_body())
                }
                Err(e) => {
                    tracing::error!(error = %e, "could not save the session; answering 500");
                    let (req, _) = res.into_parts();
                    Ok(
                        ServiceResponse::new(req, HttpResponse::InternalServerError().finish())
                            .map_into_right_body(),
                    )
                }
            }
        })
    }
}

fn apply(headers: &mut actix_web::http::header::HeaderMap, outcome: Outcome) {
    if outcome.vary && !varies_on_cookie(headers.get_all(VARY).map(HeaderValue::as_bytes)) {
        headers.append(VARY, HeaderValue::from_static("Cookie"));
    }
    if let Some(cookie) = outcome.set_cookie {
        match HeaderValue::try_from(cookie) {
            Ok(v) => headers.append(SET_COOKIE, v),
            Err(_) => tracing::error!("session Set-Cookie header was not a valid header value"),
        }
        if outcome.no_store && !headers.contains_key(CACHE_CONTROL) {
            headers.insert(
                HeaderName::from_static("cache-control"),
                HeaderValue::from_static("no-store"),
            );
        }
    }
}

/// Extracts the loaded [`Session`]. A route without [`SessionMiddleware`]
/// gets a bare 500; an unreachable store a bare 503 (the handler never runs
/// as anonymous).
impl FromRequest for Session {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let session = req.extensions().get::<Session>().cloned();
        Box::pin(async move {
            let Some(session) = session else {
                tracing::error!("Session extracted on a route without SessionMiddleware; add `.wrap(SessionMiddleware::new(...))`");
                return Err(error::InternalError::new(
                    "",
                    actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
                )
                .into());
            };
            session.load().await.map_err(|_| {
                error::InternalError::new("", actix_web::http::StatusCode::SERVICE_UNAVAILABLE)
            })?;
            Ok(session)
        })
    }
}

/// The session of a request, for middleware and guards.
///
/// In store mode call [`Session::load`] before using it; extractors do that.
pub trait SessionExt {
    /// The request's session, or `None` outside [`SessionMiddleware`].
    fn get_session(&self) -> Option<Session>;
}

impl SessionExt for HttpRequest {
    fn get_session(&self) -> Option<Session> {
        self.extensions().get::<Session>().cloned()
    }
}

impl SessionExt for ServiceRequest {
    fn get_session(&self) -> Option<Session> {
        self.extensions().get::<Session>().cloned()
    }
}
