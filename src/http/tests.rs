use super::*;

#[test]
fn loopback_hosts() {
    for ok in [
        "http://127.0.0.1:1/",
        "http://[::1]:1/",
        "http://localhost/",
        "http://LocalHost:8/",
        "http://127.8.9.10/",
    ] {
        assert!(is_loopback(&Url::parse(ok).unwrap()), "{ok}");
    }
    for no in [
        "http://sf.invalid/",
        "http://10.0.0.1/",
        "http://localhost.invalid/",
        "http://a.localhost/",
        "http://x.y.localhost:1/",
        "http://localhost./",
        "http://127.0.0.1.invalid/",
    ] {
        assert!(!is_loopback(&Url::parse(no).unwrap()), "{no}");
    }
}

#[test]
fn credentials_refused_over_plain_http_to_other_hosts() {
    let err = refuse_plain_http(&Url::parse("http://sf.invalid:19080/").unwrap()).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(
        err.to_string().contains("plain http:// to sf.invalid"),
        "{err}"
    );
    assert!(refuse_plain_http(&Url::parse("https://sf.invalid/").unwrap()).is_ok());
}

/// A client for `base` with the system's roots, no credential and no redirect domains.
fn options(base: &str) -> ClientOptions {
    ClientOptions {
        base: Url::parse(base).unwrap(),
        tls: TlsOptions::default(),
        token: TokenSource::None,
        token_placement: TokenPlacement::AUTHORIZATION,
        redirect_domains: &[],
        request_timeout: Duration::from_secs(5),
    }
}

/// A client for `base` with a bearer token, redirected within `domains`.
fn client(base: &str, domains: &'static [&'static str], tls: TlsOptions) -> HttpClient {
    HttpClient::new(ClientOptions {
        tls,
        token: TokenSource::Given(Secret::new("tok")),
        redirect_domains: domains,
        ..options(base)
    })
    .unwrap()
}

fn redirect(status: u16, location: &str) -> Response {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("location", location.parse().unwrap());
    Response {
        method: Method::GET,
        status,
        url: Url::parse("https://unused.invalid/").unwrap(),
        headers,
        body: Vec::new(),
    }
}

const MANAGEMENT: &[&str] = &["management.core.windows.net"];

/// Which redirects are followed, and whether the token goes along: one rule for both.
#[test]
fn redirects_stay_in_the_origin_or_the_configured_domains() {
    let base = "https://management.core.windows.net/sub/";
    let cloud = client(base, MANAGEMENT, TlsOptions::default());
    let plain = client(base, &[], TlsOptions::default());
    let from = Url::parse("https://management.core.windows.net/sub/x").unwrap();
    let cases: &[(u16, &str, Method, bool, bool)] = &[
        // status, Location, method, followed by `cloud`, followed by `plain`
        (307, "/sub/y", Method::POST, true, true),
        (
            308,
            "https://management.core.windows.net:443/z",
            Method::POST,
            true,
            true,
        ),
        (
            307,
            "https://rdfe2.management.core.windows.net/x",
            Method::POST,
            true,
            false,
        ),
        (
            308,
            "https://MANAGEMENT.core.windows.net:8443/x",
            Method::POST,
            true,
            false,
        ),
        (
            307,
            "http://rdfe2.management.core.windows.net/x",
            Method::POST,
            false,
            false,
        ),
        (
            307,
            "http://management.core.windows.net/x",
            Method::GET,
            false,
            false,
        ),
        (
            307,
            "https://evilmanagement.core.windows.net/x",
            Method::POST,
            false,
            false,
        ),
        (
            307,
            "https://management.core.windows.net.evil.invalid/",
            Method::POST,
            false,
            false,
        ),
        (
            307,
            "https://management.core.chinacloudapi.cn/x",
            Method::POST,
            false,
            false,
        ),
        (307, "https://203.0.113.9/x", Method::POST, false, false),
        // 301/302/303 keep a GET a GET within the origin; they would turn a POST into a GET.
        (302, "/sub/y", Method::GET, true, true),
        (301, "/sub/y", Method::POST, false, false),
        (303, "/sub/y", Method::POST, false, false),
        (
            302,
            "https://rdfe2.management.core.windows.net/x",
            Method::GET,
            false,
            false,
        ),
    ];
    for (status, location, method, by_cloud, by_plain) in cases {
        for (client, expected) in [(&cloud, by_cloud), (&plain, by_plain)] {
            let decision =
                client.redirect_target(method, &from, &from, &redirect(*status, location));
            match decision {
                Ok(Some(to)) => {
                    assert!(*expected, "{status} {location} {method} followed");
                    assert!(
                        client.token_for(&to).is_some(),
                        "{to}: the token goes along"
                    );
                }
                Ok(None) => panic!("{status} {location}: a redirect"),
                Err(error) => {
                    assert!(!expected, "{status} {location} {method}: {error}");
                    assert_eq!(error.exit_code(), 1);
                    assert!(error.to_string().contains(" with Location "), "{error}");
                    assert!(
                        error.to_string().ends_with(
                            "; the redirect was not followed and nothing was sent there"
                        )
                    );
                }
            }
        }
    }
    // A token goes exactly where a redirect may lead.
    for url in [
        "http://rdfe2.management.core.windows.net/",
        "https://evil.invalid/",
        "https://management.core.windows.net.evil.invalid/",
    ] {
        assert!(
            cloud.token_for(&Url::parse(url).unwrap()).is_none(),
            "{url}"
        );
    }
    assert!(
        plain
            .token_for(&Url::parse("https://rdfe2.management.core.windows.net/").unwrap())
            .is_none()
    );
    let error = cloud
        .redirect_target(&Method::GET, &from, &from, &redirect(307, "http://[::1"))
        .unwrap_err();
    assert!(error.to_string().contains("it is not a URL"), "{error}");
    let not_a_redirect = cloud.redirect_target(&Method::GET, &from, &from, &redirect(300, "/a"));
    assert!(matches!(not_a_redirect, Ok(None)));
}

/// From https to plain http, never, even on this machine.
#[test]
fn no_redirect_from_https_to_http() {
    let client = client("https://localhost:8443/", &[], TlsOptions::default());
    let from = Url::parse("https://localhost:8443/a").unwrap();
    let error = client
        .redirect_target(
            &Method::GET,
            &from,
            &from,
            &redirect(308, "http://localhost:8443/a"),
        )
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "GET https://localhost:8443/a answered HTTP 308 with Location http://localhost:8443/a: it leads from https to plain http; the redirect was not followed and nothing was sent there"
    );
}

/// A TLS server for `localhost` that answers every request with `answer` and records what
/// it received.
async fn tls_server(
    ca: &rcgen::Issuer<'static, rcgen::KeyPair>,
    answer: String,
) -> (u16, std::sync::Arc<Mutex<Vec<String>>>) {
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, ca)
        .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let Ok(mut tls) = acceptor.accept(tcp).await else {
                continue;
            };
            let mut buffer = Vec::new();
            let mut chunk = [0u8; 4096];
            // Every request here has a small body: read until it has arrived.
            while let Ok(n) = tls.read(&mut chunk).await {
                buffer.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buffer);
                if n == 0 || text.contains("\r\n\r\n") && text.ends_with("body=1") {
                    break;
                }
            }
            log.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buffer).to_string());
            let _ = tls.write_all(answer.as_bytes()).await;
            let _ = tls.shutdown().await;
        }
    });
    (port, seen)
}

/// Over real TLS: a 307 to another https origin under a configured domain is followed
/// with method, body and token; without the domain nothing reaches it.
#[tokio::test(flavor = "multi_thread")]
async fn a_307_to_a_configured_domain_is_followed_over_tls() {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = params.self_signed(&ca_key).unwrap();
    let ca = rcgen::Issuer::new(params, ca_key);
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_cert.pem()).unwrap();
    let (to, reached) = tls_server(
        &ca,
        "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
    )
    .await;
    let (from, first) = tls_server(
        &ca,
        format!(
            "HTTP/1.1 307 Moved\r\nLocation: https://localhost:{to}/there\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    let base = format!("https://localhost:{from}/");
    let tls = || TlsOptions {
        ca: Some(ca_file.clone()),
        ..TlsOptions::default()
    };
    let request =
        Request::new(Method::POST, Url::parse(&format!("{base}here")).unwrap()).body(Body::Text {
            content_type: "text/plain",
            text: "body=1".into(),
        });

    let followed = client(&base, &["localhost"], tls());
    let Delivery::Answered(response) = followed.send_once(&request).await else {
        panic!("answered");
    };
    assert_eq!(response.status, 202);
    assert_eq!(
        response.url.as_str(),
        format!("https://localhost:{to}/there")
    );
    let seen = reached.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0].starts_with("POST /there HTTP/1.1\r\n"),
        "{}",
        seen[0]
    );
    assert!(
        seen[0].contains("authorization: Bearer tok\r\n"),
        "{}",
        seen[0]
    );
    assert!(seen[0].ends_with("\r\n\r\nbody=1"), "{}", seen[0]);

    let refused = client(&base, &[], tls());
    let Delivery::NotSent {
        error,
        retry: false,
    } = refused.send_once(&request).await
    else {
        panic!("not followed");
    };
    assert!(
        error.to_string().contains(&format!(
            "with Location https://localhost:{to}/there: it leads to another origin than {}",
            base.trim_end_matches('/')
        )),
        "{error}"
    );
    assert_eq!(reached.lock().unwrap().len(), 1, "nothing more reached it");
    assert_eq!(first.lock().unwrap().len(), 2);
}

/// A secret form field (a password) never goes over plain http to another machine, so
/// never in clear through a proxy either: refused before anything is sent.
#[tokio::test]
async fn a_secret_field_never_rides_plain_http() {
    let proxies = proxy::Proxies::from_lookup(|name| {
        (name == "http_proxy").then(|| "http://127.0.0.1:9".to_string())
    });
    let client = HttpClient::with_proxies(options("http://sf.invalid:19080/"), proxies).unwrap();
    let request = Request::new(
        Method::POST,
        Url::parse("http://sf.invalid:19080/t").unwrap(),
    )
    .body(Body::Form(vec![(
        "password",
        Field::Secret(Secret::new("pw")),
    )]));
    let Delivery::NotSent {
        error,
        retry: false,
    } = client.send_once(&request).await
    else {
        panic!("refused before sending");
    };
    assert_eq!(error.exit_code(), 2);
    assert!(
        error.to_string().contains("plain http:// to sf.invalid"),
        "{error}"
    );
}

#[test]
fn a_bad_proxy_for_the_endpoint_is_a_usage_error() {
    let proxies = proxy::Proxies::from_lookup(|name| {
        (name == "ALL_PROXY").then(|| "socks5://127.0.0.1:1080".to_string())
    });
    let error = HttpClient::with_proxies(options("https://sf.invalid/"), proxies)
        .err()
        .unwrap();
    assert_eq!(error.exit_code(), 2);
    assert_eq!(
        error.to_string(),
        "ALL_PROXY: socks5://127.0.0.1:1080: only http:// and https:// proxies are supported"
    );
}

#[test]
fn secret_debug_is_redacted() {
    assert_eq!(format!("{:?}", Secret::new("hunter2")), "<redacted>");
}
