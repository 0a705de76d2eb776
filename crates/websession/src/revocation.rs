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
use websession_core::Value;

/// The session key of a cookie session's random id (hidden from handlers).
pub(crate) const SID_KEY: &str = "_ws_sid";
/// The session key of the logged-in user a cookie records (hidden).
pub(crate) const USER_KEY: &str = "_ws_user";
/// The session key of that user's generation at login (hidden).
pub(crate) const GENERATION_KEY: &str = "_ws_gen";

/// The default of [`Revocation::with_staleness`]: 5 seconds.
pub const DEFAULT_STALENESS: Duration = Duration::from_secs(5);

/// How many denials a process makes between two sweeps of the expired ones.
const SWEEP_EVERY: u64 = 256;

/// Entries each of the cache's two maps keeps at most; past it, the stale
/// ones go (and if that is not enough, all of them: an answer that was in
/// flight during a revocation is never cached, so nothing a revocation
/// decided is lost with them).
const MAX_CACHED: usize = 100_000;

/// Revocation for the cookie modes (signed and sealed): "log out
/// everywhere" and "log out this session" for sessions that live in the
/// browser. Give it to [`CookieSessions::with_revocation`](crate::CookieSessions::with_revocation).
///
/// - Every cookie session carries a random id; [`Session::purge`](crate::Session::purge),
///   [`Session::clear`](crate::Session::clear), a save that empties the
///   session, [`Session::cycle_id`](crate::Session::cycle_id) and a change
///   of user ([`Session::log_in`](crate::Session::log_in),
///   [`Session::log_out`](crate::Session::log_out), Flask-Login's) put it on the store's deny-list, so a copy of the old cookie
///   stops working. The entry is kept only until any copy would have
///   expired anyway.
/// - A cookie that records a login ([`Session::log_in`](crate::Session::log_in))
///   records the user's generation too;
///   [`Logins::log_out_everywhere`](crate::Logins::log_out_everywhere)
///   bumps it, and every older cookie of
///   that user is refused.
///
/// A refused cookie opens as an empty session, with a
/// `websession::security` event. Each process caches what the store said
/// about a user or a session id for [`staleness`](Self::with_staleness): within
/// that time, a request pays no round trip. So a revocation made by **this**
/// process takes effect at once, and one made by another process is seen here
/// at most `staleness` after it was written. When the store can't be
/// reached, requests that need it answer 503, unless
/// [`with_fail_open`](Self::with_fail_open).
///
/// Cloning is cheap and clones share the cache. Handlers log users out
/// through the sessions' [`Logins`](crate::Logins), the same calls in every
/// mode; code that has no sessions (a script, an admin job sharing the
/// store) takes `Logins::from(revocation)`.
///
/// ```
/// use websession::{Key, KeyRing, Revocation, SessionConfig, Sessions};
/// use websession::store::MemoryRevocations;
///
/// let revocation = Revocation::new(MemoryRevocations::new())
///     .with_staleness(std::time::Duration::from_secs(2));
/// let sessions = Sessions::signed(KeyRing::new(Key::generate()), SessionConfig::default())?
///     .with_revocation(revocation);
/// let logins = sessions.logins()?;
/// // later, in a handler: logins.log_out_everywhere("alice").await
/// # let _ = logins;
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
    /// let revocation = Revocation::new(websession::store::MemoryRevocations::new());
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
    /// let revocation = Revocation::new(websession::store::MemoryRevocations::new())
    ///     .with_staleness(Duration::from_secs(1));
    /// ```
    #[must_use]
    pub fn with_staleness(mut self, staleness: Duration) -> Self {
        self.staleness = staleness.as_secs();
        self
    }

    /// The cache's staleness bound (see [`with_staleness`](Self::with_staleness));
    /// apps read it from [`Logins::staleness`](crate::Logins::staleness).
    #[must_use]
    pub(crate) fn staleness(&self) -> Duration {
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
    /// let revocation = Revocation::new(websession::store::MemoryRevocations::new())
    ///     .with_fail_open(true);
    /// ```
    #[must_use]
    pub fn with_fail_open(mut self, fail_open: bool) -> Self {
        self.fail_open = fail_open;
        self
    }

    /// Whether an unreachable store lets cookies through (see
    /// [`with_fail_open`](Self::with_fail_open)).
    #[must_use]
    pub(crate) fn fails_open(&self) -> bool {
        self.fail_open
    }

    /// "Log out everywhere" for cookie sessions: bumps `user`'s generation,
    /// so every cookie session of `user` issued before is refused (on this
    /// process at once, on others within their staleness). Returns the new
    /// generation. Apps call it as [`Logins::log_out_everywhere`](crate::Logins::log_out_everywhere).
    pub(crate) async fn revoke_all_for(&self, user: &str) -> Result<u64, StoreError> {
        let generation = self.store.bump_generation(user).await?;
        // After the store has it: a check in flight (which may have read
        // the old generation) sees the epoch move and caches nothing.
        self.cache.revoked();
        // Known but not fresh (time 0): the next request asks the store,
        // and no older answer lowers it meanwhile.
        self.cache.put_generation(user, generation, 0);
        crate::metrics::session_event("revoked_all", "cookie");
        Ok(generation)
    }

    /// The store's verdict on `user` and the id `hash`, never the cache's
    /// (what "log out my other sessions" trusts).
    pub(crate) async fn check_uncached(
        &self,
        user: Option<&str>,
        hash: &IdHash,
        now: u64,
    ) -> Result<Verdict, StoreError> {
        self.store.check(user, hash, now).await
    }

    /// Whether the store has `sid` on the deny-list now (never the cache).
    pub(crate) async fn is_denied(&self, sid: &SessionId, now: u64) -> Result<bool, StoreError> {
        Ok(self.store.check(None, &sid.hash(), now).await?.denied)
    }

    /// `user`'s current generation: from the cache while fresh, else from
    /// the store (and then cached). What a remember cookie is checked
    /// against.
    pub(crate) async fn user_generation(&self, user: &str, now: u64) -> Result<u64, StoreError> {
        if self.staleness > 0 {
            if let Some(generation) = self.cache.generation(user, now, self.staleness) {
                return Ok(generation);
            }
        }
        let epoch = self.cache.epoch();
        let generation = self.store.generation(user).await?;
        if self.staleness > 0 && self.cache.epoch() == epoch {
            self.cache.put_generation(user, generation, now);
        }
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
        let epoch = self.cache.epoch();
        let verdict = self.store.check(ids.user.as_deref(), &hash, now).await?;
        // An answer that overlapped a revocation made here may predate it:
        // it decides this request (which ran concurrently with the
        // revocation) but is not remembered for later ones.
        if self.staleness > 0 && self.cache.epoch() == epoch {
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
        self.cache.revoked();
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
        // Most cookies carry none of them: an indexed map rules each out
        // without a search.
        if ![SID_KEY, USER_KEY, GENERATION_KEY]
            .iter()
            .any(|k| data.contains_key(k))
        {
            return Self::default();
        }
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
    pub(crate) fn write(&self, data: &mut LazyMap) {
        for key in [SID_KEY, USER_KEY, GENERATION_KEY] {
            data.remove(key);
        }
        if let Some(sid) = &self.sid {
            data.insert(SID_KEY, Value::Str(sid.to_string()));
        }
        if let Some(user) = &self.user {
            data.insert(USER_KEY, Value::Str(user.clone()));
            let generation = i64::try_from(self.generation).unwrap_or(i64::MAX);
            data.insert(GENERATION_KEY, Value::Int(generation));
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
struct Cache {
    generations: Mutex<HashMap<String, (u64, u64)>>,
    denied: Mutex<HashMap<IdHash, (bool, u64)>>,
    /// Denials made by this process (for the sweep).
    denials: std::sync::atomic::AtomicU64,
    /// Moves after every revocation this process writes (a denial or a
    /// generation bump), once the store has it. A store answer is cached
    /// only if the epoch didn't move while it was asked, so an answer read
    /// before a revocation can't outlive it here, whatever the maps drop.
    epoch: std::sync::atomic::AtomicU64,
    /// Entries each map keeps at most ([`MAX_CACHED`]; tests lower it).
    limit: usize,
}

impl Default for Cache {
    fn default() -> Self {
        Self {
            generations: Mutex::default(),
            denied: Mutex::default(),
            denials: std::sync::atomic::AtomicU64::new(0),
            epoch: std::sync::atomic::AtomicU64::new(0),
            limit: MAX_CACHED,
        }
    }
}

fn fresh(at: u64, now: u64, staleness: u64) -> bool {
    now >= at && now - at < staleness
}

fn bounded<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, (V, u64)>, now: u64, limit: usize) {
    if map.len() >= limit {
        map.retain(|_, (_, at)| *at >= now);
        if map.len() >= limit {
            map.clear();
        }
    }
}

impl Cache {
    fn epoch(&self) -> u64 {
        self.epoch.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// A revocation was written to the store.
    fn revoked(&self) {
        self.epoch.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

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
        bounded(&mut map, now, self.limit);
        let entry = map.entry(user.to_owned()).or_insert((generation, now));
        *entry = (entry.0.max(generation), now);
    }

    fn put_denied(&self, sid: IdHash, denied: bool, now: u64) {
        let mut map = self.denied.lock().unwrap_or_else(PoisonError::into_inner);
        bounded(&mut map, now, self.limit);
        // A denial is final: never replace it with an older "not denied".
        let entry = map.entry(sid).or_insert((denied, now));
        *entry = (entry.0 || denied, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use websession_core::store::MemoryRevocations;

    /// Generations only grow: an older answer never lowers one.
    #[test]
    fn an_older_answer_never_lowers_a_generation() {
        let cache = Cache::default();
        cache.put_generation("dave", 3, 0); // revoke_all_for's entry
        assert_eq!(cache.generation("dave", 100, 5), None, "not fresh");
        cache.put_generation("dave", 2, 100); // a late answer
        assert_eq!(cache.generation("dave", 100, 5), Some(3));
        cache.put_generation("dave", 4, 101);
        assert_eq!(cache.generation("dave", 101, 5), Some(4));
        assert_eq!(cache.generation("dave", 106, 5), None, "stale");
    }

    /// A store whose `check` reads the generation, then waits until the
    /// test lets it answer: a check in flight while `revoke_all_for` runs.
    struct Gated {
        inner: MemoryRevocations,
        open: tokio::sync::Semaphore,
        reading: AtomicBool,
    }

    #[async_trait::async_trait]
    impl RevocationStore for Gated {
        async fn check(
            &self,
            user: Option<&str>,
            id: &IdHash,
            now: u64,
        ) -> Result<Verdict, StoreError> {
            let verdict = self.inner.check(user, id, now).await;
            self.reading.store(true, Ordering::SeqCst);
            let _ = self.open.acquire().await;
            verdict
        }
        async fn generation(&self, user: &str) -> Result<u64, StoreError> {
            self.inner.generation(user).await
        }
        async fn bump_generation(&self, user: &str) -> Result<u64, StoreError> {
            self.inner.bump_generation(user).await
        }
        async fn deny(&self, id: &IdHash, until: u64) -> Result<(), StoreError> {
            self.inner.deny(id, until).await
        }
        async fn delete_expired_denials(&self, now: u64) -> Result<u64, StoreError> {
            self.inner.delete_expired_denials(now).await
        }
    }

    /// Issue 25 (suspected): the cache cleared at its size limit while a
    /// check that read the old generation was in flight must not let that
    /// answer bring a revoked cookie back on this process.
    #[tokio::test]
    async fn an_answer_in_flight_during_a_revocation_is_not_cached() {
        let gated = Arc::new(Gated {
            inner: MemoryRevocations::new(),
            open: tokio::sync::Semaphore::new(0),
            reading: AtomicBool::new(false),
        });
        let mut revocation = Revocation::new(gated.clone()).with_staleness(Duration::from_secs(5));
        revocation.cache = Arc::new(Cache {
            limit: 4,
            ..Cache::default()
        });
        let ids = CookieIds {
            sid: Some(SessionId::generate()),
            user: Some("dave".into()),
            generation: 0,
        };
        let now = 1_000;
        let check = tokio::spawn({
            let (revocation, ids) = (revocation.clone(), ids.clone());
            async move { revocation.check(&ids, now).await }
        });
        while !gated.reading.load(Ordering::SeqCst) {
            tokio::task::yield_now().await;
        }
        assert_eq!(revocation.revoke_all_for("dave").await.ok(), Some(1));
        // Other users fill the cache: past its limit it drops everything.
        for user in ["a", "b", "c", "d", "e"] {
            revocation.cache.put_generation(user, 0, now);
        }
        gated.open.add_permits(1);
        let late = check.await.expect("joined").expect("answered");
        assert_eq!(late.generation, Some(0), "it read before the revocation");
        let cached = revocation.cached(&ids, now);
        assert!(
            cached.is_none_or(|v| ids.refusal(v).is_some()),
            "the late answer was cached: {cached:?}"
        );
    }
}
