//! Mutual TLS: an HTTPS front (rustls, client certificates required) before a wiremock server,
//! with every certificate generated here by rcgen.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

pub struct Pki {
    dir: tempfile::TempDir,
    pub ca_cert: rcgen::Certificate,
    ca: Issuer<'static, KeyPair>,
}

pub struct Leaf {
    pub cert: rcgen::Certificate,
    pub key: KeyPair,
}

impl Pki {
    pub fn new(name: &str) -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = params.self_signed(&key).unwrap();
        Self {
            dir: tempfile::tempdir().unwrap(),
            ca_cert,
            ca: Issuer::new(params, key),
        }
    }

    pub fn leaf(&self, names: &[&str], cn: &str) -> Leaf {
        self.leaf_with(names, cn, |_| {})
    }

    /// A leaf certificate whose parameters `adjust` may change (validity, say).
    pub fn leaf_with(
        &self,
        names: &[&str],
        cn: &str,
        adjust: impl FnOnce(&mut CertificateParams),
    ) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        adjust(&mut params);
        let cert = params.signed_by(&key, &self.ca).unwrap();
        Leaf { cert, key }
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    pub fn ca_pem(&self) -> PathBuf {
        self.write("ca.pem", self.ca_cert.pem().as_bytes())
    }
}

pub fn pfx(leaf: &Leaf, password: &str, algorithm: p12_keystore::EncryptionAlgorithm) -> Vec<u8> {
    let key = p12_keystore::PrivateKey::from_der(&leaf.key.serialize_der()).unwrap();
    let cert = p12_keystore::Certificate::from_der(leaf.cert.der()).unwrap();
    let chain = p12_keystore::PrivateKeyChain::new(vec![1u8, 2, 3, 4], key, vec![cert]);
    let mut store = p12_keystore::KeyStore::new();
    store.add_entry(
        "client",
        p12_keystore::KeyStoreEntry::PrivateKeyChain(chain),
    );
    store
        .writer(password)
        .encryption_algorithm(algorithm)
        .write()
        .unwrap()
}

/// An HTTPS server for `localhost` that demands a client certificate from `client_ca` and
/// passes the decrypted bytes to `upstream`.
pub async fn tls_front(server: &Pki, client_ca: &Pki, upstream: SocketAddr) -> u16 {
    let leaf = server.leaf(&["localhost", "127.0.0.1"], "localhost");
    tls_front_with(server, leaf, client_ca, upstream).await
}

/// The same front with a server certificate of the test's choosing.
pub async fn tls_front_with(
    server: &Pki,
    leaf: Leaf,
    client_ca: &Pki,
    upstream: SocketAddr,
) -> u16 {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(client_ca.ca_cert.der().clone()).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![
                leaf.cert.der().clone(),
                CertificateDer::from(server.ca_cert.der().to_vec()),
            ],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key.serialize_der())),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut plain) = TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    port
}

struct Setup {
    server_pki: Pki,
    client_pki: Pki,
    mock: MockServer,
    endpoint: String,
}

async fn setup() -> Setup {
    let server_pki = Pki::new("test server CA");
    let client_pki = Pki::new("test client CA");
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/$/GetUpgradeProgress"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"UpgradeState": "RollingForwardCompleted"})),
        )
        .mount(&mock)
        .await;
    let port = tls_front(&server_pki, &client_pki, *mock.address()).await;
    Setup {
        server_pki,
        client_pki,
        mock,
        endpoint: format!("https://localhost:{port}"),
    }
}

async fn status(s: &Setup, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let mut argv = vec!["sf", "--endpoint", &s.endpoint];
    argv.extend_from_slice(extra);
    argv.extend_from_slice(&["cluster", "status", "--json"]);
    run_args(&argv, env).await
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn pem_client_certificate_with_separate_and_combined_key() {
    let s = setup().await;
    let leaf = s.client_pki.leaf(&[], "rollback-admin");
    let ca = s.server_pki.ca_pem();
    let cert = s.client_pki.write("client.pem", leaf.cert.pem().as_bytes());
    let key = s
        .client_pki
        .write("client.key", leaf.key.serialize_pem().as_bytes());
    let run = status(
        &s,
        &["--cert", p(&cert), "--key", p(&key), "--ca", p(&ca)],
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["platform_state"], "RollingForwardCompleted");

    let both = s.client_pki.write(
        "both.pem",
        format!("{}{}", leaf.cert.pem(), leaf.key.serialize_pem()).as_bytes(),
    );
    let run = status(&s, &["--cert", p(&both), "--ca", p(&ca)], &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(requests(&s.mock).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn pfx_client_certificates_modern_and_legacy() {
    let s = setup().await;
    let leaf = s.client_pki.leaf(&[], "rollback-admin");
    let ca = s.server_pki.ca_pem();
    use p12_keystore::EncryptionAlgorithm::{
        PbeWithHmacSha256AndAes256, PbeWithShaAnd3KeyTripleDesCbc,
    };
    let write = |name, algorithm| {
        s.client_pki
            .write(name, &pfx(&leaf, "pfx-MARKER-pw", algorithm))
    };
    let aes = write("aes.pfx", PbeWithHmacSha256AndAes256);
    let des = write("3des.pfx", PbeWithShaAnd3KeyTripleDesCbc);
    for file in [&aes, &des] {
        let run = status(
            &s,
            &[
                "--cert",
                p(file),
                "--cert-password-env",
                "PFX_PW",
                "--ca",
                p(&ca),
                "-vv",
            ],
            &[("PFX_PW", "pfx-MARKER-pw")],
        )
        .await;
        assert_eq!(run.code, 0, "{}: {run:?}", file.display());
        assert!(!run.stderr.contains("MARKER") && !run.stdout.contains("MARKER"));
    }
    assert_eq!(requests(&s.mock).await.len(), 2);

    let run = status(
        &s,
        &[
            "--cert",
            p(&aes),
            "--cert-password-env",
            "PFX_PW",
            "--ca",
            p(&ca),
        ],
        &[("PFX_PW", "wrong")],
    )
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!(
                "cannot open PKCS#12 certificate {}",
                aes.display()
            ))
    );
    assert_eq!(
        requests(&s.mock).await.len(),
        2,
        "nothing sent with a bad certificate"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_or_untrusted_client_certificate_exits_4() {
    let s = setup().await;
    let ca = s.server_pki.ca_pem();
    let run = status(&s, &["--ca", p(&ca)], &[]).await;
    assert_eq!(run.code, 4, "{run:?}");
    assert_eq!(run.json()["error"]["kind"], "auth");
    assert!(
        run.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("refused the TLS client certificate"),
        "{}",
        run.stdout
    );

    let stranger = Pki::new("someone else's CA");
    let leaf = stranger.leaf(&[], "intruder");
    let both = stranger.write(
        "both.pem",
        format!("{}{}", leaf.cert.pem(), leaf.key.serialize_pem()).as_bytes(),
    );
    let run = status(&s, &["--cert", p(&both), "--ca", p(&ca)], &[]).await;
    assert_eq!(run.code, 4, "{run:?}");
    assert!(requests(&s.mock).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn untrusted_server_exits_6_unless_insecure() {
    let s = setup().await;
    let leaf = s.client_pki.leaf(&[], "rollback-admin");
    let both = s.client_pki.write(
        "both.pem",
        format!("{}{}", leaf.cert.pem(), leaf.key.serialize_pem()).as_bytes(),
    );
    let run = status(&s, &["--cert", p(&both)], &[]).await;
    assert_eq!(run.code, 6, "{run:?}");
    let message = run.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        message.starts_with(&format!(
            "TLS: the server certificate of localhost:{}",
            s.endpoint.rsplit(':').next().unwrap()
        )) || message.contains("no trusted root certificates"),
        "{message}"
    );
    assert!(requests(&s.mock).await.is_empty());

    let run = status(&s, &["--cert", p(&both), "--insecure"], &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains("warning: --insecure: the server's TLS certificate is not verified"),
        "{}",
        run.stderr
    );
}

/// A server certificate for another name, or an expired one: exit 6 naming the cause.
#[tokio::test(flavor = "multi_thread")]
async fn hostname_mismatch_and_expired_server_certificates_exit_6() {
    let server_pki = Pki::new("server CA");
    let client_pki = Pki::new("client CA");
    let mock = MockServer::start().await;
    let client = client_pki.leaf(&[], "admin");
    let both = client_pki.write(
        "both.pem",
        format!("{}{}", client.cert.pem(), client.key.serialize_pem()).as_bytes(),
    );
    let ca = server_pki.ca_pem();
    let other = server_pki.leaf(&["other.invalid"], "other.invalid");
    let expired = server_pki.leaf_with(&["localhost"], "localhost", |p| {
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2021, 1, 1);
    });
    for (leaf, cause) in [(other, "NotValidForName"), (expired, "Expired")] {
        let port = tls_front_with(&server_pki, leaf, &client_pki, *mock.address()).await;
        let endpoint = format!("https://localhost:{port}");
        let run = run_args(
            &[
                "sf",
                "--endpoint",
                &endpoint,
                "--cert",
                p(&both),
                "--ca",
                p(&ca),
                "cluster",
                "status",
                "--json",
            ],
            &[],
        )
        .await;
        assert_eq!(run.code, 6, "{cause}: {run:?}");
        let message = run.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(
            message.starts_with(&format!(
                "TLS: the server certificate of localhost:{port} is not trusted"
            )),
            "{message}"
        );
        assert!(message.contains(cause), "{message}");
    }
    assert!(requests(&mock).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_format_certificate_files_exit_2() {
    let s = setup().await;
    let leaf = s.client_pki.leaf(&[], "x");
    let cert_only = s
        .client_pki
        .write("cert-only.pem", leaf.cert.pem().as_bytes());
    let garbage = s.client_pki.write("garbage.pem", b"not a certificate");
    let key_as_cert = s
        .client_pki
        .write("key.pem", leaf.key.serialize_pem().as_bytes());
    let cases: [(&[&str], &str); 4] = [
        (
            &["--cert", p(&cert_only)],
            "holds no private key: pass it with --key",
        ),
        (&["--cert", p(&garbage)], "is neither PEM nor PKCS#12"),
        (&["--cert", p(&key_as_cert)], "holds no CERTIFICATE block"),
        (&["--ca", p(&garbage)], "not a PEM or DER certificate"),
    ];
    for (extra, needle) in cases {
        let run = status(&s, extra, &[]).await;
        assert_eq!(run.code, 2, "{extra:?}: {run:?}");
        assert!(
            run.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains(needle),
            "{extra:?}: {}",
            run.stdout
        );
    }
    assert!(requests(&s.mock).await.is_empty());
}
