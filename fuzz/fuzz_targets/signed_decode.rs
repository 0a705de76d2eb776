//! Signed (Flask) cookie decoding: never panics, and whatever decodes
//! re-encodes to a cookie that decodes to the same data.
#![no_main]

use libfuzzer_sys::fuzz_target;
use websession_core::{json, FlaskCodec, Key, KeyRing};

fuzz_target!(|data: &[u8]| {
    let Ok(cookie) = std::str::from_utf8(data) else { return };
    let key = Key::from_utf8("correct horse battery staple").expect("key");
    let codec = FlaskCodec::new(&KeyRing::new(key)).with_max_age(u64::MAX);
    // Arbitrary text: refused cleanly (the key is unknown to the fuzzer).
    let _ = codec.decode(cookie, 1_700_000_000);
    let _ = websession_core::flask::peek(cookie, 64 * 1024);
    // The same text as a payload the key signed: exercises base64, zlib and
    // JSON behind a valid signature, where a bug would matter.
    let signed = codec.sign_json(data, 1_700_000_000);
    if let Ok(decoded) = codec.decode(&signed, 1_700_000_000) {
        let again = codec.encode(&decoded.data, 1_700_000_000);
        let back = codec.decode(&again, 1_700_000_000).expect("our own cookie decodes");
        let (mut a, mut b) = (String::new(), String::new());
        json::write_map(&mut a, &decoded.data);
        json::write_map(&mut b, &back.data);
        assert_eq!(a, b, "decode(encode(x)) == x");
    }
});
