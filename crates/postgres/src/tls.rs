//! TLS for the store's connections: [`SslMode`], the connection-string
//! parameters libpq has and tokio-postgres lacks (`sslmode=verify-ca`,
//! `verify-full`, `sslrootcert`), and the connectors (rustls, native-tls,
//! or yours) behind one erased [`Connect`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{Client, Config, Socket};
use websession_core::store::{StoreError, StoreErrorKind};

/// How the store's own TLS connector treats the server, with libpq's names
/// and meanings (`sslmode` in a URL, or [`PostgresOptions::with_ssl_mode`]).
///
/// | mode | TLS | certificate checked |
/// |---|---|---|
/// | `Disable` | never | — |
/// | `Prefer` (the default) | if the server offers it, else plaintext | no |
/// | `Require` | always (a server without TLS is refused) | no; with your own root CA ([`PostgresOptions::with_root_certificates_pem`] or `sslrootcert`), the chain as `VerifyCa` |
/// | `VerifyCa` | always | it chains to a trusted root |
/// | `VerifyFull` | always | it chains to a trusted root **and** names the host |
///
/// # Security
///
/// Only `VerifyFull` stops an attacker on the network path from posing as
/// the server (and reading the sessions and the password). `Prefer` and
/// `Require` encrypt against passive listening only; `VerifyCa` accepts
/// any certificate of the CA, for any host. Trusted roots are the system's
/// unless you give your own CA, which then replaces them.
///
/// ```
/// use websession_postgres::{PostgresOptions, SslMode};
/// let options = PostgresOptions::default().with_ssl_mode(SslMode::VerifyFull);
/// # let _ = options;
/// ```
///
/// [`PostgresOptions::with_ssl_mode`]: crate::PostgresOptions::with_ssl_mode
/// [`PostgresOptions::with_root_certificates_pem`]: crate::PostgresOptions::with_root_certificates_pem
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SslMode {
    /// Plaintext only.
    Disable,
    /// TLS when the server offers it, its certificate unchecked; plaintext
    /// otherwise.
    Prefer,
    /// TLS always; the certificate unchecked unless a root CA is given.
    Require,
    /// TLS always; the certificate must chain to a trusted root.
    VerifyCa,
    /// TLS always; the certificate must chain to a trusted root and name
    /// the host connected to.
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "disable" => Self::Disable,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            _ => return None,
        })
    }

    /// What tokio-postgres does at the protocol level.
    pub(crate) fn wire(self) -> tokio_postgres::config::SslMode {
        match self {
            Self::Disable => tokio_postgres::config::SslMode::Disable,
            Self::Prefer => tokio_postgres::config::SslMode::Prefer,
            Self::Require | Self::VerifyCa | Self::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        }
    }

    /// The mode a `tokio_postgres::Config` asks for.
    pub(crate) fn from_wire(mode: tokio_postgres::config::SslMode) -> Self {
        match mode {
            tokio_postgres::config::SslMode::Disable => Self::Disable,
            tokio_postgres::config::SslMode::Prefer => Self::Prefer,
            _ => Self::Require,
        }
    }
}

/// The connection string without the parameters tokio-postgres can't
/// parse, and what they said: `sslmode` (libpq's five values) and
/// `sslrootcert` (a PEM file). Both forms: `postgres://…?k=v&…` and
/// `k=v k=v`.
pub(crate) struct TlsParams {
    pub(crate) rest: String,
    pub(crate) mode: Option<SslMode>,
    pub(crate) root_cert_file: Option<String>,
}

fn bad(why: String) -> StoreError {
    StoreError::new(StoreErrorKind::Backend, why)
}

/// Splits [`TlsParams`] out of a connection string.
pub(crate) fn take_tls_params(s: &str) -> Result<TlsParams, StoreError> {
    let mut params = TlsParams {
        rest: String::new(),
        mode: None,
        root_cert_file: None,
    };
    let mut take = |key: &str, value: String| -> Result<bool, StoreError> {
        match key {
            "sslmode" => {
                params.mode = Some(
                    SslMode::parse(&value)
                        .ok_or_else(|| bad(format!("invalid sslmode {value:?}")))?,
                );
                Ok(true)
            }
            "sslrootcert" => {
                params.root_cert_file = Some(value);
                Ok(true)
            }
            _ => Ok(false),
        }
    };
    let rest = if s.starts_with("postgres://") || s.starts_with("postgresql://") {
        match s.split_once('?') {
            None => s.to_owned(),
            Some((base, query)) => {
                let mut kept = Vec::new();
                for pair in query.split('&') {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    if !take(k, percent_decode(v)?)? {
                        kept.push(pair);
                    }
                }
                if kept.is_empty() {
                    base.to_owned()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
        }
    } else {
        let mut kept = Vec::new();
        for token in s.split_whitespace() {
            match token.split_once('=') {
                Some((k, v)) if take(k, v.trim_matches('\'').to_owned())? => {}
                _ => kept.push(token),
            }
        }
        kept.join(" ")
    };
    Ok(TlsParams { rest, ..params })
}

fn percent_decode(v: &str) -> Result<String, StoreError> {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = v
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| bad("invalid percent-encoding in the URL".into()))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|e| StoreError::new(StoreErrorKind::Backend, e))
}

/// The `CERTIFICATE` blocks of a PEM text, each as its own PEM text.
#[cfg_attr(any(not(feature = "native-tls"), feature = "rustls"), allow(dead_code))]
fn pem_blocks(pem: &[u8]) -> Vec<&[u8]> {
    const END: &[u8] = b"-----END CERTIFICATE-----";
    const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    let mut blocks = Vec::new();
    let mut rest = pem;
    while let Some(start) = find(rest, BEGIN) {
        let Some(len) = find(&rest[start..], END) else {
            break;
        };
        let end = start + len + END.len();
        blocks.push(&rest[start..end]);
        rest = &rest[end..];
    }
    blocks
}

/// Opens one connection and spawns its task; the task ends when the
/// connection closes.
pub(crate) type Connect =
    Arc<dyn Fn(Config) -> Pin<Box<dyn Future<Output = ConnectResult> + Send>> + Send + Sync>;

pub(crate) type ConnectResult = Result<(Client, JoinHandle<()>), tokio_postgres::Error>;

/// A [`Connect`] over any tokio-postgres TLS connector.
pub(crate) fn connector<T>(tls: T) -> Connect
where
    T: MakeTlsConnect<Socket> + Clone + Send + Sync + 'static,
    T::Stream: Send + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    Arc::new(move |config: Config| {
        let tls = tls.clone();
        Box::pin(async move {
            let (client, connection) = config.connect(tls).await?;
            let task = tokio::spawn(async move {
                let _ = connection.await;
            });
            Ok((client, task))
        })
    })
}

/// The store's own connector for `mode`, trusting `roots` (PEM) or the
/// system's roots. With both TLS features, rustls.
pub(crate) fn own_connector(mode: SslMode, roots: Option<&[u8]>) -> Result<Connect, StoreError> {
    if mode == SslMode::Disable {
        return Ok(connector(tokio_postgres::NoTls));
    }
    #[cfg(feature = "rustls")]
    return rustls_tls::connector(mode, roots);
    #[cfg(all(feature = "native-tls", not(feature = "rustls")))]
    return native::connector(mode, roots);
    #[cfg(not(any(feature = "rustls", feature = "native-tls")))]
    return without_tls(mode, roots);
}

/// Without a TLS feature: `prefer` is plaintext, the stricter modes fail.
#[cfg(not(any(feature = "rustls", feature = "native-tls")))]
fn without_tls(mode: SslMode, roots: Option<&[u8]>) -> Result<Connect, StoreError> {
    if mode == SslMode::Prefer && roots.is_some() {
        return Err(bad(
            "a root certificate needs TLS: enable the `rustls` or `native-tls` feature".into(),
        ));
    }
    if mode == SslMode::Prefer {
        return Ok(connector(tokio_postgres::NoTls));
    }
    Err(bad(format!(
        "{mode:?} needs TLS: enable the `rustls` or `native-tls` feature"
    )))
}

/// Whether an error from a connection attempt is the TLS library's
/// (a refused certificate, a failed handshake).
pub(crate) fn is_tls_error(e: &(dyn std::error::Error + 'static)) -> bool {
    #[cfg(feature = "native-tls")]
    if e.is::<native_tls::Error>() {
        return true;
    }
    let _ = e;
    false
}

#[cfg(all(feature = "native-tls", not(feature = "rustls")))]
mod native;

#[cfg(feature = "rustls")]
mod rustls_tls;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_tls_parameters_are_taken_out_of_both_forms() {
        let p = take_tls_params(
            "postgres://app:pw@db/app?sslmode=verify-full&application_name=x&sslrootcert=%2Fetc%2Fca.pem",
        )
        .expect("parse");
        assert_eq!(p.rest, "postgres://app:pw@db/app?application_name=x");
        assert_eq!(p.mode, Some(SslMode::VerifyFull));
        assert_eq!(p.root_cert_file.as_deref(), Some("/etc/ca.pem"));

        let p = take_tls_params("postgres://db/app?sslmode=require").expect("parse");
        assert_eq!(
            (p.rest.as_str(), p.mode),
            ("postgres://db/app", Some(SslMode::Require))
        );

        let p = take_tls_params("host=db user=app sslmode='verify-ca' sslrootcert=/ca.pem")
            .expect("parse");
        assert_eq!(p.rest, "host=db user=app");
        assert_eq!(p.mode, Some(SslMode::VerifyCa));
        assert_eq!(p.root_cert_file.as_deref(), Some("/ca.pem"));

        let p = take_tls_params("postgres://db/app").expect("parse");
        assert_eq!((p.rest.as_str(), p.mode), ("postgres://db/app", None));

        let e = take_tls_params("postgres://db/app?sslmode=sometimes")
            .err()
            .expect("refused");
        assert_eq!(e.kind(), StoreErrorKind::Backend);
    }

    #[test]
    fn pem_blocks_are_split() {
        let pem = b"junk\n-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n\
                    -----BEGIN CERTIFICATE-----\nBB==\n-----END CERTIFICATE-----\n";
        let blocks = pem_blocks(pem);
        assert_eq!(blocks.len(), 2);
        assert!(blocks[1].starts_with(b"-----BEGIN") && blocks[1].ends_with(b"-----"));
        assert!(pem_blocks(b"no certificate here").is_empty());
    }
}
