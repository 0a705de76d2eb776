//! Flask's tagged JSON (`flask/json/tag.py`), byte for byte.
//!
//! Written by hand rather than with `serde_json`, because Flask's JSON is not
//! strict JSON: Python writes `NaN`/`Infinity`, integers of any size, and
//! lone surrogate escapes, and spells floats with `repr()` (`1e+16`, `1e-05`).
//! `serde_json` rejects the first three and spells floats differently, so it
//! could neither read every Flask cookie nor write Flask's bytes.

use std::fmt::Write as _;

use base64::Engine as _;
use time::OffsetDateTime;

use crate::error::PayloadError;
use crate::value::{Map, Value};

/// Deepest nesting of lists/dicts accepted when parsing. Python's own limit is
/// about 1000; no real session comes near this one, and it bounds the stack.
pub const MAX_DEPTH: usize = 128;

const TAG_KEYS: [&str; 6] = [" di", " t", " b", " m", " u", " d"];

const HTTP_DATE: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

/// Formats a time as an HTTP date (`Tue, 14 Nov 2023 22:13:20 GMT`), as Werkzeug's `http_date`.
#[must_use]
pub fn http_date(t: OffsetDateTime) -> String {
    // Written out by hand: this runs on every response that sets a permanent
    // cookie, and is several times faster than a format description.
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = t.to_offset(time::UtcOffset::UTC);
    if !(0..=9999).contains(&t.year()) {
        return t
            .format(HTTP_DATE)
            .unwrap_or_else(|_| String::from("Thu, 01 Jan 1970 00:00:00 GMT"));
    }
    let mut out = String::with_capacity(29);
    let _ = write!(
        out,
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[t.weekday().number_days_from_monday() as usize],
        t.day(),
        MONTHS[usize::from(u8::from(t.month())) - 1],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    );
    out
}

fn parse_http_date(text: &str) -> Option<OffsetDateTime> {
    use time::format_description::well_known::Rfc2822;
    let text = text.trim();
    let parsed = OffsetDateTime::parse(text, &Rfc2822).ok().or_else(|| {
        // `time` wants a numeric zone; Python also takes the obsolete names.
        let (head, zone) = text.rsplit_once(' ')?;
        matches!(zone, "GMT" | "UT" | "UTC" | "Z")
            .then(|| OffsetDateTime::parse(&format!("{head} +0000"), &Rfc2822).ok())?
    })?;
    Some(parsed.to_offset(time::UtcOffset::UTC))
}

/// Python's `repr(float)`: the shortest digits that round-trip, positional for
/// exponents in `-4..16`, otherwise `d.ddde+XX`.
#[must_use]
pub fn python_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits, like Python's repr.
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::with_capacity(digits.len() + 8);
    out.push_str(sign);
    if (-4..16).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                out.extend(std::iter::repeat('0').take(int_len - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat('0').take((-exp - 1) as usize));
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    out
}

// ---------------------------------------------------------------- writing

/// Writes a session as Flask does: tagged, compact, keys sorted, ASCII only.
pub fn write_map(out: &mut String, map: &Map) {
    write_dict(out, map);
}

/// Writes one value as Flask's tagged JSON.
pub fn write_value(out: &mut String, v: &Value) {
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
        Value::List(items) => write_list(out, items),
        Value::Dict(m) => write_dict(out, m),
        Value::Tuple(items) => {
            out.push_str(r#"{" t":"#);
            write_list(out, items);
            out.push('}');
        }
        Value::Bytes(b) => {
            out.push_str(r#"{" b":""#);
            base64::engine::general_purpose::STANDARD.encode_string(b, out);
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
    }
}

fn write_list(out: &mut String, items: &[Value]) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_value(out, item);
    }
    out.push(']');
}

fn write_dict(out: &mut String, m: &Map) {
    // TagDict: a one-key dict whose key is a tag key is wrapped so that it is
    // not mistaken for a tagged value when read back.
    if m.len() == 1 {
        if let Some((k, v)) = m.iter().next() {
            if TAG_KEYS.contains(&k.as_str()) {
                out.push_str(r#"{" di":{"#);
                let mut key = String::with_capacity(k.len() + 2);
                key.push_str(k);
                key.push_str("__");
                write_str(out, &key);
                out.push(':');
                write_value(out, v);
                out.push_str("}}");
                return;
            }
        }
    }
    out.push('{');
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, k);
        out.push(':');
        write_value(out, v);
    }
    out.push('}');
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let plain = (' '..='~').contains(&c) && c != '"' && c != '\\';
        if plain {
            continue;
        }
        out.push_str(&s[start..i]);
        start = i + c.len_utf8();
        write_escape(out, c);
    }
    out.push_str(&s[start..bytes.len()]);
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

// ---------------------------------------------------------------- reading

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
    let text = std::str::from_utf8(bytes).map_err(|_| PayloadError::Utf8)?;
    let mut p = Parser {
        s: text.as_bytes(),
        pos: 0,
        depth: 0,
    };
    p.skip_ws();
    let v = p.value()?;
    p.skip_ws();
    if p.pos != p.s.len() {
        return Err(p.err("trailing characters"));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn err(&self, what: &'static str) -> PayloadError {
        PayloadError::Json {
            offset: self.pos,
            what,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn eat(&mut self, lit: &[u8]) -> bool {
        if self.s[self.pos..].starts_with(lit) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Result<Value, PayloadError> {
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
        untag(map)
    }

    fn string(&mut self) -> Result<Value, PayloadError> {
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
            Value::Str(s) => Value::Bytes(
                base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .map_err(|_| bad(" b"))?,
            ),
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
        // werkzeug's parse_date returns None for text it can't parse.
        " d" => match inner {
            Value::Str(s) => parse_http_date(&s).map_or(Value::Null, Value::DateTime),
            Value::Null => Value::Null,
            _ => return Err(bad(" d")),
        },
        _ => unreachable!("key is one of TAG_KEYS"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::approx_constant)] // the literal is the point: Python prints exactly this
    fn float_repr_matches_python() {
        for (x, s) in [
            (1.0, "1.0"),
            (0.5, "0.5"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1.5e300, "1.5e+300"),
            (1e-7, "1e-07"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (5e-324, "5e-324"),
            (3.141592653589793, "3.141592653589793"),
            (1.0 / 3.0, "0.3333333333333333"),
            (123456789.125, "123456789.125"),
            (-2.5e-10, "-2.5e-10"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
        ] {
            assert_eq!(python_float_repr(x), s, "{x}");
        }
    }

    #[test]
    fn strings_escape_like_python() {
        let mut out = String::new();
        write_str(&mut out, "a\"\\/\n\r\t\u{8}\u{c}\u{1}\u{7f}é😀<>&'\u{ff21}");
        assert_eq!(
            out,
            r#""a\"\\/\n\r\t\b\f\u0001\u007f\u00e9\ud83d\ude00<>&'\uff21""#
        );
    }

    #[test]
    fn lone_surrogates_round_trip() {
        let text = r#"{"s":"a\ud800b\udc00\ud83d\ude00"}"#;
        let m = parse_map(text.as_bytes()).unwrap();
        assert!(matches!(m["s"], Value::Utf16(_)));
        let mut out = String::new();
        write_map(&mut out, &m);
        assert_eq!(out, text);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = "[".repeat(100_000);
        assert_eq!(
            parse_value(deep.as_bytes()),
            Err(PayloadError::TooDeep { limit: MAX_DEPTH })
        );
        let deep = format!("{}1{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse_value(deep.as_bytes()).is_ok());
    }

    #[test]
    fn tag_collisions_round_trip() {
        for text in [
            r#"{" di":{" t__":[1,2]}}"#,
            r#"{"x":{" di":{" di__":{" b":"AA=="}}}}"#,
            r#"{" x":1}"#,
            r#"{"a":{" t":[1],"b":2}}"#,
        ] {
            let m = parse_map(text.as_bytes()).unwrap();
            let mut out = String::new();
            write_map(&mut out, &m);
            assert_eq!(out, text);
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(
            parse_value(b"18446744073709551621").unwrap(),
            Value::BigInt("18446744073709551621".into())
        );
        assert_eq!(
            parse_value(b"-9223372036854775808").unwrap(),
            Value::Int(i64::MIN)
        );
        assert_eq!(parse_value(b"1E400").unwrap(), Value::Float(f64::INFINITY));
        assert!(parse_value(b"01").is_err());
        assert!(parse_value(b"1.").is_err());
        assert!(parse_value(b"-").is_err());
    }

    #[test]
    fn http_date_matches_the_format_description() {
        for unix in [
            0i64,
            1_700_000_000,
            946_684_800,
            253_402_300_799,
            951_782_400,
            -86_400,
        ] {
            let t = OffsetDateTime::from_unix_timestamp(unix).unwrap();
            assert_eq!(http_date(t), t.format(HTTP_DATE).unwrap(), "{unix}");
        }
    }

    #[test]
    fn dates_parse_in_rfc2822_forms() {
        let d = parse_http_date("Sat, 01 Jan 2000 00:00:00 GMT").unwrap();
        assert_eq!(d.unix_timestamp(), 946_684_800);
        let d = parse_http_date("Sat, 01 Jan 2000 02:00:00 +0200").unwrap();
        assert_eq!(d.unix_timestamp(), 946_684_800);
        assert_eq!(http_date(d), "Sat, 01 Jan 2000 00:00:00 GMT");
        assert!(parse_http_date("not a date").is_none());
    }
}
