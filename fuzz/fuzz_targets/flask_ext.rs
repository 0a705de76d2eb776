//! The Flask-extension parsers on hostile input: never panic. Remember
//! cookies, CSRF tokens, referrers, quoted cookie values and timestamped
//! signatures, each fed the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use websession_core::cookie::find_cookie_unquoted;
use websession_core::flask_login::{session_identifier, RememberSigner};
use websession_core::flask_wtf::{check_referrer, CsrfSigner};
use websession_core::itsdangerous::{Signer, TimestampSigner};
use websession_core::{Key, KeyRing};

fuzz_target!(|data: &[u8]| {
    let key = Key::from_utf8("fuzzing key, thirty-two bytes!!!").expect("key");
    let text = String::from_utf8_lossy(data);
    let _ = RememberSigner::new(&key).verify(&text);
    let _ = CsrfSigner::new(&key).validate(Some(&text), Some("raw"), 1_750_000_000);
    let _ = check_referrer(Some(&text), "example.com");
    let _ = TimestampSigner::new(Signer::new(&KeyRing::new(key))).unsign(&text, 1_750_000_000, Some(60));
    let _ = session_identifier(Some("127.0.0.1"), Some(data), Some(data));
    if let Some(value) = find_cookie_unquoted([data], "remember_token") {
        assert!(value.len() <= data.len() * 3 + 3);
    }
});
