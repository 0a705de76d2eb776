//! The part every Python bridge shares: a [`SessionStore`] made of a
//! [`Backend`] (where the records are: a Redis key, a SQL row) and a
//! [`RecordFormat`] (what a record's bytes and its id look like: Flask-Session's
//! or Django's).
//!
//! The Python side writes whole records, so this store does too, with a
//! compare-and-set: an update reads the record, applies the change set,
//! and writes the result only if the record still holds the bytes it read
//! (otherwise it reads again). Two Rust requests that touch different keys
//! both keep their writes, as in websession's own stores; a Python write
//! in between wins over nothing it didn't see, and a Rust write never
//! overwrites a Python write it didn't read. A Python request that read
//! the record before a Rust write and saves after it still overwrites it
//! (the Python side has no compare-and-set): last write wins against
//! Python.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use websession_core::store::{ChangeSet, IdFormat, IdHash, Record, StoreError, StoreErrorKind};
use websession_core::{Map, Value};

/// How many times an update or a move reads again when the record changed
/// under it before giving up (a backend error, never a silent loss).
const CAS_ATTEMPTS: usize = 16;

/// How many passes a sweep (`delete_others_of`, `delete_all_for`) makes
/// while the user's sessions keep moving to new ids.
const SWEEP_PASSES: usize = 64;

/// The hidden key the creation time travels under (whole Unix seconds):
/// core's, which websession's Flask cookie format uses too. A record a
/// Python app made has none; its absolute timeout starts at its first Rust
/// write.
pub(crate) use websession_core::format::CREATED_KEY;

/// The key websession's `Session::log_in` keeps the user under: a
/// record's user for `Logins`.
pub(crate) const LOGIN_KEY: &str = "_ws_login";

/// The hidden key a record's user travels under when it isn't the one the
/// login key names (a store's user is its own field: `ChangeSet::with_user`
/// without `Session::log_in`'s key); read and removed like [`CREATED_KEY`].
/// Absent in the usual case, where `Session::log_in` wrote both.
pub(crate) const USER_KEY: &str = "_ws_user";

/// A stored record as the backend holds it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stored {
    /// The record's bytes, exactly as stored (compared on write).
    pub(crate) data: Vec<u8>,
    /// Its expiry, Unix seconds.
    pub(crate) expires_at: u64,
}

/// Where a bridge's records live: raw bytes under a text key, with an
/// expiry. Every method sees only live records (`expires_at > now`).
#[async_trait::async_trait]
pub(crate) trait Backend: Send + Sync + 'static {
    /// The live record under `key`.
    async fn get(&self, key: &str, now: u64) -> Result<Option<Stored>, StoreError>;
    /// Inserts a record; [`StoreErrorKind::Collision`] when a live one is there
    /// (an expired one is replaced).
    async fn insert(
        &self,
        key: &str,
        data: &[u8],
        expires_at: u64,
        now: u64,
    ) -> Result<(), StoreError>;
    /// Replaces the record's bytes and expiry if it is live and still holds
    /// `old`; `Ok(false)` otherwise.
    async fn replace(
        &self,
        key: &str,
        old: &[u8],
        new: &[u8],
        expires_at: u64,
        now: u64,
    ) -> Result<bool, StoreError>;
    /// In one atomic step: deletes `old_key` if it is live and still holds
    /// `old`, and inserts `new` under `new_key`; `Ok(false)` (and nothing
    /// done) when `old_key` changed or is gone; [`StoreErrorKind::Collision`]
    /// (and nothing done) when `new_key` holds a live record.
    #[allow(clippy::too_many_arguments)]
    async fn replace_moving(
        &self,
        old_key: &str,
        old: &[u8],
        new_key: &str,
        new: &[u8],
        expires_at: u64,
        now: u64,
    ) -> Result<bool, StoreError>;
    /// Deletes the record under `key`, if any.
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Deletes the record under `key` only if it still holds `data`.
    async fn delete_if(&self, key: &str, data: &[u8]) -> Result<bool, StoreError>;
    /// Every live record (for `Logins`: the Python formats keep no index of users).
    async fn scan(&self, now: u64) -> Result<Vec<(String, Stored)>, StoreError>;
    /// Deletes expired records; how many went. Backends that expire records
    /// themselves (Redis) return 0.
    async fn delete_expired(&self, now: u64) -> Result<u64, StoreError>;
}

/// What a bridge's records and ids look like.
pub(crate) trait RecordFormat: IdFormat {
    /// The backend key of a record.
    fn backend_key(&self, id: &IdHash) -> String;
    /// The id of a backend key (`None` for keys this format never makes).
    fn id_of_key(&self, key: &str) -> Option<IdHash>;
    /// A session's data as the Python side stores it.
    fn encode(&self, data: &Map, now: u64) -> Result<Vec<u8>, StoreError>;
    /// A stored record's data; [`StoreErrorKind::Corrupt`] for anything the
    /// Python side would not read back as a session (a pickle, a bad
    /// signature, malformed bytes, a record over the size limit).
    fn decode(&self, bytes: &[u8]) -> Result<Map, StoreError>;
    /// The expiry a record holding `data` (as stored, hidden keys included)
    /// gets when written at `now`: `default`, the engine's, unless the
    /// Python side's data names its own (Django's `_session_expiry`).
    fn expires_at(&self, _data: &Map, _now: u64, default: u64) -> u64 {
        default
    }
}

/// A [`SessionStore`](websession_core::store::SessionStore) over a backend
/// and a format. The product types (`FlaskSessionStore`, `DjangoStore`)
/// wrap it.
pub(crate) struct Bridge<F> {
    pub(crate) backend: Box<dyn Backend>,
    pub(crate) format: F,
    /// What this process last read or wrote under each key.
    pub(crate) seen: Seen,
    /// The product's name in logs ("flask-session", "django").
    pub(crate) name: &'static str,
}

impl<F: RecordFormat> Bridge<F> {
    /// Decodes a stored record into websession's form; a record the format
    /// refuses is `None` (with a security log line), never an error: the
    /// Python side may still read it (a pickle from Flask-Session 0.6), so
    /// it is neither deleted nor treated as an outage.
    fn open(&self, stored: &Stored, now: u64) -> Option<Record> {
        match self.format.decode(&stored.data) {
            Ok(data) => Some(to_record(data, stored.expires_at, now)),
            Err(e) => {
                self.refused(&e);
                None
            }
        }
    }

    /// The security log line of a record this side can't read.
    fn refused(&self, e: &StoreError) {
        tracing::warn!(
            target: "websession::security",
            store = self.name,
            error = %e,
            "unreadable session record; starting an empty session (the record is left for the Python side)"
        );
    }

    /// The record's bytes and expiry after `changes`, for a compare-and-set.
    fn changed(
        &self,
        stored: &Stored,
        changes: &ChangeSet,
        now: u64,
    ) -> Result<(Vec<u8>, u64), StoreError> {
        // A record that turned unreadable since the load (the Python app
        // rewrote it under a key this side doesn't have) is, for this side,
        // gone: the engine drops a write to a missing record (NotFound)
        // instead of answering 500, as a load gives an empty session.
        let data = self.format.decode(&stored.data).map_err(|e| {
            self.refused(&e);
            StoreError::from_kind(StoreErrorKind::NotFound)
        })?;
        let mut record = to_record(data, stored.expires_at, now);
        record.apply(changes);
        let data = from_record(&record);
        let expires_at = self.format.expires_at(&data, now, changes.expires_at);
        Ok((self.format.encode(&data, now)?, expires_at))
    }

    pub(crate) async fn load(&self, id: &IdHash, now: u64) -> Result<Option<Record>, StoreError> {
        let key = self.format.backend_key(id);
        match self.backend.get(&key, now).await {
            Ok(Some(stored)) => {
                let record = self.open(&stored, now);
                if record.is_some() {
                    self.seen.put(&key, stored);
                }
                Ok(record)
            }
            Ok(None) => {
                self.seen.forget(&key);
                Ok(None)
            }
            // A row the backend can't read (a SQL column of the wrong
            // type): as a record the format refuses, not an outage, and
            // not deleted (the engine deletes a `Corrupt` load).
            Err(e) if e.kind() == StoreErrorKind::Corrupt => {
                self.refused(&e);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    pub(crate) async fn create(
        &self,
        id: &IdHash,
        record: &Record,
        now: u64,
    ) -> Result<(), StoreError> {
        let data = from_record(record);
        let expires_at = self.format.expires_at(&data, now, record.expires_at);
        let bytes = self.format.encode(&data, now)?;
        let key = self.format.backend_key(id);
        self.backend.insert(&key, &bytes, expires_at, now).await?;
        self.seen.put(
            &key,
            Stored {
                data: bytes,
                expires_at,
            },
        );
        Ok(())
    }

    pub(crate) async fn update(
        &self,
        id: &IdHash,
        changes: &ChangeSet,
        now: u64,
    ) -> Result<(), StoreError> {
        let key = self.format.backend_key(id);
        let _turn = key_lock(&key).lock().await;
        // A touch the format's own expiry makes moot (a Django session
        // with a fixed `_session_expiry` date) writes nothing; it is
        // decided on what the backend holds, never on what was seen.
        let moot = !changes.changes_data() && changes.user.is_none();
        // The first try compare-and-sets against the bytes this process
        // last saw (the request's own load, as a rule): one round trip
        // instead of two. A stale guess fails the compare and costs the
        // read it meant to save.
        let mut guess = if moot { None } else { self.seen.get(&key, now) };
        for attempt in 0..CAS_ATTEMPTS {
            let stored = match guess.take() {
                Some(stored) => stored,
                None => {
                    backoff(attempt).await;
                    let Some(stored) = self.backend.get(&key, now).await? else {
                        self.seen.forget(&key);
                        return Err(StoreError::from_kind(StoreErrorKind::NotFound));
                    };
                    stored
                }
            };
            let (new, expires_at) = self.changed(&stored, changes, now)?;
            if moot && expires_at == stored.expires_at {
                return Ok(());
            }
            if self
                .backend
                .replace(&key, &stored.data, &new, expires_at, now)
                .await?
            {
                self.seen.put(
                    &key,
                    Stored {
                        data: new,
                        expires_at,
                    },
                );
                return Ok(());
            }
        }
        self.seen.forget(&key);
        Err(contended())
    }

    pub(crate) async fn cycle_id(
        &self,
        old: &IdHash,
        new: &IdHash,
        changes: &ChangeSet,
        now: u64,
    ) -> Result<(), StoreError> {
        let (old_key, new_key) = (self.format.backend_key(old), self.format.backend_key(new));
        let _turn = key_lock(&old_key).lock().await;
        for attempt in 0..CAS_ATTEMPTS {
            backoff(attempt).await;
            let Some(stored) = self.backend.get(&old_key, now).await? else {
                return Err(StoreError::from_kind(StoreErrorKind::NotFound));
            };
            if self.swept(&old_key, &stored, old, now).await? {
                return Err(StoreError::from_kind(StoreErrorKind::NotFound));
            }
            let (bytes, expires_at) = self.changed(&stored, changes, now)?;
            if self
                .backend
                .replace_moving(&old_key, &stored.data, &new_key, &bytes, expires_at, now)
                .await?
            {
                self.seen.forget(&old_key);
                self.seen.put(
                    &new_key,
                    Stored {
                        data: bytes,
                        expires_at,
                    },
                );
                return Ok(());
            }
        }
        Err(contended())
    }

    pub(crate) async fn delete(&self, id: &IdHash) -> Result<(), StoreError> {
        let key = self.format.backend_key(id);
        self.seen.forget(&key);
        self.backend.delete(&key).await
    }

    /// The live sessions of `user` (by websession's login key), with the
    /// bytes each was read as.
    async fn of_user(
        &self,
        user: &str,
        now: u64,
    ) -> Result<Vec<(IdHash, String, Stored, Record)>, StoreError> {
        let mut found = Vec::new();
        for (key, stored) in self.backend.scan(now).await? {
            let Some(id) = self.format.id_of_key(&key) else {
                continue;
            };
            // A record this side can't read belongs to no one it knows of.
            let Ok(data) = self.format.decode(&stored.data) else {
                continue;
            };
            let record = to_record(data, stored.expires_at, now);
            if record.user.as_deref() == Some(user) {
                found.push((id, key, stored, record));
            }
        }
        Ok(found)
    }

    pub(crate) async fn delete_all_for(&self, user: &str) -> Result<u64, StoreError> {
        // `delete_all_for` is given no time: the system clock's.
        self.sweep(user, None, websession_core::Clock::system().unix_seconds())
            .await
    }

    pub(crate) async fn sessions_of(
        &self,
        user: &str,
        now: u64,
    ) -> Result<Vec<(IdHash, Record)>, StoreError> {
        Ok(self
            .of_user(user, now)
            .await?
            .into_iter()
            .map(|(id, _, _, record)| (id, record))
            .collect())
    }

    pub(crate) async fn delete_others_of(
        &self,
        user: &str,
        keep: &IdHash,
        now: u64,
    ) -> Result<u64, StoreError> {
        self.sweep(user, Some(*keep), now).await
    }

    /// Deletes every session of `user` but `keep`. A session that moves to
    /// a new id while this runs is found again at the next pass (a move is
    /// a compare-and-set on the old record, so it can't outrun a delete
    /// of the record it read); the passes stop when one finds no session
    /// left. A pass reads every record, so a session moving faster than
    /// that could stay ahead: this process's moves (`cycle_id`) see the
    /// sweep and delete the session they were moving instead.
    async fn sweep(&self, user: &str, keep: Option<IdHash>, now: u64) -> Result<u64, StoreError> {
        let sweep = Sweep::start(self.identity(), user, keep);
        let mut deleted = 0;
        for _ in 0..SWEEP_PASSES {
            let others: Vec<_> = self
                .of_user(user, now)
                .await?
                .into_iter()
                .filter(|(id, ..)| Some(*id) != keep)
                .collect();
            if others.is_empty() {
                return Ok(deleted + sweep.0.moves_deleted.load(Ordering::SeqCst));
            }
            for (_, key, stored, _) in others {
                self.seen.forget(&key);
                if self.backend.delete_if(&key, &stored.data).await? {
                    deleted += 1;
                } else {
                    // Changed since the scan: delete it whatever it holds now.
                    self.backend.delete(&key).await?;
                }
            }
        }
        Err(contended())
    }

    pub(crate) async fn delete_expired(&self, now: u64) -> Result<u64, StoreError> {
        self.backend.delete_expired(now).await
    }

    /// This bridge, among the sweeps running in the process.
    fn identity(&self) -> usize {
        std::ptr::from_ref(self).addr()
    }

    /// When `delete_others_of` or `delete_all_for` is logging out the
    /// stored record's user and `id` is not a session it keeps, the record goes now, instead
    /// of moving (`cycle_id` then reports it gone): true if so. False too
    /// when the record changed since it was read (the move's
    /// compare-and-set then fails, and it reads again).
    async fn swept(
        &self,
        key: &str,
        stored: &Stored,
        id: &IdHash,
        now: u64,
    ) -> Result<bool, StoreError> {
        let sweeps = match SWEEPS.lock() {
            Ok(sweeps) if sweeps.is_empty() => return Ok(false),
            Ok(sweeps) => sweeps.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let Ok(data) = self.format.decode(&stored.data) else {
            return Ok(false);
        };
        let Some(user) = to_record(data, stored.expires_at, now).user else {
            return Ok(false);
        };
        let me = self.identity();
        let Some(sweep) = sweeps
            .iter()
            .find(|s| s.bridge == me && s.user == user && s.keep != Some(*id))
        else {
            return Ok(false);
        };
        // Counted before the delete, so a sweep that no longer finds the
        // session has its count (uncounted if it wasn't this delete's).
        sweep.moves_deleted.fetch_add(1, Ordering::SeqCst);
        match self.backend.delete_if(key, &stored.data).await {
            Ok(true) => Ok(true),
            Ok(false) => {
                sweep.moves_deleted.fetch_sub(1, Ordering::SeqCst);
                // Changed since it was read: the move reads it again.
                Ok(false)
            }
            Err(e) => {
                sweep.moves_deleted.fetch_sub(1, Ordering::SeqCst);
                Err(e)
            }
        }
    }
}

/// A `delete_others_of` or `delete_all_for` running in this process.
struct SweepEntry {
    /// The bridge it runs on ([`Bridge::identity`]).
    bridge: usize,
    user: String,
    /// The session it keeps (`None`: `delete_all_for`).
    keep: Option<IdHash>,
    /// Sessions a `cycle_id` deleted for it.
    moves_deleted: AtomicU64,
}

/// The sweeps running in this process, for `cycle_id` to see.
static SWEEPS: std::sync::Mutex<Vec<Arc<SweepEntry>>> = std::sync::Mutex::new(Vec::new());

/// A sweep's place in [`SWEEPS`], given back on drop (also when the sweep
/// fails or its future is dropped).
struct Sweep(Arc<SweepEntry>);

impl Sweep {
    fn start(bridge: usize, user: &str, keep: Option<IdHash>) -> Self {
        let entry = Arc::new(SweepEntry {
            bridge,
            user: user.to_owned(),
            keep,
            moves_deleted: AtomicU64::new(0),
        });
        SWEEPS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(entry.clone());
        Self(entry)
    }
}

impl Drop for Sweep {
    fn drop(&mut self) {
        SWEEPS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|s| !Arc::ptr_eq(s, &self.0));
    }
}

/// A decoded Python record in websession's form: the creation time comes
/// out of the data, the user is websession's login key.
fn to_record(mut data: Map, expires_at: u64, now: u64) -> Record {
    let created_at = match data.remove(CREATED_KEY) {
        Some(Value::Int(t)) => u64::try_from(t).unwrap_or(now),
        _ => now,
    };
    let user = match data.remove(USER_KEY) {
        Some(Value::Str(user)) => Some(user),
        _ => match data.get(LOGIN_KEY) {
            Some(Value::Str(user)) => Some(user.clone()),
            _ => None,
        },
    };
    Record::new(data, created_at, expires_at).with_user(user)
}

/// The data a record is stored as: its keys, the creation time, and the
/// user when the login key doesn't already say it.
fn from_record(record: &Record) -> Map {
    let mut data = record.data.to_map();
    data.insert(
        CREATED_KEY.to_owned(),
        Value::Int(i64::try_from(record.created_at).unwrap_or(i64::MAX)),
    );
    let login = match data.get(LOGIN_KEY) {
        Some(Value::Str(user)) => Some(user.as_str()),
        _ => None,
    };
    if let Some(user) = record.user.as_deref().filter(|user| Some(*user) != login) {
        data.insert(USER_KEY.to_owned(), Value::Str(user.to_owned()));
    }
    data
}

/// How many locks [`key_lock`] spreads keys over.
const KEY_LOCKS: usize = 64;

/// One lock per stripe of keys, for [`key_lock`].
static LOCKS: [tokio::sync::Mutex<()>; KEY_LOCKS] =
    [const { tokio::sync::Mutex::const_new(()) }; KEY_LOCKS];

/// The lock this process's compare-and-sets on `key` take turns under
/// (held from the read to the write). Without it, concurrent updates of
/// one record in one process mostly fail their compare-and-set (on a
/// pooled SQL backend the read and the write queue for connections apart)
/// and run out of attempts; with it, only writers in other processes (the
/// Python app, other Rust instances) make a compare-and-set retry. Keys
/// of all bridges share the stripes: two keys in one stripe only wait for
/// each other.
fn key_lock(key: &str) -> &'static tokio::sync::Mutex<()> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    let stripe = usize::try_from(hasher.finish() % KEY_LOCKS as u64).unwrap_or(0);
    &LOCKS[stripe]
}

/// Before a compare-and-set's retry (`attempt` > 0): a random pause of up
/// to 2^attempt × 100 µs (at most 25 ms), so writers that collided don't
/// collide again in lockstep (50 concurrent updates of one record on a
/// pooled SQL backend ran out of attempts without it).
async fn backoff(attempt: usize) {
    if attempt == 0 {
        return;
    }
    let mut random = [0_u8; 2];
    if getrandom::fill(&mut random).is_err() {
        tokio::task::yield_now().await;
        return;
    }
    let ceiling = (100_u64 << attempt.min(8)).min(25_000);
    let micros = u64::from(u16::from_le_bytes(random)) % ceiling;
    tokio::time::sleep(std::time::Duration::from_micros(micros)).await;
}

/// How many keys [`Seen`] remembers before it starts over.
const SEEN_KEYS: usize = 4096;

/// The largest record [`Seen`] keeps (a bigger one is read again).
const SEEN_RECORD_BYTES: usize = 16 * 1024;

/// The bytes this process last read or wrote under each key (at most
/// [`SEEN_KEYS`] records of at most [`SEEN_RECORD_BYTES`], 64 MiB in all),
/// so an update can compare-and-set against them without reading first.
/// Only a guess: the backend's compare decides.
#[derive(Default)]
pub(crate) struct Seen(std::sync::Mutex<std::collections::HashMap<String, Stored>>);

impl Seen {
    fn map(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Stored>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The bytes last seen under `key`, if they were live at `now`.
    fn get(&self, key: &str, now: u64) -> Option<Stored> {
        self.map().get(key).filter(|s| s.expires_at > now).cloned()
    }

    fn put(&self, key: &str, stored: Stored) {
        let mut map = self.map();
        if stored.data.len() > SEEN_RECORD_BYTES {
            map.remove(key);
            return;
        }
        if map.len() >= SEEN_KEYS && !map.contains_key(key) {
            map.clear();
        }
        map.insert(key.to_owned(), stored);
    }

    fn forget(&self, key: &str) {
        self.map().remove(key);
    }
}

/// The error when other writers kept changing a record.
fn contended() -> StoreError {
    StoreError::new(
        StoreErrorKind::Backend,
        "the record kept changing under a compare-and-set; try again",
    )
}

/// Implements `SessionStore` (and `ExpiredDeletion` where `$sweeps`) for a
/// product type holding a `Bridge` in field `0`.
macro_rules! bridge_store {
    ($ty:ty) => {
        #[async_trait::async_trait]
        impl websession_core::store::SessionStore for $ty {
            fn id_format(&self) -> &dyn websession_core::store::IdFormat {
                &self.0.format
            }
            async fn load(
                &self,
                id: &websession_core::store::IdHash,
                now: u64,
            ) -> Result<Option<websession_core::store::Record>, websession_core::store::StoreError>
            {
                self.0.load(id, now).await
            }
            async fn create(
                &self,
                id: &websession_core::store::IdHash,
                record: &websession_core::store::Record,
                now: u64,
            ) -> Result<(), websession_core::store::StoreError> {
                self.0.create(id, record, now).await
            }
            async fn update(
                &self,
                id: &websession_core::store::IdHash,
                changes: &websession_core::store::ChangeSet,
                now: u64,
            ) -> Result<(), websession_core::store::StoreError> {
                self.0.update(id, changes, now).await
            }
            async fn cycle_id(
                &self,
                old: &websession_core::store::IdHash,
                new: &websession_core::store::IdHash,
                changes: &websession_core::store::ChangeSet,
                now: u64,
            ) -> Result<(), websession_core::store::StoreError> {
                self.0.cycle_id(old, new, changes, now).await
            }
            async fn delete(
                &self,
                id: &websession_core::store::IdHash,
            ) -> Result<(), websession_core::store::StoreError> {
                self.0.delete(id).await
            }
            async fn delete_all_for(
                &self,
                user: &str,
            ) -> Result<u64, websession_core::store::StoreError> {
                self.0.delete_all_for(user).await
            }
            async fn sessions_of(
                &self,
                user: &str,
                now: u64,
            ) -> Result<
                Vec<(
                    websession_core::store::IdHash,
                    websession_core::store::Record,
                )>,
                websession_core::store::StoreError,
            > {
                self.0.sessions_of(user, now).await
            }
            async fn delete_others_of(
                &self,
                user: &str,
                keep: &websession_core::store::IdHash,
                now: u64,
            ) -> Result<u64, websession_core::store::StoreError> {
                self.0.delete_others_of(user, keep, now).await
            }
        }

        #[async_trait::async_trait]
        impl websession_core::store::ExpiredDeletion for $ty {
            async fn delete_expired(
                &self,
                now: u64,
            ) -> Result<u64, websession_core::store::StoreError> {
                self.0.delete_expired(now).await
            }
        }
    };
}
pub(crate) use bridge_store;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_creation_time_travels_as_a_hidden_key() {
        let mut data = Map::new();
        data.insert("a".into(), Value::Int(1));
        data.insert(LOGIN_KEY.into(), Value::Str("ada".into()));
        let record = Record::new(data, 100, 200);
        let stored = from_record(&record);
        assert_eq!(stored.get(CREATED_KEY), Some(&Value::Int(100)));
        let back = to_record(stored, 200, 150);
        assert_eq!(back, record.with_user(Some("ada".into())));
    }

    #[test]
    fn a_python_record_is_created_when_first_read() {
        let back = to_record(Map::new(), 200, 150);
        assert_eq!((back.created_at, back.user), (150, None));
        let mut odd = Map::new();
        odd.insert(CREATED_KEY.into(), Value::Int(-5));
        assert_eq!(to_record(odd, 200, 150).created_at, 150);
    }
}
