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

/// Where Python raises rather than returning `None` while parsing a date: an
/// `OverflowError` from `timedelta`/`datetime`, which neither Werkzeug nor
/// Flask catches (Flask answers 500 for such a cookie).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DateOverflow;

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MONTH_NAMES: [&str; 24] = [
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
/// `email._parseaddr._timezones`, in Python's `hhmm` form.
const ZONE_NAMES: [(&str, i128); 14] = [
    ("UT", 0),
    ("UTC", 0),
    ("GMT", 0),
    ("Z", 0),
    ("AST", -400),
    ("ADT", -300),
    ("EST", -500),
    ("EDT", -400),
    ("CST", -600),
    ("CDT", -500),
    ("MST", -700),
    ("MDT", -600),
    ("PST", -800),
    ("PDT", -700),
];
/// Python's default `sys.get_int_max_str_digits()`: `int()` of a longer
/// decimal string raises `ValueError`.
const PY_INT_MAX_STR_DIGITS: usize = 4300;

/// Python's `str.isspace()`, which `str.split()` splits on: Unicode
/// `White_Space` plus the four ASCII separators U+001C..U+001F.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `int(text)` in base 10: sign, digits, single underscores between
/// digits. `None` where Python raises `ValueError`. Saturates at the `i128`
/// bounds, far outside every range the callers check. Only ASCII digits are
/// taken (Python also takes other Unicode decimal digits).
fn py_int(text: &str) -> Option<i128> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let mut n: i128 = 0;
    let mut count = 0usize;
    for b in digits.bytes() {
        match b {
            b'_' => {}
            b'0'..=b'9' => {
                count += 1;
                n = n.saturating_mul(10).saturating_add(i128::from(b - b'0'));
            }
            _ => return None,
        }
    }
    if count > PY_INT_MAX_STR_DIGITS {
        return None;
    }
    Some(if negative { -n } else { n })
}

/// What `email._parseaddr._parsedate_tz` returns: the fields as Python ints
/// and the zone offset in seconds (`None` for a naive time).
struct ParsedDate {
    fields: [i128; 6],
    offset: Option<i128>,
}

/// A port of `email._parseaddr._parsedate_tz` (Python 3.11), step by step.
/// `None` where Python returns `None` or `int()` raises `ValueError`.
fn parsedate_tz(text: &str) -> Option<ParsedDate> {
    let mut data: Vec<String> = text
        .split(is_py_space)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    let first = data.first()?;
    // The day name and its comma are optional, and ignored.
    if first.ends_with(',') || DAY_NAMES.contains(&first.to_lowercase().as_str()) {
        data.remove(0);
    } else if let Some(i) = first.rfind(',') {
        data[0] = first[i + 1..].to_owned();
    }
    if data.len() == 3 {
        // RFC 850: `06-Nov-94 08:49:37 GMT`.
        let stuff: Vec<String> = data[0].split('-').map(str::to_owned).collect();
        if stuff.len() == 3 {
            let rest = data.split_off(1);
            data = stuff;
            data.extend(rest);
        }
    }
    if data.len() == 4 {
        // The zone may be glued to the time: `00:00:00+0200`.
        let s = &data[3];
        match s.find('+').or_else(|| s.find('-')) {
            Some(i) if i > 0 => {
                let (time, zone) = (s[..i].to_owned(), s[i..].to_owned());
                data[3] = time;
                data.push(zone);
            }
            _ => data.push(String::new()),
        }
    }
    if data.len() < 5 {
        return None;
    }
    data.truncate(5);
    let mut it = data.into_iter();
    let (mut dd, mut mm, mut yy, mut tm, mut tz) =
        (it.next()?, it.next()?, it.next()?, it.next()?, it.next()?);
    if dd.is_empty() || mm.is_empty() || yy.is_empty() {
        return None;
    }
    mm = mm.to_lowercase();
    if !MONTH_NAMES.contains(&mm.as_str()) {
        (dd, mm) = (mm, dd.to_lowercase());
        if !MONTH_NAMES.contains(&mm.as_str()) {
            return None;
        }
    }
    let mut month = MONTH_NAMES.iter().position(|m| *m == mm)? + 1;
    if month > 12 {
        month -= 12;
    }
    if dd.ends_with(',') {
        dd.pop();
    }
    if yy.find(':').is_some_and(|i| i > 0) {
        std::mem::swap(&mut yy, &mut tm);
    }
    if yy.ends_with(',') {
        yy.pop();
        if yy.is_empty() {
            return None;
        }
    }
    if !yy.starts_with(|c: char| c.is_ascii_digit()) {
        std::mem::swap(&mut yy, &mut tz);
    }
    if tm.ends_with(',') {
        tm.pop();
    }
    let colon: Vec<&str> = tm.split(':').collect();
    let dotted: Vec<&str> = match colon[..] {
        [one] if one.contains('.') => one.split('.').collect(),
        _ => Vec::new(),
    };
    let (thh, tmm, tss) = match (&colon[..], &dotted[..]) {
        ([h, m], _) | ([_], [h, m]) => (*h, *m, "0"),
        ([h, m, s], _) | ([_], [h, m, s]) => (*h, *m, *s),
        _ => return None,
    };
    let mut year = py_int(&yy)?;
    let day = py_int(&dd)?;
    let (hour, minute, second) = (py_int(thh)?, py_int(tmm)?, py_int(tss)?);
    // Two-digit years, "according to the POSIX standard": 69-99 are 1969-1999,
    // 0-68 are 2000-2068. This takes every int below 100, so Flask's own
    // `0050` reads back as 2050.
    if year < 100 {
        year = year.saturating_add(if year > 68 { 1900 } else { 2000 });
    }
    let tz = tz.to_uppercase();
    let offset = match ZONE_NAMES.iter().find(|(name, _)| *name == tz) {
        Some(&(_, hhmm)) => Some(hhmm),
        None => py_int(&tz).filter(|&hhmm| !(hhmm == 0 && tz.starts_with('-'))),
    };
    let offset = offset.map(|hhmm| {
        let abs = hhmm.saturating_abs();
        hhmm.signum()
            * (abs / 100)
                .saturating_mul(3600)
                .saturating_add(abs % 100 * 60)
    });
    Some(ParsedDate {
        fields: [year, month as i128, day, hour, minute, second],
        offset,
    })
}

/// Werkzeug's `parse_date` (through `email.utils.parsedate_to_datetime`), as
/// Flask's `TagDateTime` reads a `{" d": …}` string: the aware datetime Python
/// gets, `Ok(None)` where it gets `None`, and [`DateOverflow`] where Python
/// raises an exception nobody catches.
pub(crate) fn parse_date(text: &str) -> Result<Option<OffsetDateTime>, DateOverflow> {
    let Some(p) = parsedate_tz(text) else {
        return Ok(None);
    };
    // `datetime.timezone(datetime.timedelta(seconds=offset))` is evaluated
    // before `datetime(...)`: timedelta overflows beyond 999999999 days,
    // timezone refuses a whole day or more.
    let offset = match p.offset {
        None => time::UtcOffset::UTC,
        Some(secs) => {
            if secs.div_euclid(86_400).unsigned_abs() > 999_999_999 {
                return Err(DateOverflow);
            }
            let Some(offset) = i32::try_from(secs)
                .ok()
                .filter(|s| s.unsigned_abs() < 86_400)
                .and_then(|s| time::UtcOffset::from_whole_seconds(s).ok())
            else {
                return Ok(None);
            };
            offset
        }
    };
    // `datetime(...)` converts every field to a C int first (OverflowError),
    // then checks the ranges (ValueError, which parse_date turns into None).
    let mut f = [0i32; 6];
    for (out, field) in f.iter_mut().zip(p.fields) {
        *out = i32::try_from(field).map_err(|_| DateOverflow)?;
    }
    let [year, month, day, hour, minute, second] = f;
    let small = |v: i32| u8::try_from(v).ok();
    let date = (1..=9999)
        .contains(&year)
        .then(|| {
            let month = time::Month::try_from(small(month)?).ok()?;
            time::Date::from_calendar_date(year, month, small(day)?).ok()
        })
        .flatten();
    let time = small(hour)
        .zip(small(minute))
        .zip(small(second))
        .and_then(|((h, m), s)| time::Time::from_hms(h, m, s).ok());
    Ok(date
        .zip(time)
        .map(|(d, t)| time::PrimitiveDateTime::new(d, t).assume_offset(offset)))
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
        Value::RawDateTime { content, .. } => {
            out.push_str(r#"{" d":"#);
            write_value(out, content);
            out.push('}');
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
        let d = parse_date("Sat, 01 Jan 2000 00:00:00 GMT")
            .unwrap()
            .unwrap();
        assert_eq!(d.unix_timestamp(), 946_684_800);
        let d = parse_date("Sat, 01 Jan 2000 02:00:00 +0200")
            .unwrap()
            .unwrap();
        assert_eq!(d.unix_timestamp(), 946_684_800);
        assert_eq!(d.offset().whole_seconds(), 7200, "Python keeps the offset");
        assert_eq!(http_date(d), "Sat, 01 Jan 2000 00:00:00 GMT");
        assert_eq!(parse_date("not a date"), Ok(None));
    }

    #[test]
    fn dates_before_1900_and_short_years_read_as_python_reads_them() {
        let year = |text: &str| parse_date(text).unwrap().map(|d| d.year());
        assert_eq!(year("Tue, 01 Jan 1850 00:00:00 GMT"), Some(1850));
        assert_eq!(year("Fri, 01 Jan 0100 00:00:00 GMT"), Some(100));
        assert_eq!(year("Mon, 01 Jan 0001 00:00:00 GMT"), Some(2001));
        assert_eq!(year("Sat, 01 Jan 0050 00:00:00 GMT"), Some(2050));
        assert_eq!(year("Sun, 01 Jan 0068 00:00:00 GMT"), Some(2068));
        assert_eq!(year("Tue, 01 Jan 0069 00:00:00 GMT"), Some(1969));
        assert_eq!(year("Thu, 01 Jan 0099 00:00:00 GMT"), Some(1999));
        assert_eq!(year("Sat, 01 Jan 10000 00:00:00 GMT"), None);
        assert_eq!(
            parse_date("Sat, 01 Jan 2147483648 00:00:00 GMT"),
            Err(DateOverflow)
        );
    }

    #[test]
    fn http_date_writes_four_digit_years() {
        let at = |y, m, d| {
            time::Date::from_calendar_date(y, m, d)
                .unwrap()
                .midnight()
                .assume_utc()
        };
        assert_eq!(
            http_date(at(1, time::Month::January, 1)),
            "Mon, 01 Jan 0001 00:00:00 GMT"
        );
        assert_eq!(
            http_date(at(1850, time::Month::January, 1)),
            "Tue, 01 Jan 1850 00:00:00 GMT"
        );
        assert_eq!(
            http_date(at(9999, time::Month::December, 31)),
            "Fri, 31 Dec 9999 00:00:00 GMT"
        );
    }

    #[test]
    fn python_ints() {
        assert_eq!(py_int("0050"), Some(50));
        assert_eq!(py_int("+5"), Some(5));
        assert_eq!(py_int("-1_000"), Some(-1000));
        for bad in ["", "+", "_1", "1_", "1__0", "1a", "--1", "\u{663}"] {
            assert_eq!(py_int(bad), None, "{bad:?}");
        }
        assert_eq!(py_int(&"9".repeat(4300)), Some(i128::MAX));
        assert_eq!(py_int(&"9".repeat(4301)), None);
    }

    #[test]
    fn date_tag_contents_keep_their_bytes() {
        for text in [
            r#"{" d":"Mon, 01 Jan 0001 00:00:00 GMT"}"#,
            r#"{" d":"not a date"}"#,
            r#"{" d":null}"#,
            r#"{" d":""}"#,
            r#"{" d":0}"#,
            r#"{" d":{" b":"YQ=="}}"#,
            r#"{" d":{" d":"garbage"}}"#,
            r#"{" d":"Sat, 01 Jan 2000 00:00:00 \ud800"}"#,
        ] {
            let v = parse_value(text.as_bytes()).unwrap();
            assert!(matches!(v, Value::RawDateTime { .. }), "{text}: {v:?}");
            let mut out = String::new();
            write_value(&mut out, &v);
            assert_eq!(out, text);
        }
        let v = parse_value(br#"{" d":"Tue, 01 Jan 1850 00:00:00 GMT"}"#).unwrap();
        assert!(matches!(v, Value::DateTime(d) if d.year() == 1850));
        for refused in [r#"{" d":1}"#, r#"{" d":true}"#, r#"{" d":[1]}"#] {
            assert_eq!(
                parse_value(refused.as_bytes()),
                Err(PayloadError::Tag { tag: " d" }),
                "{refused}"
            );
        }
    }
}
