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
pub const PERMANENT_KEY: &str = "_permanent";

/// The key a session's own lifetime is kept under (whole seconds), by
/// [`Session::set_lifetime`](crate::Session::set_lifetime). A Flask app
/// sharing the cookie sees it and keeps it, but doesn't act on it.
pub const LIFETIME_KEY: &str = "_ws_lifetime";

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

/// One request's session: the data and everything the save needs to know.
pub(crate) struct SessionState {
    /// The data: as the cookie or record brought it, parsed key by key when
    /// read, and turned into a map by the first change.
    pub(crate) data: LazyMap,
    /// Flask's `modified`: a top-level change happened.
    pub(crate) modified: bool,
    /// The incoming cookie, when it opened.
    pub(crate) origin: Option<Origin>,
    /// When the session was created (Unix seconds), if known.
    pub(crate) created_at: Option<u64>,
    /// Cookie modes: when the incoming cookie was issued (Unix seconds).
    pub(crate) issued_at: Option<u64>,
    /// When the session was opened (Unix seconds): the request's time for
    /// every decision, so a request reads the clock once.
    pub(crate) opened_at: u64,
    /// `cycle_id` was called: write a fresh cookie (or id) even if nothing changed.
    pub(crate) cycled: bool,
    /// Store mode: the record `purge` destroyed, deleted at the end of the
    /// request whatever the handler writes afterwards (values inserted after
    /// a purge go to a new record under a new id).
    pub(crate) purged_record: Option<SessionId>,
    /// Store mode: record which keys change (cookie modes write the whole
    /// map, so they skip this bookkeeping).
    pub(crate) track_changes: bool,
    /// Store mode: keys written in this request (their values are in `data`).
    pub(crate) touched: BTreeSet<String>,
    /// Store mode: keys removed in this request.
    pub(crate) removed: BTreeSet<String>,
    /// Store mode: `clear` was called.
    pub(crate) cleared: bool,
    /// Store mode: `set_user` was called.
    pub(crate) user: UserChange,
    /// Store mode: the live record this session was loaded from.
    pub(crate) stored: Option<StoredRecord>,
    /// Store mode: the store failed on load and the config fails open; never write.
    pub(crate) unsaved: bool,
    /// `purge` was called in this request.
    pub(crate) purged: bool,
    /// Cookie modes: the session id, user and generation the cookie carried
    /// (what revocation checks), as they are to be written.
    pub(crate) ids: CookieIds,
    /// Cookie modes with revocation: a session id to deny at the end of the
    /// request (the session was purged, emptied or logged out, or a user
    /// logged in).
    pub(crate) retired_sid: Option<SessionId>,
    /// The generation of the user `set_user` logged in, when the request
    /// already learnt it (a remember cookie checked against it, or issued
    /// with it): the save records it instead of asking the store again.
    pub(crate) login_generation: Option<u64>,
}

impl SessionState {
    /// A new, empty store-mode session, which records its changes.
    pub(crate) fn tracked() -> Self {
        Self {
            track_changes: true,
            ..Self::empty()
        }
    }

    /// A new, empty session.
    pub(crate) fn empty() -> Self {
        Self {
            data: LazyMap::new(),
            modified: false,
            origin: None,
            created_at: None,
            issued_at: None,
            opened_at: 0,
            cycled: false,
            purged_record: None,
            track_changes: false,
            touched: BTreeSet::new(),
            removed: BTreeSet::new(),
            cleared: false,
            user: UserChange::Keep,
            stored: None,
            unsaved: false,
            purged: false,
            ids: CookieIds::default(),
            retired_sid: None,
            login_generation: None,
        }
    }

    /// Sets `key`, noting the change.
    pub(crate) fn set(&mut self, key: &str, value: websession_core::Value) {
        if self.track_changes {
            self.removed.remove(key);
            self.touched.insert(key.to_owned());
        }
        self.data.map_mut().insert(key.to_owned(), value);
        self.modified = true;
    }

    /// Removes `key`, noting the change if it was there.
    pub(crate) fn remove(&mut self, key: &str) -> Option<websession_core::Value> {
        let old = self.data.remove(key);
        if old.is_some() {
            self.modified = true;
            if self.track_changes {
                self.touched.remove(key);
                self.removed.insert(key.to_owned());
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
        self.touched.clear();
        self.removed.clear();
        self.retire_sid();
        self.ids = CookieIds::default();
    }

    /// Destroys the session; what is inserted afterwards is a new session.
    pub(crate) fn purge(&mut self) {
        self.clear();
        self.purged = true;
        self.origin = None;
        self.created_at = None;
        self.issued_at = None;
        self.cycled = false;
        self.user = UserChange::Keep;
        self.login_generation = None;
        if let Some(stored) = self.stored.take() {
            self.purged_record = Some(stored.id);
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

/// An opened session: ready (cookie modes), or a store read to await.
#[allow(clippy::large_enum_variant)] // moved into place once per request; a Box would allocate
pub(crate) enum Opened<'a> {
    Ready(SessionState),
    Pending(BoxFuture<'a, Result<SessionState, SessionError>>),
}

/// Opens the incoming cookie into a [`SessionState`]: the engine, as the
/// session handle sees it.
pub(crate) trait Opener: Send + Sync {
    /// Opens the session of a request whose cookie value is `raw`.
    fn open(&self, raw: Option<crate::raw::RawCookie>) -> Opened<'_>;

    /// The revocation configured for these sessions, if any (Flask-Login's
    /// remember cookie is bound to it too).
    fn revocation(&self) -> Option<&crate::Revocation>;

    /// Whether the session travels in a cookie (not a header token): only
    /// then may other cookies (Flask-Login's remember cookie) log a user in.
    fn cookie_transport(&self) -> bool;
}
