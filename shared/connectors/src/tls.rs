//! TLS for database connections, with libpq's `sslmode` meanings: `prefer` and `require`
//! encrypt without checking the server's certificate, `verify-full` checks it against the
//! public web roots and the host name.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// Client configurations built once per sandbox.
pub(crate) struct TlsConfigs {
    pub(crate) encrypt_only: ClientConfig,
    pub(crate) verify_full: ClientConfig,
}

impl TlsConfigs {
    pub(crate) fn new() -> Result<Self, rustls::Error> {
        Self::with_roots(&[])
    }

    /// `verify-full` trusting `extra` besides the public web roots: a private CA (RDS's bundle).
    pub(crate) fn with_roots(extra: &[CertificateDer<'static>]) -> Result<Self, rustls::Error> {
        let provider = Arc::new(ring::default_provider());
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for certificate in extra {
            roots.add(certificate.clone())?;
        }
        let encrypt_only = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider.clone())))
            .with_no_client_auth();
        let verify_full = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(TlsConfigs {
            encrypt_only,
            verify_full,
        })
    }
}

/// Accepts any certificate but still checks the handshake signatures: the connection is
/// encrypted, its peer unauthenticated — exactly libpq's `sslmode=require`.
#[derive(Debug)]
struct EncryptOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
