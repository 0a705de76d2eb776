//! The `Cookie` header scan: never panics; a found value is a substring of
//! the header without `;`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use websession_core::cookie::find_cookie;

fuzz_target!(|data: &[u8]| {
    let headers: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    if let Some(value) = find_cookie(headers.iter().copied(), "session") {
        assert!(!value.contains(';'));
    }
});
