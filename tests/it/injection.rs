//! Terminal injection: a server whose states, versions, error and job messages and names carry
//! escape sequences (clear screen, OSC 52 clipboard write), carriage returns, C1 controls,
//! BiDi overrides and newlines. Human-readable output shows them as visible escapes, the
//! `--json` result keeps them exact.

use serde_json::{Value, json};

use crate::scenario::{Scenario, arcgis, sf};

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

/// Terminal-safe, and no line of `text` was faked by the server.
fn assert_safe_and_unfaked(what: &str, text: &str) {
    assert_terminal_safe(what, text);
    assert!(
        !text.lines().any(|l| l.starts_with("error: all good")),
        "{what}: a faked line in {text:?}"
    );
}

/// A cluster's upgrade progress in `state`, the server's words [`EVIL`] everywhere else.
pub fn progress(state: &str) -> Value {
    json!({
        "UpgradeState": state,
        "UpgradeDescription": {"CodeVersion": EVIL},
        "UpgradeDomains": [{"Name": EVIL, "State": "InProgress"}],
        "CurrentUpgradeDomainProgress": {"DomainName": EVIL},
    })
}

/// `sf cluster start -vv` on a cluster whose rollback fails for the reason [`EVIL`].
fn failing_cluster_start() -> Scenario {
    let mut failed = progress("Failed");
    failed["FailureReason"] = EVIL.into();
    Scenario::sf_cluster([
        progress("RollingForwardInProgress"),
        progress("RollingBackInProgress"),
        failed,
    ])
    .post(sf::ROLLBACK, 200)
    .poll_interval("10ms")
    .args(["cluster", "start", "-vv"])
}

#[tokio::test(flavor = "multi_thread")]
async fn progress_and_errors_show_server_controls_as_visible_escapes() {
    let outcome = failing_cluster_start().run().await;
    let stderr = &outcome.run.stderr;
    outcome.code(1).stdout("");
    assert_safe_and_unfaked("stderr", stderr);
    // The progress line (state, domain) and the error (the failure reason) show it escaped.
    outcome
        .stderr_contains(&format!(
            "RollingBackInProgress, 0/1 upgrade domains done, in {SHOWN}"
        ))
        .stderr_ends_with(&format!(
            "error: the upgrade failed: FailureReason {SHOWN}\n"
        ));

    // With colour on, the tool's own colours survive and the server's sequences do not.
    let outcome = failing_cluster_start()
        .args(["--color", "always"])
        .run()
        .await;
    outcome
        .code(1)
        .stderr_contains(SHOWN)
        .stderr_contains("\x1b[1m\x1b[31merror:");
    for raw in ["\x1b[2J", "\x1b]52", "\r", "\u{9b}", "\u{202e}", "\x07"] {
        assert!(
            !outcome.run.stderr.contains(raw),
            "{raw:?} in {:?}",
            outcome.run.stderr
        );
    }

    // JSON keeps the server's strings exact.
    let outcome = failing_cluster_start().args(["--json"]).run().await;
    outcome.code(1);
    let doc = outcome.json();
    assert_eq!(doc["from_version"], EVIL);
    assert_eq!(doc["detail"]["FailureReason"], EVIL);
    assert_eq!(
        doc["error"]["message"],
        format!("the upgrade failed: FailureReason {EVIL}")
    );
    assert!(
        outcome.run.stdout.contains("\\u001b[2J"),
        "serde escapes it"
    );
    assert_terminal_safe("stderr with --json", &outcome.run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_text_result_on_stdout_is_terminal_safe() {
    let outcome = Scenario::sf_cluster(progress(EVIL))
        .args(["cluster", "status"])
        .run()
        .await;
    outcome.code(0);
    assert_safe_and_unfaked("stdout", &outcome.run.stdout);
    outcome.stdout(&format!(
        "target:   SERVER\nphase:    unknown\nstate:    {SHOWN}\nversion:  {SHOWN} (the upgrade's target)\nprogress: {SHOWN}, 0/1 upgrade domains done, in {SHOWN}\n"
    ));
    let outcome = outcome
        .again()
        .args(["cluster", "status", "--json"])
        .run()
        .await;
    assert_eq!(outcome.json()["platform_state"], EVIL);
}

#[tokio::test(flavor = "multi_thread")]
async fn server_error_messages_are_terminal_safe() {
    let outcome = Scenario::sf_cluster(json!({"UpgradeState": "RollingForwardInProgress"}))
        .post(sf::ROLLBACK, sf::fabric_error(409, EVIL, EVIL))
        .args(["cluster", "start"])
        .run()
        .await;
    outcome.code(1);
    assert_safe_and_unfaked("stderr", &outcome.run.stderr);
    outcome.stderr_ends_with(&format!(
        "error: POST /$/RollbackUpgrade answered HTTP 409 {SHOWN}: {SHOWN}\n"
    ));
    let outcome = outcome
        .again()
        .args(["cluster", "start", "--json"])
        .run()
        .await;
    assert_eq!(
        outcome.json()["error"]["message"],
        format!("POST /$/RollbackUpgrade answered HTTP 409 {EVIL}: {EVIL}")
    );
    assert_eq!(outcome.json()["error"]["platform_code"], EVIL);
}

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

/// A deployment whose patch, its job messages and its log lines carry [`EVIL`].
fn arcgis_deployment() -> Scenario {
    Scenario::arcgis_cli()
        .post(
            arcgis::UP,
            [
                job("success", &["installed"]),
                job("in_progress", &[EVIL]),
                job("success", &[EVIL, "done"]),
            ],
        )
        .post(
            arcgis::CHECK,
            json!({"updates": [
                {"id": format!("id-{EVIL}"), "name": EVIL, "version": "10.9.0", "build": "503", "updateType": EVIL},
            ]}),
        )
        .post(arcgis::ROLLBACK, job("in_progress", &[EVIL]))
}

#[tokio::test(flavor = "multi_thread")]
async fn job_messages_names_and_logs_are_terminal_safe() {
    let outcome = arcgis_deployment().args(["targets"]).run().await;
    outcome.code(0);
    assert_safe_and_unfaked("stdout", &outcome.run.stdout);
    // The columns are as wide as their escaped cells.
    let pad = |header: &str, cell: &str| format!("{header:<width$}", width = cell.chars().count());
    outcome.stdout(&format!(
        "{}  VERSION     {}  NAME\nid-{SHOWN}  10.9.0.503  {SHOWN}  {SHOWN}\n",
        pad("ID", &format!("id-{SHOWN}")),
        pad("TYPE", SHOWN)
    ));

    let outcome = arcgis_deployment()
        .poll_interval("10ms")
        .args(["start", "--to", "previous", "-vv"])
        .run()
        .await;
    outcome.code(0);
    assert_safe_and_unfaked("stderr", &outcome.run.stderr);
    assert_terminal_safe("stdout", &outcome.run.stdout);
    // The job message (a note), and the log line that quotes the option's id.
    outcome
        .stderr_contains(&format!("] {SHOWN}\n"))
        .stderr_contains(&format!("id-{SHOWN} does not look like a patch id"));
    let rolled_back = format!(
        "Rolled back {}/arcgis to 10.9.0.503 (success) in",
        outcome.uri
    );
    assert!(
        outcome.run.stdout.starts_with(&rolled_back),
        "{}",
        outcome.run.stdout
    );

    let outcome = arcgis_deployment()
        .poll_interval("10ms")
        .args(["-o", "jsonl", "start", "--to", "previous"])
        .run()
        .await;
    outcome.code(0);
    let lines: Vec<Value> = outcome
        .run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["message"].as_str().is_some_and(|m| m.ends_with(EVIL))),
        "JSON lines keep the message exact: {}",
        outcome.run.stdout
    );
    assert_eq!(
        lines.last().unwrap()["detail"]["status"]["messages"][0]["message"],
        EVIL
    );
}
