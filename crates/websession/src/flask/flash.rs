//! Flask's message flashing: `flash()` and `get_flashed_messages()`.

use websession_core::Value;

use crate::session::Session;

/// The session key Flask keeps flashed messages under.
pub const FLASHES_KEY: &str = "_flashes";

/// Flask's default category (`flash(message)` without one).
pub const DEFAULT_CATEGORY: &str = "message";

/// One flashed message: its category and text.
///
/// # Examples
///
/// ```
/// use websession::flask::Flash;
/// let f = Flash::new("error", "Wrong password");
/// assert_eq!((f.category.as_str(), f.message.as_str(), f.markup), ("error", "Wrong password", false));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Flash {
    /// The category (`"message"`, `"error"`, `"info"`, ... any text).
    pub category: String,
    /// The message text.
    pub message: String,
    /// The message was flashed as `markupsafe.Markup` (HTML Flask won't
    /// escape); render it unescaped only if you trust its source.
    pub markup: bool,
}

impl Flash {
    /// A plain-text message in `category`.
    #[must_use]
    pub fn new(category: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            category: category.into(),
            message: message.into(),
            markup: false,
        }
    }

    /// As Flask stores it: the tuple `(category, message)`.
    fn to_value(&self) -> Value {
        let message = if self.markup {
            Value::Markup(self.message.clone())
        } else {
            Value::Str(self.message.clone())
        };
        Value::Tuple(vec![Value::Str(self.category.clone()), message])
    }

    /// Reads a stored `(category, message)`; `None` for another shape.
    fn from_value(value: &Value) -> Option<Self> {
        let (Value::Tuple(pair) | Value::List(pair)) = value else {
            return None;
        };
        let [Value::Str(category), message] = pair.as_slice() else {
            return None;
        };
        let (message, markup) = match message {
            Value::Str(m) => (m.clone(), false),
            Value::Markup(m) => (m.clone(), true),
            _ => return None,
        };
        Some(Self {
            category: category.clone(),
            message,
            markup,
        })
    }
}

fn read(list: &[Value]) -> Vec<Flash> {
    let flashes: Vec<Flash> = list.iter().filter_map(Flash::from_value).collect();
    if flashes.len() != list.len() {
        tracing::debug!(
            skipped = list.len() - flashes.len(),
            "flashed messages that are not (str, str) pairs were skipped"
        );
    }
    flashes
}

/// Flask's `flash()` and `get_flashed_messages()` on a [`Session`], byte
/// for byte: messages live in the session under `_flashes` as a list of
/// `(category, message)` tuples, so a message flashed by Flask shows in
/// Rust and the other way round, once.
///
/// As in Flask, the first take in a request removes **all** messages from
/// the session (whatever the category filter) and every take in the same
/// request sees the same messages, so a page can show its errors and its
/// infos in two places.
///
/// # Examples
///
/// ```
/// use websession::flask::FlashExt;
/// use websession::Session;
///
/// fn after_login(session: &Session) {
///     session.flash("info", "You were logged in");
/// }
///
/// fn render(session: &Session) -> String {
///     session
///         .take_flashes()
///         .iter()
///         .map(|f| format!("<p class={}>{}</p>", f.category, f.message)) // escape in real code
///         .collect()
/// }
/// ```
pub trait FlashExt {
    /// Flask's `flash(message, category)`: appends the message to the
    /// session's list (a new list if there was none, or if the key held
    /// something else).
    fn flash(&self, category: &str, message: &str);

    /// Appends a message, with `markup` as [`Flash::markup`] says.
    fn flash_message(&self, flash: &Flash);

    /// Flask's `get_flashed_messages(with_categories=True)`: the messages,
    /// removed from the session.
    fn take_flashes(&self) -> Vec<Flash>;

    /// Flask's `get_flashed_messages(with_categories=True,
    /// category_filter=categories)`: the messages of these categories. All
    /// messages leave the session, as in Flask (later takes in the same
    /// request still see them).
    fn take_flashes_in(&self, categories: &[&str]) -> Vec<Flash>;

    /// The messages a take would give, without removing them.
    fn peek_flashes(&self) -> Vec<Flash>;
}

impl FlashExt for Session {
    fn flash(&self, category: &str, message: &str) {
        self.flash_message(&Flash::new(category, message));
    }

    fn flash_message(&self, flash: &Flash) {
        let mut list = match self.get_value(FLASHES_KEY) {
            Some(Value::List(items)) => items,
            _ => Vec::new(),
        };
        list.push(flash.to_value());
        self.insert_value(FLASHES_KEY, Value::List(list));
    }

    fn take_flashes(&self) -> Vec<Flash> {
        read(&self.take_cached_list(FLASHES_KEY))
    }

    fn take_flashes_in(&self, categories: &[&str]) -> Vec<Flash> {
        let mut flashes = self.take_flashes();
        // Flask: `if category_filter:` - an empty filter keeps everything.
        if !categories.is_empty() {
            flashes.retain(|f| categories.contains(&f.category.as_str()));
        }
        flashes
    }

    fn peek_flashes(&self) -> Vec<Flash> {
        match self.cached_list() {
            Some(list) => read(&list),
            None => match self.get_value(FLASHES_KEY) {
                Some(Value::List(items)) => read(&items),
                _ => Vec::new(),
            },
        }
    }
}
