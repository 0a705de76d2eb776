//! Base64 for every format of this crate, through `base64-simd`: the two
//! alphabets the Python frameworks use (URL-safe without padding for
//! itsdangerous, Django and websession's own cookies and ids; standard with
//! padding for Starlette's payload and Flask's tagged bytes), strict as the
//! `base64` crate's engines were (canonical padding and trailing bits).
//!
//! Why `base64-simd` and not `base64`: a signed read decodes about 80
//! characters, and `base64`'s general-purpose engine spends about 13
//! instructions per character on inputs that short (its fast path wants
//! blocks of 32); `base64-simd` about 6 (`python3 bench/instructions/run`,
//! issue 26). Both refuse and accept exactly the same inputs: 3,000,000
//! random strings over both alphabets, padded and not, gave the same result
//! when this was chosen, and a test keeps 100,000 of them.
//! The wrappers here never panic: a buffer too small is a decode failure.

use base64_simd::{Out, STANDARD, URL_SAFE_NO_PAD};

/// Decodes unpadded base64url `text` into the start of `buf`, and gives the
/// length; `None` for invalid text or a decoded length over `buf`'s.
pub(crate) fn url_decode_slice(text: &[u8], buf: &mut [u8]) -> Option<usize> {
    decode_slice(&URL_SAFE_NO_PAD, text, buf)
}

/// Decodes unpadded base64url `text`.
pub(crate) fn url_decode(text: &[u8]) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode_to_vec(text).ok()
}

/// Appends `bytes` as unpadded base64url.
pub(crate) fn url_encode_append(bytes: &[u8], out: &mut String) {
    URL_SAFE_NO_PAD.encode_append(bytes, out);
}

/// `bytes` as unpadded base64url.
pub(crate) fn url_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode_to_string(bytes)
}

/// Decodes padded standard base64 `text`.
pub(crate) fn std_decode(text: &[u8]) -> Option<Vec<u8>> {
    STANDARD.decode_to_vec(text).ok()
}

/// Appends `bytes` as padded standard base64.
pub(crate) fn std_encode_append(bytes: &[u8], out: &mut String) {
    STANDARD.encode_append(bytes, out);
}

/// `bytes` as padded standard base64.
pub(crate) fn std_encode(bytes: &[u8]) -> String {
    STANDARD.encode_to_string(bytes)
}

fn decode_slice(engine: &base64_simd::Base64, text: &[u8], buf: &mut [u8]) -> Option<usize> {
    // `decode` panics on a buffer shorter than the decoded length.
    if engine.decoded_length(text).ok()? > buf.len() {
        return None;
    }
    engine
        .decode(text, Out::from_slice(buf))
        .ok()
        .map(|b| b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_like_pythons_canonical_forms() {
        assert_eq!(url_decode(b"QQ"), Some(b"A".to_vec()));
        assert_eq!(url_decode(b"QR"), None, "trailing bits set");
        assert_eq!(url_decode(b"Q"), None, "a length no encoder makes");
        assert_eq!(
            url_decode(b"QQ=="),
            None,
            "padding in the unpadded alphabet"
        );
        assert_eq!(
            url_decode(b"Q+Q"),
            None,
            "the standard alphabet in the URL-safe one"
        );
        assert_eq!(std_decode(b"QQ=="), Some(b"A".to_vec()));
        assert_eq!(std_decode(b"QQ"), None, "missing padding");
        assert_eq!(
            std_decode(b"Q_Q-"),
            None,
            "the URL-safe alphabet in the standard one"
        );
        assert_eq!(url_encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(std_encode(&[0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn a_short_buffer_is_a_failure_not_a_panic() {
        let mut buf = [0u8; 2];
        assert_eq!(url_decode_slice(b"QUJD", &mut buf), None);
        let mut buf = [0u8; 3];
        assert_eq!(url_decode_slice(b"QUJD", &mut buf), Some(3));
        assert_eq!(&buf, b"ABC");
        assert_eq!(url_decode_slice(b"", &mut buf), Some(0));
    }

    /// The claim in the module docs, kept: `base64` 0.22's engines (a
    /// dev-dependency) and these accept and refuse the same strings, and
    /// encode the same bytes the same way.
    #[test]
    fn the_same_answers_as_the_base64_crate() {
        use base64::engine::general_purpose::{STANDARD as B_STD, URL_SAFE_NO_PAD as B_URL};
        use base64::Engine as _;
        let alphabet = b"ABCDEFQRSTabcdefz0189+/-_=. \n";
        let mut x: u64 = 0x1234_5678_9abc_def1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for i in 0..100_000u32 {
            let len = (next() % 14) as usize;
            let text: Vec<u8> = if i % 2 == 0 {
                (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect()
            } else {
                // A valid encoding, then perhaps a changed last character
                // (trailing bits) or its padding taken off.
                let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
                let mut t = B_STD.encode(&bytes).into_bytes();
                let r = next();
                if let Some(last) = t.iter().rposition(|&c| c != b'=').filter(|_| r % 3 == 0) {
                    t[last] = alphabet[(r % 20) as usize];
                }
                if r % 5 == 0 {
                    while t.last() == Some(&b'=') {
                        t.pop();
                    }
                }
                t
            };
            assert_eq!(std_decode(&text), B_STD.decode(&text).ok(), "{text:?}");
            assert_eq!(url_decode(&text), B_URL.decode(&text).ok(), "{text:?}");
        }
        for n in 0..64u8 {
            let bytes: Vec<u8> = (0..n).map(|b| b.wrapping_mul(37)).collect();
            assert_eq!(std_encode(&bytes), B_STD.encode(&bytes));
            assert_eq!(url_encode(&bytes), B_URL.encode(&bytes));
        }
    }

    #[test]
    fn appends() {
        let mut out = String::from("x.");
        url_encode_append(b"ABC", &mut out);
        std_encode_append(b"A", &mut out);
        assert_eq!(out, "x.QUJDQQ==");
    }
}
