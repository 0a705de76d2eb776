//! Writing Flask's tagged JSON: compact, keys sorted by code point, ASCII only.

use std::fmt::Write as _;

use super::{python_float_repr, ValueRef, TAG_KEYS};
use crate::date::http_date;
use crate::value::{Map, Value, ValueError};

/// Writes a session as Flask does: tagged, compact, keys sorted, ASCII only.
pub fn write_map(out: &mut String, map: &Map) {
    write_dict(out, map);
}

/// Writes one value as Flask's tagged JSON.
pub fn write_value(out: &mut String, v: &Value) {
    // Tagged JSON has a form for every value: this never fails.
    let _ = Style::FLASK.value(out, v);
}

/// The separators of plain JSON, as Python's `json.dumps` takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlainJson {
    /// `separators=(",", ":")`: Django's `JSONSerializer`.
    Compact,
    /// `json.dumps`' default `(", ", ": ")`: Starlette's session.
    Spaced,
}

/// Writes a session as plain JSON, as Python's `json.dumps(session,
/// separators=...)` writes a dict built in this map's (sorted) key order:
/// ASCII only (`ensure_ascii`), floats as `repr`, `NaN` and `Infinity` as
/// Python spells them, no Flask tags.
///
/// A tuple is written as a list and [`Value::Markup`] as a string, as
/// `json.dumps` writes them.
///
/// # Errors
///
/// [`ValueError::NotPlainJson`] for the values plain JSON has no form
/// for, which `json.dumps` refuses too (`TypeError`): bytes, UUIDs and
/// datetimes.
///
/// ```
/// use websession_core::json::{write_plain_map, PlainJson};
/// use websession_core::{Map, Value};
///
/// let mut map = Map::new();
/// map.insert("name".into(), Value::from("Zoë"));
/// map.insert("n".into(), Value::from(1));
/// let mut out = String::new();
/// write_plain_map(&mut out, &map, PlainJson::Spaced)?;
/// assert_eq!(out, r#"{"n": 1, "name": "Zo\u00eb"}"#);
/// # Ok::<(), websession_core::ValueError>(())
/// ```
pub fn write_plain_map(out: &mut String, map: &Map, spacing: PlainJson) -> Result<(), ValueError> {
    let style = match spacing {
        PlainJson::Compact => Style::COMPACT,
        PlainJson::Spaced => Style::SPACED,
    };
    style.dict(out, map)
}

/// One way of writing JSON: Flask's tags or plain, and the separators.
#[derive(Clone, Copy)]
struct Style {
    tagged: bool,
    item_sep: &'static str,
    key_sep: &'static str,
}

impl Style {
    const FLASK: Self = Self {
        tagged: true,
        item_sep: ",",
        key_sep: ":",
    };
    const COMPACT: Self = Self {
        tagged: false,
        ..Self::FLASK
    };
    const SPACED: Self = Self {
        tagged: false,
        item_sep: ", ",
        key_sep: ": ",
    };

    fn value(self, out: &mut String, v: &Value) -> Result<(), ValueError> {
        match v {
            Value::Null => out.push_str("null"),
            Value::Bool(true) => out.push_str("true"),
            Value::Bool(false) => out.push_str("false"),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::BigInt(s) => out.push_str(s),
            Value::Float(x) => out.push_str(&python_float_repr(*x)),
            Value::Str(s) => write_str(out, s),
            Value::Utf16(units) => write_utf16(out, units),
            Value::List(items) => self.list(out, items)?,
            Value::Dict(m) => self.dict(out, m)?,
            Value::Tuple(items) if !self.tagged => self.list(out, items)?,
            Value::Markup(s) if !self.tagged => write_str(out, s),
            Value::Bytes(_) if !self.tagged => return Err(ValueError::NotPlainJson("bytes")),
            Value::Uuid(_) if !self.tagged => return Err(ValueError::NotPlainJson("a UUID")),
            Value::DateTime(_) | Value::RawDateTime { .. } if !self.tagged => {
                return Err(ValueError::NotPlainJson("a datetime"))
            }
            Value::Tuple(items) => {
                out.push_str(r#"{" t":"#);
                self.list(out, items)?;
                out.push('}');
            }
            Value::Bytes(b) => {
                out.push_str(r#"{" b":""#);
                crate::b64::std_encode_append(b, out);
                out.push_str("\"}");
            }
            Value::Markup(s) => {
                out.push_str(r#"{" m":"#);
                write_str(out, s);
                out.push('}');
            }
            Value::Uuid(u) => {
                out.push_str(r#"{" u":""#);
                let _ = write!(out, "{}", u.simple());
                out.push_str("\"}");
            }
            Value::DateTime(d) => {
                out.push_str(r#"{" d":""#);
                out.push_str(&http_date(*d));
                out.push_str("\"}");
            }
            Value::RawDateTime { content, .. } => {
                out.push_str(r#"{" d":"#);
                self.value(out, content)?;
                out.push('}');
            }
        }
        Ok(())
    }

    fn list(self, out: &mut String, items: &[Value]) -> Result<(), ValueError> {
        out.push('[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(self.item_sep);
            }
            self.value(out, item)?;
        }
        out.push(']');
        Ok(())
    }

    fn dict(self, out: &mut String, m: &Map) -> Result<(), ValueError> {
        let entries = m.iter().map(|(k, v)| (k.as_str(), ValueRef::Value(v)));
        self.entries(out, m.len(), entries)
    }

    /// A dict of `len` entries, in key order.
    fn entries<'a>(
        self,
        out: &mut String,
        len: usize,
        mut entries: impl Iterator<Item = (&'a str, ValueRef<'a>)>,
    ) -> Result<(), ValueError> {
        // TagDict: a one-key dict whose key is a tag key is wrapped so that it is
        // not mistaken for a tagged value when read back.
        let Some((k, v)) = entries.next() else {
            out.push_str("{}");
            return Ok(());
        };
        if self.tagged && len == 1 && TAG_KEYS.contains(&k) {
            out.push_str(r#"{" di":{"#);
            let mut key = String::with_capacity(k.len() + 2);
            key.push_str(k);
            key.push_str("__");
            write_str(out, &key);
            out.push(':');
            self.value_ref(out, v)?;
            out.push_str("}}");
            return Ok(());
        }
        out.push('{');
        self.entry(out, k, v)?;
        for (k, v) in entries {
            out.push_str(self.item_sep);
            self.entry(out, k, v)?;
        }
        out.push('}');
        Ok(())
    }

    /// `"key":value`, with the style's separator.
    fn entry(self, out: &mut String, k: &str, v: ValueRef<'_>) -> Result<(), ValueError> {
        write_str(out, k);
        out.push_str(self.key_sep);
        self.value_ref(out, v)
    }

    /// A value still in a payload's text (a plain string) or parsed.
    fn value_ref(self, out: &mut String, v: ValueRef<'_>) -> Result<(), ValueError> {
        match v {
            ValueRef::Str(s) => {
                write_str(out, s);
                Ok(())
            }
            ValueRef::Value(v) => self.value(out, v),
        }
    }
}

/// Writes a session as Flask writes it after loading it, for showing what
/// Flask holds: each date kept as written ([`Value::RawDateTime`]) becomes the
/// datetime Flask read from it, or `null`. See [`Value::to_loaded`].
///
/// [`write_map`] instead writes such dates back byte for byte, as a session
/// must be re-encoded.
pub fn write_map_as_loaded(out: &mut String, map: &Map) {
    let loaded: Map = map
        .iter()
        .map(|(k, v)| (k.clone(), v.to_loaded()))
        .collect();
    write_dict(out, &loaded);
}

/// Writes `len` entries in key order as Flask's tagged JSON, as
/// [`write_map`] writes a map of them: a [`LazyMap`](super::LazyMap)'s.
pub(super) fn write_entries<'a>(
    out: &mut String,
    len: usize,
    entries: impl Iterator<Item = (&'a str, ValueRef<'a>)>,
) {
    // Tagged JSON has a form for every value: this never fails.
    let _ = Style::FLASK.entries(out, len, entries);
}

fn write_dict(out: &mut String, m: &Map) {
    // Tagged JSON has a form for every value: this never fails.
    let _ = Style::FLASK.dict(out, m);
}

pub(super) fn write_str(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    // Runs of printable ASCII are copied whole; the scan stops only at a
    // byte to escape: an ASCII one, or the first byte of a char beyond
    // ASCII (the scan resumes after the whole char, so it never stops
    // inside one).
    let mut start = 0;
    loop {
        let at = super::scan::write_stop(bytes, start);
        if at == bytes.len() {
            break;
        }
        out.push_str(&s[start..at]);
        let Some(c) = s[at..].chars().next() else {
            break; // can't happen: `at` is a char boundary before the end
        };
        write_escape(out, c);
        start = at + c.len_utf8();
    }
    out.push_str(&s[start..]);
    out.push('"');
}

fn write_escape(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        _ => {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{u:04x}");
            }
        }
    }
}

fn write_utf16(out: &mut String, units: &[u16]) {
    out.push('"');
    for &u in units {
        match char::from_u32(u32::from(u)) {
            Some(c) if u < 0x80 => match c {
                ' '..='~' if c != '"' && c != '\\' => out.push(c),
                _ => write_escape(out, c),
            },
            _ => {
                let _ = write!(out, "\\u{u:04x}");
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The char-by-char writer `write_str` replaced, as the oracle.
    fn by_char(s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            if (' '..='~').contains(&c) && c != '"' && c != '\\' {
                out.push(c);
            } else {
                write_escape(&mut out, c);
            }
        }
        out.push('"');
        out
    }

    #[test]
    fn strings_are_escaped_as_flask_does() {
        let mut samples: Vec<String> = [
            "",
            "Rex",
            "a\"b\\c",
            "\u{0}\u{1f}\u{7f}\n\r\t\u{8}\u{c}",
            "é",
            "naïve café",
            "😀 and 𝄞",
            "\u{2028}\u{feff}end",
            "~ ",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        // Every char class next to every other, at every position.
        let parts = ["a", "\"", "\\", "\n", "\u{7f}", "é", "😀", "~"];
        for a in parts {
            for b in parts {
                for c in parts {
                    samples.push(format!("{a}{b}{c}"));
                }
            }
        }
        for s in samples {
            let mut out = String::new();
            write_str(&mut out, &s);
            assert_eq!(out, by_char(&s), "{s:?}");
            assert!(out.is_ascii(), "{out:?}");
        }
        let mut out = String::new();
        write_str(&mut out, "😀");
        assert_eq!(out, r#""\ud83d\ude00""#);
    }
}
