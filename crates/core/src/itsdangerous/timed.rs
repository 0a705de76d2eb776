//! [`TimestampSigner`]: a signature that also carries when it was made.

use std::fmt;

use super::signer::rsplit_byte;
use super::Signer;
use crate::codec::check_age;
use crate::error::DecodeError;

/// A value whose timestamped signature checked out.
///
/// Its `Debug` shows the value's length, never the value.
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timed<'a> {
    /// The signed value.
    pub value: &'a str,
    /// When it was signed, in Unix seconds.
    pub timestamp: u64,
    /// Which key verified it: 0 is the current key, anything else a fallback.
    pub key_index: usize,
}

impl fmt::Debug for Timed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timed")
            .field(
                "value",
                &format_args!("<{} bytes redacted>", self.value.len()),
            )
            .field("timestamp", &self.timestamp)
            .field("key_index", &self.key_index)
            .finish()
    }
}

/// itsdangerous' `TimestampSigner`: `value + sep + b64u(timestamp) + sep +
/// signature`, the timestamp being the big-endian bytes of the Unix time
/// with leading zeros dropped.
///
/// The time is an argument, never read from a clock here: `sign` takes the
/// signing time, `unsign` the current time.
///
/// # Examples
///
/// ```
/// use websession_core::itsdangerous::{Signer, TimestampSigner};
/// use websession_core::{DecodeError, Key, KeyRing};
///
/// let signer = TimestampSigner::new(Signer::new(&KeyRing::new(Key::from_utf8("secret-key")?)));
/// let token = signer.sign("hello", 1_700_000_000);
/// assert_eq!(token, "hello.ZVPxAA.UQx3EIPGLNk6IyY28rz4wwlRRWI"); // itsdangerous 2.2, same time
///
/// let opened = signer.unsign(&token, 1_700_000_030, Some(60))?;
/// assert_eq!((opened.value, opened.timestamp), ("hello", 1_700_000_000));
/// assert_eq!(
///     signer.unsign(&token, 1_700_000_090, Some(60)).unwrap_err().itsdangerous_name(),
///     "SignatureExpired"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct TimestampSigner {
    signer: Signer,
}

impl TimestampSigner {
    /// A timestamp signer over `signer`'s keys, salt, derivation and digest.
    #[must_use]
    pub fn new(signer: Signer) -> Self {
        Self { signer }
    }

    /// The underlying signer.
    #[must_use]
    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// Signs `value` as made at `timestamp` (Unix seconds).
    #[must_use]
    pub fn sign(&self, value: &str, timestamp: u64) -> String {
        let mut out = String::with_capacity(value.len() + 100);
        out.push_str(value);
        self.append(&mut out, timestamp);
        out
    }

    /// Appends `sep + timestamp + sep + signature` to the value in `out`.
    pub(crate) fn append(&self, out: &mut String, timestamp: u64) {
        out.push(self.signer.separator());
        encode_timestamp(timestamp, out);
        self.signer.append_signature(out);
    }

    /// Checks the signature, then the age: `0 <= now - timestamp <= max_age`
    /// (no age check when `max_age` is `None`, as itsdangerous).
    ///
    /// # Errors
    ///
    /// In itsdangerous' order: [`DecodeError::BadSignature`] (the signature
    /// is checked first), [`DecodeError::BadTimestamp`] (no or a malformed
    /// timestamp under a valid signature), [`DecodeError::Expired`] or
    /// [`DecodeError::FromFuture`] (both `SignatureExpired`).
    pub fn unsign<'a>(
        &self,
        signed: &'a str,
        now: u64,
        max_age: Option<u64>,
    ) -> Result<Timed<'a>, DecodeError> {
        let timed = unsign_timed(&self.signer, signed, decode_timestamp)?;
        if let Some(max_age) = max_age {
            check_age(timed.timestamp, now, max_age)?;
        }
        Ok(timed)
    }
}

/// A timestamp signer's checks before the age: the signature, then the
/// timestamp segment (read by `decode_ts`) under it. Shared by itsdangerous'
/// and Django's timestamp signers, which differ in the timestamp's spelling
/// and the age rule.
pub(crate) fn unsign_timed<'a>(
    signer: &Signer,
    signed: &'a str,
    decode_ts: fn(&str) -> Option<u64>,
) -> Result<Timed<'a>, DecodeError> {
    let (signing_input, key_index) = signer.verify(signed)?;
    let (value, ts) =
        rsplit_byte(signing_input, signer.separator_byte()).ok_or(DecodeError::BadTimestamp)?;
    let timestamp = decode_ts(ts).ok_or(DecodeError::BadTimestamp)?;
    Ok(Timed {
        value,
        timestamp,
        key_index,
    })
}

/// Splits `payload sep timestamp sep signature` **without checking the
/// signature**, reading the timestamp with `decode_ts` (for the `peek`s).
pub(crate) fn split_unchecked(
    token: &str,
    sep: u8,
    decode_ts: fn(&str) -> Option<u64>,
) -> Result<(&str, u64), DecodeError> {
    let (signing_input, _sig) = rsplit_byte(token, sep).ok_or(DecodeError::BadSignature)?;
    let (payload, ts) = rsplit_byte(signing_input, sep).ok_or(DecodeError::BadTimestamp)?;
    let timestamp = decode_ts(ts).ok_or(DecodeError::BadTimestamp)?;
    Ok((payload, timestamp))
}

/// itsdangerous' timestamp segment: big-endian, leading zero bytes
/// stripped, base64url.
pub(crate) fn encode_timestamp(ts: u64, out: &mut String) {
    let bytes = ts.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    crate::b64::url_encode_append(&bytes[skip..], out);
}

/// The reverse of [`encode_timestamp`]; `None` when malformed or longer
/// than 8 bytes (itsdangerous: "Malformed timestamp").
pub(crate) fn decode_timestamp(ts: &str) -> Option<u64> {
    if ts.len() > 11 {
        return None; // more than 8 bytes
    }
    let mut buf = [0u8; 9];
    let n = crate::b64::url_decode_slice(ts.as_bytes(), &mut buf)?;
    if n > 8 {
        return None;
    }
    let mut be = [0u8; 8];
    be[8 - n..].copy_from_slice(&buf[..n]);
    Some(u64::from_be_bytes(be))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Key, KeyRing};

    #[test]
    fn timestamps_encode_like_itsdangerous() {
        for (ts, text) in [
            (1_700_000_000u64, "ZVPxAA"),
            (1000, "A-g"),
            ((1 << 32) + 1000, "AQAAA-g"),
            (0, ""),
        ] {
            let mut out = String::new();
            encode_timestamp(ts, &mut out);
            assert_eq!(out, text);
            assert_eq!(decode_timestamp(text), Some(ts));
        }
        assert_eq!(decode_timestamp("AQIDBAUGBwgJ"), None); // 9 bytes
    }

    #[test]
    fn order_of_checks() {
        let s = TimestampSigner::new(Signer::new(&KeyRing::new(Key::from_utf8("k").unwrap())));
        // A valid signature over a value without a timestamp.
        let bare = s.signer().sign("no-timestamp");
        assert_eq!(s.unsign(&bare, 0, None), Err(DecodeError::BadTimestamp));
        let t = s.sign("v", 100);
        assert_eq!(
            s.unsign(&t, 50, Some(10)),
            Err(DecodeError::FromFuture { ahead: 50 })
        );
        assert!(s.unsign(&t, 50, None).is_ok(), "no max_age: no age check");
        let mut tampered = t.clone();
        tampered.replace_range(0..1, "w");
        assert_eq!(
            s.unsign(&tampered, 100, Some(1)),
            Err(DecodeError::BadSignature)
        );
        let shown = format!("{:?}", s.unsign(&t, 100, None).unwrap());
        assert!(shown.contains("redacted"), "{shown}");
    }
}
