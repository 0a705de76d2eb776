//! The shared tamper cases, run over the signed codec and the Starlette and
//! Django codecs.

use websession_core::django::DjangoCodec;
use websession_core::starlette::StarletteCodec;
use websession_core::{DecodeError, FlaskCodec, Key, KeyRing, Map, Value};

/// Runs the tamper cases against any codec given as `encode(data, ts)` and
/// `decode(cookie, now)` closures. `max_age` is the codec's maximum age;
/// `future_ok` says whether a cookie signed a second ahead is accepted
/// (Django's rule; itsdangerous refuses it), `false` when not given.
#[macro_export]
macro_rules! tamper_cases {
    ($encode:expr, $decode:expr, $wrong_key_decode:expr, $max_age:expr) => {
        tamper_cases!($encode, $decode, $wrong_key_decode, $max_age, false)
    };
    ($encode:expr, $decode:expr, $wrong_key_decode:expr, $max_age:expr, $future_ok:expr) => {{
        let encode = $encode;
        let decode = $decode;
        let wrong_key_decode = $wrong_key_decode;
        let mut data = Map::new();
        data.insert("user_id".into(), Value::Int(7));
        data.insert("name".into(), Value::from("alice"));
        let ts: u64 = 1_700_000_000;
        let cookie: String = encode(&data, ts);
        let now = ts + 10;
        assert_eq!(
            decode(&cookie, now).expect("untouched cookie decodes"),
            data
        );

        // Every single flipped byte is refused.
        for i in 0..cookie.len() {
            let mut bytes = cookie.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let Ok(bad) = String::from_utf8(bytes) else {
                continue;
            };
            if bad == cookie {
                continue;
            }
            assert!(decode(&bad, now).is_err(), "flipped byte {i} accepted");
        }
        // Truncated at every length.
        for len in 0..cookie.len() {
            assert!(
                decode(&cookie[..len], now).is_err(),
                "truncated to {len} accepted"
            );
        }
        // Trailing bytes.
        assert!(decode(&format!("{cookie}A"), now).is_err());
        assert!(decode(&format!("{cookie}."), now).is_err());
        // Wrong key.
        assert!(wrong_key_decode(&cookie, now).is_err());
        // Expired, at the boundary and one past it.
        assert!(decode(&cookie, ts + $max_age).is_ok());
        assert!(decode(&cookie, ts + $max_age + 1).is_err());
        // From the future.
        assert_eq!(
            decode(&cookie, ts - 1).is_ok(),
            $future_ok,
            "from the future"
        );
        // Empty and garbage.
        for garbage in [
            "", ".", "..", "...", "a.b.c", "\u{0}", "é.é.é", "null", "{}",
        ] {
            assert!(decode(garbage, now).is_err(), "{garbage:?} accepted");
        }
    }};
}

fn codec(secret: &str) -> FlaskCodec {
    FlaskCodec::new(&KeyRing::new(Key::from_utf8(secret).expect("key"))).with_max_age(3600)
}

#[test]
fn signed_codec_refuses_tampering() {
    let good = codec("the real secret, long enough");
    let wrong = codec("another secret, long enough!");
    tamper_cases!(
        |d: &Map, ts| good.encode(d, ts),
        |c: &str, now| good.decode(c, now).map(|d| d.data),
        |c: &str, now| wrong.decode(c, now).map(|d| d.data),
        3600
    );
}

fn ring(secret: &str) -> KeyRing {
    KeyRing::new(Key::from_utf8(secret).expect("key"))
}

#[test]
fn starlette_codec_refuses_tampering() {
    let good = StarletteCodec::new(&ring("the real secret, long enough")).with_max_age(3600);
    let wrong = StarletteCodec::new(&ring("another secret, long enough!")).with_max_age(3600);
    tamper_cases!(
        |d: &Map, ts| good.encode(d, ts).expect("plain"),
        |c: &str, now| good.decode(c, now).map(|d| d.value),
        |c: &str, now| wrong.decode(c, now).map(|d| d.value),
        3600
    );
}

#[test]
fn django_codec_refuses_tampering() {
    let good = DjangoCodec::new(&ring("the real secret, long enough")).with_max_age(3600);
    let wrong = DjangoCodec::new(&ring("another secret, long enough!")).with_max_age(3600);
    tamper_cases!(
        |d: &Map, ts| good.encode(d, ts).expect("plain"),
        |c: &str, now| good.decode(c, now).map(|d| d.value),
        |c: &str, now| wrong.decode(c, now).map(|d| d.value),
        3600,
        true
    );
}

#[test]
fn errors_are_precise() {
    let c = codec("the real secret, long enough");
    let cookie = c.encode(&Map::new(), 1000);
    assert_eq!(
        c.decode(&cookie, 1000 + 3601),
        Err(DecodeError::Expired {
            age: 3601,
            max_age: 3600
        })
    );
    assert_eq!(
        c.decode(&cookie, 990),
        Err(DecodeError::FromFuture { ahead: 10 })
    );
    assert_eq!(
        c.decode("x".repeat(20_000).as_str(), 1000),
        Err(DecodeError::TooLong {
            len: 20_000,
            limit: 16_384
        })
    );
    assert_eq!(c.decode("abc", 1000), Err(DecodeError::BadSignature));
}

#[test]
fn fallback_keys_verify_but_never_sign() {
    let old = Key::from_utf8("old secret, retired last week").expect("key");
    let new = Key::from_utf8("new secret, in use since today").expect("key");
    let old_codec = FlaskCodec::new(&KeyRing::new(old.clone()));
    let ring = KeyRing::new(new.clone()).with_fallback(old);
    let codec = FlaskCodec::new(&ring);
    let mut data = Map::new();
    data.insert("k".into(), Value::Int(1));
    let old_cookie = old_codec.encode(&data, 100);
    let decoded = codec.decode(&old_cookie, 100).expect("fallback verifies");
    assert_eq!(decoded.key_index, 1);
    let resigned = codec.encode(&decoded.data, 100);
    assert_ne!(resigned, old_cookie);
    assert_eq!(
        FlaskCodec::new(&KeyRing::new(new))
            .decode(&resigned, 100)
            .expect("current")
            .key_index,
        0
    );
    assert!(old_codec.decode(&resigned, 100).is_err());
}

#[test]
fn a_zlib_bomb_with_a_valid_signature_is_refused() {
    let c = codec("the real secret, long enough");
    let huge = format!(r#"{{"k":"{}"}}"#, "a".repeat(10 * 1024 * 1024));
    let cookie = c.sign_json(huge.as_bytes(), 1000);
    assert!(
        cookie.starts_with('.') && cookie.len() < 16_384,
        "{}",
        cookie.len()
    );
    assert!(matches!(
        c.decode(&cookie, 1000),
        Err(DecodeError::BadPayload(
            websession_core::PayloadError::TooLarge { .. }
        ))
    ));
}

#[test]
fn resign_equals_encoding_again() {
    let old = Key::from_utf8("old secret, retired last week").expect("key");
    let ring = KeyRing::new(Key::from_utf8("new secret, in use since today").expect("key"))
        .with_fallback(old.clone());
    let codec = FlaskCodec::new(&ring);
    let mut data = Map::new();
    data.insert("cart".into(), Value::List(vec![Value::from("tea"); 40])); // compressed
    data.insert("user".into(), Value::Int(7));
    for signer in [FlaskCodec::new(&KeyRing::new(old)), codec.clone()] {
        let cookie = signer.encode(&data, 1000);
        let decoded = codec.decode(&cookie, 1500).expect("valid");
        let resigned = codec.resign(&decoded.payload, 2000);
        assert_eq!(resigned, codec.encode(&data, 2000));
        assert_eq!(codec.decode(&resigned, 2000).expect("valid").key_index, 0);
    }
}

#[test]
fn debug_of_opened_cookies_shows_no_data() {
    let codec = FlaskCodec::new(&KeyRing::new(
        Key::from_utf8("a secret key that is long enough").expect("key"),
    ));
    let mut data = Map::new();
    data.insert("api_token".into(), Value::from("tok-SECRET-4711"));
    let cookie = codec.encode(&data, 1000);
    let decoded = codec.decode(&cookie, 1000).expect("valid");
    for shown in [format!("{decoded:?}"), format!("{:?}", decoded.payload)] {
        assert!(
            !shown.contains("SECRET") && !shown.contains("api_token"),
            "{shown}"
        );
        // The payload's base64 must not show either.
        assert!(
            !shown.contains(cookie.split('.').next().expect("payload")),
            "{shown}"
        );
    }
}
