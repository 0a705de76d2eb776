//! Typed reads: a serde [`Deserializer`] over a borrowed [`Value`] (or a
//! string still in a payload's text), so `session.get::<T>` builds `T`
//! directly, with no `serde_json::Value` in between.
//!
//! It presents each value as `serde_json::from_value` would see the JSON
//! that [`Value::deserialize_into`] documents: tuples and bytes as arrays,
//! Markup as a string, a UUID as its hyphenated text, a datetime as RFC
//! 3339, a big integer as `u64` when it fits. What JSON can't carry (`NaN`,
//! the infinities, integers beyond `u64`, lone surrogates) is
//! [`ValueError::NotRepresentable`], raised only if `T` reads that value.

use std::fmt;

use serde::de::value::{BorrowedStrDeserializer, SeqDeserializer};
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};

use crate::value::{redact, Map, Value, ValueError};

/// Reading a [`Value`] as a Rust type lives here, beside the deserializer
/// it uses, so `value.rs` doesn't import this module.
impl Value {
    /// Converts this value into any `Deserialize` type, directly (no
    /// `serde_json::Value` in between), reading it as `serde_json` would read
    /// its natural JSON form: a tuple an array, bytes an
    /// array of numbers (so `Vec<u8>` works), Markup a string, a UUID its
    /// hyphenated string, a datetime an RFC 3339 string (for a
    /// [`Value::RawDateTime`], the datetime Flask reads, with its offset, or
    /// `null` where Flask reads `None`).
    ///
    /// # Errors
    ///
    /// [`ValueError::Deserialize`] when the value does not fit `T`, and
    /// [`ValueError::NotRepresentable`] for values JSON can't carry (`NaN`,
    /// integers beyond `u64`, lone surrogates) when `T` reads one: read those
    /// with the raw value. A value `T` skips (an ignored field) is no error,
    /// and a container whose shape doesn't fit `T` is `Deserialize`, whatever
    /// it holds.
    pub fn deserialize_into<T: DeserializeOwned>(&self) -> Result<T, ValueError> {
        from_value(self)
    }
}

/// The deserializer's error: [`ValueError`] with serde's constructors.
#[derive(Debug)]
pub(crate) struct DeError(ValueError);

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<M: fmt::Display>(msg: M) -> Self {
        // serde quotes the offending value in its messages: never keep it.
        Self(ValueError::Deserialize(redact(&msg.to_string())))
    }
}

fn not_representable(what: &'static str) -> DeError {
    DeError(ValueError::NotRepresentable(what))
}

/// `T` from a string value (still in a payload's text).
pub(crate) fn from_str<T: DeserializeOwned>(s: &str) -> Result<T, ValueError> {
    T::deserialize(TextDe {
        text: s,
        key: false,
    })
    .map_err(|e| e.0)
}

/// `T` from a value.
pub(crate) fn from_value<T: DeserializeOwned>(v: &Value) -> Result<T, ValueError> {
    T::deserialize(ValueDe(v)).map_err(|e| e.0)
}

/// A [`Value`] as serde input.
#[derive(Clone, Copy)]
struct ValueDe<'a>(&'a Value);

impl<'a> IntoDeserializer<'a, DeError> for ValueDe<'a> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

fn rfc3339(d: &time::OffsetDateTime) -> Result<String, DeError> {
    d.format(&time::format_description::well_known::Rfc3339)
        .map_err(|_| not_representable("a datetime outside RFC 3339"))
}

fn seq<'a, V: Visitor<'a>>(items: &'a [Value], visitor: V) -> Result<V::Value, DeError> {
    let mut access = SeqDeserializer::new(items.iter().map(ValueDe));
    let out = visitor.visit_seq(&mut access)?;
    access.end()?;
    Ok(out)
}

fn map<'a, V: Visitor<'a>>(m: &'a Map, visitor: V) -> Result<V::Value, DeError> {
    let mut access = de::value::MapDeserializer::new(
        m.iter()
            .map(|(k, v)| (TextDe { text: k, key: true }, ValueDe(v))),
    );
    let out = visitor.visit_map(&mut access)?;
    access.end()?;
    Ok(out)
}

impl<'de> de::Deserializer<'de> for ValueDe<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            // As JSON numbers: non-negative integers are u64.
            Value::Int(i) => match u64::try_from(*i) {
                Ok(u) => visitor.visit_u64(u),
                Err(_) => visitor.visit_i64(*i),
            },
            Value::BigInt(s) => match s.parse::<u64>() {
                Ok(u) => visitor.visit_u64(u),
                Err(_) => Err(not_representable("an integer beyond the u64 range")),
            },
            Value::Float(x) if x.is_finite() => visitor.visit_f64(*x),
            Value::Float(_) => Err(not_representable("a NaN or infinite float")),
            Value::Str(s) | Value::Markup(s) => visitor.visit_borrowed_str(s),
            Value::Utf16(_) => Err(not_representable("a string with lone surrogates")),
            Value::List(l) | Value::Tuple(l) => seq(l, visitor),
            Value::Dict(m) => map(m, visitor),
            Value::Bytes(b) => {
                let mut access = SeqDeserializer::new(b.iter().copied().map(u64::from));
                let out = visitor.visit_seq(&mut access)?;
                access.end()?;
                Ok(out)
            }
            Value::Uuid(u) => visitor.visit_string(u.hyphenated().to_string()),
            Value::DateTime(d) => visitor.visit_string(rfc3339(d)?),
            Value::RawDateTime { loaded, .. } => match loaded {
                Some(d) => visitor.visit_string(rfc3339(d)?),
                None => visitor.visit_unit(),
            },
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            Value::Null | Value::RawDateTime { loaded: None, .. } => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        if name == RAW_VALUE_TOKEN {
            // serde_json's `RawValue` (feature `raw_value`) wants the JSON
            // text: let serde_json's own `Value` speak its protocol.
            return de::Deserializer::deserialize_newtype_struct(to_json(self.0)?, name, visitor)
                .map_err(de::Error::custom);
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.0 {
            Value::Str(s) | Value::Markup(s) => {
                visitor.visit_enum(BorrowedStrDeserializer::<DeError>::new(s))
            }
            Value::Uuid(u) => visitor.visit_enum(de::value::StringDeserializer::<DeError>::new(
                u.hyphenated().to_string(),
            )),
            Value::DateTime(d)
            | Value::RawDateTime {
                loaded: Some(d), ..
            } => visitor.visit_enum(de::value::StringDeserializer::<DeError>::new(rfc3339(d)?)),
            Value::Dict(m) if m.len() == 1 => {
                let Some((variant, content)) = m.iter().next() else {
                    return Err(de::Error::custom("expected a map with a single key"));
                };
                visitor.visit_enum(Variant { variant, content })
            }
            _ => Err(de::Error::invalid_type(
                de::Unexpected::Other("a value that is no string or one-key map"),
                &"an enum",
            )),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

/// A string: a string value, or a dict key. From a key, numeric and
/// boolean map keys are parsed (`HashMap<u32, _>`) as serde_json reads
/// object keys: the key must be a JSON number (or `true`/`false`).
#[derive(Clone, Copy)]
struct TextDe<'a> {
    text: &'a str,
    key: bool,
}

impl<'a> IntoDeserializer<'a, DeError> for TextDe<'a> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

/// JSON's number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    let mut i = usize::from(b.first() == Some(&b'-'));
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

macro_rules! parsed_key {
    ($($method:ident => $visit:ident: $ty:ty, $int:literal),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            if !self.key {
                return visitor.visit_borrowed_str(self.text);
            }
            // serde_json reads `-0` as the float -0.0, never as an integer.
            let json = is_json_number(self.text) && !($int && self.text == "-0");
            match self.text.parse::<$ty>() {
                Ok(n) if json => visitor.$visit(n),
                _ => Err(de::Error::invalid_type(
                    de::Unexpected::Other("a key that is no such number"),
                    &visitor,
                )),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for TextDe<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_borrowed_str(self.text)
    }

    parsed_key! {
        deserialize_i8 => visit_i8: i8, true,
        deserialize_i16 => visit_i16: i16, true,
        deserialize_i32 => visit_i32: i32, true,
        deserialize_i64 => visit_i64: i64, true,
        deserialize_i128 => visit_i128: i128, true,
        deserialize_u8 => visit_u8: u8, true,
        deserialize_u16 => visit_u16: u16, true,
        deserialize_u32 => visit_u32: u32, true,
        deserialize_u64 => visit_u64: u64, true,
        deserialize_u128 => visit_u128: u128, true,
        deserialize_f32 => visit_f32: f32, false,
        deserialize_f64 => visit_f64: f64, false,
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match (self.key, self.text) {
            (true, "true") => visitor.visit_bool(true),
            (true, "false") => visitor.visit_bool(false),
            (true, _) => Err(de::Error::invalid_type(
                de::Unexpected::Other("a key that is no boolean"),
                &visitor,
            )),
            (false, _) => visitor.visit_borrowed_str(self.text),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_enum(BorrowedStrDeserializer::<DeError>::new(self.text))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        char str string bytes byte_buf unit unit_struct seq tuple tuple_struct
        map struct identifier
    }
}

/// The name serde_json's `RawValue` asks a deserializer for.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// The value as a `serde_json::Value` (only for serde_json's `RawValue`).
fn to_json(v: &Value) -> Result<serde_json::Value, DeError> {
    use serde_json::Value as J;
    Ok(match v {
        Value::Null | Value::RawDateTime { loaded: None, .. } => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::BigInt(s) => J::from(
            s.parse::<u64>()
                .map_err(|_| not_representable("an integer beyond the u64 range"))?,
        ),
        Value::Float(x) => J::Number(
            serde_json::Number::from_f64(*x)
                .ok_or_else(|| not_representable("a NaN or infinite float"))?,
        ),
        Value::Str(s) | Value::Markup(s) => J::String(s.clone()),
        Value::Utf16(_) => return Err(not_representable("a string with lone surrogates")),
        Value::List(l) | Value::Tuple(l) => {
            J::Array(l.iter().map(to_json).collect::<Result<_, _>>()?)
        }
        Value::Dict(m) => J::Object(
            m.iter()
                .map(|(k, v)| Ok((k.clone(), to_json(v)?)))
                .collect::<Result<_, DeError>>()?,
        ),
        Value::Bytes(b) => J::Array(b.iter().map(|&x| J::from(x)).collect()),
        Value::Uuid(u) => J::String(u.hyphenated().to_string()),
        Value::DateTime(d)
        | Value::RawDateTime {
            loaded: Some(d), ..
        } => J::String(rfc3339(d)?),
    })
}

/// An enum written as `{"Variant": content}`.
struct Variant<'a> {
    variant: &'a str,
    content: &'a Value,
}

impl<'a> de::EnumAccess<'a> for Variant<'a> {
    type Error = DeError;
    type Variant = ValueDe<'a>;

    fn variant_seed<S: de::DeserializeSeed<'a>>(
        self,
        seed: S,
    ) -> Result<(S::Value, ValueDe<'a>), DeError> {
        let v = seed.deserialize(BorrowedStrDeserializer::<DeError>::new(self.variant))?;
        Ok((v, ValueDe(self.content)))
    }
}

impl<'a> de::VariantAccess<'a> for ValueDe<'a> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        de::Deserialize::deserialize(self)
    }

    fn newtype_variant_seed<S: de::DeserializeSeed<'a>>(
        self,
        seed: S,
    ) -> Result<S::Value, DeError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'a>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            Value::List(_) | Value::Tuple(_) | Value::Bytes(_) => {
                de::Deserializer::deserialize_seq(self, visitor)
            }
            _ => Err(de::Error::invalid_type(
                de::Unexpected::Other("no array"),
                &"tuple variant",
            )),
        }
    }

    fn struct_variant<V: Visitor<'a>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.0 {
            Value::Dict(m) => map(m, visitor),
            _ => Err(de::Error::invalid_type(
                de::Unexpected::Other("no map"),
                &"struct variant",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct path agrees with `serde_json::from_value` on the JSON form.
    fn agrees<T>(v: &Value, json: serde_json::Value)
    where
        T: DeserializeOwned + PartialEq + fmt::Debug,
    {
        let direct = from_value::<T>(v).map_err(|e| matches!(e, ValueError::Deserialize(_)));
        let via_json = serde_json::from_value::<T>(json).map_err(|_| true);
        assert_eq!(direct, via_json, "{v:?}");
    }

    #[test]
    fn reads_like_serde_json() {
        use serde_json::json;
        #[derive(serde::Deserialize, PartialEq, Debug)]
        enum E {
            Unit,
            New(u8),
            Pair(u8, String),
            S { a: bool },
        }
        #[derive(serde::Deserialize, PartialEq, Debug)]
        struct S {
            name: String,
            tags: Vec<String>,
            n: Option<i32>,
        }
        let s = |x: &str| Value::Str(x.into());
        let mut m = Map::new();
        m.insert("name".into(), s("a"));
        m.insert("tags".into(), Value::Tuple(vec![s("x")]));
        m.insert("n".into(), Value::Null);
        m.insert("extra".into(), Value::Float(f64::NAN)); // ignored, never read
        agrees::<S>(
            &Value::Dict(m),
            json!({"name":"a","tags":["x"],"n":null,"extra":0}),
        );
        agrees::<u8>(&Value::Int(255), json!(255));
        agrees::<u8>(&Value::Int(256), json!(256));
        agrees::<i8>(&Value::Int(-3), json!(-3));
        agrees::<u64>(&Value::Int(-1), json!(-1));
        agrees::<f32>(&Value::Float(1.5), json!(1.5));
        agrees::<u32>(&Value::Float(1.5), json!(1.5));
        agrees::<String>(&Value::Int(1), json!(1));
        agrees::<String>(&Value::Markup("<b>".into()), json!("<b>"));
        agrees::<Vec<u8>>(&Value::Bytes(b"hi".to_vec()), json!([104, 105]));
        agrees::<(u8, u8)>(&Value::List(vec![Value::Int(1)]), json!([1]));
        agrees::<Option<bool>>(&Value::Null, json!(null));
        agrees::<Option<bool>>(&Value::Bool(true), json!(true));
        agrees::<()>(&Value::Null, json!(null));
        agrees::<E>(&s("Unit"), json!("Unit"));
        agrees::<E>(&s("Nope"), json!("Nope"));
        let one = |k: &str, v: Value| Value::Dict(Map::from([(k.to_owned(), v)]));
        agrees::<E>(&one("New", Value::Int(7)), json!({"New": 7}));
        agrees::<E>(
            &one("Pair", Value::List(vec![Value::Int(1), s("b")])),
            json!({"Pair": [1, "b"]}),
        );
        agrees::<E>(
            &one(
                "S",
                Value::Dict(Map::from([("a".into(), Value::Bool(true))])),
            ),
            json!({"S": {"a": true}}),
        );
        agrees::<E>(&Value::Int(1), json!(1));
        agrees::<serde_json::Value>(&Value::List(vec![Value::Int(-1), s("x")]), json!([-1, "x"]));
        let keyed = Value::Dict(Map::from([
            ("1".to_owned(), s("a")),
            ("20".to_owned(), s("b")),
        ]));
        agrees::<std::collections::HashMap<u32, String>>(&keyed, json!({"1": "a", "20": "b"}));
        agrees::<std::collections::BTreeMap<String, String>>(&keyed, json!({"1": "a", "20": "b"}));
        agrees::<std::collections::HashMap<u8, String>>(
            &Value::Dict(Map::from([("x".to_owned(), s("a"))])),
            json!({"x": "a"}),
        );
        agrees::<std::collections::HashMap<bool, u8>>(
            &Value::Dict(Map::from([("true".to_owned(), Value::Int(1))])),
            json!({"true": 1}),
        );
        for (key, json_key) in [("01", "01"), ("+1", "+1"), ("1.0", "1.0"), ("-0", "-0")] {
            agrees::<std::collections::BTreeMap<i32, String>>(
                &Value::Dict(Map::from([(key.to_owned(), s("a"))])),
                json!({ json_key: "a" }),
            );
        }
        agrees::<std::collections::HashMap<String, f64>>(
            &Value::Dict(Map::from([("inf".to_owned(), Value::Float(1.0))])),
            json!({"inf": 1.0}),
        );
        agrees::<E>(
            &one("S", Value::List(vec![Value::Bool(true)])),
            json!({"S": [true]}),
        );
        let u = uuid::Uuid::from_u128(7);
        agrees::<String>(&Value::Uuid(u), json!(u.to_string()));
    }

    /// A string still in the payload's text reads as serde_json reads a
    /// JSON string.
    #[test]
    fn text_strings_read_like_json_strings() {
        #[derive(serde::Deserialize, PartialEq, Debug)]
        struct UserId(String);
        #[derive(serde::Deserialize, PartialEq, Debug)]
        enum Role {
            Admin,
        }
        fn same<T: DeserializeOwned + PartialEq + fmt::Debug>(text: &str) {
            let direct = from_str::<T>(text).map_err(|_| ());
            let json =
                serde_json::from_value::<T>(serde_json::Value::String(text.into())).map_err(|_| ());
            assert_eq!(direct, json, "{text}");
        }
        same::<String>("alice");
        same::<Option<String>>("alice");
        same::<UserId>("alice");
        same::<Option<UserId>>("alice");
        same::<Role>("Admin");
        same::<Role>("Nope");
        same::<u32>("12");
        same::<bool>("true");
        same::<char>("x");
        same::<serde_json::Value>("x");
        same::<std::net::IpAddr>("127.0.0.1");
    }

    #[test]
    fn errors_keep_no_data() {
        for e in [
            from_value::<u8>(&Value::Str("secret-token".into())).unwrap_err(),
            from_str::<u8>("secret-token").unwrap_err(),
            from_value::<bool>(&Value::Int(987_654)).unwrap_err(),
        ] {
            let shown = e.to_string();
            assert!(matches!(e, ValueError::Deserialize(_)), "{shown}");
            assert!(
                !shown.contains("secret") && !shown.contains("987"),
                "{shown}"
            );
        }
        assert!(matches!(
            from_value::<Vec<String>>(&Value::List(vec![Value::Utf16(vec![0xD800])])),
            Err(ValueError::NotRepresentable(_))
        ));
    }
}
