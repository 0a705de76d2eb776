//! The axum extractor for [`Session`] (feature `axum`).

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::StatusCode;

use crate::error::{SessionError, StoreOutage};
use crate::session::{PendingSession, Session};

/// Why the [`Session`] extractor failed. The client sees only a bare status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionRejection {
    /// The route is not wrapped by [`crate::SessionManagerLayer`]: a 500.
    MissingLayer,
    /// The session store can't be reached: a 503, marked [`StoreOutage`].
    /// The handler does not run, so a logged-in user is never served as
    /// anonymous.
    StoreUnavailable,
}

impl std::fmt::Display for SessionRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::MissingLayer => "Session extracted on a route without SessionManagerLayer",
            Self::StoreUnavailable => "the session store is unavailable",
        })
    }
}

impl std::error::Error for SessionRejection {}

impl IntoResponse for SessionRejection {
    fn into_response(self) -> Response {
        match self {
            Self::MissingLayer => {
                tracing::error!("{self}; add `.layer(SessionManagerLayer::...)` to the router");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
            Self::StoreUnavailable => outage(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let pending = parts
            .extensions
            .get::<PendingSession>()
            .ok_or(SessionRejection::MissingLayer)?;
        pending
            .load()
            .await
            .map_err(|_| SessionRejection::StoreUnavailable)
    }
}

/// `Option<Session>`: `None` on a route without [`crate::SessionManagerLayer`]
/// (for handlers shared by routes with and without sessions); an
/// unreachable store still answers 503, never `None`, so a logged-in user is
/// never served as anonymous.
impl<S: Send + Sync> OptionalFromRequestParts<S> for Session {
    type Rejection = SessionRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let Some(pending) = parts.extensions.get::<PendingSession>() else {
            return Ok(None);
        };
        pending
            .load()
            .await
            .map(Some)
            .map_err(|_| SessionRejection::StoreUnavailable)
    }
}

/// A [`SessionError`] answers an opaque 500 (503 for an unreachable store);
/// the details go to the log only.
impl IntoResponse for SessionError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self, "session error");
        match self {
            SessionError::Store(_) => outage(),
            _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
}

/// A bare 503 with the [`StoreOutage`] mark.
fn outage() -> Response {
    let mut res = StatusCode::SERVICE_UNAVAILABLE.into_response();
    res.extensions_mut().insert(StoreOutage);
    res
}
