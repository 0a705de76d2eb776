//! The plain state of one request's session, and the seam between the
//! [`Session`](crate::Session) handle and the engine: the handle owns a
//! [`SessionState`] and asks an [`Opener`] for it; the engine implements
//! [`Opener`] and turns the state into headers at the end of the request.
//! Neither side imports the other.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;

use websession_core::format::Origin;
use websession_core::json::LazyMap;
use websession_core::store::SessionId;

use crate::error::SessionError;
use crate::revocation::CookieIds;

/// The key Flask stores `session.permanent` under.
pub(crate) const PERMANENT_KEY: &str = "_permanent";

/// The key a session's own lifetime is kept under (whole seconds), by
/// [`Session::set_lifetime`](crate::Session::set_lifetime). A Flask app
/// sharing the cookie sees it and keeps it, but doesn't act on it.
pub(crate) const LIFETIME_KEY: &str = "_ws_lifetime";

/// The key [`Session::log_in`](crate::Session::log_in) keeps the user
/// under, so [`Session::user`](crate::Session::user) reads it in every
/// mode and a session holding only a login is kept. A Python app sharing
/// the cookie sees it.
pub const LOGIN_KEY: &str = "_ws_login";

/// Whether the session is permanent (Flask's `session.permanent`).
pub(crate) fn is_permanent(data: &LazyMap) -> bool {
    data.get(PERMANENT_KEY)
        .is_some_and(websession_core::json::ValueRef::truthy)
}

/// The live store record a session was loaded from.
#[derive(Clone)]
pub(crate) struct StoredRecord {
    pub(crate) id: SessionId,
    /// Its expiry when loaded, Unix seconds.
    pub(crate) expires_at: u64,
}

/// What `Session::set_user` asked for in this request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum UserChange {
    /// Not called: keep the record's user.
    Keep,
    /// Assign the session to this user, or to nobody.
    Set(Option<String>),
}

impl UserChange {
    /// As the store's change set spells it.
    pub(crate) fn to_change(&self) -> Option<Option<String>> {
        match self {
            Self::Keep => None,
            Self::Set(user) => Some(user.clone()),
        }
    }
}

/// One request's session: the data, what happened to it in this request,
/// and where it is kept ([`Kept`]: the cookie, or a store record).
pub(crate) struct SessionState {
    /// The data: as the cookie or record brought it, parsed key by key when
    /// read; changes keep the rest as it was (`LazyMap::insert`).
    pub(crate) data: LazyMap,
    /// Flask's `modified`: a top-level change happened.
    pub(crate) modified: bool,
    /// When the session was created (Unix seconds), if known.
    pub(crate) created_at: Option<u64>,
    /// When the session was opened (Unix seconds): the request's time for
    /// every decision, so a request reads the clock once.
    pub(crate) opened_at: u64,
    /// `cycle_id` was called: write a fresh cookie (or id) even if nothing changed.
    pub(crate) cycled: bool,
    /// `clear` was called.
    pub(crate) cleared: bool,
    /// `purge` was called in this request.
    pub(crate) purged: bool,
    /// `set_user` was called.
    pub(crate) user: UserChange,
    /// Never save: the store failed on load and the config fails open, or
    /// the session was used after its response went out.
    pub(crate) unsaved: bool,
    /// The session id, user and generation revocation checks, as they are
    /// to be written (in the cookie, or in an overflowed session's record).
    pub(crate) ids: CookieIds,
    /// With revocation: a session id to deny at the end of the request (the
    /// session was purged, emptied or logged out, or a user logged in).
    pub(crate) retired_sid: Option<SessionId>,
    /// The generation of the user `set_user` logged in, when the request
    /// already learnt it (a remember cookie checked against it, or issued
    /// with it): the save records it instead of asking the store again.
    pub(crate) login_generation: Option<u64>,
    /// Where the session is kept.
    pub(crate) kept: Kept,
}

/// Where a session is kept, and what its save needs to know of it.
pub(crate) enum Kept {
    /// In the cookie (the cookie modes).
    Cookie(InCookie),
    /// In a store record (store mode, and cookie sessions in the overflow
    /// store).
    Store(InStore),
}

/// A session kept in the cookie.
#[derive(Default)]
pub(crate) struct InCookie {
    /// The incoming cookie, when it opened: an unchanged session is issued
    /// again from it.
    pub(crate) origin: Option<Origin>,
    /// When the incoming cookie was issued (Unix seconds).
    pub(crate) issued_at: Option<u64>,
    /// The session's lifetime in seconds, as read when it opened: valid
    /// while the data is unchanged (a change may set a lifetime of its own).
    pub(crate) lifetime: Option<u64>,
}

/// A session kept in a store record. Its save sends only what changed.
pub(crate) struct InStore {
    /// The live record this session was loaded from.
    pub(crate) record: Option<StoredRecord>,
    /// The record `purge` destroyed, deleted at the end of the request
    /// whatever the handler writes afterwards (values inserted after a
    /// purge go to a new record under a new id).
    pub(crate) purged: Option<SessionId>,
    /// Keys written in this request (their values are in `data`).
    pub(crate) touched: KeySet,
    /// Keys removed in this request.
    pub(crate) removed: KeySet,
}

impl InStore {
    /// Nothing loaded, nothing changed.
    pub(crate) const fn new() -> Self {
        Self {
            record: None,
            purged: None,
            touched: KeySet::new(),
            removed: KeySet::new(),
        }
    }
}

/// A set of keys that is no set at all until its first key: most requests
/// change no key, and an empty `BTreeSet`'s drop still walks its (empty)
/// tree, on every store-mode request.
#[derive(Debug, Default)]
pub(crate) struct KeySet(Option<BTreeSet<String>>);

impl KeySet {
    /// No keys.
    pub(crate) const fn new() -> Self {
        Self(None)
    }

    /// Adds `key`.
    pub(crate) fn insert(&mut self, key: &str) {
        let set = self.0.get_or_insert_with(BTreeSet::new);
        if !set.contains(key) {
            set.insert(key.to_owned());
        }
    }

    /// Removes `key`, if it is there.
    pub(crate) fn remove(&mut self, key: &str) {
        if let Some(set) = &mut self.0 {
            set.remove(key);
        }
    }

    /// Whether `key` is there.
    pub(crate) fn contains(&self, key: &str) -> bool {
        self.0.as_ref().is_some_and(|set| set.contains(key))
    }

    /// Whether there are no keys.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(BTreeSet::is_empty)
    }

    /// The keys, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().flatten().map(String::as_str)
    }

    /// Drops every key.
    pub(crate) fn clear(&mut self) {
        self.0 = None;
    }

    /// The keys as a `BTreeSet` (a store's change set).
    pub(crate) fn to_set(&self) -> BTreeSet<String> {
        self.0.clone().unwrap_or_default()
    }
}

impl SessionState {
    /// A new, empty session kept in a store.
    pub(crate) fn in_store() -> Self {
        Self::kept(Kept::Store(InStore::new()))
    }

    /// A new, empty session kept in the cookie.
    pub(crate) fn empty() -> Self {
        Self::kept(Kept::Cookie(InCookie::default()))
    }

    /// A new, empty session kept as `kept` says.
    pub(crate) fn kept(kept: Kept) -> Self {
        Self::new(LazyMap::new(), kept)
    }

    /// A session of `data` (as opened, unchanged) kept as `kept` says. The
    /// opening paths build their state with it rather than by assigning
    /// into an empty one, which would build and drop an empty map on every
    /// request.
    pub(crate) fn new(data: LazyMap, kept: Kept) -> Self {
        Self {
            data,
            modified: false,
            created_at: None,
            opened_at: 0,
            cycled: false,
            cleared: false,
            purged: false,
            user: UserChange::Keep,
            unsaved: false,
            ids: CookieIds::default(),
            retired_sid: None,
            login_generation: None,
            kept,
        }
    }

    /// The state, opened at `now` (Unix seconds).
    pub(crate) fn opened(mut self, now: u64) -> Self {
        self.opened_at = now;
        self
    }

    /// The state, leaving an empty one in its place: for a save that must
    /// own it (a store write after the response's headers were decided).
    pub(crate) fn take(&mut self) -> Self {
        std::mem::replace(self, Self::empty())
    }

    /// The store side, if the session is kept in a store.
    pub(crate) fn stored(&self) -> Option<&InStore> {
        match &self.kept {
            Kept::Store(store) => Some(store),
            Kept::Cookie(_) => None,
        }
    }

    /// The live record the session was loaded from, if any.
    pub(crate) fn record(&self) -> Option<&StoredRecord> {
        self.stored().and_then(|s| s.record.as_ref())
    }

    /// Whether the session is in a store: loaded from a record, or its
    /// record purged in this request.
    pub(crate) fn has_record(&self) -> bool {
        self.stored()
            .is_some_and(|s| s.record.is_some() || s.purged.is_some())
    }

    /// Sets `key`, noting the change.
    pub(crate) fn set(&mut self, key: &str, value: websession_core::Value) {
        if let Kept::Store(store) = &mut self.kept {
            store.removed.remove(key);
            store.touched.insert(key);
        }
        self.data.insert(key, value);
        self.modified = true;
    }

    /// Removes `key`, noting the change if it was there.
    pub(crate) fn remove(&mut self, key: &str) -> Option<websession_core::Value> {
        let old = self.data.remove(key);
        if old.is_some() {
            self.modified = true;
            if let Kept::Store(store) = &mut self.kept {
                store.touched.remove(key);
                store.removed.insert(key);
            }
        }
        old
    }

    /// Drops every key (Flask's `session.clear()`, its usual logout). With
    /// revocation, the session's id is retired as by `purge` (copies of the
    /// cookie stop working) and the cookie no longer records a user.
    pub(crate) fn clear(&mut self) {
        self.data = LazyMap::new();
        self.modified = true;
        self.cleared = true;
        if let Kept::Store(store) = &mut self.kept {
            store.touched.clear();
            store.removed.clear();
        }
        self.retire_sid();
        self.ids = CookieIds::default();
    }

    /// Destroys the session; what is inserted afterwards is a new session.
    pub(crate) fn purge(&mut self) {
        self.clear();
        self.purged = true;
        self.created_at = None;
        self.cycled = false;
        self.user = UserChange::Keep;
        self.login_generation = None;
        match &mut self.kept {
            Kept::Cookie(cookie) => *cookie = InCookie::default(),
            Kept::Store(store) => {
                if let Some(record) = store.record.take() {
                    store.purged = Some(record.id);
                }
            }
        }
    }

    /// Cookie modes: the session id is to be denied at the end of the
    /// request (with revocation on), and a new one given if the session goes
    /// on.
    pub(crate) fn retire_sid(&mut self) {
        if let Some(sid) = self.ids.sid.take() {
            self.retired_sid = Some(sid);
        }
    }
}

/// A boxed future, `Send` so tower services stay `Send`.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An opened session: ready (cookie modes: the state is in the slot
/// `Opener::open` was given), or a store read to await.
pub(crate) enum Opened<'a> {
    Ready,
    Pending(BoxFuture<'a, Result<SessionState, SessionError>>),
}

/// Opens the incoming cookie into a [`SessionState`]: the engine, as the
/// session handle sees it.
pub(crate) trait Opener: Send + Sync {
    /// Opens the session of a request whose cookie value is `raw`: into
    /// `slot` when it is ready at once (the state is built where it will
    /// stay, not moved there), or as a read to await.
    fn open(
        &self,
        raw: Option<crate::raw::RawCookie>,
        slot: &mut Option<SessionState>,
    ) -> Opened<'_>;

    /// The revocation configured for these sessions, if any (Flask-Login's
    /// remember cookie is bound to it too).
    fn revocation(&self) -> Option<&crate::Revocation>;

    /// Whether the session travels in a cookie (not a header token): only
    /// then may other cookies (Flask-Login's remember cookie) log a user in.
    fn cookie_transport(&self) -> bool;

    /// The longest lifetime one session may have, in seconds: what
    /// [`Session::lifetime`](crate::Session::lifetime) is cut to.
    fn max_lifetime(&self) -> u64;
}

#[cfg(test)]
mod tests {
    use websession_core::Value;

    use super::*;

    #[test]
    fn only_a_stored_session_records_which_keys_change() {
        let mut cookie = SessionState::empty();
        cookie.set("a", Value::Int(1));
        assert!(cookie.modified && cookie.stored().is_none());

        let mut stored = SessionState::in_store();
        stored.set("a", Value::Int(1));
        stored.set("b", Value::Int(2));
        stored.remove("a");
        let kept = stored.stored().expect("in a store");
        assert_eq!(kept.touched.iter().collect::<Vec<_>>(), ["b"]);
        assert_eq!(kept.removed.iter().collect::<Vec<_>>(), ["a"]);
        // Removing what isn't there changes nothing.
        let mut untouched = SessionState::in_store();
        assert!(untouched.remove("a").is_none());
        assert!(!untouched.modified);
    }

    #[test]
    fn purge_sends_the_record_to_deletion_and_forgets_the_cookie() {
        let id = SessionId::generate();
        let mut stored = SessionState {
            kept: Kept::Store(InStore {
                record: Some(StoredRecord {
                    id: id.clone(),
                    expires_at: 10,
                }),
                ..InStore::new()
            }),
            ..SessionState::empty()
        };
        assert!(stored.has_record() && stored.record().is_some());
        stored.set("a", Value::Int(1));
        stored.purge();
        assert!(stored.record().is_none() && stored.has_record());
        assert_eq!(stored.stored().and_then(|s| s.purged.as_ref()), Some(&id));
        assert!(stored.data.is_empty() && stored.purged && stored.cleared);

        let mut cookie = SessionState {
            kept: Kept::Cookie(InCookie {
                origin: Some(Origin::None),
                issued_at: Some(5),
                lifetime: None,
            }),
            created_at: Some(1),
            ..SessionState::empty()
        };
        cookie.ids.sid = Some(SessionId::generate());
        cookie.purge();
        assert!(
            matches!(&cookie.kept, Kept::Cookie(c) if c.origin.is_none() && c.issued_at.is_none())
        );
        assert!(cookie.created_at.is_none() && cookie.retired_sid.is_some());
    }
}
