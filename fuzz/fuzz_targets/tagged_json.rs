//! Flask's tagged JSON: parsing never panics (depth is bounded), what
//! parses writes back to text that parses to the same value, and the lazy
//! session map agrees with the full parser on every input (same data, or
//! the same error), and, changed in place (an insert and a remove), is
//! written as the same bytes as the map changed the same way.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use websession_core::format::{CookieFormat, CREATED_KEY};
use websession_core::{json, FlaskCodec, Key, KeyRing, Value};

fn codec() -> &'static FlaskCodec {
    static CODEC: OnceLock<FlaskCodec> = OnceLock::new();
    CODEC.get_or_init(|| {
        let key = Key::from_utf8("correct horse battery staple").expect("key");
        FlaskCodec::new(&KeyRing::new(key))
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = json::parse_value(data) {
        let mut text = String::new();
        json::write_value(&mut text, &value);
        let back = json::parse_value(text.as_bytes()).expect("our own output parses");
        let mut again = String::new();
        json::write_value(&mut again, &back);
        assert_eq!(text, again, "write(parse(write(x))) == write(x)");
    }
    let full = json::parse_map(data);
    let lazy = json::LazyMap::parse(data.to_vec());
    match (full, lazy) {
        (Ok(mut full), Ok(mut lazy)) => {
            // Compared as written text: NaN != NaN as values.
            let (mut a, mut b) = (String::new(), String::new());
            json::write_map(&mut a, &full);
            json::write_map(&mut b, &lazy.to_map());
            assert_eq!(a, b, "lazy and full parsing give the same data");
            assert!(lazy.keys().eq(full.keys().map(String::as_str)));
            // A key of the data's (or a new one) set, another removed, as a
            // handler would, then written by the Flask format from the index.
            let keys: Vec<String> = full.keys().cloned().collect();
            let pick = |n: usize| keys.get(n % keys.len().max(1)).cloned();
            let first = data.first().map_or(0, |b| usize::from(*b));
            let set = pick(first).filter(|_| first % 3 != 0).unwrap_or_else(|| format!("k{first}"));
            lazy.insert(&set, Value::Int(7));
            full.insert(set, Value::Int(7));
            if let Some(gone) = pick(first / 3) {
                assert_eq!(lazy.remove(&gone).is_some(), full.remove(&gone).is_some());
            }
            // With a creation time, half the time: written among the entries.
            let created = (first % 2 == 1).then_some(1_699_000_000);
            let written = codec().write(&mut lazy, 1_700_000_000, created).expect("tagged JSON");
            if created.is_some() {
                full.insert(CREATED_KEY.to_owned(), Value::Int(1_699_000_000));
            }
            assert_eq!(written, codec().encode(&full, 1_700_000_000), "written from the index");
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "the same error"),
        (full, lazy) => panic!("full {:?} vs lazy {:?}", full.is_ok(), lazy.is_ok()),
    }
});
