//! The axum extractor for [`Session`] (feature `axum`).

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::StatusCode;

use crate::error::SessionError;
use crate::session::Session;

/// The rejection when a handler extracts [`Session`] on a route that
/// [`crate::SessionManagerLayer`] does not wrap: a bare 500, and an error log
/// that says what is missing.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct MissingSessionLayer;

impl std::fmt::Display for MissingSessionLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Session extracted on a route without SessionManagerLayer")
    }
}

impl std::error::Error for MissingSessionLayer {}

impl IntoResponse for MissingSessionLayer {
    fn into_response(self) -> Response {
        tracing::error!("{self}; add `.layer(SessionManagerLayer::...)` to the router");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = MissingSessionLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let session = parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or(MissingSessionLayer)?;
        session.touch();
        Ok(session)
    }
}

/// A [`SessionError`] answers an opaque 500; the details go to the log only.
impl IntoResponse for SessionError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self, "session error");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    }
}
