//! The per-request `Session` handle.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::de::DeserializeOwned;
use serde::Serialize;
use websession_core::store::{SessionId, StoreError, StoreErrorKind};
use websession_core::{Map, Value};

use crate::engine::Engine;
use crate::error::SessionError;

/// The key Flask stores `session.permanent` under.
pub const PERMANENT_KEY: &str = "_permanent";

/// The session of the current request: a map of string keys to values.
///
/// Extract it in a handler (axum: `session: Session`). It is cheap to clone;
/// clones share the same data. The cookie is decoded the first time the
/// session is extracted or used, never on requests that don't touch it.
///
/// The methods follow Flask's `session` object, and so do the rules for what
/// is sent back: nothing unless the session was changed (or is permanent and
/// refreshed each request), a deletion when it became empty, `Vary: Cookie`
/// whenever it was used, and nothing at all on a 5xx response.
///
/// # Examples
///
/// ```
/// use websession::Session;
///
/// fn visit(session: &Session) -> Result<u64, websession::SessionError> {
///     let visits = session.get::<u64>("visits")?.unwrap_or(0) + 1;
///     session.insert("visits", visits)?;
///     Ok(visits)
/// }
/// ```
#[derive(Clone)]
pub struct Session {
    shared: Arc<Shared>,
}

struct Shared {
    engine: Arc<Engine>,
    state: Mutex<State>,
    /// Store mode: the one load of this request. Every caller of
    /// [`Session::load`] (actix polls a handler's extractors together) waits
    /// for the same store read and sees its result.
    load: tokio::sync::OnceCell<Result<(), StoreErrorKind>>,
}

pub(crate) struct State {
    /// The incoming cookie value, until it is decoded.
    pub(crate) raw: Option<String>,
    /// `Some` once the session was used in this request.
    pub(crate) loaded: Option<Loaded>,
}

pub(crate) struct Loaded {
    pub(crate) data: Map,
    /// Flask's `modified`: a top-level change happened.
    pub(crate) modified: bool,
    /// The incoming cookie, when it decoded: an unchanged session is
    /// refreshed by re-signing its payload instead of encoding it again.
    pub(crate) origin: Option<crate::engine::Origin>,
    /// When the session was created (Unix seconds), if known.
    pub(crate) created_at: Option<u64>,
    /// `cycle_id` was called: write a fresh cookie even if nothing changed.
    pub(crate) cycled: bool,
    /// `purge` was called: destroy the stored record.
    pub(crate) purged: bool,
    /// Store mode: the id of the record `purge` destroyed, deleted at the
    /// end of the request whatever the handler writes afterwards (values
    /// inserted after a purge go to a new record under a new id).
    pub(crate) purged_id: Option<SessionId>,
    /// Store mode: keys written in this request (their values are in `data`).
    pub(crate) touched: BTreeSet<String>,
    /// Store mode: keys removed in this request.
    pub(crate) removed: BTreeSet<String>,
    /// Store mode: `clear` was called.
    pub(crate) cleared: bool,
    /// Store mode: `set_user` was called.
    pub(crate) user: Option<Option<String>>,
    /// Store mode: the live record's id and expiry.
    pub(crate) stored: Option<(SessionId, u64)>,
    /// Store mode: the store failed on load and the config fails open; never write.
    pub(crate) unavailable: bool,
}

impl Loaded {
    pub(crate) fn empty() -> Self {
        Self {
            data: Map::new(),
            modified: false,
            origin: None,
            created_at: None,
            cycled: false,
            purged: false,
            purged_id: None,
            touched: BTreeSet::new(),
            removed: BTreeSet::new(),
            cleared: false,
            user: None,
            stored: None,
            unavailable: false,
        }
    }

    fn set(&mut self, key: &str, value: Value) {
        self.removed.remove(key);
        self.touched.insert(key.to_owned());
        self.data.insert(key.to_owned(), value);
        self.modified = true;
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Session data can be secret (sealed and store modes): show its shape only.
        let state = self.lock();
        let mut d = f.debug_struct("Session");
        match &state.loaded {
            None => d.field("loaded", &false),
            Some(l) => d.field("len", &l.data.len()).field("modified", &l.modified),
        };
        d.finish_non_exhaustive()
    }
}

impl Session {
    pub(crate) fn new(engine: Arc<Engine>, raw: Option<String>) -> Self {
        Self {
            shared: Arc::new(Shared {
                engine,
                state: Mutex::new(State { raw, loaded: None }),
                load: tokio::sync::OnceCell::new(),
            }),
        }
    }

    pub(crate) fn engine(&self) -> &Arc<Engine> {
        &self.shared.engine
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic in another handler holding the lock leaves the map valid.
        self.shared
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` on the loaded data, decoding the cookie on first use.
    fn with<R>(&self, f: impl FnOnce(&mut Loaded) -> R) -> R {
        let mut state = self.lock();
        let state = &mut *state;
        let loaded = state.loaded.get_or_insert_with(|| {
            let raw = state.raw.take();
            self.shared.engine.load(raw)
        });
        f(loaded)
    }

    /// Loads the session now if that has not happened yet, and marks it used.
    ///
    /// Extractors call this; in store mode it is the only point that reads
    /// the store, so handlers never wait on I/O when they use the session.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store can't be reached (and the
    /// configuration fails closed, the default).
    ///
    /// Concurrent calls on clones of one session share a single store read:
    /// all of them wait for it and see the same data (or the same error).
    pub async fn load(&self) -> Result<(), SessionError> {
        if !self.shared.engine.is_store() {
            self.with(|_| ());
            return Ok(());
        }
        let outcome = self
            .shared
            .load
            .get_or_init(|| async {
                let raw = {
                    let state = self.lock();
                    if state.loaded.is_some() {
                        return Ok(());
                    }
                    // Cloned, not taken: if this future is dropped mid-read,
                    // the next caller reads the same cookie again.
                    state.raw.clone()
                };
                match self.shared.engine.load_store(raw).await {
                    Ok(loaded) => {
                        let mut state = self.lock();
                        state.raw = None;
                        if state.loaded.is_none() {
                            state.loaded = Some(loaded);
                        }
                        Ok(())
                    }
                    Err(SessionError::Store(e)) => Err(e.kind()),
                    Err(_) => Err(StoreErrorKind::Backend),
                }
            })
            .await;
        outcome.map_err(|kind| SessionError::Store(StoreError::from_kind(kind)))
    }

    /// The value under `key`, converted to `T`.
    ///
    /// # Errors
    ///
    /// [`SessionError::Value`] when the stored value does not fit `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionError> {
        self.with(|l| l.data.get(key).map(Value::deserialize_into).transpose())
            .map_err(SessionError::from)
    }

    /// The raw value under `key`, with every Python type Flask can store.
    #[must_use]
    pub fn get_value(&self, key: &str) -> Option<Value> {
        self.with(|l| l.data.get(key).cloned())
    }

    /// Stores `value` under `key`, replacing what was there.
    ///
    /// # Errors
    ///
    /// [`SessionError::Value`] when serde can't represent the value.
    pub fn insert<T: Serialize>(&self, key: &str, value: T) -> Result<(), SessionError> {
        let value = Value::from_serialize(&value)?;
        self.insert_value(key, value);
        Ok(())
    }

    /// Stores a raw value under `key`.
    pub fn insert_value(&self, key: &str, value: Value) {
        self.with(|l| l.set(key, value));
    }

    /// Removes `key`, returning its raw value if it was present.
    pub fn remove(&self, key: &str) -> Option<Value> {
        self.with(|l| {
            let old = l.data.remove(key);
            if old.is_some() {
                l.modified = true;
                l.touched.remove(key);
                l.removed.insert(key.to_owned());
            }
            old
        })
    }

    /// Whether `key` is present.
    #[must_use]
    pub fn contains(&self, key: &str) -> bool {
        self.with(|l| l.data.contains_key(key))
    }

    /// Every key, sorted. Includes Flask's `_permanent` when it was set.
    #[must_use]
    pub fn keys(&self) -> Vec<String> {
        self.with(|l| l.data.keys().cloned().collect())
    }

    /// Number of keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.with(|l| l.data.len())
    }

    /// Whether the session holds nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.with(|l| l.data.is_empty())
    }

    /// A copy of all the data.
    #[must_use]
    pub fn to_map(&self) -> Map {
        self.with(|l| l.data.clone())
    }

    /// Drops all the data (Flask's `session.clear()`). An emptied session's
    /// cookie is deleted at the end of the request.
    pub fn clear(&self) {
        self.with(|l| {
            l.data.clear();
            l.modified = true;
            l.cleared = true;
            l.touched.clear();
            l.removed.clear();
        });
    }

    /// Destroys the session: drops the data and deletes the cookie, with the
    /// same `Path`, `Domain` and `Secure` it was set with. Call it on logout.
    /// Values inserted afterwards in the same request start a new session
    /// (with a new creation time, no user, and in store mode a new id), so
    /// `purge()` then `insert("flash", ..)` is a safe logout.
    ///
    /// In store mode the record is deleted at the end of the request, so the
    /// old cookie is worthless from then on, and a concurrent request can't
    /// write it back.
    pub fn purge(&self) {
        self.with(|l| {
            l.data.clear();
            l.modified = true;
            l.cleared = true;
            l.purged = true;
            l.touched.clear();
            l.removed.clear();
            l.origin = None;
            l.created_at = None;
            l.cycled = false;
            l.user = None;
            if let Some((id, _)) = l.stored.take() {
                l.purged_id = Some(id);
            }
        });
    }

    /// Records which user this session belongs to (store mode), so
    /// `SessionStore::delete_all_for(user)` can log them out everywhere.
    /// Cookie modes ignore it.
    pub fn set_user(&self, user: Option<&str>) {
        self.with(|l| {
            l.user = Some(user.map(str::to_owned));
            l.modified = true;
        });
    }

    /// Issues a new cookie for the same data at the end of this request: a
    /// fresh issue time and, for sealed cookies, a fresh nonce (so the old
    /// cookie's bytes are never sent again). Call it after login, against
    /// session fixation.
    ///
    /// Cookie modes can't make the old cookie invalid before it expires:
    /// whoever copied it keeps a valid (older) session until then. Server-side
    /// stores can, and do.
    ///
    /// In store mode the record moves to a new random id atomically and the
    /// old id stops working at once.
    pub fn cycle_id(&self) {
        self.with(|l| l.cycled = true);
    }

    /// Makes the session permanent (`Expires` set to now plus the permanent
    /// lifetime, refreshed on use) or a browser-session cookie. Stored as
    /// Flask's `_permanent` key, so Flask agrees.
    pub fn set_permanent(&self, permanent: bool) {
        self.insert_value(PERMANENT_KEY, Value::Bool(permanent));
    }

    /// Whether the session is permanent (Flask: `session.get("_permanent", False)`).
    #[must_use]
    pub fn is_permanent(&self) -> bool {
        self.with(|l| is_permanent(&l.data))
    }
}

pub(crate) fn is_permanent(data: &Map) -> bool {
    data.get(PERMANENT_KEY).is_some_and(truthy)
}

/// Python truthiness, for a `_permanent` written by any client.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Int(i) => *i != 0,
        Value::Float(x) => *x != 0.0,
        Value::Str(s) | Value::Markup(s) => !s.is_empty(),
        Value::List(l) | Value::Tuple(l) => !l.is_empty(),
        Value::Dict(m) => !m.is_empty(),
        Value::Bytes(b) => !b.is_empty(),
        Value::Utf16(u) => !u.is_empty(),
        _ => true,
    }
}
