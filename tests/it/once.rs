//! A rollback is sent once. A retried `start`, a `start` right after `--no-wait`, and a
//! request whose fate is unknown never lead to a second rollback; only a request the platform
//! provably did not act on is sent again, after the precondition was read again.

use serde_json::{Value, json};
use tempfile::TempDir;
use wiremock::ResponseTemplate;

use crate::raw::{Action, RawServer};
use crate::scenario::arcgis::{DONE, STARTED, installed, job};
use crate::scenario::cloudsvc::{AUTO, BY_SLOT, SLOT, deployment};
use crate::scenario::sf::{
    APP_PROGRESS, APP_ROLLBACK, app, app_rollback_sent, progress_of, reason_of,
};
use crate::scenario::{Outcome, Scenario};

fn rollback_posts(out: &Outcome) -> usize {
    out.requests
        .iter()
        .filter(|r| {
            r.ends_with("/rollback") || r.contains("RollbackUpgrade") || r.contains("comp=rollback")
        })
        .count()
}

/// `arcgis start --to previous --yes EXTRA` on `machine`: runs on one machine share its
/// state directory, and so its audit trail.
async fn start_on(scenario: Scenario, machine: &TempDir, extra: &[&str]) -> Outcome {
    scenario
        .env("XDG_STATE_HOME", machine.path().to_str().unwrap())
        .args(["start", "--to", "previous", "--yes"])
        .args(extra)
        .run()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn arcgis_start_repeated_after_a_completed_rollback_sends_nothing() {
    let (machine, elsewhere) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let patched = Scenario::arcgis([
        installed(),
        job("in_progress", 1, &[STARTED]),
        job("success", 3, &[STARTED, DONE]),
    ]);
    let first = start_on(patched, &machine, &[]).await;
    first.code(0);
    assert_eq!(rollback_posts(&first), 1);

    // A CI step retried, on another runner (no audit trail in common): the job itself says the
    // last thing that happened was a rollback, and `previous` would now remove another patch.
    let again = start_on(first.again(), &elsewhere, &[]).await;
    again.code(3).stderr_normalized(
        "job success (code 3): Rollback complete.\nerror: nothing to roll back for SERVER/arcgis: the last job already rolled back a patch (Starting the rollback process from 10.9.0.506 to 10.9.0.505. at 2023-11-14T22:13:20Z); to roll back a further patch, name it with --to ID (see `rollback arcgis targets`)\n",
    );
    let quiet = start_on(again.again(), &machine, &["--if-upgrading", "--json"]).await;
    quiet.doc(json!({
        "action": "start", "outcome": "nothing_to_roll_back", "phase": "rolled_back",
        "platform_state": "success", "detail": job("success", 3, &[STARTED, DONE]),
    }));
    assert_eq!(rollback_posts(&quiet), 1, "nothing more was sent");

    // Naming the further patch is how to remove it.
    let further = quiet
        .again()
        .env("XDG_STATE_HOME", elsewhere.path().to_str().unwrap())
        .args(["start", "--to", "pat_345431_503", "--yes", "--no-wait"])
        .run()
        .await;
    further.code(0);
    assert_eq!(rollback_posts(&further), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn arcgis_start_right_after_no_wait_attaches_instead_of_posting_again() {
    let machine = TempDir::new().unwrap();
    // The job of the accepted rollback shows only after a few reads.
    let patched = Scenario::arcgis([
        installed(),
        installed(),
        installed(),
        job("in_progress", 1, &[STARTED]),
        job("success", 3, &[STARTED, DONE]),
    ]);
    let first = start_on(patched, &machine, &["--no-wait"]).await;
    first.code(0);

    let second = start_on(first.again(), &machine, &["--json"]).await;
    // The second run sent nothing: no requests in its document.
    second.doc(json!({
        "action": "start", "outcome": "rolled_back", "phase": "rolled_back",
        "platform_state": "success", "detail": job("success", 3, &[STARTED, DONE]),
    }));
    assert_eq!(rollback_posts(&second), 1, "one rollback in all");
    let note = regex::Regex::new(
        r"A rollback of \S+ was sent from this machine \d+m?s ago \(accepted; audit log \S+audit\.jsonl\): looking for it instead of sending another\.",
    )
    .unwrap();
    assert!(note.is_match(&second.run.stderr), "{}", second.run.stderr);

    // Without the trail the same second run would have sent another: the trail is what stops it.
    let forgetful = ["--no-wait", "--no-audit"];
    let first = start_on(Scenario::arcgis(installed()), &machine, &forgetful).await;
    first.code(0);
    let second = start_on(first.again(), &machine, &forgetful).await;
    second.code(0);
    assert_eq!(rollback_posts(&second), 2);
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
    let post = format!("{SLOT}/?comp=rollback");
    let server = RawServer::routes(vec![
        (
            SLOT,
            vec![
                xml(deployment(AUTO, true)),
                // After the reset: the update no longer allows a rollback: ours runs.
                xml(deployment(AUTO, false)),
                xml(deployment(None, false)),
            ],
        ),
        (post.as_str(), vec![Action::Reset]),
    ])
    .await;
    let out = Scenario::cloudsvc_cli()
        .at(&server.uri)
        .args(BY_SLOT.args)
        .args(["start", "--yes", "--json"])
        .run()
        .await;
    out.code(0)
        .stderr_contains("reading the state again instead of sending the request twice");
    let lines: Vec<String> = server.seen().iter().map(|s| s.line.clone()).collect();
    assert_eq!(
        lines,
        [
            format!("GET {SLOT} HTTP/1.1"),
            format!("POST {post} HTTP/1.1"),
            format!("GET {SLOT} HTTP/1.1"),
            format!("GET {SLOT} HTTP/1.1"),
        ]
    );
    assert_eq!(out.json()["outcome"], "rolled_back");
}

/// The three reads of an application that rolls back, after a rollback POST answered `post`.
fn rolls_back(post: ResponseTemplate) -> Scenario {
    Scenario::sf_app_start(
        [
            app("RollingForwardInProgress", 1),
            app("RollingBackInProgress", 1),
            app("RollingBackCompleted", 3),
        ],
        post,
    )
}

/// The document of a `rolls_back` run.
fn rolled_back() -> Value {
    json!({
        "action": "start", "outcome": "rolled_back", "phase": "rolled_back",
        "platform_state": "RollingBackCompleted", "from_version": "2.0.0",
        "requests": app_rollback_sent(), "reason": reason_of("RollingBackCompleted"), "progress": progress_of("RollingBackCompleted", 3), "detail": app("RollingBackCompleted", 3),
    })
}

/// The requests of an app rollback whose POST was followed by two reads.
fn one_post_two_reads() -> [String; 5] {
    [
        format!("GET {APP_PROGRESS}?api-version=6.0"),
        format!("POST {APP_ROLLBACK}?api-version=6.0"),
        format!("GET {APP_PROGRESS}?api-version=6.0"),
        format!("GET {APP_PROGRESS}?api-version=6.0"),
        "GET /Applications/myapp~app1?api-version=6.0&ExcludeApplicationParameters=true".into(),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversize_answer_to_the_post_is_ambiguous_and_reread() {
    let out = rolls_back(
        ResponseTemplate::new(200).set_body_raw(vec![b' '; 9 * 1024 * 1024], "application/json"),
    )
    .run()
    .await;
    out.requests(one_post_two_reads()).doc(rolled_back());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_503_rechecks_the_precondition_and_attaches_to_a_rollback_started_meanwhile() {
    let out = rolls_back(
        ResponseTemplate::new(503)
            .set_body_json(json!({"Error": {"Code": "FABRIC_E_NOT_READY", "Message": "busy"}})),
    )
    .run()
    .await;
    // One POST: the second reading showed a rollback running.
    out.code(0)
        .requests(one_post_two_reads())
        .stderr_contains("A rollback is running now; waiting for it instead of sending another.")
        .doc(rolled_back());
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
        APP_PROGRESS,
        vec![
            crate::raw::json(200, app("RollingForwardInProgress", 1)),
            crate::raw::json(200, app("RollingBackInProgress", 1)),
            crate::raw::json(200, app("RollingBackCompleted", 3)),
        ],
    )])
    .await;
    let pki = crate::tls::Pki::new("break");
    let port =
        tls_front_breaking_posts(&pki, upstream.uri.trim_start_matches("http://").into()).await;
    let ca = pki.ca_pem();
    let out = Scenario::sf()
        .at(&format!("https://localhost:{port}"))
        .args([
            "app",
            "start",
            "myapp~app1",
            "--json",
            "--ca",
            ca.to_str().unwrap(),
        ])
        .run()
        .await;
    out.code(0)
        .stderr_contains(&format!("the TLS connection to localhost:{port} broke: "))
        .stderr_contains("reading the state again instead of sending the request twice");
    assert_eq!(out.json()["outcome"], "rolled_back");
    let reads = upstream
        .seen()
        .iter()
        .filter(|s| s.line.starts_with(&format!("GET {APP_PROGRESS}")))
        .count();
    assert_eq!(reads, 3, "the state was read again after the break");
}
