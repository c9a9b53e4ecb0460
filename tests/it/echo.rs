//! Servers that echo the request back (in error messages, status documents and job messages):
//! no credential the tool holds — a bearer token, the ArcGIS password, a token generated at run
//! time — is printed, in any output mode. And a secret pasted where a variable *name* belongs
//! is refused without being quoted.

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::common::*;

const SF_TOKEN: &str = "SFTOKEN-echo-7f3a";
const AG_TOKEN: &str = "AGTOKEN-echo-55de";
const PASSWORD: &str = "p@ss w0rd&x=1";
const GENERATED: &str = "GEN.TOKEN-e1e1_x";

/// Every form in which a secret could leak: as is, and as a form or URL carries it.
const LEAKS: &[&str] = &[
    SF_TOKEN,
    AG_TOKEN,
    PASSWORD,
    "p%40ss+w0rd%26x%3D1",
    "p%40ss%20w0rd%26x%3D1",
    GENERATED,
    "GEN%2ETOKEN",
];

/// Answers `template` with `{{headers}}` and `{{body}}` replaced by the request's headers and
/// body (JSON-escaped), as a careless server echoes a request into its answer.
struct Echo {
    status: u16,
    template: String,
}

fn echo(status: u16, template: serde_json::Value) -> Echo {
    Echo {
        status,
        template: template.to_string(),
    }
}

fn escaped(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap();
    quoted[1..quoted.len() - 1].to_string()
}

impl Respond for Echo {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let headers: Vec<String> = request
            .headers
            .iter()
            .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap_or("?")))
            .collect();
        let body = String::from_utf8_lossy(&request.body);
        let text = self
            .template
            .replace("{{headers}}", &escaped(&headers.join("; ")))
            .replace("{{body}}", &escaped(&body));
        ResponseTemplate::new(self.status).set_body_raw(text, "application/json")
    }
}

const MODES: [&[&str]; 4] = [&[], &["-vv"], &["--json", "-vv"], &["-o", "jsonl", "-vv"]];

/// Runs `argv` in every output mode; no leak anywhere, and the echo did reach the output
/// (redacted) in text mode.
async fn assert_no_leak(argv: &[&str], env: &[(&str, &str)], code: i32) {
    for mode in MODES {
        let mut all = argv.to_vec();
        all.extend_from_slice(mode);
        let run = run_args(&all, env).await;
        assert_eq!(run.code, code, "{all:?}: {run:?}");
        for leak in LEAKS {
            assert!(
                !run.stdout.contains(leak),
                "{all:?}: {leak} on stdout: {}",
                run.stdout
            );
            assert!(
                !run.stderr.contains(leak),
                "{all:?}: {leak} on stderr: {}",
                run.stderr
            );
        }
        if mode.is_empty() {
            assert!(
                run.stderr.contains("<redacted>"),
                "{all:?}: the echo was shown, redacted: {}",
                run.stderr
            );
        }
        if mode.contains(&"--json") {
            assert!(run.stdout.contains("<redacted>"), "{all:?}: {}", run.stdout);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_echoed_bearer_token_is_never_printed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/$/GetUpgradeProgress"))
        .respond_with(echo(
            200,
            json!({
                "UpgradeState": "RollingForwardInProgress",
                "UpgradeDescription": {"CodeVersion": "7.1.0 {{headers}}"},
                "CurrentUpgradeDomainProgress": {"DomainName": "{{headers}}"},
                "Echo": {"request": "{{headers}}"},
            }),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/$/RollbackUpgrade"))
        .respond_with(echo(
            400,
            json!({"Error": {"Code": "E_INVALIDARG", "Message": "bad request {{headers}}"}}),
        ))
        .mount(&server)
        .await;
    let uri = server.uri();
    assert_no_leak(
        &["sf", "--endpoint", &uri, "cluster", "start"],
        &[("ROLLBACK_SF_TOKEN", SF_TOKEN)],
        1,
    )
    .await;
    // The token did travel, and was echoed.
    let seen = server.received_requests().await.unwrap();
    assert!(
        seen.iter()
            .all(|r| r.headers["authorization"] == format!("Bearer {SF_TOKEN}"))
    );
}

const UP: &str = "/arcgis/admin/system/upgrades";

async fn arcgis_echo_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/arcgis/sharing/rest/generateToken"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"token": GENERATED, "expires": 4_102_444_800_000_i64})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(UP))
        .respond_with(echo(
            200,
            json!({"status": {"state": "success", "code": 3, "messages": [
                {"message": "echo {{body}} {{headers}}", "when": 1_600_000_000_000_i64, "code": 2030},
            ]}}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{UP}/checkRollback")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"updates": [
            {"id": "pat_1_503", "version": "10.9.0", "build": "503", "updateType": "patch"},
        ]})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{UP}/rollback")))
        .respond_with(echo(
            200,
            json!({"error": {"code": 400, "message": "rejected {{body}} {{headers}}", "details": ["{{body}}"]}}),
        ))
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn an_echoed_arcgis_password_and_generated_token_are_never_printed() {
    let server = arcgis_echo_server().await;
    let url = format!("{}/arcgis", server.uri());
    assert_no_leak(
        &[
            "arcgis",
            "--url",
            &url,
            "--username",
            "admin",
            "start",
            "--to",
            "previous",
        ],
        &[("ROLLBACK_ARCGIS_PASSWORD", PASSWORD)],
        1,
    )
    .await;
    let seen = server.received_requests().await.unwrap();
    let token_form = format!("token={GENERATED}");
    assert!(
        seen.iter()
            .any(|r| String::from_utf8_lossy(&r.body).contains(&token_form)),
        "the generated token was sent, and so echoed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_echoed_arcgis_token_is_never_printed() {
    let server = arcgis_echo_server().await;
    let url = format!("{}/arcgis", server.uri());
    assert_no_leak(
        &["arcgis", "--url", &url, "start", "--to", "previous"],
        &[("ROLLBACK_ARCGIS_TOKEN", AG_TOKEN)],
        1,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_echoed_by_a_refusing_token_service_is_never_printed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/arcgis/sharing/rest/generateToken"))
        .respond_with(echo(
            200,
            json!({"error": {"code": 400, "message": "Unable to generate token for {{body}}", "details": ["{{body}}"]}}),
        ))
        .mount(&server)
        .await;
    let url = format!("{}/arcgis", server.uri());
    assert_no_leak(
        &["arcgis", "--url", &url, "--username", "admin", "status"],
        &[("ROLLBACK_ARCGIS_PASSWORD", PASSWORD)],
        4,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_given_as_a_variable_name_is_refused_without_quoting_it() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.sf.sf]\nendpoint = \"{uri}\"\ntoken_env = \"{PASSWORD}\"\n\
             [profiles.ag.arcgis]\nurl = \"{uri}/arcgis\"\nusername = \"admin\"\npassword_env = \"{PASSWORD}\"\n\
             [profiles.cert.sf]\nendpoint = \"{uri}\"\ncert = \"/nonexistent.pfx\"\ncert_password_env = \"{PASSWORD}\"\n"
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "sf",
                "--endpoint",
                &uri,
                "--cert",
                "/nonexistent.pfx",
                "--cert-password-env",
                PASSWORD,
                "cluster",
                "status",
            ],
            "--cert-password-env",
        ),
        (
            vec![
                "--config",
                config,
                "--profile",
                "sf",
                "sf",
                "cluster",
                "status",
            ],
            "profile setting sf.token_env",
        ),
        (
            vec!["--config", config, "--profile", "ag", "arcgis", "status"],
            "profile setting arcgis.password_env",
        ),
        (
            vec![
                "--config",
                config,
                "--profile",
                "cert",
                "sf",
                "cluster",
                "status",
            ],
            "--cert-password-env",
        ),
    ];
    for (argv, option) in cases {
        for json in [false, true] {
            let mut all = argv.clone();
            if json {
                all.push("--json");
            }
            let run = run_args(&all, &[]).await;
            assert_eq!(run.code, 2, "{all:?}: {run:?}");
            assert!(
                run.stderr.starts_with(&format!(
                    "error: {option} takes the name of an environment variable"
                )),
                "{all:?}: {}",
                run.stderr
            );
            for leak in ["p@ss", "w0rd"] {
                assert!(!run.stderr.contains(leak), "{all:?}: {}", run.stderr);
                assert!(!run.stdout.contains(leak), "{all:?}: {}", run.stdout);
            }
        }
    }
    assert!(requests(&server).await.is_empty(), "nothing was sent");
}
