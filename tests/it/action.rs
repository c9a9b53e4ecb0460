//! The GitHub Action's steps (`scripts/action.sh`, which action.yml calls) run here as GitHub
//! runs them: `run` against a mock cluster, its outputs read back from the `GITHUB_OUTPUT` file;
//! `install` from a mock release mirror, checked against its SHA256SUMS.

use std::collections::BTreeMap;

use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{Run, Seq, run};
use crate::scenario::sf::{APP_PROGRESS, APP_ROLLBACK, app, fabric_error};

/// A cluster whose application myapp~app1 answers `progress` in turn, and its rollback `post`.
async fn cluster(progress: Vec<Value>, post: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(APP_PROGRESS))
        .respond_with(Seq::json(progress))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(APP_ROLLBACK))
        .respond_with(post)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/Applications/myapp~app1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"TypeVersion": "1.0.0"})),
        )
        .mount(&server)
        .await;
    server
}

/// Runs the action's step with `inputs`; returns the run and the outputs it wrote.
async fn step(inputs: &[(&str, &str)]) -> (Run, BTreeMap<String, String>) {
    let dir = tempfile::tempdir().unwrap();
    let outputs = dir.path().join("github_output");
    std::fs::write(&outputs, "earlier=kept\n").unwrap();
    let mut cmd = crate::common::rollback();
    cmd.env("GITHUB_OUTPUT", &outputs)
        .env("CI", "true")
        .env("INPUT_BINARY", assert_cmd::cargo_bin!("rollback"));
    for (name, value) in inputs {
        cmd.env(format!("INPUT_{name}"), value);
    }
    // `rollback()` runs the binary: run the script with the same clean environment instead.
    let mut bash = std::process::Command::new("bash");
    bash.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/action.sh"))
        .arg("run")
        .env_clear()
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .stdin(std::process::Stdio::null());
    let run = run(bash).await;
    (
        run,
        parse_outputs(&std::fs::read_to_string(&outputs).unwrap()),
    )
}

/// `name=value` lines and `name<<EOF` … `EOF` blocks, as GitHub reads the file.
fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut outputs = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, eof)) = line.split_once("<<") {
            let value: Vec<&str> = lines.by_ref().take_while(|l| *l != eof).collect();
            outputs.insert(name.to_string(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            outputs.insert(name.to_string(), value.to_string());
        }
    }
    outputs
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollback_sets_the_outputs_and_passes() {
    let server = cluster(
        vec![
            app("RollingForwardInProgress", 1),
            app("RollingBackInProgress", 1),
            app("RollingBackCompleted", 3),
        ],
        ResponseTemplate::new(200),
    )
    .await;
    let args = format!("--endpoint {} --poll-interval 20ms", server.uri());
    let (run, outputs) = step(&[
        ("PLATFORM", "sf-app"),
        ("TARGET", "fabric:/myapp/app1"),
        ("ARGS", &args),
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains("::error"), "{run:?}");
    assert_eq!(outputs["earlier"], "kept", "the file is appended to");
    assert_eq!(outputs["outcome"], "rolled_back");
    assert_eq!(outputs["exit-code"], "0");
    assert!(!outputs["result"].contains('\n'), "one line");
    let result: Value = serde_json::from_str(&outputs["result"]).unwrap();
    assert_eq!(result["outcome"], "rolled_back");
    assert_eq!(result["target"], "myapp~app1");
    assert_eq!(result["to_version"], "1.0.0");
    // Progress went on to the log as it came.
    assert!(
        run.stderr.contains("RollingBackInProgress"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_rollback_fails_the_step_with_the_reason() {
    let server = cluster(
        vec![app("RollingForwardInProgress", 1)],
        fabric_error(403, "FABRIC_E_ACCESS_DENIED", "no admin role"),
    )
    .await;
    // Arguments on several lines, as a YAML block gives them.
    let args = format!("--endpoint\n{}\n--timeout 1m\n", server.uri());
    let (run, outputs) = step(&[
        ("PLATFORM", "sf-app"),
        ("TARGET", "myapp~app1"),
        ("ARGS", &args),
    ])
    .await;
    assert_eq!(run.code, 4, "{run:?}");
    assert_eq!(outputs["outcome"], "error");
    assert_eq!(outputs["exit-code"], "4");
    let result: Value = serde_json::from_str(&outputs["result"]).unwrap();
    assert_eq!(result["error"]["kind"], "auth");
    let message = result["error"]["message"].as_str().unwrap();
    assert!(message.contains("no admin role"), "{message}");
    assert_eq!(
        run.stdout,
        format!("::error title=rollback::{message} (outcome error, exit code 4)\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_to_roll_back_passes_with_if_upgrading() {
    let server = cluster(
        vec![app("RollingForwardCompleted", 3)],
        ResponseTemplate::new(200),
    )
    .await;
    let args = format!("--endpoint {} --if-upgrading", server.uri());
    let (run, outputs) = step(&[
        ("PLATFORM", "sf-app"),
        ("TARGET", "myapp~app1"),
        ("ARGS", &args),
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(outputs["outcome"], "nothing_to_roll_back");
    assert_eq!(outputs["exit-code"], "0");
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "no POST"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_input_fails_before_running_anything() {
    let (run, outputs) = step(&[("PLATFORM", "kubernetes")]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        run.stdout,
        "::error title=rollback::platform: one of sf-app, sf-cluster, cloudsvc, arcgis, not 'kubernetes'\n"
    );
    assert!(!outputs.contains_key("outcome"));
}

/// A release v9.9.9 for Linux x86_64 on a mock mirror: its archive (holding a `rollback` that
/// prints its version), and SHA256SUMS as the release workflow writes it, or `sums` instead.
async fn mirror(dir: &std::path::Path, sums: Option<&str>) -> MockServer {
    let archive = "rollback-v9.9.9-x86_64-unknown-linux-musl.tar.gz";
    let staged = dir.join("staged");
    std::fs::create_dir(&staged).unwrap();
    std::fs::write(staged.join("rollback"), "#!/bin/sh\necho rollback 9.9.9\n").unwrap();
    let shell = |script: &str| {
        let out = std::process::Command::new("sh")
            .args(["-c", script])
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        out.stdout
    };
    shell(&format!(
        "chmod +x staged/rollback && tar -czf {archive} -C staged ."
    ));
    let real = String::from_utf8(shell(&format!("sha256sum {archive}"))).unwrap();
    let server = MockServer::start().await;
    for (file, body) in [
        (
            archive.to_string(),
            std::fs::read(dir.join(archive)).unwrap(),
        ),
        (
            "SHA256SUMS".into(),
            sums.unwrap_or(&real).as_bytes().to_vec(),
        ),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/v9.9.9/{file}")))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(body))
            .mount(&server)
            .await;
    }
    server
}

/// Runs `scripts/action.sh install` of v9.9.9 from `server`; returns the run and GITHUB_PATH.
async fn install(server: &MockServer, temp: &std::path::Path) -> (Run, String) {
    let github_path = temp.join("github_path");
    std::fs::write(&github_path, "").unwrap();
    let mut bash = std::process::Command::new("bash");
    bash.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/action.sh"))
        .arg("install")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env("RUNNER_TEMP", temp)
        .env("GITHUB_PATH", &github_path)
        .env("INPUT_VERSION", "v9.9.9")
        .env("INPUT_RELEASES_URL", server.uri())
        .stdin(std::process::Stdio::null());
    let run = run(bash).await;
    (run, std::fs::read_to_string(&github_path).unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn install_puts_a_checked_release_on_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let server = mirror(dir.path(), None).await;
    let temp = dir.path().join("runner");
    std::fs::create_dir(&temp).unwrap();
    let (run, github_path) = install(&server, &temp).await;
    assert_eq!(run.code, 0, "{run:?}");
    let installed = temp.join("rollback-v9.9.9");
    assert_eq!(github_path, format!("{}\n", installed.display()));
    let version = std::process::Command::new(installed.join("rollback"))
        .output()
        .unwrap();
    assert_eq!(version.stdout, b"rollback 9.9.9\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn install_refuses_an_archive_that_does_not_match_its_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let wrong = format!(
        "{}  rollback-v9.9.9-x86_64-unknown-linux-musl.tar.gz\n",
        "0".repeat(64)
    );
    let server = mirror(dir.path(), Some(&wrong)).await;
    let temp = dir.path().join("runner");
    std::fs::create_dir(&temp).unwrap();
    let (run, github_path) = install(&server, &temp).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(github_path, "", "nothing put on the path");
    assert!(
        run.stdout.ends_with(
            "::error title=rollback::rollback-v9.9.9-x86_64-unknown-linux-musl.tar.gz does not match its SHA-256 in SHA256SUMS: not installed\n"
        ),
        "{run:?}"
    );
    assert!(
        !temp.join("rollback-v9.9.9/rollback").exists(),
        "not unpacked"
    );
}
