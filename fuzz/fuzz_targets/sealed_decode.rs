//! Sealed cookie opening: arbitrary text never panics and never opens.
#![no_main]

use libfuzzer_sys::fuzz_target;
use websession_core::sealed::SealedCodec;
use websession_core::{Key, KeyRing};

fuzz_target!(|data: &[u8]| {
    let Ok(cookie) = std::str::from_utf8(data) else { return };
    let key = Key::from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f").expect("key");
    let codec = SealedCodec::new(&KeyRing::new(key), "session").expect("codec");
    assert!(codec.open(cookie, 1_700_000_000).is_err(), "a forged sealed cookie opened");
});
