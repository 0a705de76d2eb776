//! An in-process store for tests, development and single-process apps.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{ChangeSet, ExpiredDeletion, IdHash, Record, SessionStore, StoreError, StoreErrorKind};

/// The map's hasher: foldhash (hashbrown's default), seeded per map. Its
/// keys are SHA-256 digests, and records are only filed under ids the
/// server made: a client can look up any digest but can't file records
/// that crowd one bucket, so SipHash's resistance to chosen keys buys
/// nothing here (`bench/instructions/run`'s `memory` case: 155 fewer
/// instructions per request with foldhash).
type Hasher = foldhash::fast::RandomState;

/// Sessions in a `HashMap` behind a mutex. Nothing survives a restart.
///
/// Every operation takes the lock once, so each is atomic.
///
/// # Examples
///
/// ```
/// use websession_core::store::{MemoryStore, Record, SessionId, SessionStore};
/// # tokio_test_block_on(async {
/// let store = MemoryStore::new();
/// let id = SessionId::generate();
/// store.create(&id.hash(), &Record::new(websession_core::Map::new(), 100, 200), 100).await?;
/// assert!(store.load(&id.hash(), 150).await?.is_some());
/// assert!(store.load(&id.hash(), 200).await?.is_none()); // expired
/// # Ok::<(), websession_core::store::StoreError>(()) });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let waker = std::task::Waker::noop();
/// #     let mut cx = std::task::Context::from_waker(&waker);
/// #     let mut f = std::pin::pin!(f);
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// ```
#[derive(Default)]
pub struct MemoryStore {
    records: Mutex<HashMap<IdHash, Record, Hasher>>,
}

/// Shows how many records it holds, never their data.
impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("records", &self.len())
            .finish()
    }
}

impl MemoryStore {
    /// An empty store.
    ///
    /// ```
    /// use websession_core::store::MemoryStore;
    /// let store = MemoryStore::new();
    /// assert!(store.is_empty());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<IdHash, Record, Hasher>> {
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Number of records, live or expired (for tests).
    ///
    /// ```
    /// use websession_core::store::MemoryStore;
    /// assert_eq!(MemoryStore::new().len(), 0);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.map().len()
    }

    /// Whether the store holds no record.
    ///
    /// ```
    /// use websession_core::store::MemoryStore;
    /// assert!(MemoryStore::new().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.map().is_empty()
    }
}

#[async_trait::async_trait]
impl SessionStore for MemoryStore {
    async fn load(&self, id: &IdHash, now: u64) -> Result<Option<Record>, StoreError> {
        Ok(self.map().get(id).filter(|r| r.expires_at > now).cloned())
    }

    async fn create(&self, id: &IdHash, record: &Record, now: u64) -> Result<(), StoreError> {
        let mut map = self.map();
        if map.get(id).is_some_and(|r| r.expires_at > now) {
            return Err(StoreError::from_kind(StoreErrorKind::Collision));
        }
        // Shared: a load hands out a count, not a copy of every key and
        // value (the first change of either copy copies it).
        let mut record = record.clone();
        record.data = record.data.shared();
        map.insert(*id, record);
        Ok(())
    }

    async fn update(&self, id: &IdHash, changes: &ChangeSet, now: u64) -> Result<(), StoreError> {
        let mut map = self.map();
        match map.get_mut(id).filter(|r| r.expires_at > now) {
            Some(record) => {
                record.apply(changes);
                Ok(())
            }
            None => Err(StoreError::from_kind(StoreErrorKind::NotFound)),
        }
    }

    async fn cycle_id(
        &self,
        old: &IdHash,
        new: &IdHash,
        changes: &ChangeSet,
        now: u64,
    ) -> Result<(), StoreError> {
        let mut map = self.map();
        if map.get(new).is_some_and(|r| r.expires_at > now) {
            return Err(StoreError::from_kind(StoreErrorKind::Collision));
        }
        match map.remove(old).filter(|r| r.expires_at > now) {
            Some(mut record) => {
                record.apply(changes);
                map.insert(*new, record);
                Ok(())
            }
            None => Err(StoreError::from_kind(StoreErrorKind::NotFound)),
        }
    }

    async fn delete(&self, id: &IdHash) -> Result<(), StoreError> {
        self.map().remove(id);
        Ok(())
    }

    async fn delete_all_for(&self, user: &str) -> Result<u64, StoreError> {
        let mut map = self.map();
        let before = map.len();
        map.retain(|_, r| r.user.as_deref() != Some(user));
        Ok((before - map.len()) as u64)
    }

    /// Scans every record: fine for the tests and single-process apps this
    /// store is for.
    async fn sessions_of(&self, user: &str, now: u64) -> Result<Vec<(IdHash, Record)>, StoreError> {
        Ok(self
            .map()
            .iter()
            .filter(|(_, r)| r.expires_at > now && r.user.as_deref() == Some(user))
            .map(|(id, r)| (*id, r.clone()))
            .collect())
    }

    /// One pass under the lock, so a concurrent `cycle_id` runs wholly
    /// before it (the session is deleted under its new id) or after it
    /// (the cycle finds its id gone). Scans every record, as `sessions_of`.
    async fn delete_others_of(
        &self,
        user: &str,
        keep: &IdHash,
        now: u64,
    ) -> Result<u64, StoreError> {
        let mut map = self.map();
        let before = map.len();
        map.retain(|id, r| id == keep || r.expires_at <= now || r.user.as_deref() != Some(user));
        Ok((before - map.len()) as u64)
    }
}

#[async_trait::async_trait]
impl ExpiredDeletion for MemoryStore {
    async fn delete_expired(&self, now: u64) -> Result<u64, StoreError> {
        let mut map = self.map();
        let before = map.len();
        map.retain(|_, r| r.expires_at > now);
        Ok((before - map.len()) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SessionId;
    use crate::Value;

    /// Records are shared with what `load` hands out: a change to a loaded
    /// copy (the request's own, until it is saved) copies the data and
    /// leaves the stored record as it was; an update leaves earlier loads
    /// as they were.
    #[tokio::test]
    async fn a_loaded_copy_and_the_stored_record_change_apart() {
        let store = MemoryStore::new();
        let id = SessionId::generate().hash();
        let data = crate::testing::map(&[("pet", Value::from("Rex"))]);
        store
            .create(&id, &Record::new(data.clone(), 1, 100), 1)
            .await
            .expect("create");
        let mut loaded = store.load(&id, 2).await.expect("load").expect("live");
        loaded.data.insert("pet", Value::from("Fido"));
        assert_eq!(loaded.data.remove("pet"), Some(Value::from("Fido")));
        let again = store.load(&id, 2).await.expect("load").expect("live");
        assert_eq!(again.data, data, "the store's record is unchanged");
        let changes = ChangeSet::touch(100).with_set("pet", Value::from("Bella"));
        store.update(&id, &changes, 3).await.expect("update");
        assert_eq!(again.data, data, "an earlier load is unchanged");
        let after = store.load(&id, 3).await.expect("load").expect("live");
        assert_eq!(
            after.data.get("pet").map(|v| v.to_value()),
            Some(Value::from("Bella"))
        );
    }

    #[test]
    fn debug_shows_no_session_data() {
        let mut data = crate::Map::new();
        data.insert("api_token".into(), Value::from("tok-SECRET-4711"));
        let record = Record::new(data.clone(), 1, 2).with_user(Some("alice@example.com".into()));
        let changes = ChangeSet::touch(3)
            .with_set("api_token", Value::from("tok-SECRET-4711"))
            .with_removed("other_secret_key")
            .with_user(Some("alice@example.com".into()));
        let store = MemoryStore::new();
        store
            .map()
            .insert(SessionId::generate().hash(), record.clone());
        for shown in [
            format!("{record:?}"),
            format!("{changes:?}"),
            format!("{store:?}"),
        ] {
            for secret in ["SECRET", "api_token", "alice", "other_secret_key"] {
                assert!(!shown.contains(secret), "{secret} in {shown}");
            }
        }
        assert!(format!("{store:?}").contains("records: 1"));
    }
}
