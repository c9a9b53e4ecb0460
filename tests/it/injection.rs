//! Terminal injection: a server whose states, versions, error and job messages and names carry
//! escape sequences (clear screen, OSC 52 clipboard write), carriage returns, C1 controls,
//! BiDi overrides and newlines. Human-readable output shows them as visible escapes, the
//! `--json` result keeps them exact.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

/// Clears the screen, writes the clipboard (OSC 52), returns to the start of the line, sets
/// red through a one-character CSI (C1 U+009B), reverses the text's direction, and fakes a
/// line of its own.
pub const EVIL: &str =
    "v2\x1b[2J\x1b]52;c;cHduZWQ=\x07\rOK\u{9b}31m\u{202e}exe.txt\nerror: all good";

/// How the tool shows [`EVIL`] on a terminal.
pub const SHOWN: &str =
    "v2\\x1b[2J\\x1b]52;c;cHduZWQ=\\x07\\rOK\\u{9b}31m\\u{202e}exe.txt\\nerror: all good";

/// Fails on any character a terminal would act on: C0 controls but `\n`, DEL, C1 controls,
/// and the BiDi marks, embeddings, overrides and isolates.
pub fn assert_terminal_safe(what: &str, text: &str) {
    for c in text.chars() {
        let bad = (c < ' ' && c != '\n')
            || ('\x7f'..='\u{9f}').contains(&c)
            || matches!(
                c,
                '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
            );
        assert!(!bad, "{what}: a raw {c:?} in {text:?}");
    }
}

/// No line of `text` was faked by the server.
fn assert_no_fake_line(what: &str, text: &str) {
    assert!(
        !text.lines().any(|l| l.starts_with("error: all good")),
        "{what}: a faked line in {text:?}"
    );
}

fn progress(state: &str) -> Value {
    json!({
        "UpgradeState": state,
        "UpgradeDescription": {"CodeVersion": EVIL},
        "UpgradeDomains": [{"Name": EVIL, "State": "InProgress"}],
        "CurrentUpgradeDomainProgress": {"DomainName": EVIL},
    })
}

async fn failing_cluster() -> MockServer {
    let server = MockServer::start().await;
    let mut failed = progress("Failed");
    failed["FailureReason"] = EVIL.into();
    Mock::given(method("GET"))
        .and(path("/$/GetUpgradeProgress"))
        .respond_with(Seq::json(vec![
            progress("RollingForwardInProgress"),
            progress("RollingBackInProgress"),
            failed,
        ]))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/$/RollbackUpgrade"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn progress_and_errors_show_server_controls_as_visible_escapes() {
    let server = failing_cluster().await;
    let uri = server.uri();
    let argv = [
        "sf",
        "--endpoint",
        &uri,
        "--poll-interval",
        "10ms",
        "cluster",
        "start",
        "-vv",
    ];
    let run = run_args(&argv, &[]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert_terminal_safe("stderr", &run.stderr);
    assert_no_fake_line("stderr", &run.stderr);
    // The progress line (state, domain) and the error (the failure reason) show it escaped.
    assert!(
        run.stderr.contains(&format!(
            "RollingBackInProgress, 0/1 upgrade domains done, in {SHOWN}"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.ends_with(&format!(
            "error: the upgrade failed: FailureReason {SHOWN}\n"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");

    // With colour on, the tool's own colours survive and the server's sequences do not.
    let server = failing_cluster().await;
    let uri = server.uri();
    let mut colour_argv = argv.to_vec();
    colour_argv[2] = &uri;
    colour_argv.extend(["--color", "always"]);
    let run = run_args(&colour_argv, &[]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains(SHOWN), "{}", run.stderr);
    assert!(
        run.stderr.contains("\x1b[1m\x1b[31merror:"),
        "{:?}",
        run.stderr
    );
    for raw in ["\x1b[2J", "\x1b]52", "\r", "\u{9b}", "\u{202e}", "\x07"] {
        assert!(!run.stderr.contains(raw), "{raw:?} in {:?}", run.stderr);
    }

    // JSON keeps the server's strings exact.
    let server = failing_cluster().await;
    let uri = server.uri();
    let mut json_argv = argv.to_vec();
    json_argv[2] = &uri;
    json_argv.push("--json");
    let run = run_args(&json_argv, &[]).await;
    assert_eq!(run.code, 1, "{run:?}");
    let doc = run.json();
    assert_eq!(doc["from_version"], EVIL);
    assert_eq!(doc["detail"]["FailureReason"], EVIL);
    assert_eq!(
        doc["error"]["message"],
        format!("the upgrade failed: FailureReason {EVIL}")
    );
    assert!(run.stdout.contains("\\u001b[2J"), "serde escapes it");
    assert_terminal_safe("stderr with --json", &run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_text_result_on_stdout_is_terminal_safe() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/$/GetUpgradeProgress"))
        .respond_with(Seq::json(vec![progress(EVIL)]))
        .mount(&server)
        .await;
    let uri = server.uri();
    let run = run_args(&["sf", "--endpoint", &uri, "cluster", "status"], &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_terminal_safe("stdout", &run.stdout);
    assert_no_fake_line("stdout", &run.stdout);
    assert_eq!(
        run.stdout,
        format!(
            "target:   {uri}\nphase:    unknown\nstate:    {SHOWN}\nversion:  {SHOWN} (the upgrade's target)\nprogress: {SHOWN}, 0/1 upgrade domains done, in {SHOWN}\n"
        )
    );
    let run = run_args(
        &["sf", "--endpoint", &uri, "cluster", "status", "--json"],
        &[],
    )
    .await;
    assert_eq!(run.json()["platform_state"], EVIL);
}

#[tokio::test(flavor = "multi_thread")]
async fn server_error_messages_are_terminal_safe() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/$/GetUpgradeProgress"))
        .respond_with(Seq::json(vec![
            json!({"UpgradeState": "RollingForwardInProgress"}),
        ]))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/$/RollbackUpgrade"))
        .respond_with(
            ResponseTemplate::new(409)
                .set_body_json(json!({"Error": {"Code": EVIL, "Message": EVIL}})),
        )
        .mount(&server)
        .await;
    let uri = server.uri();
    let run = run_args(&["sf", "--endpoint", &uri, "cluster", "start"], &[]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert_terminal_safe("stderr", &run.stderr);
    assert_no_fake_line("stderr", &run.stderr);
    assert!(
        run.stderr.ends_with(&format!(
            "error: POST /$/RollbackUpgrade answered HTTP 409 {SHOWN}: {SHOWN}\n"
        )),
        "{}",
        run.stderr
    );
    let run = run_args(
        &["sf", "--endpoint", &uri, "cluster", "start", "--json"],
        &[],
    )
    .await;
    assert_eq!(
        run.json()["error"]["message"],
        format!("POST /$/RollbackUpgrade answered HTTP 409 {EVIL}: {EVIL}")
    );
    assert_eq!(run.json()["error"]["platform_code"], EVIL);
}

const UP: &str = "/arcgis/admin/system/upgrades";

/// The upgrades resource; the messages' times follow their position (the install came first).
fn job(state: &str, messages: &[&str]) -> Value {
    let messages: Vec<Value> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            // The install's message, then the rollback's ("rollback started" is 2072).
            let (when, code) = if *m == "installed" {
                (1_600_000_000_000_i64, 2030)
            } else {
                (1_700_000_000_000 + i as i64 * 1000, 2072)
            };
            json!({"message": m, "when": when, "code": code})
        })
        .collect();
    json!({"status": {"state": state, "code": 1, "messages": messages}})
}

async fn arcgis_server() -> MockServer {
    let server = MockServer::start().await;
    let mount = |at: String, seq: Seq| {
        let server = &server;
        async move {
            Mock::given(method("POST"))
                .and(path(at))
                .respond_with(seq)
                .mount(server)
                .await
        }
    };
    mount(
        UP.into(),
        Seq::json(vec![
            job("success", &["installed"]),
            job("in_progress", &[EVIL]),
            job("success", &[EVIL, "done"]),
        ]),
    )
    .await;
    mount(
        format!("{UP}/checkRollback"),
        Seq::json(vec![json!({"updates": [
            {"id": format!("id-{EVIL}"), "name": EVIL, "version": "10.9.0", "build": "503", "updateType": EVIL},
        ]})]),
    )
    .await;
    mount(
        format!("{UP}/rollback"),
        Seq::json(vec![job("in_progress", &[EVIL])]),
    )
    .await;
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn job_messages_names_and_logs_are_terminal_safe() {
    let server = arcgis_server().await;
    let url = format!("{}/arcgis", server.uri());
    let token = ("ROLLBACK_ARCGIS_TOKEN", "tok-injection-1");
    let run = run_args(&["arcgis", "--url", &url, "targets"], &[token]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_terminal_safe("stdout", &run.stdout);
    assert_no_fake_line("stdout", &run.stdout);
    // The columns are as wide as their escaped cells.
    let pad = |header: &str, cell: &str| format!("{header:<width$}", width = cell.chars().count());
    assert_eq!(
        run.stdout,
        format!(
            "{}  VERSION     {}  NAME\nid-{SHOWN}  10.9.0.503  {SHOWN}  {SHOWN}\n",
            pad("ID", &format!("id-{SHOWN}")),
            pad("TYPE", SHOWN)
        )
    );

    let server = arcgis_server().await;
    let url = format!("{}/arcgis", server.uri());
    let run = run_args(
        &[
            "arcgis",
            "--url",
            &url,
            "--poll-interval",
            "10ms",
            "start",
            "--to",
            "previous",
            "-vv",
        ],
        &[token],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_terminal_safe("stderr", &run.stderr);
    assert_no_fake_line("stderr", &run.stderr);
    assert_terminal_safe("stdout", &run.stdout);
    // The job message (a note), and the log line that quotes the option's id.
    assert!(
        run.stderr.contains(&format!("] {SHOWN}\n")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(&format!("id-{SHOWN} does not look like a patch id")),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout
            .starts_with(&format!("Rolled back {url} to 10.9.0.503 (success) in")),
        "{}",
        run.stdout
    );

    let server = arcgis_server().await;
    let url = format!("{}/arcgis", server.uri());
    let run = run_args(
        &[
            "arcgis",
            "--url",
            &url,
            "--poll-interval",
            "10ms",
            "-o",
            "jsonl",
            "start",
            "--to",
            "previous",
        ],
        &[token],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let lines: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["message"].as_str().is_some_and(|m| m.ends_with(EVIL))),
        "JSON lines keep the message exact: {}",
        run.stdout
    );
    assert_eq!(
        lines.last().unwrap()["detail"]["status"]["messages"][0]["message"],
        EVIL
    );
}
