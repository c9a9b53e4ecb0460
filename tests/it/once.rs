//! A rollback is sent once. A retried `start`, a `start` right after `--no-wait`, and a
//! request whose fate is unknown never lead to a second rollback; only a request the platform
//! provably did not act on is sent again, after the precondition was read again.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::cloudsvc::{SUB, deployment, slot_path};
use crate::common::*;
use crate::raw::{Action, RawServer};

const UP: &str = "/arcgis/admin/system/upgrades";
const TOKEN_ENV: (&str, &str) = ("ROLLBACK_ARCGIS_TOKEN", "tok-MARKER-1");
const STARTED: (&str, i64, i64) = (
    "Starting the rollback process from 10.9.0.506 to 10.9.0.505.",
    1_700_000_000_000,
    2072,
);
const DONE: (&str, i64, i64) = ("Rollback complete.", 1_700_000_120_000, 2074);

fn job(state: &str, code: i64, messages: &[(&str, i64, i64)]) -> Value {
    let messages: Vec<Value> = messages
        .iter()
        .map(|(m, w, c)| json!({"message": m, "when": w, "code": c}))
        .collect();
    json!({"status": {"state": state, "code": code, "messages": messages}})
}

fn installed() -> Value {
    job(
        "success",
        3,
        &[("Update to 10.9.0.505 complete.", 1_600_000_000_000, 2030)],
    )
}

fn options() -> Value {
    json!({"updates": [
        {"id": "pat_345431_503", "version": "10.9.0", "build": "503", "updateType": "patch"},
        {"id": "pat_345432_505", "version": "10.9.0", "build": "505", "updateType": "patch"},
    ]})
}

async fn mount_post(server: &MockServer, at: &str, seq: Seq) {
    Mock::given(method("POST"))
        .and(path(at))
        .respond_with(seq)
        .mount(server)
        .await;
}

/// An ArcGIS deployment whose upgrades job answers `jobs` in turn.
async fn arcgis(jobs: Vec<Value>) -> MockServer {
    let server = MockServer::start().await;
    mount_post(&server, UP, Seq::json(jobs)).await;
    mount_post(
        &server,
        &format!("{UP}/checkRollback"),
        Seq::json(vec![options()]),
    )
    .await;
    mount_post(
        &server,
        &format!("{UP}/rollback"),
        Seq::json(vec![job("in_progress", 1, &[STARTED])]),
    )
    .await;
    server
}

async fn rollback_posts(server: &MockServer) -> usize {
    requests(server)
        .await
        .iter()
        .filter(|r| {
            r.ends_with("/rollback") || r.contains("RollbackUpgrade") || r.contains("comp=rollback")
        })
        .count()
}

/// `rollback ARGS` on one machine: runs with the same state directory share an audit trail.
async fn on(machine: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut all: Vec<(&str, &str)> = vec![("XDG_STATE_HOME", machine.to_str().unwrap())];
    all.extend_from_slice(env);
    run_args(args, &all).await
}

#[tokio::test(flavor = "multi_thread")]
async fn arcgis_start_repeated_after_a_completed_rollback_sends_nothing() {
    let server = arcgis(vec![
        installed(),
        job("in_progress", 1, &[STARTED]),
        job("success", 3, &[STARTED, DONE]),
    ])
    .await;
    let url = format!("{}/arcgis", server.uri());
    let start = [
        "arcgis",
        "--url",
        &url,
        "--poll-interval",
        "20ms",
        "start",
        "--to",
        "previous",
        "--yes",
    ];
    let machine = tempfile::tempdir().unwrap();
    let first = on(machine.path(), &start, &[TOKEN_ENV]).await;
    assert_eq!(first.code, 0, "{first:?}");
    assert_eq!(rollback_posts(&server).await, 1);

    // A CI step retried, on another runner (no audit trail in common): the job itself says the
    // last thing that happened was a rollback, and `previous` would now remove another patch.
    let elsewhere = tempfile::tempdir().unwrap();
    let again = on(elsewhere.path(), &start, &[TOKEN_ENV]).await;
    assert_eq!(again.code, 3, "{again:?}");
    assert_eq!(
        normalize(&again.stderr, "SERVER"),
        format!(
            "job success (code 3): Rollback complete.\nerror: nothing to roll back for {url}: the last job already rolled back a patch (Starting the rollback process from 10.9.0.506 to 10.9.0.505. at 2023-11-14T22:13:20Z); to roll back a further patch, name it with --to ID (see `rollback arcgis targets`)\n"
        )
    );
    let mut if_upgrading = start.to_vec();
    if_upgrading.extend(["--if-upgrading", "--json"]);
    let quiet = on(machine.path(), &if_upgrading, &[TOKEN_ENV]).await;
    assert_eq!(quiet.code, 0, "{quiet:?}");
    assert_eq!(quiet.json()["outcome"], "nothing_to_roll_back");
    assert_eq!(rollback_posts(&server).await, 1, "nothing more was sent");

    // Naming the further patch is how to remove it.
    let further = on(
        elsewhere.path(),
        &[
            "arcgis",
            "--url",
            &url,
            "start",
            "--to",
            "pat_345431_503",
            "--yes",
            "--no-wait",
        ],
        &[TOKEN_ENV],
    )
    .await;
    assert_eq!(further.code, 0, "{further:?}");
    assert_eq!(rollback_posts(&server).await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn arcgis_start_right_after_no_wait_attaches_instead_of_posting_again() {
    // The job of the accepted rollback shows only after a few reads.
    let server = arcgis(vec![
        installed(),
        installed(),
        installed(),
        job("in_progress", 1, &[STARTED]),
        job("success", 3, &[STARTED, DONE]),
    ])
    .await;
    let url = format!("{}/arcgis", server.uri());
    let machine = tempfile::tempdir().unwrap();
    let base = [
        "arcgis",
        "--url",
        &url,
        "--poll-interval",
        "20ms",
        "start",
        "--to",
        "previous",
        "--yes",
    ];
    let mut no_wait = base.to_vec();
    no_wait.push("--no-wait");
    let first = on(machine.path(), &no_wait, &[TOKEN_ENV]).await;
    assert_eq!(first.code, 0, "{first:?}");

    let mut json = base.to_vec();
    json.push("--json");
    let second = on(machine.path(), &json, &[TOKEN_ENV]).await;
    assert_eq!(second.code, 0, "{second:?}");
    assert_eq!(rollback_posts(&server).await, 1, "one rollback in all");
    let doc = second.json();
    assert_eq!(doc["outcome"], "rolled_back");
    assert_eq!(doc["requests"], json!([]), "the second run sent nothing");
    let note = regex::Regex::new(
        r"A rollback of \S+ was sent from this machine \d+s ago \(accepted; audit log \S+audit\.jsonl\): looking for it instead of sending another\.",
    )
    .unwrap();
    assert!(note.is_match(&second.stderr), "{}", second.stderr);

    // Without the trail the same second run would have sent another: the trail is what stops it.
    let forgetful = arcgis(vec![installed()]).await;
    let url = format!("{}/arcgis", forgetful.uri());
    let args = [
        "arcgis",
        "--url",
        &url,
        "start",
        "--to",
        "previous",
        "--yes",
        "--no-wait",
        "--no-audit",
    ];
    assert_eq!(on(machine.path(), &args, &[TOKEN_ENV]).await.code, 0);
    assert_eq!(on(machine.path(), &args, &[TOKEN_ENV]).await.code, 0);
    assert_eq!(rollback_posts(&forgetful).await, 2);
}

fn xml(body: String) -> Action {
    Action::Respond(
        200,
        vec![("Content-Type".into(), "application/xml".into())],
        body,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn cloudsvc_reset_after_the_post_attaches_to_the_rollback_that_runs() {
    let slot = slot_path();
    let post = format!("{slot}/?comp=rollback");
    let server = RawServer::routes(vec![
        (
            slot.as_str(),
            vec![
                xml(deployment(Some(("Auto", "During", 1)), true)),
                // After the reset: the update no longer allows a rollback: ours runs.
                xml(deployment(Some(("Auto", "During", 1)), false)),
                xml(deployment(None, false)),
            ],
        ),
        (post.as_str(), vec![Action::Reset]),
    ])
    .await;
    let run = run_args(
        &[
            "cloudsvc",
            "--endpoint",
            &server.uri,
            "--subscription",
            SUB,
            "--service",
            "mysvc",
            "--slot",
            "production",
            "--poll-interval",
            "20ms",
            "start",
            "--yes",
            "--json",
        ],
        &[("ROLLBACK_CLOUDSVC_TOKEN", "aad-MARKER-token")],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let lines: Vec<String> = server.seen().iter().map(|s| s.line.clone()).collect();
    assert_eq!(
        lines,
        [
            format!("GET {slot} HTTP/1.1"),
            format!("POST {post} HTTP/1.1"),
            format!("GET {slot} HTTP/1.1"),
            format!("GET {slot} HTTP/1.1"),
        ]
    );
    assert_eq!(run.json()["outcome"], "rolled_back");
    assert!(
        run.stderr
            .contains("reading the state again instead of sending the request twice"),
        "{}",
        run.stderr
    );
}

const PROGRESS: &str = "/Applications/myapp~app1/$/GetUpgradeProgress";
const ROLLBACK: &str = "/Applications/myapp~app1/$/RollbackUpgrade";

fn app(state: &str) -> Value {
    json!({"Name": "fabric:/myapp/app1", "TargetApplicationTypeVersion": "2.0.0", "UpgradeState": state})
}

async fn sf_app(states: &[&str], rollback: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(PROGRESS))
        .respond_with(Seq::json(states.iter().map(|s| app(s)).collect()))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(ROLLBACK))
        .respond_with(rollback)
        .mount(&server)
        .await;
    server
}

fn sf_start(uri: &str) -> Vec<String> {
    [
        "sf",
        "--endpoint",
        uri,
        "--poll-interval",
        "20ms",
        "app",
        "start",
        "myapp~app1",
        "--json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

async fn run_owned(argv: Vec<String>) -> Run {
    let mut cmd = rollback();
    cmd.args(argv);
    run(cmd).await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversize_answer_to_the_post_is_ambiguous_and_reread() {
    let server = sf_app(
        &[
            "RollingForwardInProgress",
            "RollingBackInProgress",
            "RollingBackCompleted",
        ],
        ResponseTemplate::new(200).set_body_raw(vec![b' '; 9 * 1024 * 1024], "application/json"),
    )
    .await;
    let run = run_owned(sf_start(&server.uri())).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        requests(&server).await,
        [
            format!("GET {PROGRESS}?api-version=6.0"),
            format!("POST {ROLLBACK}?api-version=6.0"),
            format!("GET {PROGRESS}?api-version=6.0"),
            format!("GET {PROGRESS}?api-version=6.0"),
            "GET /Applications/myapp~app1?api-version=6.0&ExcludeApplicationParameters=true".into(),
        ]
    );
    assert_eq!(run.json()["outcome"], "rolled_back");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_503_rechecks_the_precondition_and_attaches_to_a_rollback_started_meanwhile() {
    let server = sf_app(
        &[
            "RollingForwardInProgress",
            "RollingBackInProgress",
            "RollingBackCompleted",
        ],
        ResponseTemplate::new(503)
            .set_body_json(json!({"Error": {"Code": "FABRIC_E_NOT_READY", "Message": "busy"}})),
    )
    .await;
    let run = run_owned(sf_start(&server.uri())).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        requests(&server).await,
        [
            format!("GET {PROGRESS}?api-version=6.0"),
            format!("POST {ROLLBACK}?api-version=6.0"),
            format!("GET {PROGRESS}?api-version=6.0"),
            format!("GET {PROGRESS}?api-version=6.0"),
            "GET /Applications/myapp~app1?api-version=6.0&ExcludeApplicationParameters=true".into(),
        ],
        "one POST: the second reading showed a rollback running"
    );
    assert!(
        run.stderr
            .contains("A rollback is running now; waiting for it instead of sending another."),
        "{}",
        run.stderr
    );
    assert_eq!(run.json()["outcome"], "rolled_back");
}

/// An HTTPS front before `upstream` that, for a POST, completes the handshake, reads the
/// request, then breaks the TLS stream with a record that cannot be decrypted.
async fn tls_front_breaking_posts(pki: &crate::tls::Pki, upstream: String) -> u16 {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let leaf = pki.leaf(&["localhost"], "localhost");
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![
                leaf.cert.der().clone(),
                CertificateDer::from(pki.ca_cert.der().to_vec()),
            ],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key.serialize_der())),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match tls.read(&mut byte).await {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                if head.starts_with(b"POST") {
                    let mut garbage = vec![0x17, 0x03, 0x03, 0x00, 0x20];
                    garbage.extend([0x41; 32]);
                    let _ = tls.get_mut().0.write_all(&garbage).await;
                    let _ = tls.get_mut().0.flush().await;
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    return;
                }
                let Ok(mut plain) = tokio::net::TcpStream::connect(&upstream).await else {
                    return;
                };
                let _ = plain.write_all(&head).await;
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tls_stream_broken_after_the_post_is_ambiguous_and_reread() {
    let upstream = RawServer::routes(vec![(
        PROGRESS,
        vec![
            crate::raw::json(200, app("RollingForwardInProgress")),
            crate::raw::json(200, app("RollingBackInProgress")),
            crate::raw::json(200, app("RollingBackCompleted")),
        ],
    )])
    .await;
    let pki = crate::tls::Pki::new("break");
    let port =
        tls_front_breaking_posts(&pki, upstream.uri.trim_start_matches("http://").into()).await;
    let endpoint = format!("https://localhost:{port}");
    let ca = pki.ca_pem();
    let mut argv = sf_start(&endpoint);
    argv.extend(["--ca".into(), ca.to_str().unwrap().into()]);
    let run = run_owned(argv).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains(&format!("the TLS connection to localhost:{port} broke: "))
            && run
                .stderr
                .contains("reading the state again instead of sending the request twice"),
        "{}",
        run.stderr
    );
    assert_eq!(run.json()["outcome"], "rolled_back");
    let reads = upstream
        .seen()
        .iter()
        .filter(|s| s.line.starts_with(&format!("GET {PROGRESS}")))
        .count();
    assert_eq!(reads, 3, "the state was read again after the break");
}
