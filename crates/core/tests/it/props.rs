//! Property tests: decoding never panics, `decode(encode(x)) == x`.

use proptest::prelude::*;
use websession_core::{json, FlaskCodec, Key, KeyRing, Value};

fn codec() -> FlaskCodec {
    FlaskCodec::new(&KeyRing::new(
        Key::from_utf8("property test key, 32 bytes long").expect("key"),
    ))
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<u64>().prop_map(|u| if u > i64::MAX as u64 {
            Value::BigInt(u.to_string())
        } else {
            Value::Int(u as i64)
        }),
        any::<f64>()
            .prop_filter("NaN != NaN", |x| !x.is_nan())
            .prop_map(Value::Float),
        any::<String>().prop_map(Value::Str),
        proptest::collection::vec(any::<u8>(), 0..16).prop_map(Value::Bytes),
        any::<String>().prop_map(Value::Markup),
        any::<u128>().prop_map(|u| Value::Uuid(uuid::Uuid::from_u128(u))),
        // Years 100-9999: Flask reads years below 100 as 1969-2068 (see dates.rs).
        (-59_011_459_200i64..=253_402_300_799).prop_map(|s| Value::DateTime(
            time::OffsetDateTime::from_unix_timestamp(s).expect("in range")
        )),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Tuple),
            proptest::collection::btree_map(key(), inner, 0..6).prop_map(Value::Dict),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        Just(" t".to_owned()),
        Just(" di".to_owned()),
        Just(" b".to_owned())
    ]
}

proptest! {
    #[test]
    fn decode_of_encode_is_identity(data in proptest::collection::btree_map(key(), value(), 0..8), ts in 0u64..4_000_000_000) {
        let c = codec().with_max_age(u64::MAX);
        let cookie = c.encode(&data, ts);
        let decoded = c.decode(&cookie, ts).expect("own cookie decodes");
        prop_assert_eq!(&decoded.data, &data);
        prop_assert_eq!(decoded.timestamp, ts);
        let lazy = c.decode_lazy(&cookie, ts).expect("own cookie decodes");
        for (k, v) in &data {
            let got = lazy.data.get(k).map(|v| v.to_value());
            prop_assert_eq!(got.as_ref(), Some(v));
        }
        prop_assert_eq!(lazy.data.into_map(), data);
    }

    #[test]
    fn a_date_of_any_year_is_written_back_byte_identical(s in -62_135_596_800i64..=253_402_300_799, other in any::<i64>()) {
        // Years 1-99 included: those read back as another year, but keep their bytes.
        let c = codec().with_max_age(u64::MAX);
        let mut data = websession_core::Map::new();
        data.insert("d".into(), Value::DateTime(time::OffsetDateTime::from_unix_timestamp(s).expect("in range")));
        let cookie = c.encode(&data, 1);
        let mut decoded = c.decode(&cookie, 1).expect("own cookie decodes").data;
        prop_assert_eq!(c.encode(&decoded, 1), cookie);
        decoded.insert("z".into(), Value::Int(other));
        data.insert("z".into(), Value::Int(other));
        prop_assert_eq!(c.encode(&decoded, 1), c.encode(&data, 1));
    }

    #[test]
    fn parsing_arbitrary_date_text_never_panics(text in "[A-Za-z0-9 ,:.+_\\-]{0,40}") {
        let tagged = format!(r#"{{" d":{}}}"#, serde_json::Value::from(text));
        let v = json::parse_value(tagged.as_bytes());
        if let Ok(v) = v {
            prop_assert_eq!(v.to_tagged_json(), tagged);
        }
    }

    #[test]
    fn decoding_arbitrary_text_never_panics(text in ".{0,200}") {
        let _ = codec().decode(&text, 1_700_000_000);
        let _ = websession_core::flask::peek(&text, 1024);
    }

    #[test]
    fn decoding_cookie_shaped_text_never_panics(a in "[A-Za-z0-9_.-]{0,80}", b in "[A-Za-z0-9_-]{0,12}", c in "[A-Za-z0-9_-]{27}") {
        let _ = codec().decode(&format!("{a}.{b}.{c}"), 1_700_000_000);
        let _ = codec().decode(&format!(".{a}.{b}.{c}"), 1_700_000_000);
    }

    #[test]
    fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = json::parse_map(&bytes);
    }

    #[test]
    fn signed_garbage_payloads_are_errors_or_maps(text in "[\\[\\]{}\", :a-z0-9\\\\]{0,60}") {
        // A holder of the key signs arbitrary JSON-ish text: never a panic.
        let c = codec();
        let cookie = c.sign_json(text.as_bytes(), 1_700_000_000);
        // The lazy map agrees with the full parser: the same data or the same error.
        match (c.decode(&cookie, 1_700_000_000), c.decode_lazy(&cookie, 1_700_000_000)) {
            (Ok(full), Ok(lazy)) => prop_assert_eq!(lazy.data.into_map(), full.data),
            (Err(a), Err(b)) => prop_assert_eq!(a, b),
            (a, b) => prop_assert!(false, "full {:?}, lazy {:?}", a.is_ok(), b.is_ok()),
        }
    }
}

proptest! {
    #[test]
    fn sealed_open_of_seal_is_identity(data in proptest::collection::btree_map(key(), value(), 0..8), ts in 0u64..4_000_000_000) {
        let c = websession_core::SealedCodec::new(
            &KeyRing::new(Key::from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f").expect("k")),
            "session",
        ).expect("codec").with_max_age(u64::MAX);
        let cookie = c.seal(&data, ts, ts / 2);
        let opened = c.open(&cookie, ts).expect("own cookie opens");
        prop_assert_eq!(opened.data, data);
        prop_assert_eq!((opened.issued_at, opened.created_at), (ts, ts / 2));
    }

    #[test]
    fn opening_arbitrary_text_never_panics(text in "[A-Za-z0-9_-]{0,300}") {
        let c = websession_core::SealedCodec::new(&KeyRing::new(Key::generate()), "session").expect("codec");
        let _ = c.open(&text, 1_700_000_000);
    }
}

proptest! {
    #[test]
    fn flask_extension_parsers_never_panic(text in any::<String>(), bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        use websession_core::cookie::find_cookie_unquoted;
        use websession_core::flask_login::{session_identifier, RememberSigner};
        use websession_core::flask_wtf::{check_referrer, CsrfSigner};
        use websession_core::itsdangerous::{Signer, TimestampSigner, UrlSafeTimedSerializer};
        let key = Key::from_utf8("property test key, 32 bytes long").expect("key");
        let _ = RememberSigner::new(&key).verify(&text);
        let _ = CsrfSigner::new(&key).validate(Some(&text), Some("raw"), 1_700_000_000);
        let _ = check_referrer(Some(&text), &text);
        let ring = KeyRing::new(key);
        let _ = TimestampSigner::new(Signer::new(&ring)).unsign(&text, 1_700_000_000, Some(60));
        let _ = UrlSafeTimedSerializer::new(&ring, "s").loads_json(&text, 1_700_000_000);
        let _ = session_identifier(Some(&text), Some(&bytes), Some(&bytes));
        let _ = find_cookie_unquoted([bytes.as_slice()], "remember_token");
    }

    #[test]
    fn signing_round_trips(value in any::<String>(), ts in 0u64..4_000_000_000) {
        use websession_core::cookie::{find_cookie_unquoted, quote_cookie_value};
        use websession_core::flask_login::RememberSigner;
        use websession_core::itsdangerous::{Signer, TimestampSigner, UrlSafeTimedSerializer};
        let key = Key::from_utf8("property test key, 32 bytes long").expect("key");
        let ring = KeyRing::new(key.clone());
        let timed = TimestampSigner::new(Signer::new(&ring));
        let signed = timed.sign(&value, ts);
        prop_assert_eq!(timed.unsign(&signed, ts, Some(0)).expect("opens").value, value.as_str());
        let ser = UrlSafeTimedSerializer::new(&ring, "s");
        prop_assert_eq!(ser.loads::<String>(&ser.dumps(&value, ts).expect("dumps"), ts).expect("loads").value, value.clone());
        let remember = RememberSigner::new(&key);
        let token = remember.sign(&value);
        prop_assert_eq!(remember.verify(&token), Ok(value.as_str()));
        // Werkzeug's quoting round-trips through the cookie reader (no ';' or
        // ',' survive unescaped, so the value stays one cookie).
        let header = format!("a=1; remember_token={}; b=2", quote_cookie_value(&token));
        let found = find_cookie_unquoted([header.as_bytes()], "remember_token");
        prop_assert_eq!(found.as_deref(), Some(token.as_str()));
    }
}

/// Values plain JSON (Starlette, Django) holds: no bytes, UUIDs, dates,
/// tuples or Markup, which have no plain form of their own.
fn plain_value() -> impl Strategy<Value = Value> {
    value().prop_filter("plain JSON only", is_plain)
}

fn is_plain(v: &Value) -> bool {
    match v {
        Value::List(items) => items.iter().all(is_plain),
        Value::Dict(m) => m.values().all(is_plain),
        Value::Tuple(_)
        | Value::Bytes(_)
        | Value::Markup(_)
        | Value::Uuid(_)
        | Value::DateTime(_)
        | Value::RawDateTime { .. } => false,
        _ => true,
    }
}

proptest! {
    #[test]
    fn python_codecs_decode_of_encode_is_identity(
        data in proptest::collection::btree_map(key(), plain_value(), 0..8),
        ts in 0u64..4_000_000_000,
    ) {
        let keys = KeyRing::new(Key::from_utf8("property test key, 32 bytes long").expect("key"));
        let limits = websession_core::CodecLimits::default()
            .with_max_age(u64::MAX)
            .with_max_cookie_len(1 << 20);
        let starlette = websession_core::starlette::StarletteCodec::new(&keys).with_limits(limits);
        let cookie = starlette.encode(&data, ts).expect("plain");
        let decoded = starlette.decode(&cookie, ts).expect("own cookie decodes");
        prop_assert_eq!((&decoded.value, decoded.timestamp), (&data, ts));
        let django = websession_core::django::DjangoCodec::new(&keys).with_limits(limits);
        let cookie = django.encode(&data, ts).expect("plain");
        let decoded = django.decode(&cookie, ts).expect("own cookie decodes");
        prop_assert_eq!((&decoded.value, decoded.timestamp), (&data, ts));
    }

    #[test]
    fn python_codecs_never_panic(text in ".{0,200}") {
        let keys = KeyRing::new(Key::from_utf8("property test key, 32 bytes long").expect("key"));
        let _ = websession_core::starlette::StarletteCodec::new(&keys).decode(&text, 0);
        let _ = websession_core::django::DjangoCodec::new(&keys).decode(&text, 0);
        let _ = websession_core::starlette::peek(&text);
        let _ = websession_core::django_signing::peek(&text, 1 << 16);
    }
}
