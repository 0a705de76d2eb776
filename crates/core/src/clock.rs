//! Time: [`Clock`] and Unix seconds.

/// Seconds since the Unix epoch, the time unit of every codec.
///
/// Times before 1970 count as 0.
#[must_use]
pub fn unix_seconds(t: time::OffsetDateTime) -> u64 {
    u64::try_from(t.unix_timestamp()).unwrap_or(0)
}

/// Where the time comes from: the system clock, or one a test controls.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicI64, Ordering};
/// use std::sync::Arc;
/// use websession_core::Clock;
///
/// let now = Arc::new(AtomicI64::new(1_700_000_000));
/// let frozen = now.clone();
/// let clock = Clock::from_fn(move || {
///     time::OffsetDateTime::from_unix_timestamp(frozen.load(Ordering::SeqCst)).expect("valid time")
/// });
/// assert_eq!(clock.unix_seconds(), 1_700_000_000);
/// now.fetch_add(60, Ordering::SeqCst);
/// assert_eq!(clock.unix_seconds(), 1_700_000_060);
/// ```
#[derive(Clone)]
pub struct Clock(Option<std::sync::Arc<dyn Fn() -> time::OffsetDateTime + Send + Sync>>);

impl Clock {
    /// The system clock.
    #[must_use]
    pub fn system() -> Self {
        Self(None)
    }

    /// A clock that asks `f` for the time (tests, simulations).
    pub fn from_fn(f: impl Fn() -> time::OffsetDateTime + Send + Sync + 'static) -> Self {
        Self(Some(std::sync::Arc::new(f)))
    }

    /// The current time.
    #[must_use]
    pub fn now(&self) -> time::OffsetDateTime {
        match &self.0 {
            None => time::OffsetDateTime::now_utc(),
            Some(f) => f(),
        }
    }

    /// The current time in Unix seconds.
    #[must_use]
    pub fn unix_seconds(&self) -> u64 {
        unix_seconds(self.now())
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Clock(custom)"
        } else {
            "Clock(system)"
        })
    }
}
