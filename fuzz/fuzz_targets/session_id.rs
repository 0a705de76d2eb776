//! Session id parsing: only 43 canonical base64url characters are accepted,
//! and an accepted id prints back as itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use websession_core::store::{SessionId, SESSION_ID_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Some(id) = SessionId::parse(text) {
        assert_eq!(id.as_str(), text);
        assert_eq!(text.len(), SESSION_ID_LEN);
        let _ = id.hash();
    }
});
