//! [`StoreError`] and [`StoreErrorKind`].

use std::fmt;

/// What went wrong in a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// `create` found a record with that id.
    Collision,
    /// `update` or `cycle_id` found no (live) record: it was deleted or expired.
    NotFound,
    /// The backend could not be reached or timed out.
    Unavailable,
    /// A stored record could not be decoded.
    Corrupt,
    /// The backend can't store this data as given (PostgreSQL's `jsonb`
    /// refuses the NUL character in keys, values and user ids).
    Unsupported,
    /// Anything else the backend reported.
    Backend,
}

impl fmt::Display for StoreErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Collision => "a session with this id already exists",
            Self::NotFound => "the session no longer exists",
            Self::Unavailable => "the session store is unavailable",
            Self::Corrupt => "a stored session could not be decoded",
            Self::Unsupported => "the session store can't hold this data",
            Self::Backend => "the session store failed",
        })
    }
}

/// An error from a [`SessionStore`](super::SessionStore), keeping the driver's own error as its source.
#[derive(Debug)]
pub struct StoreError {
    kind: StoreErrorKind,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StoreError {
    /// An error of this kind with the driver's error as its source.
    pub fn new(
        kind: StoreErrorKind,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            kind,
            source: Some(source.into()),
        }
    }

    /// An error of this kind with no further source.
    #[must_use]
    pub fn from_kind(kind: StoreErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// The kind of failure.
    #[must_use]
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.kind, f)
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
