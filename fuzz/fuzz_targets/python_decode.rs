//! Starlette and Django cookie decoding: never panics, and whatever decodes
//! re-encodes to a cookie that decodes to the same data. The input is tried
//! as a cookie (refused: the fuzzer has no key) and as a payload the key
//! signed, where base64, zlib (Django) and plain JSON are reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use websession_core::django::DjangoCodec;
use websession_core::django_signing::DjangoSigner;
use websession_core::json::{self, PlainJson};
use websession_core::starlette::StarletteCodec;
use websession_core::{CodecLimits, Key, KeyRing, Map};

const NOW: u64 = 1_750_000_000;

fn same(a: &Map, b: &Map) {
    // Compared as text: NaN != NaN as values.
    let (mut x, mut y) = (String::new(), String::new());
    json::write_plain_map(&mut x, a, PlainJson::Compact).expect("plain");
    json::write_plain_map(&mut y, b, PlainJson::Compact).expect("plain");
    assert_eq!(x, y, "decode(encode(x)) == x");
}

fuzz_target!(|data: &[u8]| {
    let keys = KeyRing::new(Key::from_utf8("vector key: current secret of the vectors").expect("key"));
    // Re-encoding may grow a payload (raw UTF-8 and Latin-1 become \u
    // escapes): limits far above what the input can reach.
    let limits = CodecLimits::default()
        .with_max_age(u64::MAX)
        .with_max_cookie_len(1 << 26)
        .with_max_decompressed(1 << 26);
    let starlette = StarletteCodec::new(&keys).with_limits(limits);
    let django = DjangoCodec::new(&keys).with_limits(limits);
    if let Ok(cookie) = std::str::from_utf8(data) {
        let _ = starlette.decode(cookie, NOW);
        let _ = django.decode(cookie, NOW);
        let _ = websession_core::starlette::peek(cookie);
        let _ = websession_core::django_signing::peek(cookie, 64 * 1024);
    }
    let signed = [
        (starlette.sign_json(data, NOW), true),
        (
            DjangoSigner::new(&keys, websession_core::django::SESSION_SALT).dumps_json(data, NOW, true),
            false,
        ),
    ];
    for (cookie, is_starlette) in signed {
        let decoded = if is_starlette {
            starlette.decode(&cookie, NOW)
        } else {
            django.decode(&cookie, NOW)
        };
        if let Ok(d) = decoded {
            let again = if is_starlette {
                starlette.encode(&d.value, NOW).expect("plain JSON re-encodes")
            } else {
                django.encode(&d.value, NOW).expect("plain JSON re-encodes")
            };
            let back = if is_starlette {
                starlette.decode(&again, NOW)
            } else {
                django.decode(&again, NOW)
            };
            same(&d.value, &back.expect("our own cookie decodes").value);
        }
    }
});
