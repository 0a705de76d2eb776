//! Flask-Login's actix-web middleware and extractor, and CSRF responses
//! (feature `actix`).

use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;

use actix_web::body::MessageBody;
use actix_web::dev::{forward_ready, Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderValue, COOKIE, SET_COOKIE, USER_AGENT};
use actix_web::http::StatusCode;
use actix_web::{error, Error, FromRequest, HttpMessage, HttpRequest, HttpResponse};

use super::csrf::CsrfRejected;
use super::login::{ClientInfo, Login, LoginContext};
use super::login_manager::FlaskLogin;
use crate::session::{PendingSession, Session};

impl FlaskLogin {
    /// The actix-web middleware that gives handlers a [`Login`] and writes
    /// the remember cookie. Register it **before**
    /// [`SessionMiddleware`](crate::actix::SessionMiddleware) (actix runs
    /// the last `wrap` first), so it runs after the handler and before the
    /// session is saved.
    ///
    /// ```no_run
    /// use actix_web::{web, App, HttpServer};
    /// use websession::actix::SessionMiddleware;
    /// use websession::flask::{FlaskLogin, FlaskLoginConfig, Login};
    /// use websession::{Key, KeyRing, SessionConfig, Sessions};
    ///
    /// async fn home(login: Login) -> String {
    ///     login.user_id().unwrap_or_else(|| "anonymous".into())
    /// }
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let secret = Key::generate();
    /// let sessions: Sessions = Sessions::signed(KeyRing::new(secret.clone()), SessionConfig::flask())?.into();
    /// let login = FlaskLogin::new(&secret, FlaskLoginConfig::default())?;
    /// HttpServer::new(move || {
    ///     App::new()
    ///         .wrap(login.middleware())
    ///         .wrap(SessionMiddleware::new(sessions.clone()))
    ///         .route("/", web::get().to(home))
    /// })
    /// .bind("127.0.0.1:5000")?
    /// .run()
    /// .await?;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn middleware(&self) -> FlaskLoginMiddleware {
        FlaskLoginMiddleware {
            login: self.clone(),
        }
    }
}

/// The actix-web middleware for Flask-Login; see [`FlaskLogin::middleware`].
#[derive(Clone, Debug)]
pub struct FlaskLoginMiddleware {
    login: FlaskLogin,
}

impl<S, B> Transform<S, ServiceRequest> for FlaskLoginMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = FlaskLoginMiddlewareService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(FlaskLoginMiddlewareService {
            service: Rc::new(service),
            login: self.login.clone(),
        }))
    }
}

/// The service made by [`FlaskLoginMiddleware`].
pub struct FlaskLoginMiddlewareService<S> {
    service: Rc<S>,
    login: FlaskLogin,
}

impl<S> std::fmt::Debug for FlaskLoginMiddlewareService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlaskLoginMiddlewareService")
            .finish_non_exhaustive()
    }
}

fn client_info(login: &FlaskLogin, req: &ServiceRequest) -> ClientInfo {
    let headers = req.headers();
    ClientInfo::from_request(
        login,
        req.peer_addr().map(|addr| addr.ip()),
        headers.get("x-forwarded-for").map(HeaderValue::as_bytes),
        headers.get(USER_AGENT).map(HeaderValue::as_bytes),
        headers.get_all(COOKIE).map(HeaderValue::as_bytes),
    )
}

impl<S, B> Service<ServiceRequest> for FlaskLoginMiddlewareService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let pending = req.extensions().get::<PendingSession>().cloned();
        let context = LoginContext::for_request(
            self.login.clone(),
            client_info(&self.login, &req),
            pending.as_ref(),
        );
        req.extensions_mut().insert(context.clone());
        if pending.is_none() {
            tracing::error!("FlaskLoginMiddleware runs outside SessionMiddleware; wrap it first");
        }
        let service = self.service.clone();
        Box::pin(async move {
            let mut res = service.call(req).await?;
            if let Some(pending) = pending {
                let status = res.status().as_u16();
                if let Some(cookie) = context.finish(&pending, status).await {
                    match HeaderValue::try_from(cookie) {
                        Ok(v) => res.headers_mut().append(SET_COOKIE, v),
                        Err(_) => {
                            tracing::error!("the remember cookie was not a valid header value")
                        }
                    }
                }
            }
            Ok(res)
        })
    }
}

/// Extracts the request's [`Login`]; a bare 500 without
/// [`FlaskLogin::middleware`], a 503 when the session store is unreachable.
impl FromRequest for Login {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let context = req.extensions().get::<LoginContext>().cloned();
        let session = Session::from_request(req, payload);
        Box::pin(async move {
            let Some(context) = context else {
                tracing::error!("Login extracted on a route without FlaskLogin::middleware()");
                return Err(
                    error::InternalError::new("", StatusCode::INTERNAL_SERVER_ERROR).into(),
                );
            };
            let login = Login::from_parts(context, session.await?);
            login.check_remember_cookie().await;
            Ok(login)
        })
    }
}

/// `400 Bad Request` with Flask-WTF's reason as a plain-text body.
impl error::ResponseError for CsrfRejected {
    fn status_code(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }

    fn error_response(&self) -> HttpResponse {
        tracing::info!(reason = self.0.reason(), "CSRF check failed");
        HttpResponse::BadRequest()
            .content_type("text/plain; charset=utf-8")
            .body(self.0.reason())
    }
}
