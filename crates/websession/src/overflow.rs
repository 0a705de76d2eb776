//! [`Overflow`]: a cookie session that outgrows the browser's limit moves
//! to a store, and comes back when it shrinks.

use std::fmt;
use std::sync::Arc;

use websession_core::store::SessionStore;

/// Where a cookie session (signed or sealed) goes when it no longer fits in
/// a cookie: give it to
/// [`CookieSessions::with_overflow`](crate::CookieSessions::with_overflow).
///
/// - While the session fits, it lives in the cookie, as without overflow.
/// - When a save would make the `Set-Cookie` longer than
///   [`SessionConfig::max_cookie_size`](crate::SessionConfig::with_max_cookie_size)
///   (4093 bytes by default), the data goes to the store under a new random
///   id, and the cookie carries only that id, as in store mode: hashed ids,
///   per-key change sets, no resurrection, 503 when the store is down.
/// - When a change brings it back to at most
///   [`return_below`](Self::with_return_below) bytes (half the cookie limit
///   by default, so a session near the limit doesn't move at every
///   request), it returns to the cookie, and the store record is deleted
///   first: the session is never readable through both at once.
///
/// Handlers see none of it. See [`docs::overflow`](crate::docs::overflow).
///
/// ```
/// use websession::{Key, KeyRing, Overflow, SessionConfig, Sessions};
/// use websession::store::MemoryStore;
///
/// let sessions = Sessions::signed(KeyRing::new(Key::generate()), SessionConfig::default())?
///     .with_overflow(Overflow::new(MemoryStore::new()))?;
/// # let _ = sessions;
/// # Ok::<(), websession::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Overflow {
    pub(crate) store: Arc<dyn SessionStore>,
    return_below: Option<usize>,
    fail_open: bool,
    touch_interval: Option<std::time::Duration>,
}

impl fmt::Debug for Overflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Overflow")
            .field("return_below", &self.return_below)
            .field("fail_open", &self.fail_open)
            .field("touch_interval", &self.touch_interval)
            .finish_non_exhaustive()
    }
}

impl Overflow {
    /// Overflow into `store` (any [`SessionStore`]: memory, SQLite, Redis,
    /// PostgreSQL).
    ///
    /// ```
    /// let overflow = websession::Overflow::new(websession::store::MemoryStore::new());
    /// ```
    pub fn new(store: impl SessionStore) -> Self {
        Self {
            store: Arc::new(store),
            return_below: None,
            fail_open: false,
            touch_interval: None,
        }
    }

    /// The size, in bytes of the `Set-Cookie` value, at or below which a
    /// session in the store returns to the cookie (default: half the
    /// cookie limit). It must be below the cookie limit:
    /// [`Sessions`](crate::Sessions) refuses it otherwise
    /// ([`ConfigError::OverflowThreshold`](crate::ConfigError::OverflowThreshold)).
    ///
    /// ```
    /// let overflow = websession::Overflow::new(websession::store::MemoryStore::new())
    ///     .with_return_below(1024);
    /// ```
    #[must_use]
    pub fn with_return_below(mut self, bytes: usize) -> Self {
        self.return_below = Some(bytes);
        self
    }

    /// When the store can't be reached while a session in it loads, serve
    /// an empty session that is never saved instead of answering 503, as
    /// [`StoreSessions::with_fail_open`](crate::StoreSessions::with_fail_open) does
    /// for store mode. Moving a session out or back still answers 503 (the
    /// browser keeps its cookie).
    ///
    /// ```
    /// let overflow = websession::Overflow::new(websession::store::MemoryStore::new())
    ///     .with_fail_open(true);
    /// # let _ = overflow;
    /// ```
    #[must_use]
    pub fn with_fail_open(mut self, fail_open: bool) -> Self {
        self.fail_open = fail_open;
        self
    }

    /// How often an unchanged session's record is written again to extend
    /// its expiry, as
    /// [`StoreSessions::with_touch_interval`](crate::StoreSessions::with_touch_interval)
    /// does for store mode.
    ///
    /// ```
    /// let overflow = websession::Overflow::new(websession::store::MemoryStore::new())
    ///     .with_touch_interval(std::time::Duration::from_secs(5 * 60));
    /// # let _ = overflow;
    /// ```
    #[must_use]
    pub fn with_touch_interval(mut self, interval: std::time::Duration) -> Self {
        self.touch_interval = Some(interval);
        self
    }

    /// Whether a load fails open ([`with_fail_open`](Self::with_fail_open)).
    pub(crate) fn fails_open(&self) -> bool {
        self.fail_open
    }

    /// The touch interval, if one was set.
    pub(crate) fn touch_interval(&self) -> Option<std::time::Duration> {
        self.touch_interval
    }

    /// The return threshold for a cookie limit of `max_cookie_size`.
    #[must_use]
    pub(crate) fn return_below(&self, max_cookie_size: usize) -> usize {
        self.return_below.unwrap_or(max_cookie_size / 2)
    }
}
