//! The session's value model: what a Flask session can hold. (Over 400 lines: the model, its serde bridge and their tests belong together.)

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use time::OffsetDateTime;

/// A session's data: keys in code-point order, as Flask writes them.
pub type Map = BTreeMap<String, Value>;

/// One value of a Flask session, with every type Flask's tagged JSON knows.
///
/// Plain JSON types map to the obvious variants. The tagged types of
/// `flask/json/tag.py` have their own variants, so a value a handler does not
/// touch is written back exactly as it came and Flask reads back an equal
/// Python value. Integers of any size survive ([`Value::BigInt`]), so do
/// `NaN`/`Infinity` ([`Value::Float`]) and strings with lone surrogates
/// ([`Value::Utf16`]).
///
/// Most code never matches on this type: use the typed access of the session
/// (`get::<T>` / `insert`), which goes through [`Value::from_serialize`] and
/// [`Value::deserialize_into`].
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// Python `None`, JSON `null`.
    Null,
    /// `True` / `False`.
    Bool(bool),
    /// An integer that fits in `i64`.
    Int(i64),
    /// An integer outside `i64`, kept as its decimal text (e.g. `-18446744073709551621`).
    BigInt(String),
    /// A float, including `NaN` and the infinities Python writes as `NaN`,
    /// `Infinity`, `-Infinity`.
    Float(f64),
    /// A string.
    Str(String),
    /// A Python `str` that is not valid Unicode because it holds lone
    /// surrogates (`"\ud800"`). Kept as UTF-16 code units so it round-trips.
    Utf16(Vec<u16>),
    /// A list.
    List(Vec<Value>),
    /// A dict with string keys.
    Dict(Map),
    /// A Python `tuple` (tag `" t"`).
    Tuple(Vec<Value>),
    /// Python `bytes` (tag `" b"`).
    Bytes(Vec<u8>),
    /// A `markupsafe.Markup` string: HTML that is already safe (tag `" m"`).
    Markup(String),
    /// A `uuid.UUID` (tag `" u"`).
    Uuid(uuid::Uuid),
    /// An aware `datetime` with whole seconds (tag `" d"`), written as an HTTP
    /// date in UTC (`Tue, 01 Jan 1850 00:00:00 GMT`). Flask drops microseconds
    /// and the UTC offset when it writes a datetime.
    ///
    /// Years 1-9999 are written with four digits, as Flask does. Flask reads
    /// years below 100 back as 1969-2068 (`0050` is 2050), so a cookie holding
    /// one reads as [`Value::RawDateTime`]. A date read from a cookie is a
    /// `DateTime` only when Flask would write its text back unchanged.
    DateTime(OffsetDateTime),
    /// A `datetime` tag (`{" d": …}`) kept exactly as it was read, because
    /// writing the datetime Flask reads from it would give other bytes: a
    /// year below 100 (Flask writes `0050` but reads 2050), another RFC 2822
    /// form (`+0200`, no weekday, a two-digit year), or content Flask reads as
    /// `None` (`"not a date"`, `null`).
    ///
    /// It is written back byte for byte. Typed access
    /// ([`Value::deserialize_into`], [`Value::as_datetime`]) gives what Flask
    /// reads: `loaded`, or `None`. Only the parser makes this variant.
    #[non_exhaustive]
    RawDateTime {
        /// The tag's content as read, usually a [`Value::Str`].
        content: Box<Value>,
        /// What Flask reads from it (Werkzeug's `parse_date`): an aware
        /// datetime with the offset the text gave, or `None`.
        loaded: Option<OffsetDateTime>,
    },
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("None"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Int(i) => write!(f, "{i}"),
            Self::BigInt(i) => f.write_str(i),
            Self::Float(x) => f.write_str(&crate::json::python_float_repr(*x)),
            Self::Str(s) => write!(f, "{s:?}"),
            Self::Utf16(u) => write!(f, "Utf16({})", String::from_utf16_lossy(u)),
            Self::List(l) => f.debug_list().entries(l).finish(),
            Self::Dict(m) => f.debug_map().entries(m).finish(),
            Self::Tuple(t) => {
                let mut d = f.debug_tuple("");
                for v in t {
                    d.field(v);
                }
                d.finish()
            }
            Self::Bytes(b) => write!(f, "b{:?}", String::from_utf8_lossy(b)),
            Self::Markup(m) => write!(f, "Markup({m:?})"),
            Self::Uuid(u) => write!(f, "UUID('{u}')"),
            Self::DateTime(d) => write!(f, "datetime({d})"),
            Self::RawDateTime { content, loaded } => match loaded {
                Some(d) => write!(f, "datetime({d}, written as {content:?})"),
                None => write!(f, "None (a date written as {content:?})"),
            },
        }
    }
}

impl Value {
    /// This value as Flask's tagged JSON text (compact, keys sorted, ASCII).
    ///
    /// # Examples
    ///
    /// ```
    /// use websession_core::Value;
    ///
    /// let v = Value::Tuple(vec![Value::Int(1), Value::Bytes(b"hi".to_vec())]);
    /// assert_eq!(v.to_tagged_json(), r#"{" t":[1,{" b":"aGk="}]}"#);
    /// ```
    #[must_use]
    pub fn to_tagged_json(&self) -> String {
        let mut out = String::new();
        crate::json::write_value(&mut out, self);
        out
    }

    /// Parses Flask's tagged JSON text into a value, untagging as Flask does.
    ///
    /// # Errors
    ///
    /// [`crate::PayloadError`] for text that is not JSON or a tag whose content is invalid.
    pub fn from_tagged_json(text: &str) -> Result<Self, crate::PayloadError> {
        crate::json::parse_value(text.as_bytes())
    }

    /// The datetime Flask holds for this value: a [`Value::DateTime`], or what
    /// Flask reads from a [`Value::RawDateTime`] (`None` where Flask reads
    /// `None`). `None` for every other variant.
    ///
    /// # Examples
    ///
    /// ```
    /// use websession_core::Value;
    ///
    /// // Flask writes datetime(50, 1, 1) with four digits and reads it back as 2050.
    /// let v = Value::from_tagged_json(r#"{" d":"Sat, 01 Jan 0050 00:00:00 GMT"}"#)?;
    /// assert_eq!(v.as_datetime().map(|d| d.year()), Some(2050));
    /// assert_eq!(v.to_tagged_json(), r#"{" d":"Sat, 01 Jan 0050 00:00:00 GMT"}"#);
    /// # Ok::<(), websession_core::PayloadError>(())
    /// ```
    #[must_use]
    pub fn as_datetime(&self) -> Option<OffsetDateTime> {
        match self {
            Self::DateTime(d) => Some(*d),
            Self::RawDateTime { loaded, .. } => *loaded,
            _ => None,
        }
    }

    /// This value as Flask holds it after loading it: every
    /// [`Value::RawDateTime`], however deep, becomes the [`Value::DateTime`]
    /// Flask read from it, or [`Value::Null`]. Writing the result gives the
    /// bytes Flask writes when it saves the session again.
    #[must_use]
    pub fn to_loaded(&self) -> Self {
        match self {
            Self::RawDateTime { loaded, .. } => loaded.map_or(Self::Null, Self::DateTime),
            Self::List(l) => Self::List(l.iter().map(Self::to_loaded).collect()),
            Self::Tuple(l) => Self::Tuple(l.iter().map(Self::to_loaded).collect()),
            Self::Dict(m) => {
                Self::Dict(m.iter().map(|(k, v)| (k.clone(), v.to_loaded())).collect())
            }
            other => other.clone(),
        }
    }

    /// Converts any `Serialize` type into a value, through `serde_json`.
    ///
    /// Numbers become [`Value::Int`]/[`Value::BigInt`]/[`Value::Float`],
    /// sequences [`Value::List`], maps and structs [`Value::Dict`].
    ///
    /// # Errors
    ///
    /// [`ValueError::Serialize`] when serde refuses the value (e.g. a map with
    /// non-string keys).
    pub fn from_serialize<T: Serialize + ?Sized>(value: &T) -> Result<Self, ValueError> {
        let json = serde_json::to_value(value).map_err(|e| ValueError::Serialize(e.to_string()))?;
        Ok(Self::from_json(json))
    }

    /// Python truthiness (`bool(value)`): false for `None`, `False`, zero,
    /// and empty strings and containers; a datetime Flask reads as `None`
    /// is false too. Flask tests `session.permanent` this way.
    ///
    /// ```
    /// use websession_core::Value;
    /// assert!(!Value::Str(String::new()).truthy() && Value::Int(2).truthy());
    /// ```
    #[must_use]
    pub fn truthy(&self) -> bool {
        match self {
            Self::Null => false,
            Self::Bool(b) => *b,
            Self::Int(i) => *i != 0,
            Self::Float(x) => *x != 0.0,
            Self::Str(s) | Self::Markup(s) => !s.is_empty(),
            Self::List(l) | Self::Tuple(l) => !l.is_empty(),
            Self::Dict(m) => !m.is_empty(),
            Self::Bytes(b) => !b.is_empty(),
            Self::Utf16(u) => !u.is_empty(),
            Self::RawDateTime { loaded, .. } => loaded.is_some(),
            Self::BigInt(_) | Self::Uuid(_) | Self::DateTime(_) => true,
        }
    }

    fn from_json(json: serde_json::Value) -> Self {
        use serde_json::Value as J;
        match json {
            J::Null => Self::Null,
            J::Bool(b) => Self::Bool(b),
            J::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Self::Int(i)
                } else if let Some(u) = n.as_u64() {
                    Self::BigInt(u.to_string())
                } else {
                    Self::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            J::String(s) => Self::Str(s),
            J::Array(a) => Self::List(a.into_iter().map(Self::from_json).collect()),
            J::Object(o) => Self::Dict(
                o.into_iter()
                    .map(|(k, v)| (k, Self::from_json(v)))
                    .collect(),
            ),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Self::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Self::Str(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Self::Int(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Self::Float(x)
    }
}

/// serde's message without the session's data: what it quotes (a string
/// value in `"…"`, a number or a variant in backticks) before `, expected`
/// becomes `…`, so an error a handler logs never carries the value. What
/// follows `, expected` comes from the Rust type and stays.
pub(crate) fn redact(message: &str) -> String {
    // The last `, expected`: a quoted value may hold the words too.
    let (head, tail) = message
        .rfind(", expected")
        .map_or((message, ""), |i| message.split_at(i));
    let mut out = String::with_capacity(message.len());
    let mut chars = head.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                out.push_str("\"…\"");
                let mut escaped = false;
                for c in chars.by_ref() {
                    match (escaped, c) {
                        (true, _) => escaped = false,
                        (false, '\\') => escaped = true,
                        (false, '"') => break,
                        _ => {}
                    }
                }
            }
            '`' => {
                out.push_str("`…`");
                chars.by_ref().find(|&c| c == '`');
            }
            c => out.push(c),
        }
    }
    out.push_str(tail);
    out
}

/// Errors converting between [`Value`] and Rust types. Their messages name
/// kinds and types, never the session's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// serde could not serialise the Rust value.
    #[error("cannot store the value in a session: {0}")]
    Serialize(String),
    /// The session value does not have the shape of the requested type.
    #[error("the session value does not fit the requested type: {0}")]
    Deserialize(String),
    /// The session holds a Python value that the serde bridge can't carry.
    #[error(
        "the session value is {0}, which typed access can't represent; read it as a raw Value"
    )]
    NotRepresentable(&'static str),
    /// The session holds a value that plain JSON (Starlette's and Django's
    /// session formats) has no form for: bytes, a UUID or a datetime.
    /// Python's `json.dumps` refuses them too.
    #[error("the session value is {0}, which plain JSON can't hold; store it as a string")]
    NotPlainJson(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_bridge_round_trips_common_types() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct Cart {
            items: Vec<String>,
            total_cents: u64,
            coupon: Option<String>,
        }
        let cart = Cart {
            items: vec!["tea".into()],
            total_cents: 450,
            coupon: None,
        };
        let v = Value::from_serialize(&cart).unwrap();
        assert_eq!(
            v.to_tagged_json(),
            r#"{"coupon":null,"items":["tea"],"total_cents":450}"#
        );
        assert_eq!(v.deserialize_into::<Cart>().unwrap(), cart);
        assert_eq!(
            Value::from_serialize(&u64::MAX).unwrap(),
            Value::BigInt(u64::MAX.to_string())
        );
        assert_eq!(
            Value::BigInt(u64::MAX.to_string())
                .deserialize_into::<u64>()
                .unwrap(),
            u64::MAX
        );
    }

    #[test]
    fn unrepresentable_values_are_typed_errors() {
        assert!(matches!(
            Value::Float(f64::NAN).deserialize_into::<f64>(),
            Err(ValueError::NotRepresentable(_))
        ));
        assert!(matches!(
            Value::BigInt("100000000000000000000000".into()).deserialize_into::<u64>(),
            Err(ValueError::NotRepresentable(_))
        ));
        assert!(matches!(
            Value::Str("x".into()).deserialize_into::<u8>(),
            Err(ValueError::Deserialize(_))
        ));
    }

    #[test]
    fn dates_give_what_flask_reads() {
        let read = |text: &str| Value::from_tagged_json(text).unwrap();
        let typed = |v: &Value| v.deserialize_into::<Option<String>>().unwrap();

        let v = read(r#"{" d":"Tue, 01 Jan 1850 00:00:00 GMT"}"#);
        assert!(matches!(v, Value::DateTime(_)));
        assert_eq!(typed(&v).as_deref(), Some("1850-01-01T00:00:00Z"));

        let v = read(r#"{" d":"Sat, 01 Jan 0050 00:00:00 GMT"}"#);
        assert!(matches!(v, Value::RawDateTime { .. }));
        assert_eq!(typed(&v).as_deref(), Some("2050-01-01T00:00:00Z"));
        assert_eq!(v.as_datetime().map(|d| d.year()), Some(2050));
        assert_eq!(
            v.to_loaded().to_tagged_json(),
            r#"{" d":"Sat, 01 Jan 2050 00:00:00 GMT"}"#
        );

        let v = read(r#"{" d":"Fri, 17 May 2024 14:34:56 +0200"}"#);
        assert_eq!(typed(&v).as_deref(), Some("2024-05-17T14:34:56+02:00"));
        assert_eq!(
            v.to_tagged_json(),
            r#"{" d":"Fri, 17 May 2024 14:34:56 +0200"}"#
        );

        let v = read(r#"[{" d":"not a date"}]"#);
        assert_eq!(v.deserialize_into::<Vec<Option<String>>>().unwrap(), [None]);
        assert_eq!(v.to_tagged_json(), r#"[{" d":"not a date"}]"#);
        assert_eq!(v.to_loaded().to_tagged_json(), "[null]");
        assert_eq!(Value::Int(1).as_datetime(), None);
    }

    #[test]
    fn tagged_types_deserialize_to_natural_forms() {
        assert_eq!(
            Value::Bytes(vec![1, 2])
                .deserialize_into::<Vec<u8>>()
                .unwrap(),
            vec![1, 2]
        );
        assert_eq!(
            Value::Tuple(vec![Value::Int(1), Value::Str("a".into())])
                .deserialize_into::<(i32, String)>()
                .unwrap(),
            (1, "a".to_owned())
        );
        assert_eq!(
            Value::Markup("<b>".into())
                .deserialize_into::<String>()
                .unwrap(),
            "<b>"
        );
    }

    // Found in review: serde's message quoted the value, and handlers log
    // these errors.
    #[test]
    fn type_errors_name_the_kind_never_the_value() {
        let secret = Value::from("tok-SECRET-4711 \"quoted\" `tick`");
        for e in [
            secret.deserialize_into::<u64>().unwrap_err(),
            Value::Int(987_654_321)
                .deserialize_into::<String>()
                .unwrap_err(),
            Value::from("SECRET-variant")
                .deserialize_into::<Color>()
                .unwrap_err(),
        ] {
            let shown = e.to_string();
            assert!(
                !shown.contains("SECRET")
                    && !shown.contains("987654321")
                    && !shown.contains("tick"),
                "{shown}"
            );
            assert!(
                shown.contains("expected"),
                "still says what was expected: {shown}"
            );
        }
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    enum Color {
        Red,
    }
}
