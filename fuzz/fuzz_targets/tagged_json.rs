//! Flask's tagged JSON: parsing never panics (depth is bounded), and what
//! parses writes back to text that parses to the same value.
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
});
