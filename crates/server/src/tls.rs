//! TLS with rustls on the aws-lc-rs provider: a PEM certificate chain and private key make a
//! server configuration that offers HTTP/1.1 over ALPN.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls;

use crate::error::ServerError;

/// Loads `cert` (PEM chain, leaf first) and `key` (PEM PKCS#8, PKCS#1 or SEC1).
///
/// # Errors
/// [`ServerError::Tls`] naming the file that cannot be read or used.
pub fn load(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, ServerError> {
    let tls_error = |path: &Path, message: String| ServerError::Tls {
        path: path.to_path_buf(),
        message,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| tls_error(cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| tls_error(cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(tls_error(cert, "no PEM certificate found".to_owned()));
    }
    let private_key =
        PrivateKeyDer::from_pem_file(key).map_err(|e| tls_error(key, e.to_string()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(cert, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(|e| tls_error(key, e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
