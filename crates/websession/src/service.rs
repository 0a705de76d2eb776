//! The tower middleware: [`SessionManagerLayer`] and [`SessionManager`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use http::header::{CACHE_CONTROL, COOKIE, SET_COOKIE, VARY};
use http::{HeaderValue, Request, Response, StatusCode};
use pin_project_lite::pin_project;
use time::Duration;
use tower_layer::Layer;
use tower_service::Service;
use websession_core::store::SessionStore;
use websession_core::KeyRing;

use crate::config::{ConfigError, SessionConfig};
use crate::engine::{find_cookie, varies_on_cookie, Engine, Mode, Outcome};
use crate::error::SessionError;
use crate::session::Session;

/// A tower [`Layer`] that gives every request a [`Session`].
///
/// # Examples
///
/// ```no_run
/// use axum::{routing::get, Router};
/// use websession::{Key, KeyRing, Session, SessionManagerLayer};
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
/// let app = Router::new()
///     .route("/", get(home))
///     .layer(SessionManagerLayer::signed(keys).with_permanent_lifetime(time::Duration::days(7)));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
/// axum::serve(listener, app).await?;
/// # Ok(()) }
/// ```
///
/// # Panics
///
/// [`Layer::layer`] panics when the configuration is invalid (see
/// [`SessionManagerLayer::check`]); that happens once, when the app is built.
#[derive(Clone, Debug)]
pub struct SessionManagerLayer {
    config: SessionConfig,
    mode: Mode,
}

impl SessionManagerLayer {
    /// Flask-compatible signed cookie sessions, signed with the ring's current
    /// key and verified with all of them. Uses [`SessionConfig::default`].
    #[must_use]
    pub fn signed(keys: KeyRing) -> Self {
        Self {
            config: SessionConfig::default(),
            mode: Mode::Signed(keys),
        }
    }

    /// Sealed cookie sessions: the data is encrypted and authenticated with
    /// XChaCha20-Poly1305 (see [`websession_core::sealed`]), so the client
    /// can't read it. Every key must be at least 32 random bytes.
    #[must_use]
    pub fn sealed(keys: KeyRing) -> Self {
        Self {
            config: SessionConfig::default(),
            mode: Mode::Sealed(keys),
        }
    }

    /// Server-side sessions: the cookie carries only a random id, the data
    /// lives in `store` (see [`websession_core::store`]). Loads happen when a
    /// handler extracts the session, writes carry only the changed keys, and
    /// an unreachable store answers 503 (see
    /// [`SessionConfig::with_store_fail_open`]).
    #[must_use]
    pub fn with_store(store: impl SessionStore) -> Self {
        Self {
            config: SessionConfig::default(),
            mode: Mode::Store(Arc::new(store)),
        }
    }

    /// Replaces the whole configuration.
    #[must_use]
    pub fn with_config(mut self, config: SessionConfig) -> Self {
        self.config = config;
        self
    }

    /// Shorthand for [`SessionConfig::with_permanent_lifetime`].
    #[must_use]
    pub fn with_permanent_lifetime(mut self, lifetime: Duration) -> Self {
        self.config = self.config.with_permanent_lifetime(lifetime);
        self
    }

    /// Shorthand for [`SessionConfig::with_cookie_name`].
    #[must_use]
    pub fn with_cookie_name(mut self, name: impl Into<String>) -> Self {
        self.config = self.config.with_cookie_name(name);
        self
    }

    /// Shorthand for [`SessionConfig::with_insecure_cookie`].
    #[must_use]
    pub fn with_insecure_cookie(mut self) -> Self {
        self.config = self.config.with_insecure_cookie();
        self
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Checks the configuration (and, with strict keys, the keys).
    ///
    /// # Errors
    ///
    /// The [`ConfigError`] that `layer` would panic with.
    pub fn check(&self) -> Result<(), ConfigError> {
        self.engine().map(|_| ())
    }

    pub(crate) fn engine(&self) -> Result<Arc<Engine>, ConfigError> {
        Engine::new(self.config.clone(), self.mode.clone()).map(Arc::new)
    }
}

impl<S> Layer<S> for SessionManagerLayer {
    type Service = SessionManager<S>;

    fn layer(&self, inner: S) -> Self::Service {
        match self.engine() {
            Ok(engine) => SessionManager { inner, engine },
            Err(e) => panic!("invalid websession configuration: {e}"),
        }
    }
}

/// The middleware made by [`SessionManagerLayer`].
#[derive(Clone)]
pub struct SessionManager<S> {
    inner: S,
    engine: Arc<Engine>,
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
        let raw = find_cookie(
            req.headers()
                .get_all(COOKIE)
                .iter()
                .map(HeaderValue::as_bytes),
            &self.engine.config.cookie_name,
        )
        .map(str::to_owned);
        let session = Session::new(self.engine.clone(), raw);
        req.extensions_mut().insert(session.clone());
        ResponseFuture {
            inner: self.inner.call(req),
            session: Some(session),
            saving: None,
            response: None,
        }
    }
}

type SaveFuture = Pin<Box<dyn Future<Output = Result<Outcome, SessionError>> + Send>>;

pin_project! {
    /// Response future of [`SessionManager`]: the handler's response, then
    /// (in store mode) the store write, then the session headers.
    pub struct ResponseFuture<F, B> {
        #[pin]
        inner: F,
        session: Option<Session>,
        saving: Option<SaveFuture>,
        response: Option<Response<B>>,
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
        if this.saving.is_none() {
            let res = ready!(this.inner.as_mut().poll(cx))?;
            let Some(session) = this.session.take() else {
                return Poll::Ready(Ok(res));
            };
            let status = res.status().as_u16();
            if !session.engine().is_store() {
                let outcome = session.engine().finish(&session, status);
                return Poll::Ready(Ok(respond(res, outcome)));
            }
            let engine = session.engine().clone();
            *this.saving = Some(Box::pin(engine.finish_store(session, status)));
            *this.response = Some(res);
        }
        let Some(saving) = this.saving.as_mut() else {
            unreachable!("set above");
        };
        let outcome = ready!(saving.as_mut().poll(cx));
        *this.saving = None;
        match this.response.take() {
            Some(res) => Poll::Ready(Ok(respond(res, outcome))),
            None => unreachable!("the response is kept until the save ends"),
        }
    }
}

/// Adds the session headers, or turns a failed save into an opaque 500.
fn respond<B: Default>(
    mut res: Response<B>,
    outcome: Result<Outcome, SessionError>,
) -> Response<B> {
    match outcome {
        Ok(outcome) => {
            apply(&mut res, outcome);
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "could not save the session; answering 500");
            let mut res = Response::new(B::default());
            *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            res
        }
    }
}

fn apply<B>(res: &mut Response<B>, outcome: Outcome) {
    let headers = res.headers_mut();
    if outcome.vary && !varies_on_cookie(headers.get_all(VARY).iter().map(HeaderValue::as_bytes)) {
        headers.append(VARY, HeaderValue::from_static("Cookie"));
    }
    if let Some(cookie) = outcome.set_cookie {
        match HeaderValue::try_from(cookie) {
            Ok(v) => {
                headers.append(SET_COOKIE, v);
            }
            // The engine only builds visible ASCII; this can't happen.
            Err(_) => tracing::error!("session Set-Cookie header was not a valid header value"),
        }
        if outcome.no_store && !headers.contains_key(CACHE_CONTROL) {
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
}
