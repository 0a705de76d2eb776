//! Revocation for cookie sessions: per-user generations and a deny-list of
//! session ids, kept in a [`RevocationStore`].
//!
//! A cookie session can't be deleted: it lives in the browser. What can be
//! done is to refuse it. Two facts make that possible:
//!
//! - **a generation per user.** A cookie that records a login also records
//!   the user's generation at that time. "Log out everywhere" bumps the
//!   generation ([`RevocationStore::bump_generation`]); every cookie with an
//!   older one is refused from then on.
//! - **a deny-list of session ids.** Every cookie session carries a random
//!   id. "Log out this session" puts the id's hash on the list
//!   ([`RevocationStore::deny`]) until the time any copy of that cookie
//!   would have expired anyway, so the list holds only what could still be
//!   presented, and stays small.
//!
//! The store keeps no session data, only user ids, counters and
//! [`IdHash`]es (never a usable session id). Implementations: [`MemoryRevocations`]
//! here; SQLite, Redis and PostgreSQL in the store crates, on the store's
//! own connections. Each runs the suite in `conformance::run_revocations`
//! (feature `test-util`).

use std::collections::HashMap;
use std::sync::Mutex;

use super::{IdHash, StoreError};

/// What the revocation store says about one cookie, in one round trip.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verdict {
    /// The user's current generation (0 for a user never revoked), when a
    /// user was asked about.
    pub generation: Option<u64>,
    /// Whether the session id is on the deny-list at the time asked.
    pub denied: bool,
}

impl Verdict {
    /// A verdict: the user's generation (if asked) and the id's denial.
    ///
    /// ```
    /// use websession_core::store::Verdict;
    /// let v = Verdict::new(Some(3), false);
    /// assert_eq!((v.generation, v.denied), (Some(3), false));
    /// ```
    #[must_use]
    pub fn new(generation: Option<u64>, denied: bool) -> Self {
        Self { generation, denied }
    }
}

/// Where cookie sessions' revocations live: per-user generations and the
/// deny-list of session ids.
///
/// Every method is one round trip to the backend, and atomic. Times are
/// Unix seconds.
#[async_trait::async_trait]
pub trait RevocationStore: Send + Sync + 'static {
    /// The generation of `user` (if `Some`; 0 when it was never bumped) and
    /// whether `session` is denied at `now` (an entry whose `until` has
    /// passed no longer counts), in one round trip.
    ///
    /// # Errors
    ///
    /// [`StoreErrorKind::Unavailable`](super::StoreErrorKind::Unavailable)
    /// when the backend can't be reached, or another kind.
    async fn check(
        &self,
        user: Option<&str>,
        session: &IdHash,
        now: u64,
    ) -> Result<Verdict, StoreError>;

    /// The current generation of `user` (0 when it was never bumped), read
    /// from the backend (never from a cache): what a new login records.
    ///
    /// # Errors
    ///
    /// As [`RevocationStore::check`].
    async fn generation(&self, user: &str) -> Result<u64, StoreError>;

    /// Adds one to `user`'s generation and returns the new value: every
    /// cookie of `user` issued before is revoked.
    ///
    /// # Errors
    ///
    /// As [`RevocationStore::check`].
    async fn bump_generation(&self, user: &str) -> Result<u64, StoreError>;

    /// Puts `session` on the deny-list until `until` (later than any time
    /// a cookie with that id could still be accepted). Denying an id again
    /// keeps the later of the two times.
    ///
    /// # Errors
    ///
    /// As [`RevocationStore::check`].
    async fn deny(&self, session: &IdHash, until: u64) -> Result<(), StoreError>;

    /// Deletes the deny-list entries whose time has passed by `now`; returns
    /// how many. (Expired entries already don't count; this frees their
    /// space. websession's `Revocation` calls it every 256 denials a
    /// process makes.)
    ///
    /// # Errors
    ///
    /// As [`RevocationStore::check`].
    async fn delete_expired_denials(&self, now: u64) -> Result<u64, StoreError>;
}

#[async_trait::async_trait]
impl<T: RevocationStore + ?Sized> RevocationStore for std::sync::Arc<T> {
    async fn check(
        &self,
        user: Option<&str>,
        session: &IdHash,
        now: u64,
    ) -> Result<Verdict, StoreError> {
        (**self).check(user, session, now).await
    }
    async fn generation(&self, user: &str) -> Result<u64, StoreError> {
        (**self).generation(user).await
    }
    async fn bump_generation(&self, user: &str) -> Result<u64, StoreError> {
        (**self).bump_generation(user).await
    }
    async fn deny(&self, session: &IdHash, until: u64) -> Result<(), StoreError> {
        (**self).deny(session, until).await
    }
    async fn delete_expired_denials(&self, now: u64) -> Result<u64, StoreError> {
        (**self).delete_expired_denials(now).await
    }
}

/// Revocations in memory, for one process (tests, development, and apps
/// that run one process). Nothing survives a restart: after one, every
/// generation is 0 again and the deny-list is empty.
///
/// ```
/// use websession_core::store::{MemoryRevocations, RevocationStore, SessionId};
/// # fn main() -> Result<(), websession_core::store::StoreError> { block_on(async {
/// let revocations = MemoryRevocations::new();
/// let id = SessionId::generate().hash();
/// assert_eq!(revocations.bump_generation("alice").await?, 1);
/// revocations.deny(&id, 200).await?;
/// let verdict = revocations.check(Some("alice"), &id, 100).await?;
/// assert_eq!((verdict.generation, verdict.denied), (Some(1), true));
/// assert!(!revocations.check(None, &id, 200).await?.denied); // its time has passed
/// # Ok::<(), websession_core::store::StoreError>(()) }) }
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let waker = std::task::Waker::noop();
/// #     let mut cx = std::task::Context::from_waker(&waker);
/// #     let mut f = std::pin::pin!(f);
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// ```
#[derive(Default)]
pub struct MemoryRevocations {
    inner: Mutex<MemoryInner>,
}

#[derive(Default)]
struct MemoryInner {
    generations: HashMap<String, u64>,
    denied: HashMap<IdHash, u64>,
}

/// Shows the sizes, never the users or ids.
impl std::fmt::Debug for MemoryRevocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("MemoryRevocations")
            .field("users", &inner.generations.len())
            .field("denied", &inner.denied.len())
            .finish()
    }
}

impl MemoryRevocations {
    /// No revocations yet.
    ///
    /// ```
    /// let revocations = websession_core::store::MemoryRevocations::new();
    /// # let _ = revocations;
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl RevocationStore for MemoryRevocations {
    async fn check(
        &self,
        user: Option<&str>,
        session: &IdHash,
        now: u64,
    ) -> Result<Verdict, StoreError> {
        let inner = self.lock();
        Ok(Verdict {
            generation: user.map(|u| inner.generations.get(u).copied().unwrap_or(0)),
            denied: inner.denied.get(session).is_some_and(|&until| until > now),
        })
    }

    async fn generation(&self, user: &str) -> Result<u64, StoreError> {
        Ok(self.lock().generations.get(user).copied().unwrap_or(0))
    }

    async fn bump_generation(&self, user: &str) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let generation = inner.generations.entry(user.to_owned()).or_insert(0);
        *generation = generation.saturating_add(1);
        Ok(*generation)
    }

    async fn deny(&self, session: &IdHash, until: u64) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let entry = inner.denied.entry(*session).or_insert(until);
        *entry = (*entry).max(until);
        Ok(())
    }

    async fn delete_expired_denials(&self, now: u64) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let before = inner.denied.len();
        inner.denied.retain(|_, until| *until > now);
        Ok((before - inner.denied.len()) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_revocations_conform() {
        crate::store::conformance::run_revocations(MemoryRevocations::new()).await;
    }
}
