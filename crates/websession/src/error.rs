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
