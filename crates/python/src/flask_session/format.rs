//! Flask-Session's record format (msgpack and json) and its ids (plain and signed).
//!
//! Byte for byte what msgspec 0.22 (Flask-Session 0.8's serializer) writes
//! for the value kinds a Rust session holds, and what it reads, minus the
//! pickles of Flask-Session before 0.7, which are never unpickled.

use std::borrow::Cow;
use std::fmt;
use std::fmt::Write as _;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use time::OffsetDateTime;
use websession_core::itsdangerous::{Digest, KeyDerivation, Signer};
use websession_core::store::{IdFormat, IdHash, SessionId, StoreError, StoreErrorKind};
use websession_core::{Map, Value};

use super::{FlaskSessionOptions, Serialization};
use crate::bridge::RecordFormat;

/// The salt Flask-Session signs its cookie with (`SESSION_USE_SIGNER`).
#[cfg_attr(
    not(any(feature = "redis", feature = "postgres", feature = "sqlite")),
    allow(dead_code)
)]
const SIGNER_SALT: &str = "flask-session";

/// How deep a msgpack record may nest (rmpv counts about two levels per
/// array or map): deeper records are refused, never a stack overflow.
const MSGPACK_MAX_DEPTH: usize = 260;

/// msgpack's extension type for timestamps (msgspec's aware datetimes).
const TIMESTAMP_EXT: i8 = -1;

/// Flask-Session's ids and records as one bridge format.
pub(crate) struct FlaskSessionFormat {
    prefix: String,
    serialization: Serialization,
    signer: Option<Signer>,
    max_record_bytes: usize,
}

impl fmt::Debug for FlaskSessionFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlaskSessionFormat")
            .field("prefix", &self.prefix)
            .field("serialization", &self.serialization)
            .field("signed", &self.signer.is_some())
            .field("max_record_bytes", &self.max_record_bytes)
            .finish()
    }
}

impl FlaskSessionFormat {
    /// The format of these options (the key prefix, the serialization, the signer).
    #[cfg_attr(
        not(any(feature = "redis", feature = "postgres", feature = "sqlite")),
        allow(dead_code)
    )]
    pub(crate) fn new(options: &FlaskSessionOptions) -> Self {
        Self {
            prefix: options.key_prefix.clone(),
            serialization: options.serialization,
            signer: options.signer.as_ref().map(|keys| {
                Signer::new(keys)
                    .with_salt(SIGNER_SALT)
                    .with_key_derivation(KeyDerivation::Hmac)
                    .with_digest(Digest::Sha1)
            }),
            max_record_bytes: options.max_record_bytes,
        }
    }
}

/// The 32 bytes of a 43-character base64url sid.
fn sid_bytes(sid: &str) -> Option<IdHash> {
    if sid.len() != websession_core::store::SESSION_ID_LEN {
        return None;
    }
    let mut buf = [0_u8; 33];
    match URL_SAFE_NO_PAD.decode_slice(sid, &mut buf) {
        Ok(32) => IdHash::from_bytes(buf.get(..32)?),
        _ => None,
    }
}

impl IdFormat for FlaskSessionFormat {
    fn generate(&self) -> SessionId {
        // secrets.token_urlsafe(32): 32 random bytes, base64url, no padding.
        SessionId::generate()
    }

    fn parse(&self, cookie: &str) -> Option<SessionId> {
        let sid = match &self.signer {
            None => cookie,
            Some(signer) => match signer.unsign(cookie) {
                Ok(sid) => sid,
                Err(_) => {
                    tracing::warn!(
                        target: "websession::security",
                        store = "flask-session",
                        "a session-id cookie without a valid signature (forged, or unsigned while SESSION_USE_SIGNER is on); starting an empty session"
                    );
                    return None;
                }
            },
        };
        SessionId::parse(sid)
    }

    fn cookie_value<'a>(&self, id: &'a SessionId) -> Cow<'a, str> {
        match &self.signer {
            Some(signer) => Cow::Owned(signer.sign(id.as_str())),
            None => Cow::Borrowed(id.as_str()),
        }
    }

    fn key(&self, id: &SessionId) -> IdHash {
        // Every id this format gives out is a 32-byte sid; anything else
        // gets a key no sid has.
        sid_bytes(id.as_str()).unwrap_or_else(|| id.hash())
    }
}

impl RecordFormat for FlaskSessionFormat {
    fn backend_key(&self, id: &IdHash) -> String {
        let mut key = self.prefix.clone();
        URL_SAFE_NO_PAD.encode_string(id.as_bytes(), &mut key);
        key
    }

    fn id_of_key(&self, key: &str) -> Option<IdHash> {
        sid_bytes(key.strip_prefix(self.prefix.as_str())?)
    }

    fn encode(&self, data: &Map, _now: u64) -> Result<Vec<u8>, StoreError> {
        let bytes = match self.serialization {
            Serialization::Msgpack => encode_msgpack(data)?,
            Serialization::Json => encode_json(data).into_bytes(),
        };
        if bytes.len() > self.max_record_bytes {
            return Err(StoreError::new(
                StoreErrorKind::Unsupported,
                format!(
                    "the session is {} bytes encoded, over the limit of {}",
                    bytes.len(),
                    self.max_record_bytes
                ),
            ));
        }
        Ok(bytes)
    }

    fn decode(&self, bytes: &[u8]) -> Result<Map, StoreError> {
        if bytes.len() > self.max_record_bytes {
            return Err(corrupt(format!(
                "the record is {} bytes, over the limit of {}",
                bytes.len(),
                self.max_record_bytes
            )));
        }
        if bytes.first() == Some(&0x80) {
            return Err(corrupt(
                "a pickle (Flask-Session before 0.7); pickles are never unpickled".to_owned(),
            ));
        }
        // As Flask-Session: the configured format, then the other one.
        let (first, second): (Decoder, Decoder) = match self.serialization {
            Serialization::Msgpack => (decode_msgpack, decode_json),
            Serialization::Json => (decode_json, decode_msgpack),
        };
        first(bytes)
            .or_else(|e| second(bytes).map_err(|_| e))
            .map_err(corrupt)
    }
}

/// One of the two decoders (the error says why a record is refused).
type Decoder = fn(&[u8]) -> Result<Map, String>;

fn corrupt(why: String) -> StoreError {
    StoreError::new(StoreErrorKind::Corrupt, why)
}

// ---------------------------------------------------------------- msgpack

/// A session as msgspec's `msgpack.Encoder().encode(dict(session))` writes it.
fn encode_msgpack(data: &Map) -> Result<Vec<u8>, StoreError> {
    let value = rmpv::Value::Map(
        data.iter()
            .map(|(k, v)| Ok((rmpv::Value::from(k.as_str()), to_msgpack(v)?)))
            .collect::<Result<_, StoreError>>()?,
    );
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, &value)
        .map_err(|e| StoreError::new(StoreErrorKind::Backend, e))?;
    Ok(out)
}

fn to_msgpack(v: &Value) -> Result<rmpv::Value, StoreError> {
    Ok(match v {
        Value::Null => rmpv::Value::Nil,
        Value::Bool(b) => rmpv::Value::Boolean(*b),
        Value::Int(i) => rmpv::Value::from(*i),
        Value::BigInt(text) => match text.parse::<u64>() {
            Ok(n) => rmpv::Value::from(n),
            Err(_) => return Err(StoreError::new(
                StoreErrorKind::Unsupported,
                "msgpack holds integers from -2**63 to 2**64 - 1 only (msgspec refuses others too)",
            )),
        },
        Value::Float(x) => rmpv::Value::F64(*x),
        Value::Str(s) | Value::Markup(s) => rmpv::Value::from(s.as_str()),
        Value::Utf16(units) => rmpv::Value::from(String::from_utf16_lossy(units)),
        Value::List(items) | Value::Tuple(items) => {
            rmpv::Value::Array(items.iter().map(to_msgpack).collect::<Result<_, _>>()?)
        }
        Value::Dict(m) => rmpv::Value::Map(
            m.iter()
                .map(|(k, v)| Ok((rmpv::Value::from(k.as_str()), to_msgpack(v)?)))
                .collect::<Result<_, StoreError>>()?,
        ),
        Value::Bytes(b) => rmpv::Value::Binary(b.clone()),
        Value::Uuid(u) => rmpv::Value::from(u.hyphenated().to_string()),
        Value::DateTime(d) => timestamp(*d),
        Value::RawDateTime { loaded, .. } => loaded.map_or(rmpv::Value::Nil, timestamp),
        // Value is non-exhaustive: a kind added later is written as None
        // rather than failing the whole session.
        _ => rmpv::Value::Nil,
    })
}

/// A datetime as msgpack's timestamp extension, in msgspec's choice of
/// its three sizes.
fn timestamp(d: OffsetDateTime) -> rmpv::Value {
    let secs = d.unix_timestamp();
    let nanos = d.nanosecond();
    let data = match u64::try_from(secs) {
        Ok(s) if nanos == 0 && s <= u64::from(u32::MAX) => {
            // Checked to fit just above.
            (s as u32).to_be_bytes().to_vec()
        }
        Ok(s) if s < (1 << 34) => ((u64::from(nanos) << 34) | s).to_be_bytes().to_vec(),
        _ => {
            let mut data = nanos.to_be_bytes().to_vec();
            data.extend_from_slice(&secs.to_be_bytes());
            data
        }
    };
    rmpv::Value::Ext(TIMESTAMP_EXT, data)
}

/// A datetime from msgpack's timestamp extension (UTC, as msgspec reads it).
fn from_timestamp(data: &[u8]) -> Result<OffsetDateTime, String> {
    let (secs, nanos) = match data.len() {
        4 => {
            let b: [u8; 4] = data.try_into().map_err(|_| "timestamp32")?;
            (i64::from(u32::from_be_bytes(b)), 0)
        }
        8 => {
            let b: [u8; 8] = data.try_into().map_err(|_| "timestamp64")?;
            let n = u64::from_be_bytes(b);
            // 30 bits of nanoseconds, 34 of seconds: both fit.
            ((n & ((1 << 34) - 1)) as i64, (n >> 34) as u32)
        }
        12 => {
            let (n, s) = data.split_at(4);
            let n: [u8; 4] = n.try_into().map_err(|_| "timestamp96")?;
            let s: [u8; 8] = s.try_into().map_err(|_| "timestamp96")?;
            (i64::from_be_bytes(s), u32::from_be_bytes(n))
        }
        n => return Err(format!("a timestamp of {n} bytes")),
    };
    if nanos >= 1_000_000_000 {
        return Err("a timestamp with nanoseconds over a second".to_owned());
    }
    let d = OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|_| "a timestamp out of range".to_owned())?;
    if !(1..=9999).contains(&d.year()) {
        return Err("a timestamp outside Python's years 1 to 9999".to_owned());
    }
    d.replace_nanosecond(nanos)
        .map_err(|_| "a timestamp out of range".to_owned())
}

/// A session from msgpack, as msgspec's `msgpack.Decoder().decode` reads
/// it, refusing what Flask-Session could not open as a session.
fn decode_msgpack(bytes: &[u8]) -> Result<Map, String> {
    let mut rest = bytes;
    let value = rmpv::decode::read_value_with_max_depth(&mut rest, MSGPACK_MAX_DEPTH)
        .map_err(|e| format!("malformed msgpack: {e}"))?;
    if !rest.is_empty() {
        return Err("malformed msgpack: trailing bytes".to_owned());
    }
    match from_msgpack(value)? {
        Value::Dict(map) => Ok(map),
        _ => Err("the record is not a map".to_owned()),
    }
}

fn from_msgpack(value: rmpv::Value) -> Result<Value, String> {
    Ok(match value {
        rmpv::Value::Nil => Value::Null,
        rmpv::Value::Boolean(b) => Value::Bool(b),
        rmpv::Value::Integer(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::Int(i),
            (None, Some(u)) => Value::BigInt(u.to_string()),
            (None, None) => return Err("an integer out of range".to_owned()),
        },
        rmpv::Value::F32(x) => Value::Float(f64::from(x)),
        rmpv::Value::F64(x) => Value::Float(x),
        rmpv::Value::String(s) => Value::Str(
            s.into_str()
                .ok_or_else(|| "a string that is not UTF-8".to_owned())?,
        ),
        rmpv::Value::Binary(b) => Value::Bytes(b),
        rmpv::Value::Array(items) => Value::List(
            items
                .into_iter()
                .map(from_msgpack)
                .collect::<Result<_, _>>()?,
        ),
        rmpv::Value::Map(entries) => {
            let mut map = Map::new();
            for (k, v) in entries {
                let rmpv::Value::String(k) = k else {
                    return Err("a map key that is not a string".to_owned());
                };
                let k = k
                    .into_str()
                    .ok_or_else(|| "a map key that is not UTF-8".to_owned())?;
                map.insert(k, from_msgpack(v)?);
            }
            Value::Dict(map)
        }
        rmpv::Value::Ext(TIMESTAMP_EXT, data) => Value::DateTime(from_timestamp(&data)?),
        rmpv::Value::Ext(ty, _) => return Err(format!("a msgpack extension of type {ty}")),
    })
}

// ------------------------------------------------------------------- json

/// A session as msgspec's `json.Encoder().encode(dict(session))` writes it:
/// compact, UTF-8 (no `\u` escapes but for control characters), floats in
/// their shortest form, `NaN` and the infinities as `null`, bytes as
/// standard base64, datetimes as RFC 3339.
fn encode_json(data: &Map) -> String {
    let mut out = String::new();
    write_json_map(&mut out, data);
    out
}

fn write_json_map(out: &mut String, map: &Map) {
    out.push('{');
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_str(out, k);
        out.push(':');
        write_json(out, v);
    }
    out.push('}');
}

fn write_json(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::BigInt(text) => out.push_str(text),
        Value::Float(x) if x.is_finite() => out.push_str(&shortest_float(*x)),
        Value::Float(_) => out.push_str("null"),
        Value::Str(s) | Value::Markup(s) => write_json_str(out, s),
        Value::Utf16(units) => write_json_str(out, &String::from_utf16_lossy(units)),
        Value::List(items) | Value::Tuple(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item);
            }
            out.push(']');
        }
        Value::Dict(m) => write_json_map(out, m),
        Value::Bytes(b) => {
            out.push('"');
            STANDARD.encode_string(b, out);
            out.push('"');
        }
        Value::Uuid(u) => {
            let _ = write!(out, "\"{}\"", u.hyphenated());
        }
        Value::DateTime(d)
        | Value::RawDateTime {
            loaded: Some(d), ..
        } => write_rfc3339(out, *d),
        _ => out.push_str("null"),
    }
}

/// A finite float in its shortest round-trip form, as msgspec (and
/// serde_json, both with ryu) write it: `1.5`, `-0.0`, `1e100`, `1e-7`.
fn shortest_float(x: f64) -> String {
    serde_json::Number::from_f64(x).map_or_else(|| "null".to_owned(), |n| n.to_string())
}

fn write_json_str(out: &mut String, s: &str) {
    // serde_json escapes exactly as msgspec does: `"`, `\`, and control
    // characters (`\b \f \n \r \t`, else `\u00xx`); nothing else.
    match serde_json::to_string(s) {
        Ok(text) => out.push_str(&text),
        Err(_) => out.push_str("\"\""),
    }
}

/// msgspec's datetime text: `2024-01-02T03:04:05Z`, microseconds when not
/// zero (`.123456`), the offset as `+02:00` when not UTC.
fn write_rfc3339(out: &mut String, d: OffsetDateTime) {
    let _ = write!(
        out,
        "\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    );
    if d.microsecond() != 0 {
        let _ = write!(out, ".{:06}", d.microsecond());
    }
    let offset = d.offset();
    if offset.is_utc() {
        out.push_str("Z\"");
    } else {
        let (h, m, _) = offset.as_hms();
        let sign = if offset.is_negative() { '-' } else { '+' };
        let _ = write!(
            out,
            "{sign}{:02}:{:02}\"",
            h.unsigned_abs(),
            m.unsigned_abs()
        );
    }
}

/// A session from JSON, as msgspec's `json.Decoder().decode` reads it:
/// strings stay strings (a datetime written as JSON comes back as its text).
fn decode_json(bytes: &[u8]) -> Result<Map, String> {
    let start = bytes.iter().position(|b| !b" \t\r\n".contains(b));
    if start.and_then(|i| bytes.get(i)) != Some(&b'{') {
        return Err("the record is not a JSON object".to_owned());
    }
    websession_core::json::parse_plain_map(bytes).map_err(|e| format!("malformed JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use websession_core::{Key, KeyRing};

    // The vectors below were made with the pinned msgspec 0.22.0 and
    // itsdangerous (Flask-Session 0.8's), in target/py-venv:
    //
    //   utc = datetime.timezone.utc
    //   d = dict(sorted({"_permanent": True, "_user_id": "42", "n": -129, "big": 2**64 - 1,
    //       "f": 1.5, "nz": -0.0, "none": None, "l": [1, "x", []], "d": {"k": {}}, "s": "x" * 40,
    //       "by": b"\x00\xff", "ts": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=utc),
    //       "tsu": datetime.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=utc),
    //       "old": datetime.datetime(1960, 1, 1, tzinfo=utc),
    //       "esc": "a\"\\\n\x1f\x7fé\u2028"}.items()))
    //   msgspec.msgpack.encode(d).hex(); msgspec.json.encode(d)
    //   Signer(b"a Flask SECRET_KEY of 32 bytes..", salt="flask-session",
    //          key_derivation="hmac").sign(SID.encode())
    //   pickle.dumps({"_permanent": True, "a": 1}).hex()

    const MSGPACK: &str = "8faa5f7065726d616e656e74c3a85f757365725f6964a23432a3626967cfffffffffffffffffa26279c40200ffa16481a16b80a3657363ab61225c0a1f7fc3a9e280a8a166cb3ff8000000000000a16c9301a17890a16ed1ff7fa46e6f6e65c0a26e7acb8000000000000000a36f6c64c70cff00000000ffffffffed300880a173d92878787878787878787878787878787878787878787878787878787878787878787878787878787878a27473d6ff65937d25a3747375d7ff1d6f280065937d25";
    const JSON: &str = r#"{"_permanent":true,"_user_id":"42","big":18446744073709551615,"by":"AP8=","d":{"k":{}},"esc":"a\"\\\n\u001f"#;
    const JSON_TAIL: &str = r#"","f":1.5,"l":[1,"x",[]],"n":-129,"none":null,"nz":-0.0,"old":"1960-01-01T00:00:00Z","s":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","ts":"2024-01-02T03:04:05Z","tsu":"2024-01-02T03:04:05.123456Z"}"#;
    const PICKLE: &str = "80049519000000000000007d94288c0a5f7065726d616e656e7494888c0161944b01752e";
    const SECRET: &str = "a Flask SECRET_KEY of 32 bytes..";
    const SID: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    const SIGNED: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8.-qv9TGFpoAGzmo8NqY_DQjnn_pk";

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn json_vector() -> Vec<u8> {
        format!("{JSON}\u{7f}é\u{2028}{JSON_TAIL}").into_bytes()
    }

    fn utc(y: i32, mo: u8, d: u8, h: u8, mi: u8, s: u8, micro: u32) -> OffsetDateTime {
        let date =
            time::Date::from_calendar_date(y, time::Month::try_from(mo).unwrap(), d).unwrap();
        date.with_hms_micro(h, mi, s, micro).unwrap().assume_utc()
    }

    /// The session of the vectors, as Rust holds it.
    fn session() -> Map {
        let mut m = Map::new();
        m.insert("_permanent".into(), Value::Bool(true));
        m.insert("_user_id".into(), Value::Str("42".into()));
        m.insert("n".into(), Value::Int(-129));
        m.insert("big".into(), Value::BigInt("18446744073709551615".into()));
        m.insert("f".into(), Value::Float(1.5));
        m.insert("nz".into(), Value::Float(-0.0));
        m.insert("none".into(), Value::Null);
        m.insert(
            "l".into(),
            Value::List(vec![
                Value::Int(1),
                Value::Str("x".into()),
                Value::List(vec![]),
            ]),
        );
        let mut inner = Map::new();
        inner.insert("k".into(), Value::Dict(Map::new()));
        m.insert("d".into(), Value::Dict(inner));
        m.insert("s".into(), Value::Str("x".repeat(40)));
        m.insert("by".into(), Value::Bytes(vec![0, 0xff]));
        m.insert("ts".into(), Value::DateTime(utc(2024, 1, 2, 3, 4, 5, 0)));
        m.insert(
            "tsu".into(),
            Value::DateTime(utc(2024, 1, 2, 3, 4, 5, 123_456)),
        );
        m.insert("old".into(), Value::DateTime(utc(1960, 1, 1, 0, 0, 0, 0)));
        m.insert("esc".into(), Value::Str("a\"\\\n\x1f\x7fé\u{2028}".into()));
        m
    }

    fn format(serialization: Serialization) -> FlaskSessionFormat {
        FlaskSessionFormat::new(&FlaskSessionOptions::new().with_serialization(serialization))
    }

    fn signed() -> FlaskSessionFormat {
        FlaskSessionFormat::new(
            &FlaskSessionOptions::new().with_signer(KeyRing::new(Key::from_utf8(SECRET).unwrap())),
        )
    }

    fn kind(result: Result<Map, StoreError>) -> Option<StoreErrorKind> {
        result.err().map(|e| e.kind())
    }

    #[test]
    fn msgpack_is_what_msgspec_writes_and_reads() {
        let f = format(Serialization::Msgpack);
        assert_eq!(f.encode(&session(), 0).unwrap(), hex(MSGPACK));
        assert_eq!(f.decode(&hex(MSGPACK)).unwrap(), session());
    }

    #[test]
    fn json_is_what_msgspec_writes() {
        let f = format(Serialization::Json);
        assert_eq!(f.encode(&session(), 0).unwrap(), json_vector());
        // Read back, bytes and datetimes are the strings JSON holds them as.
        let back = f.decode(&json_vector()).unwrap();
        assert_eq!(back["by"], Value::Str("AP8=".into()));
        assert_eq!(
            back["tsu"],
            Value::Str("2024-01-02T03:04:05.123456Z".into())
        );
        assert_eq!(back["big"], Value::BigInt("18446744073709551615".into()));
        assert_eq!(back["esc"], session()["esc"]);
        assert_eq!(back["l"], session()["l"]);
    }

    #[test]
    fn either_format_reads_the_other_as_flask_session_does() {
        for f in [format(Serialization::Msgpack), format(Serialization::Json)] {
            assert_eq!(f.decode(&hex(MSGPACK)).unwrap(), session());
            assert_eq!(
                f.decode(&json_vector()).unwrap()["_user_id"],
                Value::Str("42".into())
            );
        }
    }

    #[test]
    fn other_kinds_are_written_as_msgspec_holds_them() {
        let mut m = Map::new();
        m.insert("t".into(), Value::Tuple(vec![Value::Int(1), Value::Int(2)]));
        m.insert("m".into(), Value::Markup("<b>".into()));
        m.insert("u".into(), Value::Uuid(uuid::Uuid::from_u128(1)));
        m.insert("nan".into(), Value::Float(f64::NAN));
        let f = format(Serialization::Json);
        assert_eq!(
            String::from_utf8(f.encode(&m, 0).unwrap()).unwrap(),
            r#"{"m":"<b>","nan":null,"t":[1,2],"u":"00000000-0000-0000-0000-000000000001"}"#
        );
        let back = format(Serialization::Msgpack)
            .decode(&format(Serialization::Msgpack).encode(&m, 0).unwrap())
            .unwrap();
        assert_eq!(back["t"], Value::List(vec![Value::Int(1), Value::Int(2)]));
        assert_eq!(back["m"], Value::Str("<b>".into()));
        assert!(matches!(back["nan"], Value::Float(x) if x.is_nan()));
        // Integers beyond msgpack's range: msgspec refuses them too.
        let mut big = Map::new();
        big.insert("b".into(), Value::BigInt("1180591620717411303424".into()));
        let err = format(Serialization::Msgpack).encode(&big, 0).unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Unsupported);
        assert_eq!(
            format(Serialization::Json).encode(&big, 0).unwrap(),
            br#"{"b":1180591620717411303424}"#
        );
    }

    #[test]
    fn datetimes_use_msgspecs_timestamp_sizes_and_offsets() {
        let offset = time::UtcOffset::from_hms(-5, -30, 0).unwrap();
        let d = utc(2024, 1, 2, 3, 4, 5, 0).to_offset(offset);
        let mut m = Map::new();
        m.insert("d".into(), Value::DateTime(d));
        let json = format(Serialization::Json).encode(&m, 0).unwrap();
        assert_eq!(json, br#"{"d":"2024-01-01T21:34:05-05:30"}"#);
        // msgpack keeps the instant, in UTC (as msgspec reads it back).
        let mp = format(Serialization::Msgpack);
        let back = mp.decode(&mp.encode(&m, 0).unwrap()).unwrap();
        assert_eq!(back["d"], Value::DateTime(utc(2024, 1, 2, 3, 4, 5, 0)));
        // A timestamp64 past 2106 and a timestamp96 with nanoseconds.
        for d in [utc(2200, 1, 1, 0, 0, 0, 0), utc(1900, 5, 6, 7, 8, 9, 10)] {
            m.insert("d".into(), Value::DateTime(d));
            assert_eq!(
                mp.decode(&mp.encode(&m, 0).unwrap()).unwrap()["d"],
                Value::DateTime(d)
            );
        }
        // Out of Python's range, a bad size, too many nanoseconds: refused.
        for bad in [
            "81a164c70cff00000000ffffff00000000ff", // year < 1
            "81a164d5ff0000",                       // 2 bytes
            "81a164d7fffffffffc00000000",           // 2**30 - 1 nanoseconds
        ] {
            assert_eq!(
                kind(mp.decode(&hex(bad))),
                Some(StoreErrorKind::Corrupt),
                "{bad}"
            );
        }
    }

    #[test]
    fn bad_records_are_corrupt() {
        let mut deep = vec![0x81, 0xa1, b'a'];
        deep.extend(std::iter::repeat_n(0x91, 100_000));
        deep.push(0xc0);
        let mut deep_json = b"{\"a\":".to_vec();
        deep_json.extend(std::iter::repeat_n(b'[', 100_000));
        for f in [format(Serialization::Msgpack), format(Serialization::Json)] {
            for bad in [
                hex(PICKLE),
                Vec::new(),
                b"not a session".to_vec(),
                hex("93010203"),         // an array
                b"[1,2]".to_vec(),       // a JSON array
                b"null".to_vec(),        // JSON null
                hex("81a161"),           // truncated
                hex("81a161c0c0"),       // trailing bytes
                hex("8101c0"),           // an integer key
                hex("81a161d40100"),     // another extension type
                hex("81a2c3286a"),       // a non-UTF-8 string
                hex("81a161dbffffffff"), // a string of 4 GiB declared
                hex("81a161ddffffffff"), // an array of 4G items declared
                hex("dfffffffff"),       // a map of 4G entries declared
                deep.clone(),
                deep_json.clone(),
            ] {
                assert_eq!(
                    kind(f.decode(&bad)),
                    Some(StoreErrorKind::Corrupt),
                    "{bad:x?}"
                );
            }
        }
        // Modest nesting still reads.
        let mut fine = vec![0x81, 0xa1, b'a'];
        fine.extend(std::iter::repeat_n(0x91, 100));
        fine.push(0xc0);
        assert!(format(Serialization::Msgpack).decode(&fine).is_ok());
    }

    #[test]
    fn the_size_limit_holds_both_ways() {
        let f = FlaskSessionFormat::new(&FlaskSessionOptions::new().with_max_record_bytes(64));
        assert_eq!(kind(f.decode(&hex(MSGPACK))), Some(StoreErrorKind::Corrupt));
        assert_eq!(
            f.encode(&session(), 0).map(|_| ()).unwrap_err().kind(),
            StoreErrorKind::Unsupported
        );
        let mut small = Map::new();
        small.insert("a".into(), Value::Int(1));
        assert_eq!(f.decode(&f.encode(&small, 0).unwrap()).unwrap(), small);
    }

    #[test]
    fn ids_are_token_urlsafe_32_and_keys_carry_the_prefix() {
        let f = FlaskSessionFormat::new(&FlaskSessionOptions::new().with_key_prefix("app:"));
        let id = f.generate();
        assert_eq!(id.as_str().len(), 43);
        assert_eq!(f.parse(id.as_str()), Some(id.clone()));
        assert_eq!(f.cookie_value(&id), id.as_str());
        let key = f.key(&id);
        assert_eq!(f.backend_key(&key), format!("app:{id}"));
        assert_eq!(f.id_of_key(&format!("app:{id}")), Some(key));
        assert_eq!(f.id_of_key(&format!("session:{id}")), None);
        assert_eq!(f.id_of_key("app:short"), None);
        let sid = f.parse(SID).unwrap();
        let bytes: Vec<u8> = (0..32).collect();
        assert_eq!(f.key(&sid).as_bytes(), bytes.as_slice());
        // Other lengths (SESSION_ID_LENGTH != 32) and a signed cookie are unknown.
        for bad in ["", "abc", &SID[..42], SIGNED, &format!("{SID}A")] {
            assert_eq!(f.parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_signer_is_flask_sessions() {
        let f = signed();
        let id = f.parse(SIGNED).unwrap();
        assert_eq!(id.as_str(), SID);
        assert_eq!(f.cookie_value(&id), SIGNED);
        // Forged, unsigned, signed with another key or salt: unknown.
        let other = FlaskSessionFormat::new(&FlaskSessionOptions::new().with_signer(KeyRing::new(
            Key::from_utf8("another secret key, 32 bytes ...").unwrap(),
        )));
        let mut flipped = SIGNED.to_owned();
        flipped.replace_range(50..51, "A");
        for bad in [
            SID.to_owned(),
            flipped,
            other.cookie_value(&id).into_owned(),
            format!("{SID}."),
            String::new(),
        ] {
            assert_eq!(f.parse(&bad), None, "{bad}");
        }
        // A fallback key still verifies; the current key signs.
        let rotated = FlaskSessionFormat::new(
            &FlaskSessionOptions::new().with_signer(
                KeyRing::new(Key::from_utf8("the new secret key, 32 bytes ...").unwrap())
                    .with_fallback(Key::from_utf8(SECRET).unwrap()),
            ),
        );
        assert_eq!(rotated.parse(SIGNED), Some(id.clone()));
        assert_ne!(rotated.cookie_value(&id), SIGNED);
    }

    /// Counts the `websession::security` warnings.
    struct SecurityWarnings(std::sync::Arc<std::sync::atomic::AtomicUsize>);

    impl tracing::Subscriber for SecurityWarnings {
        fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            tracing::span::Id::from_u64(1)
        }
        fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
        fn event(&self, event: &tracing::Event<'_>) {
            let meta = event.metadata();
            if meta.target() == "websession::security" && *meta.level() == tracing::Level::WARN {
                self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
        fn enter(&self, _: &tracing::span::Id) {}
        fn exit(&self, _: &tracing::span::Id) {}
    }

    #[test]
    fn a_cookie_failing_the_signer_is_a_security_warning() {
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let f = signed();
        // A second dispatcher: with one, a callsite first hit by another
        // test's thread (no subscriber) caches "never" (see websession's
        // tests/it/metrics.rs).
        let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
        tracing::subscriber::with_default(SecurityWarnings(count.clone()), || {
            tracing::callsite::rebuild_interest_cache();
            assert!(f.parse(SIGNED).is_some());
            assert_eq!(f.parse(SID), None);
            assert_eq!(f.parse(&format!("{SID}.AAAA")), None);
        });
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn debug_shows_no_secret() {
        let shown = format!(
            "{:?} {:?}",
            signed(),
            FlaskSessionOptions::new().with_signer(KeyRing::new(Key::from_utf8(SECRET).unwrap()))
        );
        assert!(!shown.contains("SECRET_KEY"), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }
}
