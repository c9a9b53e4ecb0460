//! Profiles, environment and flags: precedence and bad config files.

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

async fn cluster_server() -> MockServer {
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

    // Profile only.
    let run = run_args(
        &[
            "--config",
            cfg,
            "--profile",
            "prod",
            "sf",
            "cluster",
            "status",
        ],
        &[token],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        requests(&a).await,
        ["GET /$/GetUpgradeProgress?api-version=6.0&timeout=30"]
    );
    let seen = &a.received_requests().await.unwrap()[0];
    assert_eq!(seen.headers["authorization"], "Bearer prod-token");

    // The environment beats the profile.
    let run = run_args(
        &["--config", cfg, "sf", "cluster", "status"],
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
        requests(&b).await,
        ["GET /$/GetUpgradeProgress?api-version=6.0&timeout=40"]
    );

    // The flag beats the environment.
    let run = run_args(
        &[
            "--config",
            cfg,
            "--profile",
            "prod",
            "sf",
            "cluster",
            "status",
            "--endpoint",
            &c.uri(),
            "--server-timeout",
            "50",
        ],
        &[token, ("ROLLBACK_SF_ENDPOINT", &b.uri())],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        requests(&c).await,
        ["GET /$/GetUpgradeProgress?api-version=6.0&timeout=50"]
    );
    assert_eq!(requests(&b).await.len(), 1);

    // Without --profile the `default` profile applies.
    let run = run_args(&["--config", cfg, "sf", "cluster", "status"], &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(requests(&c).await.len(), 2);
    assert_eq!(requests(&a).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn default_location_is_xdg_config_home() {
    let server = cluster_server().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rollback")).unwrap();
    std::fs::write(
        dir.path().join("rollback/config.toml"),
        format!("[profiles.lab.sf]\nendpoint = \"{}\"\n", server.uri()),
    )
    .unwrap();
    let run = run_args(
        &["--profile", "lab", "sf", "cluster", "status"],
        &[("XDG_CONFIG_HOME", dir.path().to_str().unwrap())],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_config_files_exit_2_and_send_nothing() {
    let server = cluster_server().await;
    let uri = server.uri();
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
            &format!("[profiles.p.sf]\nendpoint = \"{uri}\"\n") as &str,
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
    for (text, profile, needle) in cases {
        let config = config_file(text);
        let run = run_args(
            &[
                "--config",
                config.path().to_str().unwrap(),
                "--profile",
                profile,
                "sf",
                "--endpoint",
                &uri,
                "cluster",
                "status",
            ],
            &[],
        )
        .await;
        assert_eq!(run.code, 2, "{text}: {run:?}");
        assert!(run.stderr.contains(needle), "{text}: {}", run.stderr);
        assert!(!run.stderr.contains("MARKER"));
    }
    let run = run_args(
        &[
            "--config",
            "/nonexistent/rollback.toml",
            "sf",
            "cluster",
            "status",
        ],
        &[],
    )
    .await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .starts_with("error: cannot read config file /nonexistent/rollback.toml"),
        "{}",
        run.stderr
    );
    assert!(requests(&server).await.is_empty());
}
