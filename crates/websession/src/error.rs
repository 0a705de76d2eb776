//! Errors of the session layer at request time.

use websession_core::store::StoreError;
use websession_core::ValueError;

/// An error using or saving a session.
///
/// Handlers see [`SessionError::Value`] from typed access. The adapters turn
/// save-time errors into an opaque 500 and log them; the client never sees
/// the details.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// A value could not be converted to or from the requested Rust type.
    #[error(transparent)]
    Value(#[from] ValueError),
    /// The encoded cookie would be longer than browsers keep.
    #[error("the session cookie would be {size} bytes, over the limit of {limit}; store less in the session or use a server-side store")]
    CookieTooLarge {
        /// Length of the whole `Set-Cookie` value.
        size: usize,
        /// The configured limit ([`crate::SessionConfig::with_max_cookie_size`]).
        limit: usize,
    },
    /// The session store failed (unreachable, timed out, or broken).
    #[error("session store error")]
    Store(#[from] StoreError),
}

/// The mark on a 503 that websession answered because a session store (the
/// sessions', the revocation's or the overflow's) could not be reached:
/// before the handler (the session's load), after it (the save), or from a
/// handler that returned [`SessionError::Store`]. The response itself is
/// bare; an outer layer that finds this mark in the response's extensions
/// can answer the app's own page instead.
///
/// axum, with `axum::middleware::map_response`:
///
/// ```
/// # #[cfg(feature = "axum")] {
/// use axum::http::StatusCode;
/// use axum::response::{Html, IntoResponse, Response};
/// use axum::{middleware, routing::get, Router};
/// use websession::{SessionManagerLayer, Sessions, StoreOutage};
///
/// async fn outage_page(res: Response) -> Response {
///     if res.extensions().get::<StoreOutage>().is_none() {
///         return res;
///     }
///     let page = Html("<h1>We'll be right back</h1><p>Please try again in a minute.</p>");
///     (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "30")], page).into_response()
/// }
///
/// fn app(sessions: Sessions) -> Router {
///     Router::new()
///         .route("/", get(|| async { "hello" }))
///         .layer(SessionManagerLayer::new(sessions))
///         .layer(middleware::map_response(outage_page))
/// }
/// # }
/// ```
///
/// actix-web: the same mark is in the `HttpResponse`'s extensions, for a
/// `wrap_fn` or `ErrorHandlers` outside the
/// [`SessionMiddleware`](crate::actix::SessionMiddleware).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreOutage;
