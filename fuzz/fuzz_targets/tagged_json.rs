//! Flask's tagged JSON: parsing never panics (depth is bounded), what
//! parses writes back to text that parses to the same value, and the lazy
//! session map agrees with the full parser on every input (same data, or
//! the same error).
#![no_main]

use libfuzzer_sys::fuzz_target;
use websession_core::json;

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
        (Ok(full), Ok(lazy)) => {
            // Compared as written text: NaN != NaN as values.
            let (mut a, mut b) = (String::new(), String::new());
            json::write_map(&mut a, &full);
            json::write_map(&mut b, &lazy.to_map());
            assert_eq!(a, b, "lazy and full parsing give the same data");
            assert!(lazy.keys().eq(full.keys().map(String::as_str)));
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "the same error"),
        (full, lazy) => panic!("full {:?} vs lazy {:?}", full.is_ok(), lazy.is_ok()),
    }
});
