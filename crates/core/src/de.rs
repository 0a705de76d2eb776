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

/// `T` from a string.
pub(crate) fn from_str<T: DeserializeOwned>(s: &str) -> Result<T, ValueError> {
    T::deserialize(BorrowedStrDeserializer::<DeError>::new(s)).map_err(|e| e.0)
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
    let mut access = de::value::MapDeserializer::new(m.iter().map(|(k, v)| (KeyDe(k), ValueDe(v))));
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
        match self.0 {
            Value::Str(s) | Value::Markup(s) => {
                visitor.visit_enum(BorrowedStrDeserializer::<DeError>::new(s))
            }
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

/// A dict key: a string, which numeric and boolean map keys are parsed
/// from (`HashMap<u32, _>`), as serde_json reads object keys.
#[derive(Clone, Copy)]
struct KeyDe<'a>(&'a str);

impl<'a> IntoDeserializer<'a, DeError> for KeyDe<'a> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

macro_rules! parsed_key {
    ($($method:ident => $visit:ident: $ty:ty),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            match self.0.parse::<$ty>() {
                Ok(n) => visitor.$visit(n),
                Err(_) => Err(de::Error::invalid_type(de::Unexpected::Str(self.0), &visitor)),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for KeyDe<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_borrowed_str(self.0)
    }

    parsed_key! {
        deserialize_i8 => visit_i8: i8,
        deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64,
        deserialize_i128 => visit_i128: i128,
        deserialize_u8 => visit_u8: u8,
        deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64,
        deserialize_u128 => visit_u128: u128,
        deserialize_f32 => visit_f32: f32,
        deserialize_f64 => visit_f64: f64,
        deserialize_bool => visit_bool: bool,
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
        visitor.visit_enum(BorrowedStrDeserializer::<DeError>::new(self.0))
    }

    serde::forward_to_deserialize_any! {
        char str string bytes byte_buf unit unit_struct seq tuple tuple_struct
        map struct identifier ignored_any
    }
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
        de::Deserializer::deserialize_seq(self, visitor)
    }

    fn struct_variant<V: Visitor<'a>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_map(self, visitor)
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
        let u = uuid::Uuid::from_u128(7);
        agrees::<String>(&Value::Uuid(u), json!(u.to_string()));
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
