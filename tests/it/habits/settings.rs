//! Flags over the environment for the output format; `-v` says where settings came from; `-q`
//! keeps the `--insecure` warning; a broken config file names its line.

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

async fn cluster() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/$/GetUpgradeProgress"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"UpgradeState": "RollingForwardCompleted"})),
        )
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn json_flag_over_json_environment_is_no_conflict_and_flags_win() {
    let server = cluster().await;
    let status = ["sf", "--endpoint", &server.uri(), "cluster", "status"];
    let env = [("ROLLBACK_OUTPUT", "json")];
    let both = run_args(&[&["--json"][..], &status].concat(), &env).await;
    assert_eq!(both.code, 0, "{both:?}");
    assert_eq!(both.json()["outcome"], "status");
    let text = run_args(&[&["-o", "text"][..], &status].concat(), &env).await;
    assert_eq!(text.code, 0, "{text:?}");
    assert!(text.stdout.starts_with("target:   "), "{text:?}");
    let jsonl = run_args(
        &[&["--json"][..], &status].concat(),
        &[("ROLLBACK_OUTPUT", "jsonl")],
    )
    .await;
    assert_eq!(jsonl.code, 0, "{jsonl:?}");
    assert_eq!(jsonl.json()["outcome"], "status");
    // Two flags that disagree are still a usage error.
    let clash = run_args(&[&["--json", "-o", "text"][..], &status].concat(), &[]).await;
    assert_eq!(clash.code, 2, "{clash:?}");
    assert!(
        clash.stderr.contains("'--json' cannot be used with"),
        "{clash:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn verbose_names_the_config_file_and_profile() {
    let server = cluster().await;
    let status = ["sf", "--endpoint", &server.uri(), "cluster", "status"];
    let home = std::env::temp_dir().join("rollback-it-home");
    let none = run_args(&[&["-v"][..], &status].concat(), &[]).await;
    assert_eq!(none.code, 0, "{none:?}");
    let expected = format!(
        "INFO settings: no config file ({} does not exist), no profile\n",
        home.join("config/rollback/config.toml").display()
    );
    assert!(none.stderr.contains(&expected), "{none:?}");

    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), "[profiles.prod]\ntimeout = \"1m\"\n").unwrap();
    let cfg = file.path().to_str().unwrap();
    let named = run_args(
        &[&["-v", "--config", cfg, "--profile", "prod"][..], &status].concat(),
        &[],
    )
    .await;
    assert_eq!(named.code, 0, "{named:?}");
    assert!(
        named.stderr.contains(&format!(
            "INFO settings: config file {cfg}, profile \"prod\"\n"
        )),
        "{named:?}"
    );
    let unnamed = run_args(&[&["-v", "--config", cfg][..], &status].concat(), &[]).await;
    assert!(
        unnamed.stderr.contains(&format!(
            "INFO settings: config file {cfg}, no profile (none asked for, no [profiles.default])\n"
        )),
        "{unnamed:?}"
    );
    // Without -v, nothing about it.
    let quiet = run_args(&status, &[]).await;
    assert!(!quiet.stderr.contains("settings:"), "{quiet:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn quiet_never_hides_the_insecure_warning() {
    let server = cluster().await;
    let run = run_args(
        &[
            "-q",
            "sf",
            "--insecure",
            "--endpoint",
            &server.uri(),
            "cluster",
            "status",
        ],
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        normalize(&run.stderr, &server.uri()),
        "warning: --insecure: the server's TLS certificate is not verified\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_toml_error_names_its_line_and_column() {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        "[profiles.prod]\ntimeout = \"1m\"\npoll_interval = 5s\n",
    )
    .unwrap();
    let cfg = file.path().to_str().unwrap();
    let run = run_args(&["--config", cfg, "sf", "cluster", "status"], &[]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .starts_with(&format!("error: config file {cfg}: line 3, column 17: ")),
        "{run:?}"
    );
}
