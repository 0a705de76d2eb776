//! Errors of the codecs.

/// Why a session cookie was not accepted.
///
/// The names follow itsdangerous (`BadSignature`, `SignatureExpired`,
/// `BadPayload`) so Flask users recognise them. No variant holds the cookie or
/// a key. Every variant means the same thing to the app: start an empty
/// session.
#[cfg(feature = "codecs")]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The cookie is longer than the codec accepts; it was not looked at.
    #[error("the cookie is {len} bytes long, over the limit of {limit}")]
    TooLong {
        /// Length of the cookie value.
        len: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The signature is missing, malformed, or matches none of the keys.
    /// Tampered, truncated and wrongly keyed cookies all end here.
    #[error("BadSignature: the signature does not match")]
    BadSignature,
    /// The signature matches but the timestamp segment is missing or malformed
    /// (itsdangerous' `BadTimeSignature`).
    #[error("BadTimeSignature: the timestamp is missing or malformed")]
    BadTimestamp,
    /// The cookie is older than the maximum age (itsdangerous' `SignatureExpired`).
    #[error("SignatureExpired: the cookie is {age} s old, over the maximum age of {max_age} s")]
    Expired {
        /// Seconds since the cookie was signed.
        age: u64,
        /// The maximum age, in seconds.
        max_age: u64,
    },
    /// The cookie was signed in the future (itsdangerous' `SignatureExpired`
    /// with a negative age).
    #[error("SignatureExpired: the cookie was signed {ahead} s in the future")]
    FromFuture {
        /// Seconds between now and the cookie's signing time.
        ahead: u64,
    },
    /// The signature is valid but the data can't be read (itsdangerous'
    /// `BadPayload`). Only a holder of the key can make such a cookie.
    #[error("BadPayload: {0}")]
    BadPayload(#[from] PayloadError),
}

#[cfg(feature = "codecs")]
impl DecodeError {
    /// The itsdangerous exception class Flask would raise for this error.
    ///
    /// ```
    /// use websession_core::DecodeError;
    /// assert_eq!(DecodeError::Expired { age: 5, max_age: 1 }.itsdangerous_name(), "SignatureExpired");
    /// ```
    #[must_use]
    pub fn itsdangerous_name(&self) -> &'static str {
        match self {
            Self::TooLong { .. } | Self::BadSignature => "BadSignature",
            Self::BadTimestamp => "BadTimeSignature",
            Self::Expired { .. } | Self::FromFuture { .. } => "SignatureExpired",
            Self::BadPayload(_) => "BadPayload",
        }
    }
}

/// Why a payload whose signature (or tag) checked out could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// The payload is not valid base64url.
    #[error("the payload is not valid base64")]
    Base64,
    /// The payload is not a complete zlib stream.
    #[error("the payload is not a valid zlib stream")]
    Zlib,
    /// The payload is compressed, and this build has no `compression`
    /// feature to inflate it.
    #[error("the payload is compressed, and this build has no `compression` feature")]
    CompressionOff,
    /// The payload decompresses to more than the limit (a decompression bomb).
    #[error("the payload decompresses to more than {limit} bytes")]
    TooLarge {
        /// The decompression limit in bytes.
        limit: usize,
    },
    /// The payload is not UTF-8.
    #[error("the payload is not valid UTF-8")]
    Utf8,
    /// The payload is not JSON (in Python's dialect).
    #[error("invalid JSON at byte {offset}: {what}")]
    Json {
        /// Byte offset of the problem.
        offset: usize,
        /// What was wrong.
        what: &'static str,
    },
    /// Lists and dicts nest deeper than the parser allows.
    #[error("the JSON nests deeper than {limit} levels")]
    TooDeep {
        /// The nesting limit.
        limit: usize,
    },
    /// The JSON is valid but its top level is not an object.
    #[error("the session is not a JSON object")]
    NotAnObject,
    /// A tagged value (`{" b": ...}` etc.) has invalid content.
    #[error("invalid content for tag {tag:?}")]
    Tag {
        /// The tag key, e.g. `" u"`.
        tag: &'static str,
    },
    /// The JSON is valid but does not have the shape the caller asked for
    /// (a typed [`crate::itsdangerous::UrlSafeTimedSerializer::loads`]).
    #[error("the JSON does not have the expected shape")]
    Shape,
}
