//! The session cookie formats behind one trait, [`CookieFormat`]: how a
//! session's data becomes a cookie value and back.
//!
//! websession's engine holds a `Box<dyn CookieFormat>` and never asks which
//! format it is. Four implement it: Flask's signed cookie
//! ([`FlaskCodec`]), the sealed cookie ([`SealedCodec`]), Starlette's
//! ([`StarletteCodec`]) and Django's `signed_cookies` cookie
//! ([`DjangoCodec`]). A new format is one file that implements the trait
//! (and, if it can issue an unchanged cookie again without encoding it, one
//! variant of [`Origin`]).
//!
//! # Examples
//!
//! ```
//! use websession_core::format::CookieFormat;
//! use websession_core::json::LazyMap;
//! use websession_core::{FlaskCodec, Key, KeyRing, Value};
//!
//! let format: Box<dyn CookieFormat> =
//!     Box::new(FlaskCodec::new(&KeyRing::new(Key::from_utf8("correct horse battery staple")?)));
//! let mut data = LazyMap::new();
//! data.insert("user", Value::from("alice"));
//!
//! let cookie = format.write(&mut data, 1_700_000_000, Some(1_699_999_000))?;
//! let mut opened = format.read(&cookie, 1_700_000_060)?;
//! assert_eq!(opened.data, data);
//! assert_eq!(opened.created_at, Some(1_699_999_000));
//!
//! // An unchanged session is issued again from what `read` kept and its data.
//! let again = format.reissue(&opened.origin, &opened.data, 1_700_000_100, opened.created_at);
//! let again = again.expect("a signed cookie is issued again");
//! // Only the time and the signature changed: the payload is the same bytes.
//! let payload = |c: &str| c.rsplitn(3, '.').nth(2).map(str::to_owned);
//! assert!(!cookie.starts_with('.'));
//! assert_eq!(payload(&again), payload(&cookie));
//!
//! // A change is written with the entries it left as they were read.
//! opened.data.insert("visits", Value::from(1));
//! let changed = format.write(&mut opened.data, 1_700_000_200, opened.created_at)?;
//! assert_eq!(format.read(&changed, 1_700_000_260)?.data.keys().collect::<Vec<_>>(), ["user", "visits"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

#[cfg(feature = "django")]
use crate::django::DjangoCodec;
use crate::error::DecodeError;
use crate::flask::{FlaskCodec, SignedPayload};
use crate::json::LazyMap;
#[cfg(feature = "sealed")]
use crate::sealed::{SealedCodec, Unsealed};
#[cfg(feature = "starlette")]
use crate::starlette::StarletteCodec;
use crate::value::{Value, ValueError};

/// In signed cookies the session's creation time (for an absolute timeout)
/// travels as this key, signed with the data. [`CookieFormat::read`] takes
/// it out; handlers never see it.
pub const CREATED_KEY: &str = "_ws_created";

/// A session cookie format.
///
/// The engine calls [`read`](Self::read) on every request that carries a
/// cookie, [`reissue`](Self::reissue) when an unchanged session is to be
/// sent again (a refresh) and [`write`](Self::write) when its data changed.
/// Lifetimes, timeouts and revocation are the engine's; a format checks only
/// what its own bytes say (signature, issue time against its maximum age,
/// size, payload).
pub trait CookieFormat: Send + Sync + 'static {
    /// The format's name in metrics labels and traces: `"signed"`,
    /// `"sealed"`, `"starlette"`, `"django"`.
    fn name(&self) -> &'static str;

    /// Whether websession may keep its own keys in the cookie: the creation
    /// time, and revocation's session id, user and generation. `false` for
    /// the Python frameworks' formats, whose cookie holds exactly the
    /// Python app's session.
    fn carries_own_keys(&self) -> bool {
        true
    }

    /// Opens `cookie` at `now` (Unix seconds).
    ///
    /// # Errors
    ///
    /// The format's reason to refuse it; see [`DecodeError`].
    fn read(&self, cookie: &str, now: u64) -> Result<OpenedCookie, DecodeError>;

    /// Writes `data` as a cookie issued at `now`, for a session created at
    /// `created_at` (formats that carry it). `data` holds the same entries
    /// when this returns; it is `&mut` so a format can add its bookkeeping
    /// on the way, or make it a [`Map`](crate::Map) ([`LazyMap::map_mut`]) to write
    /// it. Entries still in the text they were read from can be written
    /// from there ([`LazyMap::iter`]).
    ///
    /// # Errors
    ///
    /// [`ValueError::NotPlainJson`] from the formats that hold plain JSON,
    /// for a value it can't hold (bytes, UUIDs, datetimes).
    fn write(
        &self,
        data: &mut LazyMap,
        now: u64,
        created_at: Option<u64>,
    ) -> Result<String, ValueError>;

    /// Issues an unchanged cookie again at `now` from what [`read`](Self::read)
    /// kept and the `data` it opened (unchanged: still its
    /// [`LazyMap::text_as_read`]), without encoding the data again; `None`
    /// when the format can't (the caller then [`write`](Self::write)s it).
    fn reissue(
        &self,
        origin: &Origin,
        data: &LazyMap,
        now: u64,
        created_at: Option<u64>,
    ) -> Option<String>;
}

/// A cookie [`CookieFormat::read`] opened.
///
/// Its `Debug` shows the number of keys, never the data.
#[non_exhaustive]
pub struct OpenedCookie {
    /// The session's data, checked in full and built key by key when read.
    pub data: LazyMap,
    /// When the cookie was issued, Unix seconds.
    pub issued_at: u64,
    /// When the session was created, Unix seconds, if the cookie says.
    pub created_at: Option<u64>,
    /// What [`CookieFormat::reissue`] needs.
    pub origin: Origin,
}

impl fmt::Debug for OpenedCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenedCookie")
            .field("data", &format_args!("<{} keys redacted>", self.data.len()))
            .field("issued_at", &self.issued_at)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// What an opened cookie keeps so that it can be issued again unchanged.
/// Only the format that opened it makes sense of it.
#[non_exhaustive]
pub enum Origin {
    /// Nothing kept: the cookie is written again from its data.
    None,
    /// A signed cookie's verified payload, re-signed as it is.
    Signed(SignedPayload),
    /// A signed cookie whose payload was uncompressed: it is the base64 of
    /// the data's [`LazyMap::text_as_read`], so it is issued again from
    /// that text (no copy of the payload is kept). Only [`FlaskCodec`]'s
    /// `read` makes one.
    #[non_exhaustive]
    SignedAsRead,
    /// A sealed cookie's opened payload, sealed again with a new nonce.
    #[cfg(feature = "sealed")]
    Sealed(Box<Unsealed<()>>),
    /// A sealed cookie whose payload was uncompressed: the data's
    /// [`LazyMap::text_as_read`], sealed again from that text with a new
    /// nonce (no copy of the plaintext is kept). Only [`SealedCodec`]'s
    /// `read` makes one.
    #[cfg(feature = "sealed")]
    #[non_exhaustive]
    SealedAsRead,
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::None => "Origin::None",
            Self::Signed(_) => "Origin::Signed(<redacted>)",
            Self::SignedAsRead => "Origin::SignedAsRead",
            #[cfg(feature = "sealed")]
            Self::Sealed(_) => "Origin::Sealed(<redacted>)",
            #[cfg(feature = "sealed")]
            Self::SealedAsRead => "Origin::SealedAsRead",
        })
    }
}

impl CookieFormat for FlaskCodec {
    fn name(&self) -> &'static str {
        "signed"
    }

    fn read(&self, cookie: &str, now: u64) -> Result<OpenedCookie, DecodeError> {
        let (mut data, issued_at, segment) = self.read_parts(cookie, now)?;
        // An uncompressed payload is the base64 of the data's text (the
        // creation time included: `remove` leaves the text as it was).
        let origin = if segment.starts_with('.') || data.text_as_read().is_none() {
            Origin::Signed(SignedPayload::from_segment(segment))
        } else {
            Origin::SignedAsRead
        };
        let created_at = match data.remove(CREATED_KEY) {
            Some(Value::Int(t)) => u64::try_from(t).ok(),
            _ => None,
        };
        Ok(OpenedCookie {
            data,
            issued_at,
            created_at,
            origin,
        })
    }

    fn write(
        &self,
        data: &mut LazyMap,
        now: u64,
        created_at: Option<u64>,
    ) -> Result<String, ValueError> {
        // The creation time is written among the data's entries, not
        // inserted into them.
        let created = created_at.map(|c| Value::Int(i64::try_from(c).unwrap_or(i64::MAX)));
        let extra = created.as_ref().map(|c| (CREATED_KEY, c));
        Ok(self.encode_lazy(data, extra, now))
    }

    fn reissue(
        &self,
        origin: &Origin,
        data: &LazyMap,
        now: u64,
        _created_at: Option<u64>,
    ) -> Option<String> {
        // The payload holds the creation time already, if it had one.
        match origin {
            Origin::Signed(payload) => Some(self.resign(payload, now)),
            Origin::SignedAsRead => Some(self.resign_text(data.text_as_read()?, now)),
            _ => None,
        }
    }
}

#[cfg(feature = "sealed")]
impl CookieFormat for SealedCodec {
    fn name(&self) -> &'static str {
        "sealed"
    }

    fn read(&self, cookie: &str, now: u64) -> Result<OpenedCookie, DecodeError> {
        let opened = self.open_for_read(cookie, now)?;
        let Unsealed {
            data,
            issued_at,
            created_at,
            key_index,
            payload,
        } = opened;
        // No payload kept: it was uncompressed, the data's own text.
        let origin = match (payload.is_empty(), data.text_as_read().is_some()) {
            (true, true) => Origin::SealedAsRead,
            (true, false) => Origin::None,
            (false, _) => Origin::Sealed(Box::new(Unsealed {
                data: (),
                issued_at,
                created_at,
                key_index,
                payload,
            })),
        };
        Ok(OpenedCookie {
            data,
            issued_at,
            created_at: Some(created_at),
            origin,
        })
    }

    fn write(
        &self,
        data: &mut LazyMap,
        now: u64,
        created_at: Option<u64>,
    ) -> Result<String, ValueError> {
        Ok(self.seal_lazy(data, now, created_at.unwrap_or(now)))
    }

    fn reissue(
        &self,
        origin: &Origin,
        data: &LazyMap,
        now: u64,
        created_at: Option<u64>,
    ) -> Option<String> {
        let created_at = created_at.unwrap_or(now);
        match origin {
            Origin::Sealed(opened) => Some(self.reseal(opened, now, created_at)),
            Origin::SealedAsRead => Some(self.reseal_text(data.text_as_read()?, now, created_at)),
            _ => None,
        }
    }
}

/// The Python frameworks' formats: plain JSON, exactly the Python app's
/// session, encoded again on every write (Python writes the same bytes for
/// the same data), no creation time.
#[cfg(any(feature = "starlette", feature = "django"))]
macro_rules! plain_format {
    ($codec:ty, $name:literal) => {
        impl CookieFormat for $codec {
            fn name(&self) -> &'static str {
                $name
            }

            fn carries_own_keys(&self) -> bool {
                false
            }

            fn read(&self, cookie: &str, now: u64) -> Result<OpenedCookie, DecodeError> {
                let loaded = self.decode_lazy(cookie, now)?;
                Ok(OpenedCookie {
                    data: loaded.value,
                    issued_at: loaded.timestamp,
                    created_at: None,
                    origin: Origin::None,
                })
            }

            fn write(
                &self,
                data: &mut LazyMap,
                now: u64,
                _created_at: Option<u64>,
            ) -> Result<String, ValueError> {
                self.encode(data.map_mut(), now)
            }

            fn reissue(&self, _: &Origin, _: &LazyMap, _: u64, _: Option<u64>) -> Option<String> {
                None
            }
        }
    };
}

#[cfg(feature = "starlette")]
plain_format!(StarletteCodec, "starlette");
#[cfg(feature = "django")]
plain_format!(DjangoCodec, "django");

#[cfg(all(test, feature = "sealed", feature = "starlette", feature = "django"))]
mod tests {
    use super::*;
    use crate::{Key, KeyRing};

    fn keys() -> KeyRing {
        KeyRing::new(Key::from_utf8("a test key that is long enough to pass").expect("key"))
    }

    fn formats() -> Vec<Box<dyn CookieFormat>> {
        let keys = keys();
        vec![
            Box::new(FlaskCodec::new(&keys)),
            Box::new(SealedCodec::new(&keys, "session").expect("sealing key")),
            Box::new(StarletteCodec::new(&keys)),
            Box::new(DjangoCodec::new(&keys)),
        ]
    }

    fn data() -> LazyMap {
        let mut data = crate::Map::new();
        data.insert("pet_name".into(), Value::from("Rex"));
        data.insert("n".into(), Value::Int(3));
        data.into()
    }

    #[test]
    fn every_format_reads_what_it_writes_and_leaves_the_data_as_it_was() {
        for format in formats() {
            let mut data = data();
            let cookie = format.write(&mut data, 1_700_000_000, Some(1_699_000_000));
            let cookie = cookie.unwrap_or_else(|e| panic!("{}: {e}", format.name()));
            assert_eq!(data, self::data(), "{}", format.name());
            let opened = format.read(&cookie, 1_700_000_010).expect("read");
            assert_eq!(opened.data, data, "{}", format.name());
            assert_eq!(opened.issued_at, 1_700_000_000, "{}", format.name());
            let created = format.carries_own_keys().then_some(1_699_000_000);
            assert_eq!(opened.created_at, created, "{}", format.name());
        }
    }

    #[test]
    fn a_reissued_cookie_reads_as_the_original_at_the_new_time() {
        for format in formats() {
            let cookie = format
                .write(&mut data(), 1_700_000_000, Some(1_699_000_000))
                .expect("write");
            let opened = format.read(&cookie, 1_700_000_010).expect("read");
            let Some(again) = format.reissue(
                &opened.origin,
                &opened.data,
                1_700_000_500,
                opened.created_at,
            ) else {
                assert!(matches!(opened.origin, Origin::None), "{}", format.name());
                continue;
            };
            let reopened = format.read(&again, 1_700_000_510).expect("read again");
            assert_eq!(reopened.data, data(), "{}", format.name());
            assert_eq!(reopened.issued_at, 1_700_000_500, "{}", format.name());
            assert_eq!(reopened.created_at, opened.created_at, "{}", format.name());
        }
    }

    /// `data()` with a long value that compresses well.
    fn large() -> LazyMap {
        let mut large = data();
        large.insert("notes", Value::from("a compressible note ".repeat(40)));
        large
    }

    /// `opened` issued again 490 seconds later.
    fn reissued(format: &dyn CookieFormat, opened: &OpenedCookie) -> String {
        format
            .reissue(
                &opened.origin,
                &opened.data,
                1_700_000_500,
                opened.created_at,
            )
            .expect("reissued")
    }

    #[test]
    fn a_signed_cookie_is_issued_again_with_the_same_payload_bytes() {
        let signed = FlaskCodec::new(&keys());
        let mut large = large();
        // Uncompressed, compressed, and a payload the lazy index leaves to
        // the full parser (an escaped key): each keeps its segment.
        let escaped = signed.sign_json(br#"{"a\u0062":"x","pet_name":"Rex"}"#, 1_700_000_000);
        let small = signed
            .write(&mut data(), 1_700_000_000, Some(1_699_000_000))
            .expect("write");
        let large = signed
            .write(&mut large, 1_700_000_000, Some(1_699_000_000))
            .expect("write");
        assert!(large.starts_with('.'), "compressed");
        for (cookie, as_read) in [(small, true), (large, false), (escaped, false)] {
            let opened = CookieFormat::read(&signed, &cookie, 1_700_000_010).expect("read");
            assert_eq!(
                matches!(opened.origin, Origin::SignedAsRead),
                as_read,
                "{cookie}"
            );
            let again = reissued(&signed, &opened);
            let payload = |c: &str| c.rsplitn(3, '.').nth(2).map(str::to_owned);
            assert_eq!(payload(&again), payload(&cookie), "{cookie}");
            let reopened = CookieFormat::read(&signed, &again, 1_700_000_510).expect("read");
            assert_eq!(reopened.issued_at, 1_700_000_500);
            assert_eq!(reopened.data.to_map(), opened.data.to_map());
            assert_eq!(reopened.created_at, opened.created_at);
        }
    }

    #[test]
    fn a_sealed_cookie_is_issued_again_compressed_or_not() {
        let sealed = SealedCodec::new(&keys(), "session")
            .expect("sealing key")
            .with_compression(crate::codec::Compression::Flask);
        let large = large();
        for (mut data, as_read) in [(data(), true), (large, false)] {
            let cookie = sealed
                .write(&mut data, 1_700_000_000, Some(1_699_000_000))
                .expect("write");
            let opened = CookieFormat::read(&sealed, &cookie, 1_700_000_010).expect("read");
            assert_eq!(matches!(opened.origin, Origin::SealedAsRead), as_read);
            let again = reissued(&sealed, &opened);
            assert_ne!(again, cookie, "a new nonce");
            let reopened = CookieFormat::read(&sealed, &again, 1_700_000_510).expect("read");
            assert_eq!(reopened.data, data);
            assert_eq!(reopened.issued_at, 1_700_000_500);
            assert_eq!(reopened.created_at, Some(1_699_000_000));
        }
    }

    #[test]
    fn a_format_reissues_only_its_own_origin() {
        let keys = keys();
        let signed = FlaskCodec::new(&keys);
        let sealed = SealedCodec::new(&keys, "session").expect("sealing key");
        let cookie = signed
            .write(&mut data(), 1_700_000_000, None)
            .expect("write");
        let opened = CookieFormat::read(&signed, &cookie, 1_700_000_001).expect("read");
        assert!(sealed
            .reissue(&opened.origin, &opened.data, 1_700_000_002, None)
            .is_none());
        assert!(format!("{:?}", opened).contains("redacted"));
        assert!(!format!("{:?}", opened.origin).contains("eyJ"));
    }

    #[test]
    fn a_signed_cookie_without_a_creation_time_has_none() {
        let signed = FlaskCodec::new(&keys());
        let cookie = signed
            .write(&mut data(), 1_700_000_000, None)
            .expect("write");
        assert_eq!(
            CookieFormat::read(&signed, &cookie, 1_700_000_001)
                .expect("read")
                .created_at,
            None
        );
    }
}
