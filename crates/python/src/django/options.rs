//! [`DjangoOptions`]: the Django settings the records depend on.

use websession_core::KeyRing;

/// The `django_session` table's default name.
const DEFAULT_TABLE: &str = "django_session";

/// The session class of `django.contrib.sessions.backends.db`.
const DEFAULT_SESSION_CLASS: &str = "SessionStore";

/// The largest record read or written by default: 1 MiB.
const DEFAULT_MAX_RECORD_BYTES: usize = 1 << 20;

/// The Django settings a [`DjangoStore`](super::DjangoStore) needs:
/// `SECRET_KEY` and `SECRET_KEY_FALLBACKS`, the session table, the session
/// class (its name is in the signing salt) and a size limit.
///
/// `Debug` never shows the keys.
///
/// # Examples
///
/// ```
/// use websession_core::{Key, KeyRing};
/// use websession_python::django::DjangoOptions;
///
/// // SECRET_KEY = "new secret…", SECRET_KEY_FALLBACKS = ["old secret…"]
/// let keys = KeyRing::new(Key::from_utf8("the new Django SECRET_KEY, 50 characters long!!")?)
///     .with_fallback(Key::from_utf8("the old Django SECRET_KEY, kept in the fallbacks")?);
/// let options = DjangoOptions::new(keys).with_table("django_session");
/// assert!(!format!("{options:?}").contains("SECRET_KEY, 50"));
/// # Ok::<(), websession_core::KeyError>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct DjangoOptions {
    pub(crate) keys: KeyRing,
    pub(crate) table: String,
    pub(crate) session_class: String,
    pub(crate) max_record_bytes: usize,
}

impl DjangoOptions {
    /// Django's defaults with its `SECRET_KEY` as the ring's current key
    /// and `SECRET_KEY_FALLBACKS` as its fallbacks: table `django_session`,
    /// session class `SessionStore` (salt
    /// `django.contrib.sessions.SessionStore`), records up to 1 MiB.
    ///
    /// A `SECRET_KEY` is text: give it as `Key::from_utf8(SECRET_KEY)`.
    pub fn new(keys: impl Into<KeyRing>) -> Self {
        Self {
            keys: keys.into(),
            table: DEFAULT_TABLE.to_owned(),
            session_class: DEFAULT_SESSION_CLASS.to_owned(),
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
        }
    }

    /// The session table (`db_table` of a custom session model): a plain
    /// identifier (ASCII letters, digits, `_`), checked when the store
    /// connects. A table in another PostgreSQL schema is found through the
    /// URL's `search_path` (`?options=-csearch_path%3Dmyschema`).
    pub fn with_table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// The `__qualname__` of the `SESSION_ENGINE`'s `SessionStore` class,
    /// for an engine that subclasses it: Django signs records with the salt
    /// `"django.contrib.sessions." + qualname`. Default `SessionStore`.
    pub fn with_session_class(mut self, qualname: impl Into<String>) -> Self {
        self.session_class = qualname.into();
        self
    }

    /// The largest `session_data` (and JSON inside it) read or written.
    /// Larger records read as corrupt (an empty session); writing one is an
    /// error of kind `Unsupported`. Default 1 MiB.
    pub fn with_max_record_bytes(mut self, bytes: usize) -> Self {
        self.max_record_bytes = bytes;
        self
    }

    /// Django's `SessionBase.key_salt`.
    pub(crate) fn salt(&self) -> String {
        format!("django.contrib.sessions.{}", self.session_class)
    }
}
