//! Profiles, environment and flags: precedence and bad config files.

use crate::common::*;
use crate::scenario::Scenario;

const NOTHING: [&str; 0] = [];

/// A server that answers every request as a cluster with nothing to roll back.
async fn cluster_server() -> Scenario {
    Scenario::catch_all().serving().await
}

fn config_file(text: &str) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), text).unwrap();
    file
}

#[tokio::test(flavor = "multi_thread")]
async fn flag_beats_environment_beats_profile_beats_default() {
    let (a, b, c) = (
        cluster_server().await,
        cluster_server().await,
        cluster_server().await,
    );
    let config = config_file(&format!(
        "[profiles.prod.sf]\nendpoint = \"{}\"\nserver_timeout = 30\ntoken_env = \"PROD_TOKEN\"\n\n[profiles.default.sf]\nendpoint = \"{}\"\n",
        a.uri(),
        c.uri()
    ));
    let cfg = config.path().to_str().unwrap();
    let token = ("PROD_TOKEN", "prod-token");

    let status = ["--config", cfg, "sf", "cluster", "status"];
    let prod = [&["--profile", "prod"][..], &status].concat();

    // Profile only.
    let run = run_args(&prod, &[token]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        a.requests_so_far().await,
        ["GET /$/GetUpgradeProgress?api-version=6.0&timeout=30"]
    );
    let seen = &a.received_so_far().await[0];
    assert_eq!(seen.headers["authorization"], "Bearer prod-token");

    // The environment beats the profile.
    let run = run_args(
        &status,
        &[
            token,
            ("ROLLBACK_PROFILE", "prod"),
            ("ROLLBACK_SF_ENDPOINT", &b.uri()),
            ("ROLLBACK_SF_SERVER_TIMEOUT", "40"),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        b.requests_so_far().await,
        ["GET /$/GetUpgradeProgress?api-version=6.0&timeout=40"]
    );

    // The flag beats the environment.
    let c_uri = c.uri();
    let run = run_args(
        &[&prod[..], &["--endpoint", &c_uri, "--server-timeout", "50"]].concat(),
        &[token, ("ROLLBACK_SF_ENDPOINT", &b.uri())],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        c.requests_so_far().await,
        ["GET /$/GetUpgradeProgress?api-version=6.0&timeout=50"]
    );
    assert_eq!(b.requests_so_far().await.len(), 1);

    // Without --profile the `default` profile applies.
    let run = run_args(&status, &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(c.requests_so_far().await.len(), 2);
    assert_eq!(a.requests_so_far().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn default_location_is_xdg_config_home() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rollback")).unwrap();
    Scenario::catch_all()
        .file(
            &dir.path().join("rollback/config.toml"),
            "[profiles.lab.sf]\nendpoint = \"SERVER\"\n",
        )
        .env("XDG_CONFIG_HOME", dir.path().to_str().unwrap())
        .args(["--profile", "lab", "sf", "cluster", "status"])
        .run()
        .await
        .code(0)
        .requests(["GET /$/GetUpgradeProgress?api-version=6.0"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_config_files_exit_2_and_send_nothing() {
    let cases = [
        ("[profiles.p.sf\nendpoint = 1\n", "p", "config file"),
        (
            "[profiles.p.sf]\nendpont = \"http://x\"\n",
            "p",
            "unknown field `endpont`",
        ),
        (
            "[profiles.p.sf]\ntoken = \"inline-MARKER\"\n",
            "p",
            "profiles.p.sf.token: secrets are not read from the config file",
        ),
        (
            "[profiles.p.sf]\nendpoint = \"SERVER\"\n",
            "nope",
            "has no profile \"nope\"",
        ),
        (
            "[profiles.p.sf]\nserver_timeout = 0\n",
            "p",
            "sf.server_timeout = 0",
        ),
        (
            "[profiles.p]\ntimeout = \"forever\"\n",
            "p",
            "profile setting timeout = \"forever\"",
        ),
        (
            "[profiles.p.sf]\ntoken_env = \"UNSET_TOKEN_VAR\"\n",
            "p",
            "sf.token_env names UNSET_TOKEN_VAR, which is not set",
        ),
    ];
    let config = tempfile::NamedTempFile::new().unwrap();
    let cfg = config.path().to_str().unwrap();
    for (text, profile, needle) in cases {
        Scenario::catch_all()
            .file(config.path(), text)
            .args(["--config", cfg, "--profile", profile])
            .args(["sf", "--endpoint", "SERVER", "cluster", "status"])
            .run()
            .await
            .usage_error(needle)
            .requests(NOTHING);
    }
    Scenario::catch_all()
        .args(["--config", "/nonexistent/rollback.toml"])
        .args(["sf", "--endpoint", "SERVER", "cluster", "status"])
        .run()
        .await
        .code(2)
        .stderr_starts_with("error: cannot read config file /nonexistent/rollback.toml")
        .requests(NOTHING);
}
