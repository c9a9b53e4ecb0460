//! TLS for every platform: trust roots, `--ca`, `--insecure`, and client identities from PEM or
//! PKCS#12 files, all on rustls with the ring provider.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ClientConfig;
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::Secret;
use super::roots::{SystemRoots, Unchecked};
use crate::error::Error;

/// Where the TLS settings of one platform come from.
#[derive(Debug, Default, Clone)]
pub struct TlsOptions {
    pub identity: Option<IdentitySource>,
    pub ca: Option<PathBuf>,
    pub insecure: bool,
}

/// A client certificate: PEM (with the key in `key` or the same file) or PKCS#12.
#[derive(Debug, Clone)]
pub struct IdentityFile {
    pub cert: PathBuf,
    pub key: Option<PathBuf>,
    pub password: Option<Secret>,
}

/// Where a client identity comes from.
#[derive(Debug, Clone)]
pub enum IdentitySource {
    /// `--cert` (with `--key`): PEM or PKCS#12, told apart by the bytes.
    File(IdentityFile),
    /// A PKCS#12 bundle held in memory (a publish-settings file carries one), with its label
    /// for messages.
    Pkcs12 {
        label: String,
        der: Vec<u8>,
        password: Option<Secret>,
    },
}

impl IdentitySource {
    /// What to call it in messages.
    pub fn label(&self) -> String {
        match self {
            Self::File(file) => file.cert.display().to_string(),
            Self::Pkcs12 { label, .. } => label.clone(),
        }
    }
}

/// A loaded client identity.
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl Identity {
    /// SHA-1 thumbprint of the leaf certificate, as Service Fabric and Azure show it.
    pub fn thumbprint(&self) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &self.chain[0]);
        digest.as_ref().iter().map(|b| format!("{b:02X}")).collect()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the rustls configuration the one HTTP client uses.
pub fn client_config(
    options: &TlsOptions,
    identity: Option<Identity>,
) -> Result<ClientConfig, Error> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Usage(format!("TLS set-up failed: {e}")))?
        .dangerous();
    let verifier: Arc<dyn ServerCertVerifier> = if options.insecure {
        Arc::new(Unchecked {
            algorithms: provider.signature_verification_algorithms,
            refusal: None,
        })
    } else {
        let extra = match &options.ca {
            Some(path) => load_ca(path)?,
            None => Vec::new(),
        };
        Arc::new(SystemRoots::new(extra, provider.clone()))
    };
    let builder = builder.with_custom_certificate_verifier(verifier);
    match identity {
        Some(identity) => builder
            .with_client_auth_cert(identity.chain, identity.key)
            .map_err(|e| Error::Usage(format!("the client certificate cannot be used: {e}"))),
        None => Ok(builder.with_no_client_auth()),
    }
}

/// Certificates, keys and CA bundles are regular files of at most a few MiB.
fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, Error> {
    crate::input::read_regular(path, crate::input::MAX_CERT_FILE)
        .map_err(|e| Error::Usage(format!("cannot read {what} {}: {e}", path.display())))
}

fn is_pem(bytes: &[u8]) -> bool {
    bytes.windows(10).any(|w| w == b"-----BEGIN")
}

/// Reads `--ca`: one or more PEM certificates (or a single DER one).
pub fn load_ca(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let bytes = read_file(path, "CA file")?;
    let bad = |why: String| Error::Usage(format!("CA file {}: {why}", path.display()));
    if !is_pem(&bytes) {
        if bytes.first() == Some(&0x30) {
            return Ok(vec![CertificateDer::from(bytes)]);
        }
        return Err(bad("not a PEM or DER certificate".into()));
    }
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("unreadable PEM: {e}")))?;
    if certs.is_empty() {
        return Err(bad("holds no CERTIFICATE block".into()));
    }
    Ok(certs)
}

/// Reads a client identity: PEM certificate(s) plus key, or a PKCS#12 (PFX) bundle.
pub fn load_identity(source: &IdentitySource) -> Result<Identity, Error> {
    match source {
        IdentitySource::File(file) => load_file(file),
        IdentitySource::Pkcs12 {
            label,
            der,
            password,
        } => load_pkcs12(der, label, password.as_ref()),
    }
}

fn load_file(file: &IdentityFile) -> Result<Identity, Error> {
    let bytes = read_file(&file.cert, "certificate")?;
    let name = file.cert.display();
    if is_pem(&bytes) {
        let chain = CertificateDer::pem_slice_iter(&bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Usage(format!("certificate {name}: unreadable PEM: {e}")))?;
        if chain.is_empty() {
            return Err(Error::Usage(format!(
                "certificate {name} holds no CERTIFICATE block"
            )));
        }
        let (key_bytes, key_name) = match &file.key {
            Some(path) => (read_file(path, "key")?, path.display().to_string()),
            None => (bytes.clone(), name.to_string()),
        };
        let key = PrivateKeyDer::from_pem_slice(&key_bytes).map_err(|_| {
            Error::Usage(match &file.key {
                Some(_) => format!("key {key_name} holds no readable unencrypted private key"),
                None => format!("certificate {name} holds no private key: pass it with --key"),
            })
        })?;
        return Ok(Identity { chain, key });
    }
    if bytes.first() != Some(&0x30) {
        return Err(Error::Usage(format!(
            "certificate {name} is neither PEM nor PKCS#12 (PFX)"
        )));
    }
    if file.key.is_some() {
        return Err(Error::Usage(format!(
            "certificate {name} is PKCS#12, which carries its own key: drop --key"
        )));
    }
    load_pkcs12(&bytes, &name.to_string(), file.password.as_ref())
}

fn load_pkcs12(bytes: &[u8], name: &str, password: Option<&Secret>) -> Result<Identity, Error> {
    let secret = password.map_or("", |p| p.expose());
    let store =
        p12_keystore::KeyStore::from_pkcs12(bytes, secret, Default::default()).map_err(|e| {
            let hint = if password.is_none() {
                ": if it has a password, name its variable with --cert-password-env"
            } else {
                ""
            };
            Error::Usage(format!(
                "cannot open PKCS#12 certificate {name} ({e}){hint}"
            ))
        })?;
    let Some((_, chain)) = store.private_key_chain() else {
        return Err(Error::Usage(format!(
            "PKCS#12 certificate {name} holds no private key"
        )));
    };
    if chain.certs().is_empty() {
        return Err(Error::Usage(format!(
            "PKCS#12 certificate {name} holds no certificate for its key"
        )));
    }
    Ok(Identity {
        chain: chain
            .certs()
            .iter()
            .map(|c| CertificateDer::from(c.as_der().to_vec()))
            .collect(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().as_der().to_vec())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn id(cert: PathBuf) -> IdentitySource {
        IdentitySource::File(IdentityFile {
            cert,
            key: None,
            password: None,
        })
    }

    /// What loading `bytes`, written to a file `name`, as a client certificate says.
    fn identity_error(name: &str, bytes: &[u8]) -> Error {
        let dir = tempfile::tempdir().unwrap();
        load_identity(&id(write(&dir, name, bytes))).err().unwrap()
    }

    #[test]
    fn garbage_certificate_is_a_usage_error() {
        let err = identity_error("c.pem", b"hello");
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("neither PEM nor PKCS#12"), "{err}");
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = load_identity(&id("/nonexistent/c.pem".into()))
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .starts_with("cannot read certificate /nonexistent/c.pem"),
            "{err}"
        );
    }

    #[test]
    fn pem_certificate_without_key_asks_for_key() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["x".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let err = load_identity(&id(write(&dir, "c.pem", cert.pem().as_bytes())))
            .err()
            .unwrap();
        assert!(err.to_string().contains("pass it with --key"), "{err}");
        let ok = load_identity(&IdentitySource::File(IdentityFile {
            cert: write(&dir, "c2.pem", cert.pem().as_bytes()),
            key: Some(write(&dir, "k.pem", key.serialize_pem().as_bytes())),
            password: None,
        }))
        .unwrap();
        assert_eq!(ok.thumbprint().len(), 40);
    }

    #[test]
    fn pkcs12_with_wrong_password_is_a_usage_error() {
        let mut bytes = vec![0x30, 0x82, 0x01, 0x00];
        bytes.extend_from_slice(&[0u8; 256]);
        let err = identity_error("c.pfx", &bytes);
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("--cert-password-env"), "{err}");
    }

    #[test]
    fn ca_file_must_hold_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let err = load_ca(&write(
            &dir,
            "ca.pem",
            b"-----BEGIN NOTHING-----\n-----END NOTHING-----\n",
        ))
        .err()
        .unwrap();
        assert!(
            err.to_string().contains("holds no CERTIFICATE block"),
            "{err}"
        );
    }
}
