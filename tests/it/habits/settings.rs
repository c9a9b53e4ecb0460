//! Flags over the environment for the output format; `-v` says where settings came from; `-q`
//! keeps the `--insecure` warning; a broken config file names its line.

use crate::common::*;
use crate::scenario::Scenario;

/// `FLAGS sf --endpoint SERVER cluster status` on a cluster with nothing to roll back.
fn status(flags: &[&str]) -> Scenario {
    Scenario::catch_all()
        .args(flags)
        .args(["sf", "--endpoint", "SERVER", "cluster", "status"])
}

#[tokio::test(flavor = "multi_thread")]
async fn json_flag_over_json_environment_is_no_conflict_and_flags_win() {
    let both = status(&["--json"])
        .env("ROLLBACK_OUTPUT", "json")
        .run()
        .await;
    both.code(0);
    assert_eq!(both.json()["outcome"], "status");
    let text = status(&["-o", "text"])
        .env("ROLLBACK_OUTPUT", "json")
        .run()
        .await;
    text.code(0);
    assert!(text.run.stdout.starts_with("target:   "), "{:?}", text.run);
    let jsonl = status(&["--json"])
        .env("ROLLBACK_OUTPUT", "jsonl")
        .run()
        .await;
    jsonl.code(0);
    assert_eq!(jsonl.json()["outcome"], "status");
    // Two flags that disagree are still a usage error.
    status(&["--json", "-o", "text"])
        .run()
        .await
        .code(2)
        .stderr_contains("'--json' cannot be used with");
}

#[tokio::test(flavor = "multi_thread")]
async fn verbose_names_the_config_file_and_profile() {
    let home = std::env::temp_dir().join("rollback-it-home");
    status(&["-v"])
        .run()
        .await
        .code(0)
        .stderr_contains(&format!(
            "INFO settings: no config file ({} does not exist), no profile\n",
            home.join("config/rollback/config.toml").display()
        ));

    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), "[profiles.prod]\ntimeout = \"1m\"\n").unwrap();
    let cfg = file.path().to_str().unwrap();
    status(&["-v", "--config", cfg, "--profile", "prod"])
        .run()
        .await
        .code(0)
        .stderr_contains(&format!(
            "INFO settings: config file {cfg}, profile \"prod\"\n"
        ));
    status(&["-v", "--config", cfg])
        .run()
        .await
        .stderr_contains(&format!(
            "INFO settings: config file {cfg}, no profile (none asked for, no [profiles.default])\n"
        ));
    // Without -v, nothing about it.
    let quiet = status(&[]).run().await;
    assert!(!quiet.run.stderr.contains("settings:"), "{:?}", quiet.run);
}

#[tokio::test(flavor = "multi_thread")]
async fn quiet_never_hides_the_insecure_warning() {
    Scenario::catch_all()
        .args([
            "-q",
            "sf",
            "--insecure",
            "--endpoint",
            "SERVER",
            "cluster",
            "status",
        ])
        .run()
        .await
        .code(0)
        .stderr_normalized("warning: --insecure: the server's TLS certificate is not verified\n");
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
