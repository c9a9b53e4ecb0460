//! Secrets never show: every platform, success and error paths, at -vv, with --dry-run, --json
//! and -o jsonl, with marker secrets in every place a secret can come from.

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

const MARKERS: &[&str] = &[
    "SFTOKEN-7f3a",
    "CSTOKEN-91bc",
    "AGTOKEN-55de",
    "AGPASS-c0ff",
    "GENTOKEN-e1e1",
];

async fn any_answer(server: &MockServer, at: &str, body: ResponseTemplate) {
    Mock::given(path(at)).respond_with(body).mount(server).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_appears_in_any_output() {
    let home = tempfile::tempdir().unwrap();
    let sf_server = MockServer::start().await;
    any_answer(
        &sf_server,
        "/$/GetUpgradeProgress",
        ResponseTemplate::new(200)
            .set_body_json(json!({"UpgradeState": "RollingForwardInProgress"})),
    )
    .await;
    any_answer(
        &sf_server,
        "/$/RollbackUpgrade",
        ResponseTemplate::new(403)
            .set_body_json(json!({"Error": {"Code": "FABRIC_E_ACCESS_DENIED", "Message": "no"}})),
    )
    .await;

    let cs_server = MockServer::start().await;
    let sub = "0123abcd-0000-4000-8000-0123456789ab";
    let deployment = format!("/{sub}/services/hostedservices/svc/deploymentslots/production");
    any_answer(
        &cs_server,
        &deployment,
        ResponseTemplate::new(200).set_body_raw("<Deployment><Status>Running</Status><UpgradeStatus><UpgradeType>Auto</UpgradeType><CurrentUpgradeDomainState>During</CurrentUpgradeDomainState><CurrentUpgradeDomain>0</CurrentUpgradeDomain></UpgradeStatus><RollbackAllowed>true</RollbackAllowed></Deployment>", "application/xml"),
    )
    .await;
    any_answer(
        &cs_server,
        &format!("{deployment}/"),
        ResponseTemplate::new(409).set_body_raw(
            "<Error><Code>ConflictError</Code><Message>busy</Message></Error>",
            "application/xml",
        ),
    )
    .await;

    let ag_server = MockServer::start().await;
    any_answer(
        &ag_server,
        "/gis/sharing/rest/generateToken",
        ResponseTemplate::new(200)
            .set_body_json(json!({"token": "GENTOKEN-e1e1", "expires": 4_102_444_800_000_i64})),
    )
    .await;
    any_answer(
        &ag_server,
        "/gis/admin/system/upgrades",
        ResponseTemplate::new(200)
            .set_body_json(json!({"status": {"state": "success", "code": 3, "messages": []}})),
    )
    .await;
    any_answer(
        &ag_server,
        "/gis/admin/system/upgrades/checkRollback",
        ResponseTemplate::new(200)
            .set_body_json(json!({"updates": [{"id": "pat_1_2", "build": "2"}]})),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/gis/admin/system/upgrades/rollback"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"error": {"code": 498, "message": "Invalid token."}})),
        )
        .mount(&ag_server)
        .await;

    let (sf_uri, cs_uri, ag_url) = (
        sf_server.uri(),
        cs_server.uri(),
        format!("{}/gis", ag_server.uri()),
    );
    let sf = [
        "sf",
        "--endpoint",
        sf_uri.as_str(),
        "--poll-interval",
        "10ms",
    ];
    let cs = [
        "cloudsvc",
        "--endpoint",
        cs_uri.as_str(),
        "--subscription",
        sub,
        "--service",
        "svc",
        "--slot",
        "production",
    ];
    let commands: Vec<(Vec<&str>, Env)> = vec![
        (
            [&sf[..], &["cluster", "status"]].concat(),
            vec![("ROLLBACK_SF_TOKEN", "SFTOKEN-7f3a")],
        ),
        (
            [&sf[..], &["cluster", "start"]].concat(),
            vec![("ROLLBACK_SF_TOKEN", "SFTOKEN-7f3a")],
        ),
        (
            [
                &sf[..],
                &["--endpoint", "http://sf.invalid", "cluster", "start"],
            ]
            .concat(),
            vec![("ROLLBACK_SF_TOKEN", "SFTOKEN-7f3a")],
        ),
        (
            [&cs[..], &["start", "--force"]].concat(),
            vec![("ROLLBACK_CLOUDSVC_TOKEN", "CSTOKEN-91bc")],
        ),
        (
            [&cs[..], &["status"]].concat(),
            vec![("ROLLBACK_CLOUDSVC_TOKEN", "CSTOKEN-91bc")],
        ),
        (
            vec!["arcgis", "--url", &ag_url, "start", "--to", "previous"],
            vec![("ROLLBACK_ARCGIS_TOKEN", "AGTOKEN-55de")],
        ),
        (
            vec!["arcgis", "--url", &ag_url, "targets"],
            vec![("ROLLBACK_ARCGIS_TOKEN", "AGTOKEN-55de")],
        ),
        (
            vec![
                "arcgis",
                "--url",
                &ag_url,
                "--username",
                "admin",
                "start",
                "--to",
                "previous",
            ],
            vec![("ROLLBACK_ARCGIS_PASSWORD", "AGPASS-c0ff")],
        ),
        (
            vec!["arcgis", "--url", "http://gis.invalid/gis", "status"],
            vec![("ROLLBACK_ARCGIS_TOKEN", "AGTOKEN-55de")],
        ),
    ];
    let modes: [&[&str]; 4] = [
        &["-vv"],
        &["-vv", "--dry-run"],
        &["-vv", "--json"],
        &["-vv", "-o", "jsonl", "--dry-run"],
    ];
    let mut runs = 0;
    for (argv, env) in &commands {
        for mode in modes {
            let mut cmd = rollback();
            cmd.args(argv)
                .args(mode)
                .env("HOME", home.path())
                .env("XDG_CONFIG_HOME", home.path().join("config"));
            for (k, v) in env {
                cmd.env(k, v);
            }
            let run = run(cmd).await;
            runs += 1;
            for marker in MARKERS {
                assert!(
                    !run.stdout.contains(marker),
                    "{argv:?} {mode:?}: {marker} on stdout: {}",
                    run.stdout
                );
                assert!(
                    !run.stderr.contains(marker),
                    "{argv:?} {mode:?}: {marker} on stderr: {}",
                    run.stderr
                );
            }
            assert!(![101, -1].contains(&run.code), "{argv:?} {mode:?}: {run:?}");
        }
    }
    assert_eq!(runs, commands.len() * modes.len());
    // The secrets did reach the servers that needed them.
    let sf_seen = sf_server.received_requests().await.unwrap();
    assert!(
        sf_seen
            .iter()
            .all(|r| r.headers["authorization"] == "Bearer SFTOKEN-7f3a")
    );
    assert!(
        ag_server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .any(|r| String::from_utf8_lossy(&r.body).contains("AGPASS-c0ff"))
    );
    // The tool writes no file.
    let written: Vec<_> = walk(home.path());
    assert!(written.is_empty(), "files written: {written:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|e| {
            if e.path().is_dir() {
                walk(&e.path())
            } else {
                vec![e.path()]
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_file_others_can_read_draws_a_warning() {
    let server = MockServer::start().await;
    any_answer(
        &server,
        "/$/GetUpgradeProgress",
        ResponseTemplate::new(200)
            .set_body_json(json!({"UpgradeState": "RollingForwardCompleted"})),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "FILETOKEN-1234\n").unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.p.sf]\nendpoint = \"{}\"\ntoken_file = \"{}\"\n",
            server.uri(),
            token.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
    let argv = [
        "--config",
        config.to_str().unwrap(),
        "--profile",
        "p",
        "sf",
        "cluster",
        "status",
    ];
    let run = run_args(&argv, &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "warning: {} holds a secret and is readable by group or others: chmod 600 it",
            token.display()
        )),
        "{}",
        run.stderr
    );
    assert_eq!(
        server.received_requests().await.unwrap()[0].headers["authorization"],
        "Bearer FILETOKEN-1234"
    );
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    let run = run_args(&argv, &[]).await;
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    assert!(!run.stderr.contains("FILETOKEN"));
}
