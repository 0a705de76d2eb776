//! Django's session keys and `session_data`, byte for byte:
//! `SessionBase.encode` / `decode` of Django 5.2
//! (`django/contrib/sessions/backends/base.py`).

use std::borrow::Cow;
use std::fmt;

use time::format_description::well_known::Iso8601;
use time::{OffsetDateTime, PrimitiveDateTime};
use websession_core::codec::CodecLimits;
use websession_core::django_signing::DjangoSigner;
use websession_core::json::{self, PlainJson};
use websession_core::store::{IdFormat, IdHash, SessionId, StoreError, StoreErrorKind};
use websession_core::{Map, Value};

use super::DjangoOptions;
use crate::bridge::RecordFormat;

/// The length of a Django session key.
const KEY_LEN: usize = 32;

/// Django's `VALID_KEY_CHARS`: `string.ascii_lowercase + string.digits`.
const KEY_CHARS: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// The key `SessionBase.set_expiry` keeps a session's own expiry under:
/// whole seconds from the last save, or an ISO 8601 date.
const EXPIRY_KEY: &str = "_session_expiry";

/// Django's session keys and its signed, compressed JSON records.
#[derive(Clone)]
pub(crate) struct DjangoFormat {
    signer: DjangoSigner,
    max_record_bytes: usize,
}

impl fmt::Debug for DjangoFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DjangoFormat")
            .field("signer", &self.signer)
            .field("max_record_bytes", &self.max_record_bytes)
            .finish()
    }
}

impl DjangoFormat {
    /// The format of `options`: their keys, their session class's salt,
    /// their size limit (on the stored text and on the JSON inside it).
    pub(crate) fn new(options: &DjangoOptions) -> Self {
        let limits = CodecLimits::default()
            .with_max_cookie_len(options.max_record_bytes)
            .with_max_decompressed(options.max_record_bytes);
        Self {
            signer: DjangoSigner::new(&options.keys, options.salt()).with_limits(limits),
            max_record_bytes: options.max_record_bytes,
        }
    }

    /// `signing.loads(session_data, salt=key_salt)`: no maximum age (the
    /// row's `expire_date` is the expiry), every key of the ring.
    fn load(&self, text: &str, now: u64) -> Result<Map, StoreError> {
        let loaded = self.signer.loads_json(text, now, None).map_err(corrupt)?;
        // Django writes ASCII (`ensure_ascii`) and reads Latin-1; other
        // bytes are read as UTF-8 here (invalid UTF-8 is corrupt).
        let bytes = loaded.value;
        // `json.loads` gives `None` for `null`, which Django can't use as a
        // session either; parse_plain_map would make it an empty one.
        if bytes.trim_ascii() == b"null" {
            return Err(StoreError::new(
                StoreErrorKind::Corrupt,
                "the session data is JSON null, not an object",
            ));
        }
        json::parse_plain_map(&bytes).map_err(corrupt)
    }
}

impl IdFormat for DjangoFormat {
    /// `get_random_string(32, VALID_KEY_CHARS)`: 32 characters of
    /// `[a-z0-9]` from the OS CSPRNG, uniform (bytes of 252 and over are
    /// drawn again, so `% 36` has no bias): about 165 bits.
    fn generate(&self) -> SessionId {
        let mut key = String::with_capacity(KEY_LEN);
        let mut bytes = [0_u8; 64];
        while key.len() < KEY_LEN {
            random_bytes(&mut bytes);
            for b in bytes {
                if key.len() == KEY_LEN {
                    break;
                }
                // 252 = 7 * 36: the largest multiple of 36 a byte holds.
                if b < 252 {
                    key.push(char::from(KEY_CHARS[usize::from(b % 36)]));
                }
            }
        }
        SessionId::from_checked(key)
    }

    /// A key Django could have made: exactly 32 characters of `[a-z0-9]`.
    /// Django itself looks up any key of 8 characters or more, but makes
    /// only these.
    fn parse(&self, cookie: &str) -> Option<SessionId> {
        is_key(cookie).then(|| SessionId::from_checked(cookie.to_owned()))
    }

    fn cookie_value<'a>(&self, id: &'a SessionId) -> Cow<'a, str> {
        Cow::Borrowed(id.as_str())
    }

    /// The key's own 32 ASCII bytes.
    fn key(&self, id: &SessionId) -> IdHash {
        // Every id here came from `generate` or `parse`: 32 bytes.
        IdHash::from_bytes(id.as_str().as_bytes()).unwrap_or_else(|| id.hash())
    }
}

impl RecordFormat for DjangoFormat {
    /// The `session_key` column: the key's text.
    fn backend_key(&self, id: &IdHash) -> String {
        match std::str::from_utf8(id.as_bytes()) {
            Ok(text) => text.to_owned(),
            // No id of this format gives other bytes; a key no Django row has.
            Err(_) => id.to_hex(),
        }
    }

    fn id_of_key(&self, key: &str) -> Option<IdHash> {
        if is_key(key) {
            IdHash::from_bytes(key.as_bytes())
        } else {
            None
        }
    }

    /// `SessionBase.encode(data)`: compact JSON, zlib when it saves at least
    /// 2 bytes, signed at `now` with `SECRET_KEY` under the session class's
    /// salt. Keys are written sorted (Django writes them in the dict's
    /// insertion order; Django reads either).
    fn encode(&self, data: &Map, now: u64) -> Result<Vec<u8>, StoreError> {
        if let Some(kind) = data.values().find_map(not_django_json) {
            return Err(StoreError::new(
                StoreErrorKind::Unsupported,
                format!(
                    "Django's JSON session can't hold {kind}; store it as a string or a number"
                ),
            ));
        }
        let mut text = String::with_capacity(64);
        json::write_plain_map(&mut text, data, PlainJson::Compact)
            .map_err(|e| StoreError::new(StoreErrorKind::Unsupported, e))?;
        let too_large = |len: usize| {
            StoreError::new(
                StoreErrorKind::Unsupported,
                format!(
                    "the session is {len} bytes, over the record limit of {} bytes",
                    self.max_record_bytes
                ),
            )
        };
        if text.len() > self.max_record_bytes {
            return Err(too_large(text.len()));
        }
        let token = self.signer.dumps_json(text.as_bytes(), now, true);
        if token.len() > self.max_record_bytes {
            return Err(too_large(token.len()));
        }
        Ok(token.into_bytes())
    }

    /// `SessionBase.decode(session_data)`: a bad signature, base64, zlib or
    /// JSON, anything but an object, or a record over the size limit is
    /// [`StoreErrorKind::Corrupt`] (Django reads an empty session).
    fn decode(&self, bytes: &[u8]) -> Result<Map, StoreError> {
        if bytes.len() > self.max_record_bytes {
            return Err(StoreError::new(
                StoreErrorKind::Corrupt,
                format!(
                    "the record is {} bytes, over the limit of {} bytes",
                    bytes.len(),
                    self.max_record_bytes
                ),
            ));
        }
        let text = std::str::from_utf8(bytes).map_err(corrupt)?;
        // No maximum age: the time given is not used.
        self.load(text, 0)
    }

    /// Django's `get_expiry_date()`: `_session_expiry` seconds after the
    /// save when it is a positive integer, the date it names when it is an
    /// ISO 8601 string (a date without an offset is read as UTC), else the
    /// engine's expiry (`SESSION_COOKIE_AGE`'s counterpart).
    fn expires_at(&self, data: &Map, now: u64, default: u64) -> u64 {
        match data.get(EXPIRY_KEY) {
            Some(Value::Int(seconds)) if *seconds > 0 => {
                now.saturating_add(u64::try_from(*seconds).unwrap_or(u64::MAX))
            }
            Some(Value::Str(date)) => iso_date(date).unwrap_or(default),
            _ => default,
        }
    }
}

/// Whether `text` is a key Django makes: 32 characters of `[a-z0-9]`.
fn is_key(text: &str) -> bool {
    text.len() == KEY_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Fills `bytes` from the OS CSPRNG.
#[allow(clippy::expect_used)]
fn random_bytes(bytes: &mut [u8]) {
    // As `SessionId::generate`: no session can be made without it.
    getrandom::fill(bytes).expect("the OS random number generator failed");
}

/// The first value (however deep) Django's `JSONSerializer` can't hold as
/// it is, named: `json.dumps` refuses bytes, UUIDs and datetimes, and
/// reads a tuple back as a list and `Markup` as a plain string.
fn not_django_json(value: &Value) -> Option<&'static str> {
    match value {
        Value::Bytes(_) => Some("bytes"),
        Value::Uuid(_) => Some("a UUID"),
        Value::DateTime(_) | Value::RawDateTime { .. } => Some("a datetime"),
        Value::Tuple(_) => Some("a tuple (Django reads it back as a list)"),
        Value::Markup(_) => Some("Markup (Django reads it back as a plain string)"),
        Value::List(items) => items.iter().find_map(not_django_json),
        Value::Dict(map) => map.values().find_map(not_django_json),
        _ => None,
    }
}

/// A date as `datetime.fromisoformat` reads what `datetime.isoformat()`
/// wrote, in Unix seconds (fractions dropped); without an offset, UTC.
fn iso_date(text: &str) -> Option<u64> {
    let at = OffsetDateTime::parse(text, &Iso8601::DEFAULT)
        .or_else(|_| PrimitiveDateTime::parse(text, &Iso8601::DEFAULT).map(|d| d.assume_utc()))
        .ok()?;
    u64::try_from(at.unix_timestamp()).ok()
}

/// A record Django would read as an empty session.
fn corrupt(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::new(StoreErrorKind::Corrupt, e)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use websession_core::{Key, KeyRing};

    use super::*;

    const AT: u64 = 1_750_000_000;

    fn keys() -> KeyRing {
        KeyRing::new(Key::from_utf8("django-insecure-vector-key-1").unwrap())
    }

    fn format() -> DjangoFormat {
        DjangoFormat::new(&DjangoOptions::new(keys()))
    }

    fn map(pairs: &[(&str, Value)]) -> Map {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    /// `SessionStore().encode(...)` of Django 5.2.19 at `AT`, with
    /// `SECRET_KEY = "django-insecure-vector-key-1"`.
    #[test]
    fn encode_is_djangos_byte_for_byte() {
        let cases = [
            (
                map(&[("n", Value::Int(1)), ("user", Value::from("alice"))]),
                "eyJuIjoxLCJ1c2VyIjoiYWxpY2UifQ:1uQowS:t2pPbz-65b0NNANA0m-PvODgaymrxby7pfCcAp2UBvM",
            ),
            (
                map(&[("a", Value::from("x".repeat(100)))]),
                ".eJyrVkpUslKqoANQqgUAPCcw_A:1uQowS:_5em36Oiqr1RqxFxfH7YcGmvzQyRXZdgEq07mbyTYkc",
            ),
        ];
        for (data, django) in cases {
            let bytes = format().encode(&data, AT).unwrap();
            assert_eq!(std::str::from_utf8(&bytes).unwrap(), django);
            assert_eq!(format().decode(django.as_bytes()).unwrap(), data);
        }
    }

    #[test]
    fn djangos_records_decode() {
        // {"f":1.5,"l":[1,null,true],"d":{"k":"Zoë 😀"},"big":2**70}, in Django's key order.
        let token = "eyJmIjoxLjUsImwiOlsxLG51bGwsdHJ1ZV0sImQiOnsiayI6IlpvXHUwMGViIFx1ZDgzZFx1ZGUwMCJ9LCJiaWciOjExODA1OTE2MjA3MTc0MTEzMDM0MjR9:1uQowS:P4M-q9jRgROAU9HO_9c7tbvHMDHgiX465YP0m59BfLI";
        let data = format().decode(token.as_bytes()).unwrap();
        assert_eq!(data["f"], Value::Float(1.5));
        assert_eq!(
            data["l"],
            Value::List(vec![Value::Int(1), Value::Null, Value::Bool(true)])
        );
        assert_eq!(data["d"], Value::Dict(map(&[("k", Value::from("Zoë 😀"))])));
        assert_eq!(data["big"], Value::BigInt("1180591620717411303424".into()));
        // Written back, Django reads the same values.
        let again = format().encode(&data, AT).unwrap();
        assert_eq!(format().decode(&again).unwrap(), data);
    }

    #[test]
    fn fallback_keys_and_the_session_class_salt() {
        // signing.dumps({"n": 1}, key="old-fallback-secret-0", salt=..., compress=True)
        let by_old = b"eyJuIjoxfQ:1uQowS:TxnKrSKLq4bLbkgVVkdvT368c8M07zoil9Jd0WkKz6E";
        assert_eq!(
            format().decode(by_old).unwrap_err().kind(),
            StoreErrorKind::Corrupt
        );
        let rotated = DjangoFormat::new(&DjangoOptions::new(
            keys().with_fallback(Key::from_utf8("old-fallback-secret-0").unwrap()),
        ));
        assert_eq!(
            rotated.decode(by_old).unwrap(),
            map(&[("n", Value::Int(1))])
        );
        // A subclass `Sub(SessionStore)` signs under "django.contrib.sessions.Sub".
        let sub =
            b"eyJuIjoxLCJ1c2VyIjoiYWxpY2UifQ:1uQowS:n_IjPG3z8PwG-RNZaw3ik7z4R_3sIGRx9umxfE6QD-0";
        assert_eq!(
            format().decode(sub).unwrap_err().kind(),
            StoreErrorKind::Corrupt
        );
        let subclass = DjangoFormat::new(&DjangoOptions::new(keys()).with_session_class("Sub"));
        assert_eq!(subclass.decode(sub).unwrap()["user"], Value::from("alice"));
    }

    #[test]
    fn what_django_reads_as_empty_is_corrupt() {
        let good =
            "eyJuIjoxLCJ1c2VyIjoiYWxpY2UifQ:1uQowS:t2pPbz-65b0NNANA0m-PvODgaymrxby7pfCcAp2UBvM";
        let mut flipped = good.as_bytes().to_vec();
        flipped[3] ^= 1;
        let cases: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"not a record".to_vec(),
            flipped,
            good.as_bytes()[..good.len() - 1].to_vec(),
            vec![0xff, 0xfe],
            // signing.dumps([1, 2], ...): a list, not a session.
            b"WzEsMl0:1uQowS:2WkCqCGlwqxojiIU6W9HF7J1Y-bXfCoS45USPH7XNOE".to_vec(),
            // signing.dumps(None, ...)
            b"bnVsbA:1uQowS:sXVdtX5MhVBqIKiwZ_ZoOYfQZPnyUaWspn_roqQv584".to_vec(),
            // Pickled data, Django's serializer before 4.1.
            b"gASVCwAAAAAAAAB9lIwBbpRLAXMu:1uQowS:aaaa".to_vec(),
        ];
        for bytes in cases {
            let e = format().decode(&bytes).unwrap_err();
            assert_eq!(e.kind(), StoreErrorKind::Corrupt, "{bytes:?}");
        }
        let small = DjangoFormat::new(&DjangoOptions::new(keys()).with_max_record_bytes(40));
        assert_eq!(
            small.decode(good.as_bytes()).unwrap_err().kind(),
            StoreErrorKind::Corrupt
        );
    }

    #[test]
    fn values_django_cant_hold_are_refused_on_write() {
        let refused = [
            Value::Bytes(b"x".to_vec()),
            Value::Uuid(uuid_like()),
            Value::DateTime(time::OffsetDateTime::UNIX_EPOCH),
            Value::Tuple(vec![Value::Int(1)]),
            Value::Markup("<b>".into()),
            Value::List(vec![Value::Int(1), Value::Bytes(Vec::new())]),
            Value::Dict(map(&[("deep", Value::Tuple(Vec::new()))])),
        ];
        for value in refused {
            let e = format()
                .encode(&map(&[("v", value.clone())]), AT)
                .unwrap_err();
            assert_eq!(e.kind(), StoreErrorKind::Unsupported, "{value:?}");
        }
        let small = DjangoFormat::new(&DjangoOptions::new(keys()).with_max_record_bytes(40));
        let e = small
            .encode(&map(&[("v", Value::from("y".repeat(41)))]), AT)
            .unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Unsupported);
    }

    fn uuid_like() -> uuid::Uuid {
        uuid::Uuid::from_u128(0x1234)
    }

    #[test]
    fn keys_are_djangos() {
        let f = format();
        let mut seen = HashSet::new();
        let mut counts = [0_u32; 128];
        for _ in 0..20_000 {
            let id = f.generate();
            assert!(is_key(id.as_str()), "{id}");
            assert_eq!(f.parse(id.as_str()), Some(id.clone()));
            let key = f.key(&id);
            assert_eq!(key.as_bytes(), id.as_str().as_bytes());
            assert_eq!(f.backend_key(&key), id.as_str());
            assert_eq!(f.id_of_key(id.as_str()), Some(key));
            assert!(seen.insert(key));
            for b in id.as_str().bytes() {
                counts[usize::from(b)] += 1;
            }
        }
        // Uniform over the 36 characters: every count near the mean.
        let used: Vec<u32> = counts.into_iter().filter(|&c| c > 0).collect();
        assert_eq!(used.len(), 36);
        let mean = 20_000.0 * 32.0 / 36.0;
        assert!(
            used.iter()
                .all(|&c| (f64::from(c) - mean).abs() < mean * 0.05),
            "{used:?}"
        );
        let good = f.generate();
        for bad in [
            String::new(),
            "abc".into(),
            good.as_str()[..31].to_owned(),
            format!("{}a", good.as_str()),
            good.as_str().to_uppercase(),
            format!("{}-", &good.as_str()[..31]),
            format!("{}é", &good.as_str()[..30]),
        ] {
            assert_eq!(f.parse(&bad), None, "{bad:?}");
            assert_eq!(f.id_of_key(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_session_expiry_of_djangos_sets_the_rows() {
        let f = format();
        let with = |v: Value| map(&[(EXPIRY_KEY, v)]);
        assert_eq!(f.expires_at(&Map::new(), AT, AT + 9), AT + 9);
        assert_eq!(f.expires_at(&with(Value::Int(300)), AT, AT + 9), AT + 300);
        assert_eq!(f.expires_at(&with(Value::Int(0)), AT, AT + 9), AT + 9);
        assert_eq!(f.expires_at(&with(Value::Int(-1)), AT, AT + 9), AT + 9);
        // datetime.isoformat() of an aware and a naive date.
        for text in [
            "2025-06-15T15:06:40+00:00",
            "2025-06-15T17:06:40.123456+02:00",
            "2025-06-15T15:06:40",
        ] {
            assert_eq!(
                f.expires_at(&with(Value::from(text)), AT, AT + 9),
                AT,
                "{text}"
            );
        }
        assert_eq!(f.expires_at(&with(Value::from("soon")), AT, AT + 9), AT + 9);
    }

    #[test]
    fn debug_hides_the_keys() {
        let shown = format!("{:?} {:?}", format(), DjangoOptions::new(keys()));
        assert!(!shown.contains("vector-key"), "{shown}");
    }
}
