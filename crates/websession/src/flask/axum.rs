//! axum extractors and responses for the Flask extensions (feature `axum`).

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::StatusCode;

use super::csrf::CsrfRejected;
use super::login::{Login, LoginContext};
use crate::axum::SessionRejection;
use crate::session::Session;

/// Extracts the request's [`Login`]. The route needs
/// [`FlaskLogin::layer`](super::FlaskLogin::layer) inside
/// [`SessionManagerLayer`](crate::SessionManagerLayer): without it, a bare
/// 500 ([`SessionRejection::MissingLayer`]).
impl<S: Send + Sync> FromRequestParts<S> for Login {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let context = parts
            .extensions
            .get::<LoginContext>()
            .cloned()
            .ok_or(SessionRejection::MissingLayer)?;
        let session = Session::from_request_parts(parts, state).await?;
        let login = Login::from_parts(context, session);
        login.check_remember_cookie().await;
        Ok(login)
    }
}

/// `400 Bad Request` with Flask-WTF's reason as a plain-text body.
impl IntoResponse for CsrfRejected {
    fn into_response(self) -> Response {
        tracing::info!(reason = self.0.reason(), "CSRF check failed");
        (StatusCode::BAD_REQUEST, self.0.reason()).into_response()
    }
}
