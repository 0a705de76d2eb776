//! Revocation for cookie sessions: [`Revocation`], the per-process cache in
//! front of a [`RevocationStore`], and what the cookie carries for it.
//!
//! See the guide, [`docs::revocation`](crate::docs::revocation).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use websession_core::json::LazyMap;
use websession_core::store::{IdHash, RevocationStore, SessionId, StoreError, Verdict};
use websession_core::{Map, Value};

/// The session key of a cookie session's random id (hidden from handlers).
pub(crate) const SID_KEY: &str = "_ws_sid";
/// The session key of the logged-in user a cookie records (hidden).
pub(crate) const USER_KEY: &str = "_ws_user";
/// The session key of that user's generation at login (hidden).
pub(crate) const GENERATION_KEY: &str = "_ws_gen";

/// The default of [`Revocation::with_staleness`]: 5 seconds.
pub const DEFAULT_STALENESS: Duration = Duration::from_secs(5);

/// The time of a cache entry that is never fresh, but keeps its
/// generation as a floor (`fresh` needs `now >= at`).
const FLOOR: u64 = u64::MAX;

/// How many denials a process makes between two sweeps of the expired ones.
const SWEEP_EVERY: u64 = 256;

/// Entries each of the cache's two maps keeps at most; past it, the stale
/// ones go (and if that is not enough, all of them).
const MAX_CACHED: usize = 100_000;

/// Revocation for the cookie modes (signed and sealed): "log out
/// everywhere" and "log out this session" for sessions that live in the
/// browser. Give it to [`SessionConfig::with_revocation`](crate::SessionConfig::with_revocation).
///
/// - Every cookie session carries a random id; [`Session::purge`](crate::Session::purge)
///   and a logout (`set_user(None)` on a session that had a user) put it on
///   the store's deny-list, so a copy of the old cookie stops working. The
///   entry is kept only until any copy would have expired anyway.
/// - A cookie that records a login ([`Session::set_user`](crate::Session::set_user))
///   records the user's generation too; [`Revocation::revoke_all_for`]
///   bumps it, and every older cookie of that user is refused.
///
/// A refused cookie opens as an empty session, with a
/// `websession::security` event. Each process caches what the store said
/// about a user or a session id for [`staleness`](Self::staleness): within
/// that time, a request pays no round trip. So a revocation made by **this**
/// process takes effect at once, and one made by another process is seen here
/// at most `staleness` after it was written. When the store can't be
/// reached, requests that need it answer 503, unless
/// [`with_fail_open`](Self::with_fail_open).
///
/// Cloning is cheap and clones share the cache: keep one in the app's state
/// to call [`revoke_all_for`](Self::revoke_all_for) from handlers.
///
/// ```
/// use websession::{Key, KeyRing, Revocation, SessionConfig, Sessions};
/// use websession::core::store::MemoryRevocations;
///
/// let revocation = Revocation::new(MemoryRevocations::new())
///     .with_staleness(std::time::Duration::from_secs(2));
/// let config = SessionConfig::default().with_revocation(revocation.clone());
/// let sessions = Sessions::signed(KeyRing::new(Key::generate()), config)?;
/// // later, in a handler: revocation.revoke_all_for("alice").await
/// # let _ = sessions;
/// # Ok::<(), websession::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Revocation {
    store: Arc<dyn RevocationStore>,
    cache: Arc<Cache>,
    staleness: u64,
    fail_open: bool,
}

impl fmt::Debug for Revocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Revocation")
            .field("staleness_secs", &self.staleness)
            .field("fail_open", &self.fail_open)
            .finish_non_exhaustive()
    }
}

impl Revocation {
    /// Revocation kept in `store`, with a [`DEFAULT_STALENESS`] cache, failing
    /// closed.
    ///
    /// ```
    /// use websession::Revocation;
    /// let revocation = Revocation::new(websession::core::store::MemoryRevocations::new());
    /// assert_eq!(revocation.staleness(), websession::DEFAULT_STALENESS);
    /// ```
    pub fn new(store: impl RevocationStore) -> Self {
        Self {
            store: Arc::new(store),
            cache: Arc::new(Cache::default()),
            staleness: DEFAULT_STALENESS.as_secs(),
            fail_open: false,
        }
    }

    /// How long this process trusts what the store said about a user or a
    /// session id, in whole seconds (rounded down). Zero asks the store on
    /// every request that carries a revocable cookie.
    ///
    /// The bound it gives: a cookie revoked by another process still opens
    /// here for less than `staleness` after the revocation was written.
    ///
    /// ```
    /// use std::time::Duration;
    /// use websession::Revocation;
    /// let revocation = Revocation::new(websession::core::store::MemoryRevocations::new())
    ///     .with_staleness(Duration::from_secs(1));
    /// assert_eq!(revocation.staleness(), Duration::from_secs(1));
    /// ```
    #[must_use]
    pub fn with_staleness(mut self, staleness: Duration) -> Self {
        self.staleness = staleness.as_secs();
        self
    }

    /// The cache's staleness bound (see [`with_staleness`](Self::with_staleness)).
    #[must_use]
    pub fn staleness(&self) -> Duration {
        Duration::from_secs(self.staleness)
    }

    /// When the store can't be reached, accept cookies unchecked and save
    /// logins and logouts without it (logged as errors), instead of
    /// answering 503 (the default).
    ///
    /// # Security
    ///
    /// During an outage, revoked cookies open again, and a logout doesn't
    /// stop copies of the cookie.
    ///
    /// ```
    /// use websession::Revocation;
    /// let revocation = Revocation::new(websession::core::store::MemoryRevocations::new())
    ///     .with_fail_open(true);
    /// assert!(revocation.fails_open());
    /// ```
    #[must_use]
    pub fn with_fail_open(mut self, fail_open: bool) -> Self {
        self.fail_open = fail_open;
        self
    }

    /// Whether an unreachable store lets cookies through (see
    /// [`with_fail_open`](Self::with_fail_open)).
    #[must_use]
    pub fn fails_open(&self) -> bool {
        self.fail_open
    }

    /// "Log out everywhere": bumps `user`'s generation, so every cookie
    /// session of `user` issued before is refused (on this process at once,
    /// on others within their staleness). Returns the new generation.
    /// The sessions that log in afterwards are not affected.
    ///
    /// # Errors
    ///
    /// The store's, when it can't be reached.
    ///
    /// ```
    /// use websession::Revocation;
    /// # async fn f() -> Result<(), websession::core::store::StoreError> {
    /// let revocation = Revocation::new(websession::core::store::MemoryRevocations::new());
    /// assert_eq!(revocation.revoke_all_for("alice").await?, 1);
    /// # Ok(()) }
    /// ```
    pub async fn revoke_all_for(&self, user: &str) -> Result<u64, StoreError> {
        let generation = self.store.bump_generation(user).await?;
        // Not fresh (the next request asks the store), but a floor: a check
        // that was in flight can't bring the old generation back.
        self.cache.put_generation(user, generation, FLOOR);
        crate::metrics::session_event("revoked_all", "cookie");
        Ok(generation)
    }

    /// What the cache knows about `ids` at `now`, if it knows all of it.
    pub(crate) fn cached(&self, ids: &CookieIds, now: u64) -> Option<Verdict> {
        if self.staleness == 0 {
            return None;
        }
        let denied = match &ids.sid {
            Some(sid) => self.cache.denied(&sid.hash(), now, self.staleness)?,
            None => false,
        };
        let generation = match &ids.user {
            Some(user) => Some(self.cache.generation(user, now, self.staleness)?),
            None => None,
        };
        Some(Verdict::new(generation, denied))
    }

    /// Asks the store about `ids` (one round trip) and caches the answer.
    pub(crate) async fn check(&self, ids: &CookieIds, now: u64) -> Result<Verdict, StoreError> {
        // A cookie without an id (written before revocation was on, or by
        // Flask) is checked by its user alone; the hash of nothing is on no
        // deny-list.
        let hash = ids
            .sid
            .as_ref()
            .map_or_else(|| SessionId::generate().hash(), SessionId::hash);
        let verdict = self.store.check(ids.user.as_deref(), &hash, now).await?;
        if self.staleness > 0 {
            if let Some(sid) = &ids.sid {
                self.cache.put_denied(sid.hash(), verdict.denied, now);
            }
            if let (Some(user), Some(generation)) = (&ids.user, verdict.generation) {
                self.cache.put_generation(user, generation, now);
            }
        }
        Ok(verdict)
    }

    /// The current generation of `user`, from the store: what a login
    /// records.
    pub(crate) async fn generation(&self, user: &str) -> Result<u64, StoreError> {
        self.store.generation(user).await
    }

    /// Denies `sid` until `until`, and remembers it here at once. Every
    /// [`SWEEP_EVERY`]th denial also deletes the entries whose time has
    /// passed, so the list holds only what could still be presented.
    pub(crate) async fn deny(
        &self,
        sid: &SessionId,
        until: u64,
        now: u64,
    ) -> Result<(), StoreError> {
        let hash = sid.hash();
        self.store.deny(&hash, until).await?;
        self.cache.put_denied(hash, true, now);
        let denials = self
            .cache
            .denials
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if denials % SWEEP_EVERY == SWEEP_EVERY - 1 {
            match self.store.delete_expired_denials(now).await {
                Ok(n) => tracing::debug!(deleted = n, "expired session denials deleted"),
                Err(e) => tracing::warn!(error = %e, "could not delete expired session denials"),
            }
        }
        Ok(())
    }
}

/// What a cookie carries for revocation, taken out of its data when it
/// opens (handlers never see these keys).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CookieIds {
    /// The session's random id.
    pub(crate) sid: Option<SessionId>,
    /// The logged-in user, as `set_user` recorded it.
    pub(crate) user: Option<String>,
    /// The user's generation at login.
    pub(crate) generation: u64,
}

impl CookieIds {
    /// Takes the hidden keys out of an opened cookie's data.
    pub(crate) fn take(data: &mut LazyMap) -> Self {
        let sid = match data.remove(SID_KEY) {
            Some(Value::Str(s)) => SessionId::parse(&s),
            _ => None,
        };
        let user = match data.remove(USER_KEY) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        };
        let generation = match data.remove(GENERATION_KEY) {
            Some(Value::Int(n)) => u64::try_from(n).unwrap_or(0),
            _ => 0,
        };
        Self {
            sid,
            user,
            generation,
        }
    }

    /// Whether there is anything to check.
    pub(crate) fn is_empty(&self) -> bool {
        self.sid.is_none() && self.user.is_none()
    }

    /// Puts the hidden keys into data about to be encoded, replacing any a
    /// handler wrote.
    pub(crate) fn write(&self, data: &mut Map) {
        for key in [SID_KEY, USER_KEY, GENERATION_KEY] {
            data.remove(key);
        }
        if let Some(sid) = &self.sid {
            data.insert(SID_KEY.to_owned(), Value::Str(sid.to_string()));
        }
        if let Some(user) = &self.user {
            data.insert(USER_KEY.to_owned(), Value::Str(user.clone()));
            let generation = i64::try_from(self.generation).unwrap_or(i64::MAX);
            data.insert(GENERATION_KEY.to_owned(), Value::Int(generation));
        }
    }

    /// Why a cookie with these ids is refused, given the store's verdict.
    pub(crate) fn refusal(&self, verdict: Verdict) -> Option<&'static str> {
        if verdict.denied {
            return Some("its session was logged out");
        }
        match verdict.generation {
            Some(current) if self.user.is_some() && self.generation < current => {
                Some("its user was logged out everywhere")
            }
            _ => None,
        }
    }
}

/// The per-process cache: what the store said, and when.
#[derive(Default)]
struct Cache {
    generations: Mutex<HashMap<String, (u64, u64)>>,
    denied: Mutex<HashMap<IdHash, (bool, u64)>>,
    /// Denials made by this process (for the sweep).
    denials: std::sync::atomic::AtomicU64,
}

fn fresh(at: u64, now: u64, staleness: u64) -> bool {
    now >= at && now - at < staleness
}

fn bounded<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, (V, u64)>, now: u64) {
    if map.len() >= MAX_CACHED {
        map.retain(|_, (_, at)| *at >= now);
        if map.len() >= MAX_CACHED {
            map.clear();
        }
    }
}

impl Cache {
    fn generation(&self, user: &str, now: u64, staleness: u64) -> Option<u64> {
        let map = self
            .generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.get(user)
            .filter(|(_, at)| fresh(*at, now, staleness))
            .map(|(g, _)| *g)
    }

    fn denied(&self, sid: &IdHash, now: u64, staleness: u64) -> Option<bool> {
        let map = self.denied.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(sid)
            .filter(|(_, at)| fresh(*at, now, staleness))
            .map(|(d, _)| *d)
    }

    /// Generations only grow: an answer older than what is known never
    /// lowers it.
    fn put_generation(&self, user: &str, generation: u64, now: u64) {
        let mut map = self
            .generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if now != FLOOR {
            bounded(&mut map, now);
        }
        let entry = map.entry(user.to_owned()).or_insert((generation, now));
        *entry = (entry.0.max(generation), now);
    }

    fn put_denied(&self, sid: IdHash, denied: bool, now: u64) {
        let mut map = self.denied.lock().unwrap_or_else(PoisonError::into_inner);
        bounded(&mut map, now);
        // A denial is final: never replace it with an older "not denied".
        let entry = map.entry(sid).or_insert((denied, now));
        *entry = (entry.0 || denied, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A check that was in flight when `revoke_all_for` bumped the
    /// generation can't bring the old one back.
    #[test]
    fn an_older_answer_never_lowers_a_generation() {
        let cache = Cache::default();
        cache.put_generation("dave", 3, FLOOR); // revoke_all_for's floor
        assert_eq!(
            cache.generation("dave", 100, 5),
            None,
            "a floor is not fresh"
        );
        cache.put_generation("dave", 2, 100); // the late answer
        assert_eq!(cache.generation("dave", 100, 5), Some(3));
        cache.put_generation("dave", 4, 101);
        assert_eq!(cache.generation("dave", 101, 5), Some(4));
        assert_eq!(cache.generation("dave", 106, 5), None, "stale");
    }
}
