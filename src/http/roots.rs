//! The system's trust roots, read at the first certificate there is to check: reading and
//! parsing them (a bundle plus a few hundred files under /etc/ssl/certs) costs more than a whole
//! plain-http run, which never needs them. Also the verifier that checks no chain (`--insecure`,
//! or no roots at all).

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// The platform's verifier over the system roots plus `--ca`, built when first asked.
#[derive(Debug)]
pub struct SystemRoots {
    extra: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
    verifier: OnceLock<Arc<dyn ServerCertVerifier>>,
}

impl SystemRoots {
    pub fn new(extra: Vec<CertificateDer<'static>>, provider: Arc<CryptoProvider>) -> Self {
        Self {
            extra,
            provider,
            verifier: OnceLock::new(),
        }
    }

    fn verifier(&self) -> &Arc<dyn ServerCertVerifier> {
        self.verifier.get_or_init(|| {
            let extra = self.extra.clone();
            match rustls_platform_verifier::Verifier::new_with_extra_roots(
                extra,
                self.provider.clone(),
            ) {
                Ok(verifier) => Arc::new(verifier),
                // No system roots and no --ca: https fails with this reason at the handshake.
                Err(e) => Arc::new(Unchecked {
                    algorithms: self.provider.signature_verification_algorithms,
                    refusal: Some(e.to_string()),
                }),
            }
        })
    }
}

impl ServerCertVerifier for SystemRoots {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.verifier().verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verifier().verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verifier().verify_tls13_signature(message, cert, dss)
    }

    // Asked for the ClientHello, before any certificate: the provider's schemes are the ones
    // the platform's verifier offers, so the roots need not be read for them.
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A verifier that does not check the server's certificate chain: with `refusal` unset it
/// accepts any (`--insecure`); with it set it refuses every one with that reason (no trust roots
/// could be loaded, so https cannot work, while plain http still does). Handshake signatures
/// are checked either way.
#[derive(Debug)]
pub(super) struct Unchecked {
    pub(super) algorithms: WebPkiSupportedAlgorithms,
    pub(super) refusal: Option<String>,
}

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match &self.refusal {
            None => Ok(ServerCertVerified::assertion()),
            Some(reason) => Err(rustls::Error::General(format!(
                "no trusted root certificates ({reason}); pass --ca"
            ))),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roots() -> SystemRoots {
        SystemRoots::new(
            Vec::new(),
            Arc::new(rustls::crypto::ring::default_provider()),
        )
    }

    #[test]
    fn the_roots_are_not_read_before_a_certificate_is_checked() {
        let roots = roots();
        let schemes = roots.supported_verify_schemes();
        assert_eq!(
            schemes,
            roots
                .provider
                .signature_verification_algorithms
                .supported_schemes()
        );
        assert!(roots.verifier.get().is_none(), "read for the ClientHello");
    }

    #[test]
    fn a_certificate_is_checked_against_the_roots_read_then() {
        let roots = roots();
        let garbage = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
        let name = ServerName::try_from("example.com").unwrap();
        let verdict = roots.verify_server_cert(&garbage, &[], &name, &[], UnixTime::now());
        assert!(verdict.is_err(), "a garbage certificate is refused");
        assert!(roots.verifier.get().is_some(), "read at the first check");
    }
}
