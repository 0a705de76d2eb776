//! `websession audit`: find a cookie's secret key in a word list.
//!
//! Per cookie, the signing input and the decoded signature are computed
//! once. Per candidate key the work is the minimum the format allows: the
//! derived key (one HMAC-SHA1 over `cookie-session`) and one HMAC-SHA1 over
//! the signing input, compared in constant time. No payload is decoded, no
//! allocation happens per candidate, and the list is split across threads
//! in chunks taken from a shared counter, so slow and fast threads balance.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use websession_core::flask::derive_key;
use websession_core::WELL_KNOWN_SECRETS;

type HmacSha1 = Hmac<Sha1>;

/// Candidates handed to a thread at a time.
const CHUNK_BYTES: usize = 64 * 1024;

/// What every candidate is checked against.
pub(crate) struct Target {
    signing_input: Vec<u8>,
    signature: [u8; 20],
}

impl Target {
    /// Splits a cookie into its signing input and 20-byte signature.
    pub(crate) fn parse(cookie: &str) -> Option<Self> {
        let (signing_input, sig) = cookie.rsplit_once('.')?;
        signing_input.rsplit_once('.')?;
        let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
        Some(Self {
            signing_input: signing_input.as_bytes().to_vec(),
            signature: sig.try_into().ok()?,
        })
    }

    /// Whether `key` signed the cookie.
    pub(crate) fn matches(&self, key: &[u8]) -> bool {
        if key.is_empty() {
            return false; // Flask disables sessions without a key
        }
        let Ok(mut mac) = <HmacSha1 as Mac>::new_from_slice(&derive_key(key)) else {
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
        let target = Target::parse(&cookie).unwrap();
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
}
