//! [`Record`] and [`ChangeSet`]: a stored session and one request's changes.

use std::collections::BTreeSet;
use std::fmt;

use crate::json::LazyMap;
use crate::value::{Map, Value};

/// A stored session.
///
/// Its `Debug` shows the number of keys and the times, never the data or the user.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct Record {
    /// The session data: a [`Map`] (`Record::new` takes one), or the text
    /// of a payload indexed as the cookie modes index theirs, or data a
    /// [`MemoryStore`](super::MemoryStore) shares with its own copy.
    pub data: LazyMap,
    /// When it was created, Unix seconds (for the absolute timeout).
    pub created_at: u64,
    /// When it expires, Unix seconds. Stores hide expired records.
    pub expires_at: u64,
    /// The user it belongs to, for [`SessionStore::delete_all_for`](super::SessionStore::delete_all_for).
    pub user: Option<String>,
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Record")
            .field("data", &format_args!("<{} keys redacted>", self.data.len()))
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("user", &self.user.as_ref().map(|_| Redacted))
            .finish()
    }
}

/// Prints `<redacted>` in `Debug` output.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Record {
    /// A record with this data (a [`Map`] or a [`LazyMap`]), creation and
    /// expiry time, and no user.
    #[must_use]
    pub fn new(data: impl Into<LazyMap>, created_at: u64, expires_at: u64) -> Self {
        Self {
            data: data.into(),
            created_at,
            expires_at,
            user: None,
        }
    }

    /// Sets the user.
    #[must_use]
    pub fn with_user(mut self, user: Option<String>) -> Self {
        self.user = user;
        self
    }

    /// Applies a change set to this record (what every store does, in its own way).
    pub fn apply(&mut self, changes: &ChangeSet) {
        if changes.cleared {
            self.data = LazyMap::new();
        }
        for key in &changes.removed {
            self.data.remove(key);
        }
        for (k, v) in &changes.set {
            self.data.insert(k, v.clone());
        }
        self.expires_at = changes.expires_at;
        if let Some(user) = &changes.user {
            self.user.clone_from(user);
        }
    }
}

/// What one request changed in a session.
///
/// Applied in this order: `cleared` (drop every key), `removed`, `set`.
///
/// Its `Debug` shows how many keys are set and removed, never the values or the user.
#[derive(Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ChangeSet {
    /// Keys written, with their new values.
    pub set: Map,
    /// Keys removed (and not written again).
    pub removed: BTreeSet<String>,
    /// Every key was dropped first (`Session::clear`).
    pub cleared: bool,
    /// The new expiry, Unix seconds.
    pub expires_at: u64,
    /// `Some(user)` when the request called `set_user`.
    pub user: Option<Option<String>>,
}

impl fmt::Debug for ChangeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChangeSet")
            .field("set", &format_args!("<{} keys redacted>", self.set.len()))
            .field(
                "removed",
                &format_args!("<{} keys redacted>", self.removed.len()),
            )
            .field("cleared", &self.cleared)
            .field("expires_at", &self.expires_at)
            .field(
                "user",
                &self.user.as_ref().map(|u| u.as_ref().map(|_| Redacted)),
            )
            .finish()
    }
}

impl ChangeSet {
    /// A change set that only moves the expiry.
    #[must_use]
    pub fn touch(expires_at: u64) -> Self {
        Self {
            expires_at,
            ..Self::default()
        }
    }

    /// Sets `key` to `value`.
    #[must_use]
    pub fn with_set(mut self, key: impl Into<String>, value: Value) -> Self {
        let key = key.into();
        self.removed.remove(&key);
        self.set.insert(key, value);
        self
    }

    /// Removes `key`.
    #[must_use]
    pub fn with_removed(mut self, key: impl Into<String>) -> Self {
        let key = key.into();
        self.set.remove(&key);
        self.removed.insert(key);
        self
    }

    /// Drops every key before the sets are applied.
    #[must_use]
    pub fn with_cleared(mut self) -> Self {
        self.cleared = true;
        self
    }

    /// Assigns the session to `user` (or to nobody).
    #[must_use]
    pub fn with_user(mut self, user: Option<String>) -> Self {
        self.user = Some(user);
        self
    }

    /// Whether the data changes (not only the expiry).
    #[must_use]
    pub fn changes_data(&self) -> bool {
        self.cleared || !self.set.is_empty() || !self.removed.is_empty()
    }
}
