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
        match &self.0 {
            // The system clock's seconds straight from `SystemTime`: no
            // calendar date is worked out on the way (one per request).
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            Some(f) => unix_seconds(f()),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clocks_seconds_are_the_calendars() {
        let before = unix_seconds(time::OffsetDateTime::now_utc());
        let read = Clock::system().unix_seconds();
        let after = unix_seconds(time::OffsetDateTime::now_utc());
        assert!(before <= read && read <= after, "{before} {read} {after}");
        assert!(read > 1_700_000_000);
        let fixed = Clock::from_fn(|| time::macros::datetime!(2024-01-02 03:04:05 UTC));
        assert_eq!(fixed.unix_seconds(), 1_704_164_645);
        let early = Clock::from_fn(|| time::macros::datetime!(1960-01-01 0:00 UTC));
        assert_eq!(early.unix_seconds(), 0);
    }
}
