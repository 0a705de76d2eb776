//! The sealed codec: the shared tamper cases and what AEAD must add.

use websession_core::sealed::{SealedCodec, Unsealed};
use websession_core::{Compression, DecodeError, Key, KeyRing, Map, Value};

use crate::tamper_cases;

fn ring(hex_key: &str) -> KeyRing {
    KeyRing::new(Key::from_hex(hex_key).expect("key"))
}

const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const OTHER: &str = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";

fn codec(hex_key: &str, name: &str) -> SealedCodec {
    SealedCodec::new(&ring(hex_key), name)
        .expect("codec")
        .with_max_age(3600)
}

#[test]
fn sealed_codec_refuses_tampering() {
    let good = codec(KEY, "session");
    let wrong = codec(OTHER, "session");
    tamper_cases!(
        |d: &Map, ts| good.seal(d, ts, ts),
        |c: &str, now| good.open(c, now).map(|u| u.data),
        |c: &str, now| wrong.open(c, now).map(|u| u.data),
        3600
    );
}

fn sample() -> Map {
    let mut m = Map::new();
    m.insert("user_id".into(), Value::Int(42));
    m.insert("token".into(), Value::from("s3cr3t-t0ken"));
    m
}

#[test]
fn a_cookie_moved_to_another_name_is_refused() {
    let cookie = codec(KEY, "session").seal(&sample(), 100, 100);
    assert_eq!(
        codec(KEY, "other").open(&cookie, 100),
        Err(DecodeError::BadSignature)
    );
    assert!(codec(KEY, "session").open(&cookie, 100).is_ok());
}

#[test]
fn sealing_twice_gives_different_cookies_that_hide_the_data() {
    let c = codec(KEY, "session");
    let (a, b) = (c.seal(&sample(), 100, 100), c.seal(&sample(), 100, 100));
    assert_ne!(a, b, "a fresh nonce every time");
    for cookie in [&a, &b] {
        let raw = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, cookie)
            .expect("b64");
        assert!(!raw.windows(6).any(|w| w == b"s3cr3t"), "plaintext visible");
        assert!(!cookie.contains("s3cr3t"));
    }
}

#[test]
fn every_failure_to_open_looks_the_same() {
    let c = codec(KEY, "session");
    let cookie = c.seal(&sample(), 100, 100);
    let mut raw =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &cookie)
            .expect("b64");
    let last = raw.len() - 1;
    raw[last] ^= 1; // the tag
    let bad_tag = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &raw);
    raw[last] ^= 1;
    raw[0] = 3; // unknown version
    let bad_version =
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &raw);
    for bad in [
        bad_tag.as_str(),
        &bad_version,
        "",
        "!!!",
        &cookie[..cookie.len() - 4],
        "AQ",
        "Ag",
    ] {
        assert_eq!(c.open(bad, 100), Err(DecodeError::BadSignature), "{bad:?}");
    }
    assert_eq!(
        codec(OTHER, "session").open(&cookie, 100),
        Err(DecodeError::BadSignature)
    );
    assert_eq!(
        codec(KEY, "sid").open(&cookie, 100),
        Err(DecodeError::BadSignature)
    );
}

#[test]
fn times_are_sealed_and_enforced() {
    let c = codec(KEY, "session");
    let cookie = c.seal(&sample(), 1000, 900);
    let u = c.open(&cookie, 1000).expect("open");
    assert_eq!((u.issued_at, u.created_at, u.key_index), (1000, 900, 0));
    assert_eq!(
        c.open(&cookie, 1000 + 3601),
        Err(DecodeError::Expired {
            age: 3601,
            max_age: 3600
        })
    );
    assert_eq!(
        c.open(&cookie, 999),
        Err(DecodeError::FromFuture { ahead: 1 })
    );
}

#[test]
fn fallback_keys_open_and_the_current_key_seals() {
    let old = codec(OTHER, "session");
    let cookie = old.seal(&sample(), 100, 100);
    let rotated = SealedCodec::new(
        &ring(KEY).with_fallback(Key::from_hex(OTHER).expect("k")),
        "session",
    )
    .expect("c");
    assert_eq!(rotated.open(&cookie, 100).expect("fallback").key_index, 1);
    let resealed = rotated.seal(&sample(), 100, 100);
    assert_eq!(
        codec(KEY, "session")
            .open(&resealed, 100)
            .expect("current")
            .key_index,
        0
    );
    assert!(old.open(&resealed, 100).is_err());
}

#[test]
fn compression_only_when_it_saves_bytes() {
    let c = codec(KEY, "session").with_compression(Compression::Flask);
    let mut big = Map::new();
    big.insert(
        "cart".into(),
        Value::List(vec![Value::from("green tea"); 100]),
    );
    let compressed = c.seal(&big, 1, 1);
    let plain = c
        .clone()
        .with_compression(Compression::Never)
        .seal(&big, 1, 1);
    assert!(
        compressed.len() < plain.len() / 4,
        "{} vs {}",
        compressed.len(),
        plain.len()
    );
    assert_eq!(c.open(&compressed, 1).expect("open").data, big);
    assert_eq!(c.open(&plain, 1).expect("open").data, big);
}

/// Cookies sealed by format version 1. They must keep opening after any
/// change to the code; a format change gets a new version byte instead.
#[test]
fn frozen_version_1_cookies_keep_opening() {
    let c = SealedCodec::new(&ring(KEY), "session")
        .expect("c")
        .with_max_age(u64::MAX);
    let Unsealed { data, issued_at, created_at, .. } = c
        .open("ASrf0061CJEaQCklj-5JllJdXhKMtbWXIYIkq70d7-SOyF5q9yVrl9rdhEBDlLW6s8SWPcTeKopwVfAidFGHfIO3KASA6opKibecJ8NJXI59D-xfvXmFklcWCKCu0y0", 1_700_000_000)
        .expect("frozen v1 cookie");
    assert_eq!(data, sample());
    assert_eq!((issued_at, created_at), (1_700_000_000, 1_699_990_000));
    let compressed = c
        .open("AUnY4YuU92DJIttq4ynr5rw14zpeH6v9KWVEwWPbsqKjwuV_p_6AZJlx5jAYVAdyaVWANbu03ugQ3YVXk1NA_gLAx9-_bSLUE9t_GFoHYE-Diy5z-NzfsSCb23Mz3CvhVaui5gvtq4Bc6zkxU-dQXojn3Fkg", 1_700_000_000)
        .expect("frozen compressed v1 cookie");
    assert_eq!(
        compressed.data["cart"],
        Value::List(vec![Value::from("green tea"); 30])
    );
    assert_eq!(compressed.data["raw"], Value::Bytes(vec![0, 1, 2, 255]));
}

/// A cookie sealed by format version 2 (AES-256-GCM-SIV), frozen the same
/// way: `seal(&sample(), 1_700_000_000, 1_699_990_000)` with `KEY`.
#[test]
fn frozen_version_2_cookies_keep_opening() {
    let c = SealedCodec::new(&ring(KEY), "session")
        .expect("c")
        .with_max_age(u64::MAX);
    let Unsealed { data, issued_at, created_at, .. } = c
        .open("AooqE2ZBQNFKZQJRtfQxGu5H46Cp33I_JZeh4wMd6f_ZSGhTtP1VQdvBZU3rfeGhW9K3p1Nj4FZnBYEzGXGp2VuMfnqEbugcyujaGMLXseZWRpg", 1_700_000_000)
        .expect("frozen v2 cookie");
    assert_eq!(data, sample());
    assert_eq!((issued_at, created_at), (1_700_000_000, 1_699_990_000));
}

#[test]
fn short_keys_are_a_build_error() {
    let short = KeyRing::new(Key::from_utf8("correct horse battery staple").expect("k"));
    assert!(SealedCodec::new(&short, "session").is_err());
}

#[test]
fn reseal_keeps_the_payload_with_new_times_and_nonce() {
    let c = codec(KEY, "session");
    let mut big = sample();
    big.insert(
        "cart".into(),
        Value::List(vec![Value::from("green tea"); 50]),
    );
    for data in [sample(), big] {
        let cookie = c.seal(&data, 100, 90);
        let opened = c.open(&cookie, 100).expect("open");
        let again = c.reseal(&opened, 200, 90);
        assert_ne!(again, cookie);
        let reopened = c.open(&again, 200).expect("reopen");
        assert_eq!(
            (reopened.data, reopened.issued_at, reopened.created_at),
            (data, 200, 90)
        );
    }
}

#[test]
fn new_cookies_are_version_2_and_version_1_is_resealed_as_2() {
    let c = SealedCodec::new(&ring(KEY), "session")
        .expect("c")
        .with_max_age(u64::MAX);
    let version = |cookie: &str| {
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, cookie)
            .expect("b64")[0]
    };
    assert_eq!(version(&c.seal(&sample(), 1, 1)), 2);
    let v1 = c
        .open("ASrf0061CJEaQCklj-5JllJdXhKMtbWXIYIkq70d7-SOyF5q9yVrl9rdhEBDlLW6s8SWPcTeKopwVfAidFGHfIO3KASA6opKibecJ8NJXI59D-xfvXmFklcWCKCu0y0", 1_700_000_000)
        .expect("frozen v1 cookie");
    let resealed = c.reseal(&v1, 1_700_000_100, v1.created_at);
    assert_eq!(version(&resealed), 2);
    let again = c.open(&resealed, 1_700_000_100).expect("opens");
    assert_eq!((again.data, again.created_at), (sample(), 1_699_990_000));
}

#[test]
fn version_1_cookies_are_refused_from_the_cutoff_on() {
    let v1 = "ASrf0061CJEaQCklj-5JllJdXhKMtbWXIYIkq70d7-SOyF5q9yVrl9rdhEBDlLW6s8SWPcTeKopwVfAidFGHfIO3KASA6opKibecJ8NJXI59D-xfvXmFklcWCKCu0y0";
    let c = SealedCodec::new(&ring(KEY), "session")
        .expect("c")
        .with_max_age(u64::MAX)
        .with_v1_cutoff(Some(1_700_000_001));
    assert!(c.open(v1, 1_700_000_000).is_ok(), "before the cut-off");
    assert_eq!(c.open(v1, 1_700_000_001), Err(DecodeError::BadSignature));
    let v2 = c.seal(&sample(), 1_700_000_001, 1_700_000_001);
    assert!(
        c.open(&v2, 1_700_000_001).is_ok(),
        "version 2 is unaffected"
    );
}

#[test]
fn a_version_2_cookie_relabelled_as_version_1_does_not_open() {
    let c = codec(KEY, "session");
    let cookie = c.seal(&sample(), 100, 100);
    let mut raw =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &cookie)
            .expect("b64");
    raw[0] = 1;
    let relabelled =
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &raw);
    assert_eq!(c.open(&relabelled, 100), Err(DecodeError::BadSignature));
}
