//! Flask-Login's tower middleware (feature `tower`): [`FlaskLoginLayer`].

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::header::{COOKIE, SET_COOKIE, USER_AGENT};
use http::{HeaderValue, Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::login::{ClientInfo, LoginContext};
use super::login_manager::FlaskLogin;
use crate::session::PendingSession;

impl FlaskLogin {
    /// The tower layer that gives handlers a [`Login`](super::Login) and
    /// writes the remember cookie. Put it **inside**
    /// [`SessionManagerLayer`](crate::SessionManagerLayer) (in axum: an
    /// earlier `.layer(...)` call), so it runs after the handler and before
    /// the session is saved.
    ///
    /// The client's address is axum's `ConnectInfo<SocketAddr>` (serve with
    /// `into_make_service_with_connect_info`), else unknown, as Flask's
    /// `remote_addr` would be; `X-Forwarded-For` wins when present, as in
    /// Flask-Login.
    #[must_use]
    pub fn layer(&self) -> FlaskLoginLayer {
        FlaskLoginLayer {
            login: self.clone(),
        }
    }
}

/// A tower [`Layer`] for Flask-Login; see [`FlaskLogin::layer`].
#[derive(Clone, Debug)]
pub struct FlaskLoginLayer {
    login: FlaskLogin,
}

impl<S> Layer<S> for FlaskLoginLayer {
    type Service = FlaskLoginService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        FlaskLoginService {
            inner,
            login: self.login.clone(),
        }
    }
}

/// The middleware made by [`FlaskLoginLayer`].
#[derive(Clone)]
pub struct FlaskLoginService<S> {
    inner: S,
    login: FlaskLogin,
}

impl<S> std::fmt::Debug for FlaskLoginService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlaskLoginService").finish_non_exhaustive()
    }
}

/// The client facts Flask-Login reads, from an `http` request.
fn client_info<B>(login: &FlaskLogin, req: &Request<B>) -> ClientInfo {
    #[cfg(feature = "axum")]
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip());
    #[cfg(not(feature = "axum"))]
    let peer = None;
    let headers = req.headers();
    ClientInfo::from_request(
        login,
        peer,
        headers.get("x-forwarded-for").map(HeaderValue::as_bytes),
        headers.get(USER_AGENT).map(HeaderValue::as_bytes),
        headers.get_all(COOKIE).iter().map(HeaderValue::as_bytes),
    )
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for FlaskLoginService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let pending = req.extensions().get::<PendingSession>().cloned();
        let context = LoginContext::for_request(
            self.login.clone(),
            client_info(&self.login, &req),
            pending.as_ref(),
        );
        req.extensions_mut().insert(context.clone());
        if pending.is_none() {
            tracing::error!("FlaskLoginLayer runs outside SessionManagerLayer; put it inside (an earlier .layer call)");
        }
        let response = self.inner.call(req);
        ResponseFuture {
            inner: Box::pin(async move {
                let mut res = response.await?;
                if let Some(pending) = pending {
                    let status = res.status().as_u16();
                    if let Some(cookie) = context.finish(&pending, status).await {
                        match HeaderValue::try_from(cookie) {
                            Ok(v) => {
                                res.headers_mut().append(SET_COOKIE, v);
                            }
                            Err(_) => {
                                tracing::error!("the remember cookie was not a valid header value")
                            }
                        }
                    }
                }
                Ok(res)
            }),
        }
    }
}

/// Response future of [`FlaskLoginService`]: the handler's response, then
/// the remember cookie.
pub struct ResponseFuture<B, E> {
    inner: Pin<Box<dyn Future<Output = Result<Response<B>, E>> + Send>>,
}

impl<B, E> std::fmt::Debug for ResponseFuture<B, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<B, E> Future for ResponseFuture<B, E> {
    type Output = Result<Response<B>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}
