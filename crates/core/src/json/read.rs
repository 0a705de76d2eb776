//! Reading Flask's tagged JSON (Python's JSON dialect), untagged as Flask does. (About 400 lines: one parser.)

use super::{MAX_DEPTH, TAG_KEYS};
use crate::date::{http_date, parse_date};
use crate::error::PayloadError;
use crate::value::{Map, Value};

/// Parses a session payload (see [`parse_value`] for errors).
///
/// # Errors
///
/// As [`parse_value`], plus [`PayloadError::NotAnObject`].
///
/// Parses a session payload. The top level must be an object; `null` gives an
/// empty session, as in Flask (`SecureCookieSession(None)` is `{}`).
pub fn parse_map(bytes: &[u8]) -> Result<Map, PayloadError> {
    match parse_value(bytes)? {
        Value::Dict(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        _ => Err(PayloadError::NotAnObject),
    }
}

/// Parses any tagged JSON value (Python's JSON dialect, untagged as Flask does).
///
/// # Errors
///
/// [`PayloadError`] for invalid UTF-8, invalid JSON, too deep nesting or bad tag content.
pub fn parse_value(bytes: &[u8]) -> Result<Value, PayloadError> {
    parse_with(bytes, true)
}

/// Parses a session payload of plain JSON (Python's dialect, no Flask tags:
/// Starlette's and Django's sessions). The top level must be an object;
/// `null` gives an empty session.
///
/// An object with one tag key (`{" t": [1]}`) stays a dict here: only
/// Flask's format gives those keys a meaning.
///
/// # Errors
///
/// As [`parse_map`] (never [`PayloadError::Tag`]).
///
/// ```
/// use websession_core::json::parse_plain_map;
/// use websession_core::Value;
///
/// let map = parse_plain_map(br#"{"t": {" t": [1]}}"#)?;
/// assert!(matches!(&map["t"], Value::Dict(d) if d.contains_key(" t")));
/// # Ok::<(), websession_core::PayloadError>(())
/// ```
pub fn parse_plain_map(bytes: &[u8]) -> Result<Map, PayloadError> {
    match parse_with(bytes, false)? {
        Value::Dict(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        _ => Err(PayloadError::NotAnObject),
    }
}

/// Parses one value, untagging objects as Flask does when `tagged`.
fn parse_with(bytes: &[u8], tagged: bool) -> Result<Value, PayloadError> {
    let text = std::str::from_utf8(bytes).map_err(|_| PayloadError::Utf8)?;
    let mut p = Parser {
        s: text.as_bytes(),
        pos: 0,
        depth: 0,
        tagged,
    };
    p.skip_ws();
    let v = p.value()?;
    p.skip_ws();
    if p.pos != p.s.len() {
        return Err(p.err("trailing characters"));
    }
    Ok(v)
}

pub(super) struct Parser<'a> {
    pub(super) s: &'a [u8],
    pub(super) pos: usize,
    pub(super) depth: usize,
    /// Flask's tagged JSON (objects are untagged) or plain JSON.
    pub(super) tagged: bool,
}

impl Parser<'_> {
    pub(super) fn err(&self, what: &'static str) -> PayloadError {
        PayloadError::Json {
            offset: self.pos,
            what,
        }
    }

    #[inline]
    pub(super) fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    #[inline]
    pub(super) fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    #[inline]
    pub(super) fn eat(&mut self, lit: &[u8]) -> bool {
        if self.s[self.pos..].starts_with(lit) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    pub(super) fn value(&mut self) -> Result<Value, PayloadError> {
        match self.peek() {
            Some(b'{') => self.nested(Self::object),
            Some(b'[') => self.nested(|p| p.array().map(Value::List)),
            Some(b'"') => self.string(),
            Some(b'n') if self.eat(b"null") => Ok(Value::Null),
            Some(b't') if self.eat(b"true") => Ok(Value::Bool(true)),
            Some(b'f') if self.eat(b"false") => Ok(Value::Bool(false)),
            Some(b'N') if self.eat(b"NaN") => Ok(Value::Float(f64::NAN)),
            Some(b'I') if self.eat(b"Infinity") => Ok(Value::Float(f64::INFINITY)),
            Some(b'-') if self.eat(b"-Infinity") => Ok(Value::Float(f64::NEG_INFINITY)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("expected a value")),
            None => Err(self.err("unexpected end")),
        }
    }

    fn nested(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<Value, PayloadError>,
    ) -> Result<Value, PayloadError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(PayloadError::TooDeep { limit: MAX_DEPTH });
        }
        let v = f(self);
        self.depth -= 1;
        v
    }

    fn array(&mut self) -> Result<Vec<Value>, PayloadError> {
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_ws();
        if self.eat(b"]") {
            return Ok(items);
        }
        loop {
            self.skip_ws();
            items.push(self.value()?);
            self.skip_ws();
            if self.eat(b",") {
                continue;
            }
            if self.eat(b"]") {
                return Ok(items);
            }
            return Err(self.err("expected ',' or ']'"));
        }
    }

    fn object(&mut self) -> Result<Value, PayloadError> {
        self.pos += 1; // '{'
        let mut map = Map::new();
        self.skip_ws();
        if !self.eat(b"}") {
            loop {
                self.skip_ws();
                if self.peek() != Some(b'"') {
                    return Err(self.err("expected a string key"));
                }
                let key = match self.string()? {
                    Value::Str(s) => s,
                    _ => return Err(self.err("a key with lone surrogates")),
                };
                self.skip_ws();
                if !self.eat(b":") {
                    return Err(self.err("expected ':'"));
                }
                self.skip_ws();
                let v = self.value()?;
                map.insert(key, v); // duplicate keys: the last one wins, as in Python
                self.skip_ws();
                if self.eat(b",") {
                    continue;
                }
                if self.eat(b"}") {
                    break;
                }
                return Err(self.err("expected ',' or '}'"));
            }
        }
        if self.tagged {
            untag(map)
        } else {
            Ok(Value::Dict(map))
        }
    }

    /// A JSON string, with Python's lone surrogates kept. One pass over the
    /// bytes, the reader's hottest loop: kept whole so the fast path (no
    /// escapes) stays a single scan.
    pub(super) fn string(&mut self) -> Result<Value, PayloadError> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        let mut units: Option<Vec<u16>> = None; // set once a lone surrogate appears
        loop {
            let start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // The input is valid UTF-8 and we stopped at an ASCII byte, so this is a char boundary.
            let run =
                std::str::from_utf8(&self.s[start..self.pos]).map_err(|_| PayloadError::Utf8)?;
            match &mut units {
                Some(u) => u.extend(run.encode_utf16()),
                None => out.push_str(run),
            }
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(match units {
                        Some(u) => Value::Utf16(u),
                        None => Value::Str(out),
                    });
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let esc = self.peek().ok_or_else(|| self.err("unexpected end"))?;
                    self.pos += 1;
                    let simple = match esc {
                        b'"' => Some('"'),
                        b'\\' => Some('\\'),
                        b'/' => Some('/'),
                        b'b' => Some('\u{8}'),
                        b'f' => Some('\u{c}'),
                        b'n' => Some('\n'),
                        b'r' => Some('\r'),
                        b't' => Some('\t'),
                        b'u' => None,
                        _ => return Err(self.err("invalid escape")),
                    };
                    if let Some(c) = simple {
                        match &mut units {
                            Some(u) => u.push(c as u16),
                            None => out.push(c),
                        }
                        continue;
                    }
                    let first = self.hex4()?;
                    let mut pair = None;
                    if (0xD800..0xDC00).contains(&first) && self.s[self.pos..].starts_with(b"\\u") {
                        let save = self.pos;
                        self.pos += 2;
                        let second = self.hex4()?;
                        if (0xDC00..0xE000).contains(&second) {
                            pair = Some(second);
                        } else {
                            self.pos = save;
                        }
                    }
                    let decoded = match pair {
                        Some(lo) => char::decode_utf16([first, lo]).next().and_then(Result::ok),
                        None => char::from_u32(u32::from(first)),
                    };
                    match (decoded, &mut units) {
                        (Some(c), Some(u)) => u.extend(c.encode_utf16(&mut [0; 2]).iter()),
                        (Some(c), None) => out.push(c),
                        (None, Some(u)) => u.push(first),
                        (None, None) => {
                            let mut u: Vec<u16> = out.encode_utf16().collect();
                            u.push(first);
                            units = Some(u);
                        }
                    }
                }
                Some(_) => return Err(self.err("control character in string")),
                None => return Err(self.err("unterminated string")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u16, PayloadError> {
        let digits = self
            .s
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.err("short \\u escape"))?;
        let text = std::str::from_utf8(digits).map_err(|_| self.err("bad \\u escape"))?;
        if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(self.err("bad \\u escape"));
        }
        self.pos += 4;
        u16::from_str_radix(text, 16).map_err(|_| self.err("bad \\u escape"))
    }

    fn number(&mut self) -> Result<Value, PayloadError> {
        let start = self.pos;
        self.eat(b"-");
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                while let Some(b'0'..=b'9') = self.peek() {
                    self.pos += 1;
                }
            }
            _ => return Err(self.err("bad number")),
        }
        let mut is_float = false;
        if self.peek() == Some(b'.') && matches!(self.s.get(self.pos + 1), Some(b'0'..=b'9')) {
            is_float = true;
            self.pos += 1;
            while let Some(b'0'..=b'9') = self.peek() {
                self.pos += 1;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            let save = self.pos;
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if let Some(b'0'..=b'9') = self.peek() {
                is_float = true;
                while let Some(b'0'..=b'9') = self.peek() {
                    self.pos += 1;
                }
            } else {
                self.pos = save;
            }
        }
        // Only ASCII digits and signs were consumed.
        let text =
            std::str::from_utf8(&self.s[start..self.pos]).map_err(|_| self.err("bad number"))?;
        if is_float {
            return text
                .parse::<f64>()
                .map(Value::Float)
                .map_err(|_| self.err("bad number"));
        }
        Ok(match text.parse::<i64>() {
            Ok(i) => Value::Int(i),
            Err(_) => Value::BigInt(if text == "-0" {
                "0".into()
            } else {
                text.to_owned()
            }),
        })
    }
}

/// Flask's `untag_scan` for one object whose children are already untagged.
fn untag(map: Map) -> Result<Value, PayloadError> {
    let is_tagged = map.len() == 1 && map.keys().all(|k| TAG_KEYS.contains(&k.as_str()));
    if !is_tagged {
        return Ok(Value::Dict(map));
    }
    let Some((key, inner)) = map.into_iter().next() else {
        return Err(PayloadError::NotAnObject); // unreachable: len() == 1
    };
    let bad = |tag: &'static str| PayloadError::Tag { tag };
    Ok(match key.as_str() {
        " di" => match inner {
            // Python: `key = next(iter(value)); {key[:-2]: value[key]}`. Our map
            // is sorted, so with several inner keys we take the smallest rather
            // than the first; Flask only ever writes one.
            Value::Dict(inner) => {
                let (k, v) = inner.into_iter().next().ok_or(bad(" di"))?;
                let cut = k.char_indices().rev().nth(1).map_or(0, |(i, _)| i);
                let mut out = Map::new();
                out.insert(k[..cut].to_owned(), v);
                Value::Dict(out)
            }
            _ => return Err(bad(" di")),
        },
        " t" => match inner {
            Value::List(items) => Value::Tuple(items),
            Value::Str(s) => Value::Tuple(s.chars().map(|c| Value::Str(c.to_string())).collect()),
            Value::Dict(m) => Value::Tuple(m.into_keys().map(Value::Str).collect()),
            _ => return Err(bad(" t")),
        },
        " b" => match inner {
            Value::Str(s) => {
                Value::Bytes(crate::b64::std_decode(s.as_bytes()).ok_or_else(|| bad(" b"))?)
            }
            _ => return Err(bad(" b")),
        },
        " m" => match inner {
            Value::Str(s) => Value::Markup(s),
            _ => return Err(bad(" m")),
        },
        " u" => match inner {
            Value::Str(s) => Value::Uuid(uuid::Uuid::parse_str(&s).map_err(|_| bad(" u"))?),
            _ => return Err(bad(" u")),
        },
        " d" => date_tag(inner)?,
        _ => unreachable!("key is one of TAG_KEYS"),
    })
}

/// Flask's `TagDateTime.to_python(content)`, i.e. Werkzeug's `parse_date`.
///
/// Text that is exactly what Flask writes for the datetime it reads becomes
/// [`Value::DateTime`]; anything else is kept as written in
/// [`Value::RawDateTime`] with what Flask reads from it, so that it is written
/// back byte for byte. That includes Flask's own years 1-99 (`0050`, which
/// Flask reads as 2050), other RFC 2822 forms, and text Flask reads as `None`.
fn date_tag(content: Value) -> Result<Value, PayloadError> {
    let bad = PayloadError::Tag { tag: " d" };
    let loaded = match &content {
        Value::Str(s) | Value::Markup(s) => parse_date(s).map_err(|_| bad.clone())?,
        // A lone surrogate is no space, digit, comma or name letter to Python,
        // and neither is U+FFFD: the lossy text parses the same.
        Value::Utf16(units) => {
            parse_date(&String::from_utf16_lossy(units)).map_err(|_| bad.clone())?
        }
        // `_parsedate_tz` returns None for a false value (`if not data`), and
        // `bytes.split()` leads to a TypeError, which parse_date catches.
        Value::Null | Value::Bool(false) | Value::Int(0) | Value::Bytes(_) => None,
        Value::Float(x) if *x == 0.0 => None,
        Value::List(l) | Value::Tuple(l) if l.is_empty() => None,
        Value::Dict(m) if m.is_empty() => None,
        Value::RawDateTime { loaded: None, .. } => None,
        // Anything else has no `.split()`: an AttributeError Flask does not catch.
        _ => return Err(bad),
    };
    if let (Value::Str(s), Some(t)) = (&content, loaded) {
        if http_date(t) == *s {
            return Ok(Value::DateTime(t));
        }
    }
    Ok(Value::RawDateTime {
        content: Box::new(content),
        loaded,
    })
}
