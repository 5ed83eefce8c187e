//! TLS for `wss://` and `https://`: one rustls client configuration (aws-lc-rs, the crypto
//! backend the media stack already builds) shared by the signalling WebSocket and the REST
//! client.
//!
//! [`Tls::system`] trusts the operating system's roots (what [`crate::connect`] and
//! [`crate::RestClient::new`] use); [`Tls::with_root_pem`] also trusts the given certificate
//! authorities (a private CA, a self-signed development certificate). `ws://` and `http://`
//! need none of this.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::sync::Arc;

/// Why a TLS configuration could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The PEM text held no certificate, or one that does not parse.
    #[error("bad certificate: {0}")]
    Certificate(String),
    /// rustls refused the configuration.
    #[error("tls configuration: {0}")]
    Config(String),
}

/// A client TLS configuration: which certificate authorities to trust. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Tls {
    config: Arc<rustls::ClientConfig>,
}

impl Tls {
    /// Trusts the operating system's root certificates (none if they cannot be read: then
    /// only [`Tls::with_root_pem`]'s CAs work).
    pub fn system() -> Tls {
        // Invariant: with no extra root, building fails only if aws-lc-rs refused rustls's
        // default protocol versions (TLS 1.2 and 1.3), which it implements.
        Self::build(&[]).expect("aws-lc-rs supports the default TLS versions")
    }

    /// Trusts the system's roots and every certificate in `pem` (one or more `CERTIFICATE`
    /// blocks), e.g. a development CA.
    pub fn with_root_pem(pem: &[u8]) -> Result<Tls, TlsError> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<_, _>>()
            .map_err(|e| TlsError::Certificate(e.to_string()))?;
        if certs.is_empty() {
            return Err(TlsError::Certificate("no CERTIFICATE block".into()));
        }
        Self::build(&certs)
    }

    fn build(extra: &[CertificateDer<'static>]) -> Result<Tls, TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        // Unreadable system roots are not fatal: the extra roots may be all that is needed.
        let system = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(system.certs);
        for c in extra {
            roots
                .add(c.clone())
                .map_err(|e| TlsError::Certificate(e.to_string()))?;
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(Tls {
            config: Arc::new(config),
        })
    }

    /// The rustls configuration (for the WebSocket connector).
    pub fn rustls(&self) -> Arc<rustls::ClientConfig> {
        Arc::clone(&self.config)
    }

    /// An HTTP client (`reqwest`) using this configuration for `https://`.
    pub fn http_client(&self) -> Result<reqwest::Client, TlsError> {
        reqwest::Client::builder()
            .use_preconfigured_tls((*self.config).clone())
            .build()
            .map_err(|e| TlsError::Config(e.to_string()))
    }
}

impl Default for Tls {
    fn default() -> Self {
        Tls::system()
    }
}

/// An HTTP client trusting the system's roots and `extra_pem` CAs (each a PEM text); `http://`
/// works without any.
pub fn http_client(extra_pem: &[&[u8]]) -> Result<reqwest::Client, TlsError> {
    let tls = match extra_pem {
        [] => Tls::system(),
        _ => Tls::with_root_pem(&extra_pem.concat())?,
    };
    tls.http_client()
}
