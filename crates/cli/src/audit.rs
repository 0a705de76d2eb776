//! `websession audit`: find a cookie's secret key in a word list.
//!
//! Per cookie, the signing input and the decoded signature are computed
//! once. Per candidate key the work is the minimum the format allows: the
//! derived key, then one HMAC over the signing input, compared in constant
//! time. The derived key is, per format:
//!
//! - Flask: `HMAC-SHA1(key, "cookie-session")` (the key is HMAC's key: no
//!   part of it can be computed before the key is known);
//! - Starlette: `SHA1("itsdangerous.Signer" "signer" key)`, from a SHA-1
//!   state that has taken the salt already (made once per run);
//! - Django: `SHA256(salt "signer" key)` likewise, then HMAC-SHA256.
//!
//! No payload is decoded, no allocation happens per candidate, and the list
//! is split across threads in chunks taken from a shared counter, so slow
//! and fast threads balance.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::{Digest as _, Sha1};
use sha2::Sha256;
use websession_core::flask::derive_key;
use websession_core::WELL_KNOWN_SECRETS;

use crate::Format;

type HmacSha1 = Hmac<Sha1>;
type HmacSha256 = Hmac<Sha256>;

/// Candidates handed to a thread at a time.
const CHUNK_BYTES: usize = 64 * 1024;

/// How a candidate key becomes the HMAC key, with what can be done before
/// the candidate is known done once.
enum Derivation {
    /// Flask: HMAC-SHA1(key, "cookie-session").
    Flask,
    /// Starlette (itsdangerous' django-concat): SHA1(salt "signer" key),
    /// the salt already absorbed.
    Sha1Concat(Sha1),
    /// Django's `salted_hmac`: SHA256(salt "signer" key), the salt already
    /// absorbed.
    Sha256Concat(Sha256),
}

/// What every candidate is checked against.
pub(crate) struct Target {
    signing_input: Vec<u8>,
    signature: Vec<u8>,
    derivation: Derivation,
}

impl Target {
    /// Splits a cookie of `format` into its signing input and signature.
    pub(crate) fn parse(format: Format, cookie: &str) -> Option<Self> {
        let (sep, sig_len, derivation) = match format {
            Format::Flask => ('.', 20, Derivation::Flask),
            Format::Starlette => (
                '.',
                20,
                Derivation::Sha1Concat(Sha1::new_with_prefix(b"itsdangerous.Signersigner")),
            ),
            Format::Django => (
                ':',
                32,
                Derivation::Sha256Concat(Sha256::new_with_prefix(
                    format!("{}signer", websession_core::django::SESSION_SALT).as_bytes(),
                )),
            ),
        };
        let (signing_input, sig) = cookie.rsplit_once(sep)?;
        signing_input.rsplit_once(sep)?;
        let signature = URL_SAFE_NO_PAD.decode(sig).ok()?;
        (signature.len() == sig_len).then(|| Self {
            signing_input: signing_input.as_bytes().to_vec(),
            signature,
            derivation,
        })
    }

    /// Whether `key` signed the cookie.
    pub(crate) fn matches(&self, key: &[u8]) -> bool {
        if key.is_empty() {
            return false; // Flask disables sessions without a key; Django refuses it
        }
        match &self.derivation {
            Derivation::Flask => self.check::<HmacSha1>(&derive_key(key)),
            Derivation::Sha1Concat(salted) => {
                let derived = salted.clone().chain_update(key).finalize();
                self.check::<HmacSha1>(&derived)
            }
            Derivation::Sha256Concat(salted) => {
                let derived = salted.clone().chain_update(key).finalize();
                self.check::<HmacSha256>(&derived)
            }
        }
    }

    /// HMAC(derived, signing input) == signature, in constant time.
    fn check<M: Mac + hmac::digest::KeyInit>(&self, derived: &[u8]) -> bool {
        let Ok(mut mac) = <M as hmac::digest::KeyInit>::new_from_slice(derived) else {
            return false;
        };
        mac.update(&self.signing_input);
        mac.verify_slice(&self.signature).is_ok()
    }
}

/// One candidate per line; a trailing `\r` is dropped, empty lines skipped.
fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
}

/// Cuts `words` into chunks of about `CHUNK_BYTES` that end at a newline.
fn chunks(words: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::with_capacity(words.len() / CHUNK_BYTES + 1);
    let mut rest = words;
    while !rest.is_empty() {
        let cut = if rest.len() <= CHUNK_BYTES {
            rest.len()
        } else {
            rest[CHUNK_BYTES..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |p| CHUNK_BYTES + p + 1)
        };
        out.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    out
}

/// Tries the well-known secrets, then every line of `words`, on `threads`
/// threads. Returns the key that verifies, if any.
pub(crate) fn search(
    target: &Target,
    words: &[u8],
    threads: usize,
    progress: bool,
) -> Option<Vec<u8>> {
    if let Some(k) = WELL_KNOWN_SECRETS.iter().find(|k| target.matches(k)) {
        return Some(k.to_vec());
    }
    let chunks = chunks(words);
    let total = words.iter().filter(|&&b| b == b'\n').count() as u64
        + u64::from(words.last().is_some_and(|&b| b != b'\n'));
    let next = AtomicUsize::new(0);
    let done = AtomicU64::new(0);
    let found = AtomicBool::new(false);
    let result = std::sync::Mutex::new(None::<Vec<u8>>);

    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                while !found.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(chunk) = chunks.get(i) else { break };
                    let mut n = 0;
                    for line in lines(chunk) {
                        n += 1;
                        if target.matches(line) {
                            found.store(true, Ordering::Relaxed);
                            *result
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner) =
                                Some(line.to_vec());
                            break;
                        }
                    }
                    done.fetch_add(n, Ordering::Relaxed);
                }
            });
        }
        if progress {
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {human_pos}/{human_len} keys  {per_sec}  ETA {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            while !found.load(Ordering::Relaxed)
                && next.load(Ordering::Relaxed) < chunks.len() + threads
            {
                bar.set_position(done.load(Ordering::Relaxed));
                std::thread::sleep(Duration::from_millis(100));
            }
            bar.set_position(done.load(Ordering::Relaxed));
            bar.finish_and_clear();
        }
    });
    result
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use websession_core::django::DjangoCodec;
    use websession_core::starlette::StarletteCodec;
    use websession_core::{FlaskCodec, Key, KeyRing, Map};

    #[test]
    fn chunks_cover_every_line_once() {
        let words: Vec<u8> = (0..50_000)
            .flat_map(|i| format!("word{i}\r\n").into_bytes())
            .collect();
        let n: usize = chunks(&words).iter().map(|c| lines(c).count()).sum();
        assert_eq!(n, 50_000);
        assert!(chunks(&words).len() > 4);
        assert_eq!(chunks(b"").len(), 0);
        assert_eq!(
            lines(b"a\n\nb\r\nc").collect::<Vec<_>>(),
            [&b"a"[..], b"b", b"c"]
        );
    }

    #[test]
    fn finds_the_key_and_only_the_key() {
        let cookie = FlaskCodec::new(&KeyRing::new(Key::from_utf8("needle").unwrap()))
            .encode(&Map::new(), 5);
        let target = Target::parse(Format::Flask, &cookie).unwrap();
        assert!(target.matches(b"needle"));
        assert!(!target.matches(b"needles"));
        assert!(!target.matches(b""));
        let words = b"hay\nstack\nneedle\nmore".to_vec();
        assert_eq!(
            search(&target, &words, 3, false).as_deref(),
            Some(&b"needle"[..])
        );
        assert_eq!(search(&target, b"hay\n", 2, false), None);
    }

    #[test]
    fn finds_starlette_and_django_keys() {
        let ring = KeyRing::new(Key::from_utf8("needle").unwrap());
        let mut data = Map::new();
        data.insert("user".into(), "alice".into());
        for (format, cookie) in [
            (
                Format::Starlette,
                StarletteCodec::new(&ring).encode(&data, 5).unwrap(),
            ),
            (
                Format::Django,
                DjangoCodec::new(&ring).encode(&data, 5).unwrap(),
            ),
        ] {
            let target = Target::parse(format, &cookie).unwrap();
            assert!(target.matches(b"needle"), "{format:?}");
            assert!(!target.matches(b"needles"), "{format:?}");
            assert_eq!(
                search(&target, b"hay\nneedle\n", 2, false).as_deref(),
                Some(&b"needle"[..])
            );
            // A cookie of another format is not taken for this one.
            let other = if format == Format::Django {
                Format::Flask
            } else {
                Format::Django
            };
            assert!(Target::parse(other, &cookie).is_none(), "{format:?}");
        }
    }
}
