//! The native-tls connector (feature `native-tls` without `rustls`).

use super::*;

pub(super) fn connector(mode: SslMode, roots: Option<&[u8]>) -> Result<Connect, StoreError> {
    let mut builder = native_tls::TlsConnector::builder();
    if let Some(pem) = roots {
        let blocks = pem_blocks(pem);
        if blocks.is_empty() {
            return Err(bad(
                "the root certificate PEM holds no CERTIFICATE block".into()
            ));
        }
        builder.disable_built_in_roots(true);
        for block in blocks {
            let cert = native_tls::Certificate::from_pem(block)
                .map_err(|e| StoreError::new(StoreErrorKind::Backend, e))?;
            builder.add_root_certificate(cert);
        }
    }
    let check_chain = match mode {
        SslMode::Require => roots.is_some(),
        SslMode::VerifyCa | SslMode::VerifyFull => true,
        _ => false,
    };
    builder.danger_accept_invalid_certs(!check_chain);
    builder.danger_accept_invalid_hostnames(mode != SslMode::VerifyFull);
    let tls = builder
        .build()
        .map_err(|e| StoreError::new(StoreErrorKind::Backend, e))?;
    Ok(super::connector(
        postgres_native_tls::MakeTlsConnector::new(tls),
    ))
}
