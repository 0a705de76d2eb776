//! The Starlette and Django vectors (made by the real frameworks with
//! `interop/make_starlette_django_vectors.py`) against `StarletteCodec` and
//! `DjangoCodec`: every cookie the framework wrote is encoded byte for byte
//! and decoded back, and every cookie it was asked to read gives the same
//! outcome and the same data.

use serde_json::Value as J;
use websession_core::django::DjangoCodec;
use websession_core::json::{self, PlainJson};
use websession_core::starlette::StarletteCodec;
use websession_core::testing::testdata_text;
use websession_core::{DecodeError, Key, KeyRing, Map};

fn load(name: &str) -> J {
    serde_json::from_str(&testdata_text(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn ring(keys: &J) -> KeyRing {
    let mut keys = keys
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| Key::from_utf8(k.as_str().expect("key")).expect("key"));
    let current = keys.next().expect("a current key");
    // The vectors list fallbacks in Django's order (tried first to last);
    // a ring tries them newest (last given) first, so give them reversed.
    let fallbacks: Vec<Key> = keys.collect();
    KeyRing::new(current).with_fallbacks(fallbacks.into_iter().rev())
}

fn text(s: &J) -> &str {
    s.as_str().expect("a string")
}

/// The two codecs behind one interface for the shared checks.
enum Codec {
    Starlette(StarletteCodec),
    Django(DjangoCodec),
}

impl Codec {
    fn new(format: &str, keys: &KeyRing) -> Self {
        match format {
            "starlette" => Self::Starlette(StarletteCodec::new(keys)),
            _ => Self::Django(DjangoCodec::new(keys)),
        }
    }
    fn encode(&self, data: &Map, ts: u64) -> String {
        match self {
            Self::Starlette(c) => c.encode(data, ts),
            Self::Django(c) => c.encode(data, ts),
        }
        .expect("plain JSON")
    }
    fn decode(&self, cookie: &str, now: u64) -> Result<Map, DecodeError> {
        let (full, lazy) = match self {
            Self::Starlette(c) => (c.decode(cookie, now), c.decode_lazy(cookie, now)),
            Self::Django(c) => (c.decode(cookie, now), c.decode_lazy(cookie, now)),
        };
        match (&full, lazy) {
            (Ok(a), Ok(b)) => assert_eq!(a.value, b.value.into_map(), "lazy"),
            (Err(a), Err(b)) => assert_eq!(a, &b, "lazy"),
            _ => panic!("decode and decode_lazy disagree"),
        }
        full.map(|d| d.value)
    }
    fn dump(&self, data: &Map) -> String {
        let spacing = match self {
            Self::Starlette(_) => PlainJson::Spaced,
            Self::Django(_) => PlainJson::Compact,
        };
        let mut out = String::new();
        json::write_plain_map(&mut out, data, spacing).expect("plain JSON");
        out
    }
}

fn check(format: &str) {
    let v = load(&format!("{format}_vectors.json"));
    let keys = ring(&J::Array(vec![v["meta"]["key"].clone()]));
    let codec = Codec::new(format, &keys);
    let encode = v["encode"].as_array().expect("encode");
    assert!(encode.len() >= 10);
    for case in encode {
        let name = text(&case["name"]);
        let payload = text(&case["payload"]);
        let data = json::parse_plain_map(payload.as_bytes()).expect(name);
        // The JSON bytes first (the framework's json.dumps), then the cookie.
        assert_eq!(codec.dump(&data), payload, "{format} {name}: JSON");
        let ts = case["timestamp"].as_u64().expect("timestamp");
        let cookie = text(&case["cookie"]);
        assert_eq!(codec.encode(&data, ts), cookie, "{format} {name}: cookie");
        assert_eq!(
            codec.decode(cookie, ts).as_ref(),
            Ok(&data),
            "{format} {name}"
        );
    }
    let mut outcomes = std::collections::BTreeMap::<&str, usize>::new();
    for case in v["decode"].as_array().expect("decode") {
        let name = text(&case["name"]);
        let outcome = text(&case["outcome"]);
        *outcomes.entry(outcome).or_default() += 1;
        let codec = Codec::new(format, &ring(&case["keys"]));
        let got = codec.decode(text(&case["cookie"]), case["now"].as_u64().expect("now"));
        match (outcome, got) {
            ("valid", Ok(data)) => {
                // What the framework loaded (re-dumped by it, in its key order).
                let loaded = json::parse_plain_map(text(&case["payload"]).as_bytes());
                assert_eq!(Ok(data), loaded, "{format} {name}")
            }
            // "error": the framework answers 500; websession starts empty.
            ("invalid" | "error", Err(_)) => {}
            (_, got) => panic!("{format} {name}: expected {outcome}, got {got:?}"),
        }
    }
    assert!(
        outcomes["valid"] > 10 && outcomes["invalid"] > 5,
        "{outcomes:?}"
    );
}

#[test]
fn starlette_vectors_byte_for_byte() {
    check("starlette");
}

#[test]
fn django_vectors_byte_for_byte() {
    check("django");
    let v = load("django_vectors.json");
    // Compressed cookies are among the encoded ones.
    assert!(v["encode"]
        .as_array()
        .expect("encode")
        .iter()
        .any(|c| c["compressed"] == true && text(&c["cookie"]).starts_with('.')));
}

#[test]
fn django_bomb_is_refused_within_the_inflate_cap() {
    let v = load("django_vectors.json");
    let codec = DjangoCodec::new(&ring(&J::Array(vec![v["meta"]["key"].clone()])));
    let now = v["meta"]["now"].as_u64().expect("now");
    let got = codec.decode(text(&v["bomb"]), now);
    assert!(
        matches!(
            got,
            Err(DecodeError::BadPayload(
                websession_core::PayloadError::TooLarge { .. }
            ))
        ),
        "{got:?}"
    );
}

#[test]
fn starlette_set_cookie_attributes_are_starlettes_defaults() {
    let v = load("starlette_vectors.json");
    let header = text(&v["encode"][0]["set_cookie"]);
    assert!(
        header.ends_with("; path=/; Max-Age=1209600; httponly; samesite=lax"),
        "{header}"
    );
}
