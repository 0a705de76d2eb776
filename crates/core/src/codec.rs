//! What the two cookie codecs share: their limits, the compression policy,
//! the age rule and capped zlib.

#[cfg(feature = "compression")]
use std::cell::RefCell;

#[cfg(feature = "compression")]
use flate2::{Compress, Decompress, FlushCompress, FlushDecompress, Status};

use crate::error::{DecodeError, PayloadError};

/// Flask's default `PERMANENT_SESSION_LIFETIME`: 31 days, in seconds.
pub const DEFAULT_MAX_AGE: u64 = 31 * 24 * 60 * 60;

/// Default cap on a cookie value the codec will look at, in bytes. Browsers
/// send at most about 4 KB per cookie; Flask itself can emit larger ones.
pub const DEFAULT_MAX_COOKIE_LEN: usize = 16 * 1024;

/// Default cap on a decompressed payload, in bytes.
pub const DEFAULT_MAX_DECOMPRESSED: usize = 256 * 1024;

/// The limits a codec checks before and while it opens a cookie.
///
/// Both [`FlaskCodec`](crate::FlaskCodec) and
/// [`SealedCodec`](crate::SealedCodec) take the same limits.
///
/// # Examples
///
/// ```
/// use websession_core::codec::CodecLimits;
///
/// let limits = CodecLimits::default().with_max_age(3600);
/// assert_eq!(limits.max_age, 3600);
/// assert_eq!(limits.max_cookie_len, websession_core::codec::DEFAULT_MAX_COOKIE_LEN);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CodecLimits {
    /// The oldest cookie accepted, in seconds since it was signed or sealed
    /// (Flask's `PERMANENT_SESSION_LIFETIME`, for every session).
    pub max_age: u64,
    /// The longest cookie value looked at; longer ones fail with
    /// [`DecodeError::TooLong`] before any work.
    pub max_cookie_len: usize,
    /// The most bytes a compressed payload may inflate to.
    pub max_decompressed: usize,
}

impl Default for CodecLimits {
    fn default() -> Self {
        Self {
            max_age: DEFAULT_MAX_AGE,
            max_cookie_len: DEFAULT_MAX_COOKIE_LEN,
            max_decompressed: DEFAULT_MAX_DECOMPRESSED,
        }
    }
}

impl CodecLimits {
    /// Sets the maximum age in seconds.
    #[must_use]
    pub fn with_max_age(mut self, seconds: u64) -> Self {
        self.max_age = seconds;
        self
    }

    /// Sets the longest cookie value looked at, in bytes.
    #[must_use]
    pub fn with_max_cookie_len(mut self, bytes: usize) -> Self {
        self.max_cookie_len = bytes;
        self
    }

    /// Sets the most bytes a compressed payload may inflate to.
    #[must_use]
    pub fn with_max_decompressed(mut self, bytes: usize) -> Self {
        self.max_decompressed = bytes;
        self
    }

    /// [`DecodeError::TooLong`] for a cookie over the length limit.
    #[cfg_attr(
        not(any(feature = "sealed", feature = "starlette", feature = "django")),
        allow(dead_code)
    )]
    pub(crate) fn check_len(&self, cookie: &str) -> Result<(), DecodeError> {
        if cookie.len() > self.max_cookie_len {
            return Err(DecodeError::TooLong {
                len: cookie.len(),
                limit: self.max_cookie_len,
            });
        }
        Ok(())
    }
}

/// When a codec compresses the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Compression {
    /// As Flask: zlib level 6 whenever it saves at least 2 bytes. Byte-exact
    /// with Flask, at the cost of running deflate on every write (a few µs).
    #[default]
    Flask,
    /// Never compress. Flask reads these cookies fine, but for payloads that
    /// compress well they are longer, and the bytes differ from Flask's.
    Never,
    /// Flask's rule, tried only for payloads of at least this many bytes:
    /// smaller ones are never compressed (Flask reads both). Deflate costs a
    /// few microseconds on every write, and on small sessions it saves a few
    /// bytes at most, when it saves any. No exact shortcut exists: whether
    /// zlib saves Flask's 2 bytes on a ~90-byte session is decided within a
    /// few bits of its output (see BENCHMARKS.md).
    Above(usize),
}

impl Compression {
    /// The zlib stream to use instead of `json`, if this policy compresses it.
    pub(crate) fn apply(self, json: &[u8]) -> Option<Vec<u8>> {
        match self {
            Self::Flask => compress_if_smaller(json),
            Self::Never => None,
            Self::Above(min) if json.len() >= min => compress_if_smaller(json),
            Self::Above(_) => None,
        }
    }
}

/// Checks Flask's age rule: `0 <= now - timestamp <= max_age`.
///
/// # Errors
///
/// [`DecodeError::FromFuture`] or [`DecodeError::Expired`].
pub fn check_age(timestamp: u64, now: u64, max_age: u64) -> Result<(), DecodeError> {
    if timestamp > now {
        return Err(DecodeError::FromFuture {
            ahead: timestamp - now,
        });
    }
    let age = now - timestamp;
    if age > max_age {
        return Err(DecodeError::Expired { age, max_age });
    }
    Ok(())
}

#[cfg(feature = "compression")]
thread_local! {
    // deflateInit allocates ~270 KB; reset() (before each use) reuses it and
    // gives identical output.
    static DEFLATE: RefCell<Compress> = RefCell::new(Compress::new(flate2::Compression::new(6), true));
}

/// zlib level 6, kept only if it is at least 2 bytes shorter (itsdangerous'
/// `len(compressed) < len(json) - 1`).
#[cfg(feature = "compression")]
pub(crate) fn compress_if_smaller(json: &[u8]) -> Option<Vec<u8>> {
    // A zlib stream is never shorter than 8 bytes, so short inputs can't win.
    if json.len() < 10 {
        return None;
    }
    let limit = json.len() - 2;
    DEFLATE.with(|cell| {
        let mut z = cell.borrow_mut();
        z.reset();
        let mut out = Vec::with_capacity(limit);
        let status = z.compress_vec(json, &mut out, FlushCompress::Finish);
        let ended = matches!(status, Ok(Status::StreamEnd)) && out.len() <= limit;
        ended.then_some(out)
    })
}

/// Without the `compression` feature nothing is compressed.
#[cfg(not(feature = "compression"))]
pub(crate) fn compress_if_smaller(_json: &[u8]) -> Option<Vec<u8>> {
    None
}

/// Without the `compression` feature a compressed payload is refused.
#[cfg(not(feature = "compression"))]
pub(crate) fn inflate(_data: &[u8], _limit: usize) -> Result<Vec<u8>, PayloadError> {
    Err(PayloadError::CompressionOff)
}

/// Inflates a zlib stream to at most `limit` bytes.
#[cfg(feature = "compression")]
pub(crate) fn inflate(data: &[u8], limit: usize) -> Result<Vec<u8>, PayloadError> {
    let mut z = Decompress::new(true);
    let mut out = Vec::with_capacity((data.len() * 4).max(64).min(limit.saturating_add(1)));
    loop {
        if out.len() == out.capacity() {
            if out.len() > limit {
                return Err(PayloadError::TooLarge { limit });
            }
            let grow = out.len().max(64).min(limit + 1 - out.len());
            out.reserve_exact(grow);
        }
        let consumed = usize::try_from(z.total_in()).map_err(|_| PayloadError::Zlib)?;
        let input = data.get(consumed..).ok_or(PayloadError::Zlib)?;
        let before = (z.total_in(), out.len());
        let status = z
            .decompress_vec(input, &mut out, FlushDecompress::Finish)
            .map_err(|_| PayloadError::Zlib)?;
        if out.len() > limit {
            return Err(PayloadError::TooLarge { limit });
        }
        match status {
            Status::StreamEnd => return Ok(out),
            _ if before == (z.total_in(), out.len()) && out.len() < out.capacity() => {
                // No progress with room to spare: the stream is truncated.
                return Err(PayloadError::Zlib);
            }
            _ => {}
        }
    }
}

#[cfg(all(test, feature = "compression"))]
mod tests {
    use super::*;

    #[test]
    fn compression_threshold() {
        assert!(compress_if_smaller(br#"{"k":"aaaaaaaaaaa"}"#).is_none());
        assert_eq!(
            compress_if_smaller(br#"{"k":"aaaaaaaaaaaa"}"#).map(|z| z.len()),
            Some(18)
        );
    }

    #[test]
    fn inflate_caps_output_and_rejects_truncation() {
        let big = vec![b'a'; 1 << 20];
        let mut z = Compress::new(flate2::Compression::new(9), true);
        let mut packed = Vec::with_capacity(1 << 20);
        z.compress_vec(&big, &mut packed, FlushCompress::Finish)
            .unwrap();
        assert_eq!(
            inflate(&packed, 1000),
            Err(PayloadError::TooLarge { limit: 1000 })
        );
        assert_eq!(inflate(&packed, 1 << 20).unwrap().len(), 1 << 20);
        assert_eq!(
            inflate(&packed[..packed.len() - 6], 1 << 21),
            Err(PayloadError::Zlib)
        );
        assert_eq!(inflate(b"", 10), Err(PayloadError::Zlib));
    }
}
