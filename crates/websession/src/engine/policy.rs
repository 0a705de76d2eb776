//! The lifetime policy of every mode, as pure functions of seconds: which
//! sessions are still valid, when one ends, when an unchanged one is issued
//! again. The configuration is read once ([`Policy::new`]); nothing here
//! reads a clock or does I/O.

use websession_core::codec::check_age;
use websession_core::json::{LazyMap, ValueRef};
use websession_core::{DecodeError, Value};

use crate::config::{secs, Refresh, SessionConfig};
use crate::state::LIFETIME_KEY;

/// How far ahead of this server's clock a session's creation time may be
/// (written by another server) and still count as "now" for the absolute
/// timeout.
pub(crate) const MAX_CLOCK_SKEW_SECS: u64 = 60;

/// With an idle timeout and no touch interval set, an unchanged stored
/// session is written at most once per tenth of the idle timeout, and lives
/// at most that much longer than the idle timeout after its last use.
const DEFAULT_IDLE_SLACK_DIVISOR: u64 = 10;

/// The configuration's lifetimes and timeouts, in seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Policy {
    /// A permanent session's lifetime (Flask's `PERMANENT_SESSION_LIFETIME`).
    permanent: u64,
    /// The longest lifetime a session may ask for.
    max: u64,
    idle: Option<u64>,
    absolute: Option<u64>,
    touch: Option<u64>,
    refresh: Refresh,
    /// Which cookies carry `Expires`.
    expiring: Expiring,
}

/// Which sessions' cookies carry `Expires` (the rest end when the browser
/// closes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expiring {
    /// A permanent session's (`_permanent`): Flask's rule.
    Permanent,
    /// Every session's: Starlette's and Django's.
    Every,
    /// None: Django's `SESSION_EXPIRE_AT_BROWSER_CLOSE`.
    Never,
}

impl Expiring {
    /// The Python frameworks' rule: every cookie, unless at browser close.
    fn python(at_browser_close: bool) -> Self {
        if at_browser_close {
            Self::Never
        } else {
            Self::Every
        }
    }
}

impl Policy {
    pub(crate) fn new(config: &SessionConfig) -> Self {
        Self {
            permanent: config.max_age_secs(),
            max: config.max_session_lifetime_secs(),
            idle: config.lifetime.idle_timeout.map(secs),
            absolute: config.lifetime.absolute_timeout.map(secs),
            touch: None,
            refresh: config.lifetime.refresh,
            // Store mode: the presets say (a cookie mode's format decides
            // instead: `set_format_rule`).
            expiring: if config.lifetime.every_cookie_expires {
                Expiring::python(config.lifetime.expire_at_browser_close)
            } else {
                Expiring::Permanent
            },
        }
    }

    /// Cookie modes: the format decides which cookies carry `Expires`.
    /// A format of websession's own keys has Flask's rule (`_permanent`);
    /// Starlette's and Django's give every cookie the lifetime, unless it
    /// expires at browser close.
    pub(crate) fn set_format_rule(&mut self, carries_own_keys: bool, at_browser_close: bool) {
        self.expiring = if carries_own_keys {
            Expiring::Permanent
        } else {
            Expiring::python(at_browser_close)
        };
    }

    /// Whether the cookie of a session with this data carries `Expires`.
    pub(crate) fn expires_cookie(&self, data: &LazyMap) -> bool {
        match self.expiring {
            Expiring::Permanent => crate::state::is_permanent(data),
            Expiring::Every => true,
            Expiring::Never => false,
        }
    }

    /// Stored sessions: an unchanged record is written again at most once
    /// per `touch` seconds.
    pub(crate) fn set_touch_interval(&mut self, touch: std::time::Duration) {
        self.touch = Some(secs(touch));
    }

    /// The longest lifetime a session may have: the oldest cookie the
    /// formats accept.
    pub(crate) fn max_lifetime(&self) -> u64 {
        self.max
    }

    /// The lifetime of a session with this data: its own
    /// ([`crate::Session::set_lifetime`], at most the maximum), else the
    /// permanent lifetime.
    pub(crate) fn lifetime(&self, data: &LazyMap) -> u64 {
        match data.get(LIFETIME_KEY) {
            Some(ValueRef::Value(Value::Int(n))) if *n > 0 => {
                u64::try_from(*n).map_or(self.permanent, |n| n.min(self.max))
            }
            _ => self.permanent,
        }
    }

    /// A cookie's checks once its data is open: its age against the
    /// session's own `lifetime` (the format checked the longest one), the
    /// idle timeout from its issue time, and the absolute timeout from its
    /// creation time (from its issue time when it doesn't say: written by
    /// Flask, or before the timeout was configured).
    pub(crate) fn check_cookie(
        &self,
        now: u64,
        lifetime: u64,
        issued_at: u64,
        created_at: Option<u64>,
    ) -> Result<(), DecodeError> {
        if lifetime < self.max {
            check_age(issued_at, now, lifetime)?;
        }
        if let Some(idle) = self.idle {
            check_age(issued_at, now, idle)?;
        }
        self.check_absolute(now, created_at.unwrap_or(issued_at))
    }

    /// The absolute timeout. A creation time a little ahead of our clock
    /// comes from a server whose clock runs ahead: it counts as now.
    pub(crate) fn check_absolute(&self, now: u64, created_at: u64) -> Result<(), DecodeError> {
        let Some(absolute) = self.absolute else {
            return Ok(());
        };
        let created = if created_at > now && created_at - now <= MAX_CLOCK_SKEW_SECS {
            now
        } else {
            created_at
        };
        check_age(created, now, absolute)
    }

    /// The creation time a session written now records: the one it has, or
    /// now when an absolute timeout needs one.
    pub(crate) fn created_at(&self, known: Option<u64>, now: u64) -> Option<u64> {
        known.or(self.absolute.map(|_| now))
    }

    /// When a session used at `now` ends: its `lifetime`, the idle timeout
    /// (plus `slack`, which only stored sessions use) and the absolute
    /// timeout from `created_at`, whichever is first.
    pub(crate) fn expiry(
        &self,
        now: u64,
        lifetime: u64,
        created_at: Option<u64>,
        slack: u64,
    ) -> u64 {
        let mut expires = now.saturating_add(lifetime);
        if let Some(idle) = self.idle {
            expires = expires.min(now.saturating_add(idle).saturating_add(slack));
        }
        if let (Some(absolute), Some(created)) = (self.absolute, created_at) {
            expires = expires.min(created.saturating_add(absolute));
        }
        expires
    }

    /// Whether an unchanged cookie issued at `issued_at` (`None`: never
    /// issued) is old enough to be issued again, for a permanent session
    /// (`permanent`) with this `lifetime`, or one under an idle timeout.
    /// Never later than half the lifetime or half the idle timeout, so a
    /// session in use never expires.
    pub(crate) fn refresh_due(
        &self,
        now: u64,
        permanent: bool,
        lifetime: u64,
        issued_at: Option<u64>,
    ) -> bool {
        let half_lifetime = permanent.then_some(lifetime / 2);
        let half_idle = self.idle.map(|i| i / 2);
        let Some(cap) = half_lifetime.into_iter().chain(half_idle).min() else {
            return false;
        };
        let after = match self.refresh {
            Refresh::EveryRequest => Some(0),
            Refresh::Interval(d) => Some(secs(d).min(cap)),
            // Only an idle timeout forces a refresh of unchanged data.
            Refresh::OnChange => half_idle,
        };
        after.is_some_and(|after| match issued_at {
            Some(issued) => now.saturating_sub(issued) >= after,
            None => true,
        })
    }

    /// The expiry a stored record written at `now` gets, and the least
    /// expiry an unchanged record must already have for the write to be
    /// skipped.
    ///
    /// A session promises `guaranteed` seconds of life after every use: the
    /// idle timeout if there is one, else the lifetime minus the touch
    /// interval. Writes add `slack` (the touch interval) on top, so an
    /// unchanged session is written at most once per `slack`, and a session
    /// used at least once per `guaranteed` seconds never expires.
    /// [`Policy::expiry`] caps both by the lifetime and the absolute timeout.
    pub(crate) fn record_deadlines(&self, now: u64, lifetime: u64, created_at: u64) -> (u64, u64) {
        let (guaranteed, slack) = match self.idle {
            // At least a second of slack: a record must outlive `now + idle`,
            // since a record whose expiry is now is already gone.
            Some(idle) if idle < lifetime => (
                idle,
                self.touch
                    .unwrap_or(idle / DEFAULT_IDLE_SLACK_DIVISOR)
                    .max(1),
            ),
            _ => {
                let slack = self.touch.unwrap_or(lifetime / 2).min(lifetime / 2);
                (lifetime - slack, slack)
            }
        };
        let expires = self.expiry(now, lifetime, Some(created_at), slack);
        (expires, now.saturating_add(guaranteed).min(expires))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const NOW: u64 = 1_700_000_000;
    const DAY: u64 = 86_400;

    /// In a cookie mode the format, not the preset, says which cookies
    /// carry `Expires`.
    #[test]
    fn a_cookie_formats_rule_decides_which_cookies_expire() {
        let plain = LazyMap::from(websession_core::Map::new());
        let mut permanent = websession_core::Map::new();
        permanent.insert("_permanent".into(), websession_core::Value::Bool(true));
        let permanent = LazyMap::from(permanent);
        let rule = |config: &SessionConfig, own_keys: bool| {
            let mut p = Policy::new(config);
            p.set_format_rule(own_keys, config.lifetime.expire_at_browser_close);
            (p.expires_cookie(&plain), p.expires_cookie(&permanent))
        };
        let default = SessionConfig::default();
        assert_eq!(rule(&default, true), (false, true), "Flask's rule");
        assert_eq!(rule(&default, false), (true, true), "every cookie");
        let at_close = default.with_lifetime(|l| l.with_expire_at_browser_close());
        assert_eq!(rule(&at_close, false), (false, false), "at browser close");
        // Store mode (no format) keeps Flask's rule unless a preset says.
        let store = Policy::new(&SessionConfig::default());
        assert_eq!(
            (
                store.expires_cookie(&plain),
                store.expires_cookie(&permanent)
            ),
            (false, true)
        );
    }

    fn policy(config: SessionConfig) -> Policy {
        Policy::new(
            &config.with_lifetime(|l| l.with_permanent_lifetime(Duration::from_secs(31 * 86_400))),
        )
    }

    #[test]
    fn expiry_is_the_first_of_lifetime_idle_and_absolute() {
        let base = SessionConfig::default();
        // (config, lifetime, created_at, slack, expected)
        let cases = [
            (base.clone(), DAY, None, 0, NOW + DAY),
            (
                base.clone()
                    .with_lifetime(|l| l.with_idle_timeout(Duration::from_secs(3_600))),
                DAY,
                None,
                0,
                NOW + 3600,
            ),
            (
                base.clone()
                    .with_lifetime(|l| l.with_idle_timeout(Duration::from_secs(3_600))),
                DAY,
                None,
                60,
                NOW + 3660,
            ),
            (
                base.clone()
                    .with_lifetime(|l| l.with_idle_timeout(Duration::from_secs(2 * 86_400))),
                DAY,
                None,
                60,
                NOW + DAY,
            ),
            (
                base.clone()
                    .with_lifetime(|l| l.with_absolute_timeout(Duration::from_secs(2 * 3_600))),
                DAY,
                Some(NOW - 3600),
                0,
                NOW + 3600,
            ),
            // No creation time: the absolute timeout can't apply.
            (
                base.clone()
                    .with_lifetime(|l| l.with_absolute_timeout(Duration::from_secs(2 * 3_600))),
                DAY,
                None,
                0,
                NOW + DAY,
            ),
            (base, u64::MAX, None, 0, u64::MAX),
        ];
        for (i, (config, lifetime, created, slack, expected)) in cases.into_iter().enumerate() {
            let got = policy(config).expiry(NOW, lifetime, created, slack);
            assert_eq!(got, expected, "case {i}");
        }
    }

    #[test]
    fn cookie_checks_apply_each_timeout() {
        let base = SessionConfig::default();
        let idle = base
            .clone()
            .with_lifetime(|l| l.with_idle_timeout(Duration::from_secs(3_600)));
        let absolute = base
            .clone()
            .with_lifetime(|l| l.with_absolute_timeout(Duration::from_secs(2 * 3_600)));
        // (config, lifetime, issued ago, created ago, accepted)
        let cases = [
            (base.clone(), 31 * DAY, 30 * DAY, None, true),
            (base.clone(), DAY, DAY + 1, None, false),
            (base.clone(), DAY, DAY - 1, None, true),
            (idle.clone(), 31 * DAY, 3599, None, true),
            (idle, 31 * DAY, 3601, None, false),
            (absolute.clone(), 31 * DAY, 10, Some(7201), false),
            (absolute.clone(), 31 * DAY, 10, Some(7199), true),
            // Without a creation time, the issue time counts.
            (absolute.clone(), 31 * DAY, 7201, None, false),
            (absolute, 31 * DAY, 7199, None, true),
        ];
        for (i, (config, lifetime, issued_ago, created_ago, accepted)) in
            cases.into_iter().enumerate()
        {
            let created = created_ago.map(|ago: u64| NOW - ago);
            let got = policy(config).check_cookie(NOW, lifetime, NOW - issued_ago, created);
            assert_eq!(got.is_ok(), accepted, "case {i}: {got:?}");
        }
    }

    #[test]
    fn a_creation_time_a_little_ahead_counts_as_now() {
        let p = policy(
            SessionConfig::default()
                .with_lifetime(|l| l.with_absolute_timeout(Duration::from_secs(3_600))),
        );
        assert!(p.check_absolute(NOW, NOW + MAX_CLOCK_SKEW_SECS).is_ok());
        assert!(p
            .check_absolute(NOW, NOW + MAX_CLOCK_SKEW_SECS + 1)
            .is_err());
        assert!(p.check_absolute(NOW, NOW - 3601).is_err());
    }

    #[test]
    fn refresh_follows_the_setting_within_half_the_lifetime_and_idle_timeout() {
        let base = SessionConfig::default();
        let every = base
            .clone()
            .with_lifetime(|l| l.with_refresh(Refresh::EveryRequest));
        let on_change = base
            .clone()
            .with_lifetime(|l| l.with_refresh(Refresh::OnChange));
        let interval = base
            .clone()
            .with_lifetime(|l| l.with_refresh(Refresh::Interval(Duration::from_secs(10 * 60))));
        let idle = on_change
            .clone()
            .with_lifetime(|l| l.with_idle_timeout(Duration::from_secs(30 * 60)));
        // (config, permanent, lifetime, issued ago (None: never), due)
        let cases = [
            (every.clone(), true, DAY, Some(0), true),
            // A browser-session cookie without an idle timeout never is.
            (every, false, DAY, Some(0), false),
            (on_change.clone(), true, DAY, Some(DAY), false),
            (interval.clone(), true, DAY, Some(599), false),
            (interval.clone(), true, DAY, Some(600), true),
            // Capped at half the lifetime.
            (interval.clone(), true, 600, Some(300), true),
            (interval, true, DAY, None, true),
            (idle.clone(), false, DAY, Some(899), false),
            (idle, false, DAY, Some(900), true),
            (on_change, false, DAY, None, false),
        ];
        for (i, (config, permanent, lifetime, ago, due)) in cases.into_iter().enumerate() {
            let issued = ago.map(|ago: u64| NOW - ago);
            let got = policy(config).refresh_due(NOW, permanent, lifetime, issued);
            assert_eq!(got, due, "case {i}");
        }
    }

    #[test]
    fn record_deadlines_promise_the_idle_timeout_or_the_lifetime_minus_the_slack() {
        let base = SessionConfig::default();
        // (config, lifetime, (expires in, must reach within))
        let idle = base
            .clone()
            .with_lifetime(|l| l.with_idle_timeout(Duration::from_secs(10 * 60)));
        // (config, touch interval, lifetime, (expires in, must reach within))
        let cases = [
            (base.clone(), None, DAY, (DAY, DAY / 2)),
            (base.clone(), Some(60), DAY, (DAY, DAY - 60)),
            (idle.clone(), None, DAY, (600 + 60, 600)),
            (idle, Some(5), DAY, (605, 600)),
            // An idle timeout of a few seconds still gets a second of slack.
            (
                base.with_lifetime(|l| l.with_idle_timeout(Duration::from_secs(5))),
                None,
                DAY,
                (6, 5),
            ),
        ];
        for (i, (config, touch, lifetime, (expires, reach))) in cases.into_iter().enumerate() {
            let mut policy = policy(config);
            if let Some(touch) = touch {
                policy.set_touch_interval(Duration::from_secs(touch));
            }
            let got = policy.record_deadlines(NOW, lifetime, NOW);
            assert_eq!(got, (NOW + expires, NOW + reach), "case {i}");
        }
    }

    #[test]
    fn a_session_asks_for_its_own_lifetime_up_to_the_maximum() {
        let p = policy(
            SessionConfig::default()
                .with_lifetime(|l| l.with_max_session_lifetime(Duration::from_secs(90 * 86_400))),
        );
        let lazy = |json: &str| LazyMap::parse_secret(json.as_bytes().to_vec()).expect("json");
        assert_eq!(p.lifetime(&lazy("{}")), 31 * DAY);
        assert_eq!(p.lifetime(&lazy(r#"{"_ws_lifetime": 60}"#)), 60);
        assert_eq!(
            p.lifetime(&lazy(r#"{"_ws_lifetime": 999999999}"#)),
            90 * DAY
        );
        assert_eq!(p.lifetime(&lazy(r#"{"_ws_lifetime": -5}"#)), 31 * DAY);
    }
}
