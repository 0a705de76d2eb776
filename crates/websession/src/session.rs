//! The per-request [`Session`] handle, and the [`PendingSession`] that the
//! middleware puts in the request before it is loaded.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::de::DeserializeOwned;
use serde::Serialize;
use websession_core::json::ValueRef;
use websession_core::store::{SessionId, StoreError, StoreErrorKind};
use websession_core::{Map, Value};

use crate::error::SessionError;
use crate::raw::RawCookie;
use crate::state::{
    is_permanent, Opened, Opener, SessionState, UserChange, LIFETIME_KEY, LOGIN_KEY, PERMANENT_KEY,
};

/// The session of the current request: a map of string keys to values.
///
/// Extract it in a handler (axum: `session: Session`). It is cheap to clone;
/// clones share the same data. The cookie is decoded the first time the
/// session is extracted or used, never on requests that don't touch it.
///
/// The methods follow Flask's `session` object, and so do the rules for what
/// is sent back: nothing unless the session was changed (or is permanent and
/// due for a refresh, see [`crate::Refresh`]), a deletion when it became empty, `Vary: Cookie`
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

/// The request's session before it is loaded: what the middleware puts in
/// the request's extensions. [`PendingSession::load`] gives the [`Session`].
///
/// Extractors (axum's and actix-web's `Session`) load it for you; reach for
/// this type only in middleware, guards or handlers that take the request's
/// extensions directly. A [`Session`] can't exist before its load, so a
/// store-mode session can never be used unloaded (and silently not saved).
///
/// # Examples
///
/// ```
/// use websession::{PendingSession, Session, SessionError};
///
/// async fn user_of(pending: &PendingSession) -> Result<Option<String>, SessionError> {
///     let session: Session = pending.load().await?;
///     session.get("user")
/// }
/// ```
#[derive(Clone)]
pub struct PendingSession {
    shared: Arc<Shared>,
}

struct Shared {
    opener: Arc<dyn Opener>,
    inner: Mutex<Inner>,
    /// Store mode: the one load of this request. Every caller of
    /// [`PendingSession::load`] (actix polls a handler's extractors together)
    /// waits for the same store read and sees its result.
    load: tokio::sync::OnceCell<Result<(), StoreErrorKind>>,
}

struct Inner {
    /// The incoming cookie value, until the session is loaded (shared, so a
    /// store read that is given up on leaves it for the next one).
    raw: Option<RawCookie>,
    /// `Some` once the session was loaded in this request.
    state: Option<SessionState>,
    /// The state was handed to the engine at the end of the request.
    finished: bool,
    /// The flashed messages this request took from the session (Flask's
    /// `request_ctx.flashes`): every later take in the request sees them.
    flashes: Option<Vec<Value>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic in another handler holding the lock leaves the state valid.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl fmt::Debug for PendingSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let loaded = self.shared.lock().state.is_some();
        f.debug_struct("PendingSession")
            .field("loaded", &loaded)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Session data can be secret (sealed and store modes): show its shape only.
        let inner = self.shared.lock();
        let mut d = f.debug_struct("Session");
        if let Some(state) = &inner.state {
            d.field("len", &state.data.len())
                .field("modified", &state.modified);
        }
        d.finish_non_exhaustive()
    }
}

impl PendingSession {
    pub(crate) fn new(opener: Arc<dyn Opener>, raw: Option<RawCookie>) -> Self {
        Self {
            shared: Arc::new(Shared {
                opener,
                inner: Mutex::new(Inner {
                    raw,
                    state: None,
                    finished: false,
                    flashes: None,
                }),
                load: tokio::sync::OnceCell::new(),
            }),
        }
    }

    /// Loads the session if that has not happened yet, and gives it.
    ///
    /// Cookie modes open the cookie at once; store mode reads the store here
    /// and nowhere else, so handlers never wait on I/O when they use the
    /// session. Concurrent calls share a single read: all of them wait for it
    /// and see the same data (or the same error).
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store can't be reached (and the
    /// configuration fails closed, the default).
    pub async fn load(&self) -> Result<Session, SessionError> {
        let session = Session {
            shared: self.shared.clone(),
        };
        let read = {
            let mut inner = self.shared.lock();
            if inner.state.is_some() {
                return Ok(session);
            }
            let raw = inner.raw.clone();
            match self.shared.opener.open(raw, &mut inner.state) {
                Opened::Ready => {
                    inner.raw = None;
                    return Ok(session);
                }
                Opened::Pending(read) => read,
            }
        };
        // The cookie stays until the state is in: a concurrent caller's own
        // read is dropped unpolled while it waits for this one, and if this
        // one is given up on (a guard's timeout), the next caller reads the
        // same cookie again.
        let outcome = self
            .shared
            .load
            .get_or_init(|| async {
                match read.await {
                    Ok(state) => {
                        let mut inner = self.shared.lock();
                        inner.raw = None;
                        inner.state.get_or_insert(state);
                        Ok(())
                    }
                    Err(SessionError::Store(e)) => Err(e.kind()),
                    Err(_) => Err(StoreErrorKind::Backend),
                }
            })
            .await;
        match outcome {
            Ok(()) => Ok(session),
            Err(kind) => Err(SessionError::Store(StoreError::from_kind(*kind))),
        }
    }

    /// Whether the session travels in a cookie (see [`Opener::cookie_transport`]).
    pub(crate) fn cookie_transport(&self) -> bool {
        self.shared.opener.cookie_transport()
    }

    /// The session, if a handler loaded it in this request.
    pub(crate) fn loaded(&self) -> Option<Session> {
        let loaded = self.shared.lock().state.is_some();
        loaded.then(|| Session {
            shared: self.shared.clone(),
        })
    }

    /// Runs the engine's end of the request on the session's state (`None`
    /// if no handler loaded it), in place, then drops it. Later use of the
    /// session saves nothing.
    pub(crate) fn finish_with<R>(&self, f: impl FnOnce(&mut Option<SessionState>) -> R) -> R {
        /// Drops the state however `f` ends (a panic in a save included),
        /// so a clone kept past the response never sees it.
        struct Finished<'a>(MutexGuard<'a, Inner>);
        impl Drop for Finished<'_> {
            fn drop(&mut self) {
                self.0.state = None;
            }
        }
        let mut inner = Finished(self.shared.lock());
        inner.0.finished = true;
        f(&mut inner.0.state)
    }
}

impl Session {
    /// When the session was opened (Unix seconds): the request's time.
    pub(crate) fn opened_at(&self) -> u64 {
        self.with(|s| s.opened_at)
    }

    /// The revocation these sessions are configured with, if any.
    pub(crate) fn revocation(&self) -> Option<crate::Revocation> {
        self.shared.opener.revocation().cloned()
    }

    /// Whether the session travels in a cookie (see [`Opener::cookie_transport`]).
    pub(crate) fn cookie_transport(&self) -> bool {
        self.shared.opener.cookie_transport()
    }

    /// `set_user(Some(user))`, when the request already knows `user`'s
    /// revocation generation: the save records it without asking again.
    pub(crate) fn log_in_at(&self, user: &str, generation: Option<u64>) {
        self.with(|s| {
            s.user = UserChange::Set(Some(user.to_owned()));
            s.login_generation = generation;
            s.modified = true;
        });
    }

    /// The user logged in during this request, if the save will record a
    /// login (a new user, or a generation the request learnt: see the
    /// engine's `revocation_work`), and that generation if known.
    pub(crate) fn login_in_request(&self) -> Option<(String, Option<u64>)> {
        self.with(|s| match &s.user {
            UserChange::Set(Some(user))
                if s.login_generation.is_some() || s.ids.user.as_deref() != Some(user) =>
            {
                Some((user.clone(), s.login_generation))
            }
            _ => None,
        })
    }

    /// The user and generation the session's cookie recorded at login, and
    /// its id (cookie modes with revocation).
    ///
    /// `None` once the request changed the session's user (a login as
    /// someone else, or a logout): that is what the save records.
    pub(crate) fn recorded_login(&self) -> Option<(String, u64, SessionId)> {
        self.with(|s| {
            let user = s.ids.user.clone()?;
            match &s.user {
                UserChange::Keep => {}
                // A login of the same user made in this request (a restore
                // that learnt its generation) is a login, not the record.
                UserChange::Set(Some(u)) if *u == user && s.login_generation.is_none() => {}
                UserChange::Set(_) => return None,
            }
            let sid = s.ids.sid.clone()?;
            Some((user, s.ids.generation, sid))
        })
    }

    /// Keeps the recorded login at `generation`, with a new id (what
    /// `Revocation::revoke_others` does for its caller). The user stays
    /// as recorded, so a later `clear`, `purge` or `set_user` in the
    /// request overrides it as usual.
    pub(crate) fn relogin_at(&self, generation: u64) {
        self.with(|s| {
            s.ids.generation = generation;
            s.cycled = true;
            s.modified = true;
        });
    }

    /// The generation the session's cookie recorded for `user` at login
    /// (cookie modes with revocation), if it records that user.
    pub(crate) fn recorded_generation(&self, user: &str) -> Option<u64> {
        self.with(|s| (s.ids.user.as_deref() == Some(user)).then_some(s.ids.generation))
    }

    /// Notes `user`'s generation for a login made in this request (the
    /// remember cookie was just issued with it), so the session records
    /// the same one.
    pub(crate) fn note_login_generation(&self, user: &str, generation: u64) {
        self.with(|s| {
            if matches!(&s.user, UserChange::Set(Some(u)) if u == user) {
                s.login_generation = Some(generation);
            }
        });
    }

    /// Flask's `get_flashed_messages` storage: the first call in a request
    /// removes `key` from the session and keeps its list for the rest of the
    /// request; every call gives that list.
    pub(crate) fn take_cached_list(&self, key: &str) -> Vec<Value> {
        if let Some(cached) = &self.shared.lock().flashes {
            return cached.clone();
        }
        let list = match self.remove_value(key) {
            Some(Value::List(items) | Value::Tuple(items)) => items,
            _ => Vec::new(),
        };
        self.shared.lock().flashes = Some(list.clone());
        list
    }

    /// The list `take_cached_list` took in this request, if it ran.
    pub(crate) fn cached_list(&self) -> Option<Vec<Value>> {
        self.shared.lock().flashes.clone()
    }

    /// Runs `f` on the session's state.
    fn with<R>(&self, f: impl FnOnce(&mut SessionState) -> R) -> R {
        let mut inner = self.shared.lock();
        let inner = &mut *inner;
        let state = inner.state.get_or_insert_with(|| {
            // Only possible after the response went out: a clone kept by a
            // spawned task. Nothing it does can be saved any more.
            if inner.finished {
                tracing::warn!(
                    "a Session was used after its response was sent; the change is not saved"
                );
            }
            let mut state = SessionState::empty();
            state.unsaved = true;
            state
        });
        f(state)
    }

    /// The value under `key`, converted to `T`.
    ///
    /// # Errors
    ///
    /// [`SessionError::Value`] when the stored value does not fit `T`.
    ///
    /// ```
    /// # fn f(session: &websession::Session) -> Result<(), websession::SessionError> {
    /// let user: Option<String> = session.get("user")?;
    /// let visits: u64 = session.get("visits")?.unwrap_or(0);
    /// # let _ = (user, visits);
    /// # Ok(()) }
    /// ```
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionError> {
        self.with(|s| s.data.get(key).map(ValueRef::deserialize_into).transpose())
            .map_err(SessionError::from)
    }

    /// The raw value under `key`, with every Python type Flask can store.
    ///
    /// ```
    /// use websession::Value;
    /// # fn f(session: &websession::Session) {
    /// // Every Python type Flask stores, e.g. a tuple or bytes:
    /// if let Some(Value::Tuple(items)) = session.get_value("pair") {
    ///     println!("{} items", items.len());
    /// }
    /// # }
    /// ```
    #[must_use]
    pub fn get_value(&self, key: &str) -> Option<Value> {
        self.with(|s| s.data.get(key).map(ValueRef::to_value))
    }

    /// Stores `value` under `key`, replacing what was there.
    ///
    /// # Errors
    ///
    /// [`SessionError::Value`] when serde can't represent the value.
    ///
    /// ```
    /// # fn f(session: &websession::Session) -> Result<(), websession::SessionError> {
    /// session.insert("user", "alice")?;
    /// session.insert("cart", vec!["tea", "scones"])?;
    /// # Ok(()) }
    /// ```
    pub fn insert<T: Serialize>(&self, key: &str, value: T) -> Result<(), SessionError> {
        let value = Value::from_serialize(&value)?;
        self.insert_value(key, value);
        Ok(())
    }

    /// Stores a raw value under `key`.
    ///
    /// ```
    /// use websession::Value;
    /// # fn f(session: &websession::Session) {
    /// // A Python tuple, as Flask tags it (`{" t": [...]}`):
    /// session.insert_value("pair", Value::Tuple(vec![Value::Int(1), Value::Int(2)]));
    /// # }
    /// ```
    pub fn insert_value(&self, key: &str, value: Value) {
        self.with(|s| s.set(key, value));
    }

    /// Removes `key`, returning its value converted to `T` if it was present.
    /// The key is removed even when the value doesn't fit `T`.
    ///
    /// ```
    /// # fn f(session: &websession::Session) -> Result<(), websession::SessionError> {
    /// // A one-time message: read and gone.
    /// let notice: Option<String> = session.remove("notice")?;
    /// # let _ = notice; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SessionError::Value`] when the removed value does not fit `T`.
    pub fn remove<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionError> {
        self.remove_value(key)
            .map(|v| v.deserialize_into())
            .transpose()
            .map_err(SessionError::from)
    }

    /// Removes `key`, returning its raw value if it was present.
    ///
    /// ```
    /// # fn f(session: &websession::Session) {
    /// let raw = session.remove_value("legacy"); // whatever Flask put there
    /// # let _ = raw; }
    /// ```
    pub fn remove_value(&self, key: &str) -> Option<Value> {
        self.with(|s| s.remove(key))
    }

    /// The value under `key`, or `default()` stored there first when the key
    /// is absent.
    ///
    /// ```
    /// # fn f(session: &websession::Session) -> Result<(), websession::SessionError> {
    /// let cart: Vec<String> = session.get_or_insert_with("cart", Vec::new)?;
    /// # let _ = cart; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SessionError::Value`] when the stored value does not fit `T`, or
    /// serde can't represent `default()`'s value.
    pub fn get_or_insert_with<T: Serialize + DeserializeOwned>(
        &self,
        key: &str,
        default: impl FnOnce() -> T,
    ) -> Result<T, SessionError> {
        if let Some(value) = self.get(key)? {
            return Ok(value);
        }
        let value = default();
        self.insert(key, &value)?;
        Ok(value)
    }

    /// Replaces the value under `key` with `f(current)` and returns the new
    /// value, in one step (`current` is `None` when the key is absent).
    ///
    /// ```
    /// # fn f(session: &websession::Session) -> Result<(), websession::SessionError> {
    /// let visits = session.update("visits", |n: Option<u64>| n.unwrap_or(0) + 1)?;
    /// # let _ = visits; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SessionError::Value`] when the stored value does not fit `T` (then
    /// nothing changes), or serde can't represent the new value.
    pub fn update<T: Serialize + DeserializeOwned>(
        &self,
        key: &str,
        f: impl FnOnce(Option<T>) -> T,
    ) -> Result<T, SessionError> {
        let value = f(self.get(key)?);
        self.insert(key, &value)?;
        Ok(value)
    }

    /// The id of the store record this session was loaded from (store mode),
    /// for an app's own bookkeeping ("where you're logged in"). `None` in
    /// cookie modes (except for a session that has overflowed to a store:
    /// see [`Overflow`](crate::Overflow)) and for a session that has no record yet (its id is made
    /// when it is first saved); after [`cycle_id`](Self::cycle_id) it stays
    /// the old id until the end of the request. Its `Debug` shows only a
    /// prefix, so logging it doesn't leak a usable id.
    ///
    /// ```
    /// # fn f(session: &websession::Session) {
    /// if let Some(id) = session.id() {
    ///     tracing::info!(session = ?id, "loaded"); // Debug shows a prefix only
    /// }
    /// # }
    /// ```
    #[must_use]
    pub fn id(&self) -> Option<websession_core::store::SessionId> {
        self.with(|s| s.record().map(|r| r.id.clone()))
    }

    /// Whether `key` is present.
    ///
    /// ```
    /// # fn f(session: &websession::Session) -> bool {
    /// session.contains("user")
    /// # }
    /// ```
    #[must_use]
    pub fn contains(&self, key: &str) -> bool {
        self.with(|s| s.data.contains_key(key))
    }

    /// Every key, sorted. Includes Flask's `_permanent` when it was set.
    ///
    /// ```
    /// # fn f(session: &websession::Session) {
    /// for key in session.keys() {
    ///     println!("{key}");
    /// }
    /// # }
    /// ```
    #[must_use]
    pub fn keys(&self) -> Vec<String> {
        self.with(|s| s.data.keys().map(str::to_owned).collect())
    }

    /// Number of keys.
    ///
    /// ```
    /// # fn f(session: &websession::Session) {
    /// println!("{} keys", session.len());
    /// # }
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.with(|s| s.data.len())
    }

    /// Whether the session holds nothing.
    ///
    /// ```
    /// # fn f(session: &websession::Session) -> bool {
    /// session.is_empty() // no cookie is sent for an empty new session
    /// # }
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.with(|s| s.data.is_empty())
    }

    /// A copy of all the data.
    ///
    /// ```
    /// # fn f(session: &websession::Session) {
    /// let copy: websession::Map = session.to_map();
    /// # let _ = copy; }
    /// ```
    #[must_use]
    pub fn to_map(&self) -> Map {
        self.with(|s| s.data.to_map())
    }

    /// Whether nothing this request does to the session will be saved: the
    /// store was unreachable when it loaded and the sessions fail open
    /// ([`StoreSessions::with_fail_open`](crate::StoreSessions::with_fail_open)), so
    /// the session started empty; or the handle outlived its response. A
    /// handler can then say so ("we can't sign you in right now") instead
    /// of losing a login silently.
    ///
    /// ```
    /// # fn f(session: &websession::Session) -> &'static str {
    /// if session.is_unsaved() {
    ///     return "Sessions are unavailable for a moment; please try again.";
    /// }
    /// # "" }
    /// ```
    #[must_use]
    pub fn is_unsaved(&self) -> bool {
        self.with(|s| s.unsaved)
    }

    /// Drops all the data (Flask's `session.clear()`). An emptied session's
    /// cookie is deleted at the end of the request. With a
    /// [`Revocation`](crate::Revocation), copies of the cookie stop working
    /// too (its id is denied, as by [`purge`](Self::purge)), and what is
    /// inserted afterwards gets a new id and no user.
    ///
    /// ```
    /// # fn f(session: &websession::Session) {
    /// session.clear(); // the cookie is deleted at the end of the request
    /// # }
    /// ```
    pub fn clear(&self) {
        self.with(SessionState::clear);
    }

    /// Destroys the session: drops the data and deletes the cookie, with the
    /// same `Path`, `Domain` and `Secure` it was set with. Call it on logout.
    /// Values inserted afterwards in the same request start a new session
    /// (with a new creation time, no user, and in store mode a new id), so
    /// `purge()` then `insert("flash", ..)` is a safe logout.
    ///
    /// In store mode the record is deleted at the end of the request, so the
    /// old cookie is worthless from then on, and a concurrent request can't
    /// write it back. In the cookie modes with a
    /// [`Revocation`](crate::Revocation), the session's id is denied, so
    /// copies of the old cookie stop working too.
    ///
    /// ```
    /// # fn f(session: &websession::Session) -> Result<(), websession::SessionError> {
    /// // Logout: the data goes (in store mode the old id dies too), and the
    /// // flash message goes into a brand-new session.
    /// session.purge();
    /// session.insert("flash", "You were logged out")?;
    /// # Ok(()) }
    /// ```
    pub fn purge(&self) {
        self.with(SessionState::purge);
    }

    /// Logs `user` in: the session records the user (what [`user`](Self::user)
    /// returns, and what [`Logins`](crate::Logins) logs out everywhere) and
    /// moves to a new id against session fixation, as
    /// [`cycle_id`](Self::cycle_id) does. Call it once the password (or
    /// passkey) checked out; the same call in every mode.
    ///
    /// The user is kept in the session under [`LOGIN_KEY`](crate::LOGIN_KEY)
    /// (so a session holding only a login is kept, and a Python app sharing
    /// the cookie sees it), and where the mode can end sessions from the
    /// server, there too: the store record's user in store mode, the
    /// cookie's revocation keys with a [`Revocation`](crate::Revocation).
    /// With revocation, copies of the cookie from before the login stop
    /// working (see [`docs::revocation`](crate::docs::revocation)).
    ///
    /// Logging in as someone else replaces the user. Log out with
    /// [`log_out`](Self::log_out) (the user goes, the rest of the session
    /// stays) or [`purge`](Self::purge) (everything goes).
    ///
    /// ```
    /// # fn f(session: &websession::Session) {
    /// session.log_in("alice");
    /// assert_eq!(session.user().as_deref(), Some("alice"));
    /// # }
    /// ```
    pub fn log_in(&self, user: &str) {
        self.with(|s| {
            s.set(LOGIN_KEY, Value::Str(user.to_owned()));
            let again =
                matches!((&s.user, Some(user)), (UserChange::Set(Some(u)), Some(v)) if u == v);
            if !again {
                s.login_generation = None;
            }
            s.user = UserChange::Set(Some(user.to_owned()));
            s.cycled = true;
        });
    }

    /// Logs the user out and keeps the rest of the session (a cart, a
    /// language), under a new id: Flask-Login's `logout_user`. With a
    /// [`Revocation`](crate::Revocation) copies of the cookie from before
    /// stop working; in store mode the old id dies at once. To drop the
    /// data too, [`purge`](Self::purge).
    ///
    /// ```
    /// # fn f(session: &websession::Session) {
    /// session.log_out();
    /// assert_eq!(session.user(), None);
    /// # }
    /// ```
    pub fn log_out(&self) {
        self.with(|s| {
            s.remove(LOGIN_KEY);
            s.user = UserChange::Set(None);
            s.login_generation = None;
            s.modified = true;
            s.cycled = true;
        });
    }

    /// The user [`log_in`](Self::log_in) recorded, if one is logged in.
    ///
    /// ```
    /// # fn f(session: &websession::Session) -> String {
    /// match session.user() {
    ///     Some(user) => format!("Hello, {user}"),
    ///     None => "Please log in".to_owned(),
    /// }
    /// # }
    /// ```
    #[must_use]
    pub fn user(&self) -> Option<String> {
        self.with(|s| match s.data.get(LOGIN_KEY)? {
            ValueRef::Str(user) => Some(user.to_owned()),
            ValueRef::Value(Value::Str(user)) => Some(user.clone()),
            _ => None,
        })
    }

    /// Records which user the session belongs to where the mode keeps it
    /// outside the data (the store record, the revocation keys): Flask-Login's
    /// `login_user` and `logout_user`, which keep their own key in the data.
    /// With revocation, a change of user is a login or a logout (a new id,
    /// old copies refused); the same user again changes nothing.
    pub(crate) fn set_user(&self, user: Option<&str>) {
        self.with(|s| {
            let again = matches!((&s.user, user), (UserChange::Set(Some(u)), Some(v)) if u == v);
            if !again {
                // A generation learnt for another login doesn't apply.
                s.login_generation = None;
            }
            s.user = UserChange::Set(user.map(str::to_owned));
            s.modified = true;
        });
    }

    /// Issues a new cookie for the same data at the end of this request: a
    /// fresh issue time and, for sealed cookies, a fresh nonce (so the old
    /// cookie's bytes are never sent again). Call it after login, against
    /// session fixation.
    ///
    /// Without a [`Revocation`](crate::Revocation), cookie modes can't make
    /// the old cookie invalid before it expires: whoever copied it keeps a
    /// valid (older) session until then. With one, the old cookie's id is
    /// denied and its copies stop working. Server-side stores always can,
    /// and do.
    ///
    /// In store mode the record moves to a new random id atomically and the
    /// old id stops working at once.
    ///
    /// ```
    /// # fn f(session: &websession::Session) -> Result<(), websession::SessionError> {
    /// // After login, against session fixation:
    /// session.insert("user", "alice")?;
    /// session.cycle_id();
    /// # Ok(()) }
    /// ```
    pub fn cycle_id(&self) {
        self.with(|s| s.cycled = true);
    }

    /// Makes the session permanent (`Expires` set to now plus the permanent
    /// lifetime, refreshed on use) or a browser-session cookie. Stored as
    /// Flask's `_permanent` key, so Flask agrees.
    ///
    /// This is "remember me" for every user alike; for one session's own
    /// lifetime use [`set_lifetime`](Self::set_lifetime), and see
    /// [the "remember me" guide](crate::docs::remember_me) for which to use
    /// when. The idle and absolute timeouts still end a permanent session.
    ///
    /// ```
    /// # fn f(session: &websession::Session) {
    /// session.set_permanent(true); // "remember me": Expires = now + the permanent lifetime
    /// # }
    /// ```
    pub fn set_permanent(&self, permanent: bool) {
        self.insert_value(PERMANENT_KEY, Value::Bool(permanent));
    }

    /// Gives this session a lifetime of its own, and makes it permanent: its
    /// cookie's `Expires` (and, in store mode, its record) is now plus
    /// `lifetime` on every write and refresh, instead of now plus the
    /// config's permanent lifetime. "Remember me for 90 days" on one login,
    /// without changing everyone's lifetime. `None` goes back to the config's
    /// (the session stays permanent; see [`set_permanent`](Self::set_permanent)).
    ///
    /// The lifetime is cut to
    /// [`Lifetime::max_session_lifetime`](crate::Lifetime::with_max_session_lifetime)
    /// (by default the permanent lifetime, so only shorter ones take effect
    /// unless the config allows longer), and to whole seconds (at least
    /// one); [`lifetime`](Self::lifetime) returns what applies after the
    /// cut. The idle and absolute timeouts still end the session sooner. It
    /// is kept in the session under the key `_ws_lifetime`, so it lasts until
    /// changed. See [the "remember me" guide](crate::docs::remember_me).
    ///
    /// ```
    /// # fn f(session: &websession::Session) -> Result<(), websession::SessionError> {
    /// // The "remember me" box was ticked, under
    /// // `with_lifetime(|l| l.with_max_session_lifetime(90 days))`:
    /// session.insert("user", "alice")?;
    /// let ninety_days = std::time::Duration::from_secs(90 * 86_400);
    /// session.set_lifetime(Some(ninety_days));
    /// assert_eq!(session.lifetime(), Some(ninety_days));
    /// # Ok(()) }
    /// ```
    pub fn set_lifetime(&self, lifetime: Option<std::time::Duration>) {
        match lifetime {
            Some(lifetime) => {
                let secs = i64::try_from(lifetime.as_secs().max(1)).unwrap_or(i64::MAX);
                self.insert_value(LIFETIME_KEY, Value::Int(secs));
                self.set_permanent(true);
            }
            None => {
                self.remove_value(LIFETIME_KEY);
            }
        }
    }

    /// The lifetime given by [`set_lifetime`](Self::set_lifetime) as it
    /// applies: cut to the config's
    /// [`max_session_lifetime`](crate::Lifetime::with_max_session_lifetime), so
    /// asking for 90 days under a 31-day maximum reads back 31 days. `None`
    /// when the session follows the config's permanent lifetime.
    ///
    /// ```
    /// # fn f(session: &websession::Session) {
    /// if session.lifetime().is_none() {
    ///     // the config's permanent lifetime applies
    /// }
    /// # }
    /// ```
    #[must_use]
    pub fn lifetime(&self) -> Option<std::time::Duration> {
        self.with(|s| match s.data.get(LIFETIME_KEY) {
            Some(ValueRef::Value(Value::Int(n))) if *n > 0 => {
                let max = self.shared.opener.max_lifetime();
                let secs = u64::try_from(*n).map_or(max, |n| n.min(max));
                Some(std::time::Duration::from_secs(secs))
            }
            _ => None,
        })
    }

    /// Whether the session is permanent (Flask: `session.get("_permanent", False)`).
    ///
    /// ```
    /// # fn f(session: &websession::Session) -> bool {
    /// session.is_permanent()
    /// # }
    /// ```
    #[must_use]
    pub fn is_permanent(&self) -> bool {
        self.with(|s| is_permanent(&s.data))
    }
}

/// "Log out my other sessions" for the cookie modes lives here, beside the
/// [`Session`] it keeps, so `revocation.rs` doesn't import the handle.
impl crate::Revocation {
    /// [`Logins::log_out_others`](crate::Logins::log_out_others) for the
    /// cookie modes: bumps the generation of the user `session` records
    /// (every cookie of theirs issued before is refused, as by
    /// `revoke_all_for`), and keeps `session` logged
    /// in at the new generation, with a new id.
    ///
    /// Only a session that is current does this. The store is asked, not
    /// the cache: a session that was itself revoked (its user logged out
    /// everywhere, or its id logged out, and accepted here within the
    /// staleness of a revocation made elsewhere: a thief's copy, say)
    /// revokes nothing and is not kept, so it can neither outlive its
    /// revocation nor log the others out. And the session is kept only if
    /// the bump it made is the very next generation and its id is still not
    /// denied afterwards.
    ///
    /// Returns the new generation when `session` was kept at it; `None`
    /// when it was not: it records no user (a cookie written by Flask or
    /// before revocation was turned on, a login saved while the store
    /// failed open, a login made in this very request), it was revoked
    /// already (nothing was bumped), or another revocation of the user came
    /// in between (a double submit, say: the others are logged out, and so
    /// is this session, whose user must log in again).
    ///
    /// # Errors
    ///
    /// The store's, when it can't be reached.
    pub(crate) async fn revoke_others(&self, session: &Session) -> Result<Option<u64>, StoreError> {
        let Some((user, recorded, sid)) = session.recorded_login() else {
            return Ok(None);
        };
        let now = session.opened_at();
        let hash = sid.hash();
        let verdict = self.check_uncached(Some(&user), &hash, now).await?;
        if verdict.denied || verdict.generation.is_some_and(|g| g > recorded) {
            tracing::warn!(
                target: "websession::security",
                "revoke_others from a session that was itself revoked: nothing done"
            );
            return Ok(None);
        }
        let generation = self.revoke_all_for(&user).await?;
        if recorded.checked_add(1) != Some(generation) {
            tracing::warn!(
                target: "websession::security",
                "revoke_others raced another revocation: this session is not kept"
            );
            return Ok(None);
        }
        // A logout of this very session written meanwhile wins.
        if self.check_uncached(None, &hash, now).await?.denied {
            return Ok(None);
        }
        session.relogin_at(generation);
        Ok(Some(generation))
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future as _;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::task::{Context, Poll, Waker};

    use super::*;

    /// An engine whose sessions open at once, empty.
    struct OpensEmpty;

    impl Opener for OpensEmpty {
        fn open(&self, _: Option<RawCookie>, slot: &mut Option<SessionState>) -> Opened<'_> {
            *slot = Some(SessionState::empty());
            Opened::Ready
        }
        fn revocation(&self) -> Option<&crate::Revocation> {
            None
        }
        fn cookie_transport(&self) -> bool {
            true
        }
        fn max_lifetime(&self) -> u64 {
            60
        }
    }

    /// A panic in the save (inside `finish_with`) still drops the state:
    /// a clone kept past the response sees an empty session. Without the
    /// guard the panic would unwind past the line that drops it.
    #[test]
    fn a_panic_in_the_save_still_drops_the_state() {
        let pending = PendingSession::new(Arc::new(OpensEmpty), None);
        let mut load = std::pin::pin!(pending.load());
        let Poll::Ready(Ok(session)) = load.as_mut().poll(&mut Context::from_waker(Waker::noop()))
        else {
            panic!("a session that opens at once loads at once");
        };
        session.insert("during", 1).expect("insert");
        let saved = catch_unwind(AssertUnwindSafe(|| {
            pending.finish_with(|state| {
                assert!(state.is_some(), "the save sees the state");
                panic!("a save that panics");
            })
        }));
        assert!(saved.is_err());
        assert_eq!(session.get::<i64>("during").expect("get"), None);
    }

    /// A store whose reads are counted as they start (first polled), each
    /// waiting `waits` polls before it answers `answer`.
    struct CountsReads {
        started: std::sync::atomic::AtomicUsize,
        waits: usize,
        answer: Result<(), StoreErrorKind>,
    }

    impl CountsReads {
        fn new(waits: usize, answer: Result<(), StoreErrorKind>) -> Arc<Self> {
            Arc::new(Self {
                started: std::sync::atomic::AtomicUsize::new(0),
                waits,
                answer,
            })
        }

        fn started(&self) -> usize {
            self.started.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    impl Opener for CountsReads {
        fn open(&self, _: Option<RawCookie>, _: &mut Option<SessionState>) -> Opened<'_> {
            let mut polls = 0;
            let mut started = false;
            Opened::Pending(Box::pin(std::future::poll_fn(move |cx| {
                if !std::mem::replace(&mut started, true) {
                    self.started
                        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                if polls < self.waits {
                    polls += 1;
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Poll::Ready(match self.answer {
                    Ok(()) => Ok(SessionState::in_store()),
                    Err(kind) => Err(SessionError::Store(StoreError::from_kind(kind))),
                })
            })))
        }
        fn revocation(&self) -> Option<&crate::Revocation> {
            None
        }
        fn cookie_transport(&self) -> bool {
            true
        }
        fn max_lifetime(&self) -> u64 {
            60
        }
    }

    /// Two loads polled together (as actix polls a handler's extractors)
    /// start one store read, whether it answers at once or after waits
    /// that make both loads yield, and both see its outcome; an error is
    /// every later load's too.
    #[tokio::test]
    async fn loads_polled_together_share_one_store_read() {
        for waits in [0, 2, 3] {
            for answer in [Ok(()), Err(StoreErrorKind::Unavailable)] {
                let store = CountsReads::new(waits, answer);
                let pending = PendingSession::new(store.clone(), None);
                let other = pending.clone();
                let (a, b) = tokio::join!(pending.load(), other.load());
                assert_eq!(store.started(), 1, "waits {waits}, {answer:?}");
                assert_eq!(a.is_ok(), answer.is_ok(), "waits {waits}");
                assert_eq!(b.is_ok(), answer.is_ok(), "waits {waits}");
                let later = pending.load().await;
                assert_eq!(later.is_ok(), answer.is_ok(), "waits {waits}");
                assert_eq!(store.started(), 1, "a later load reads nothing");
            }
        }
    }
}
