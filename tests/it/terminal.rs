//! The confirmation prompt, on a real pseudo-terminal (util-linux `script`): asked only when
//! stdin and stderr are terminals, without `--yes` and without `CI`.

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

async fn cluster() -> MockServer {
    let server = MockServer::start().await;
    let progress = |state: &str| json!({"UpgradeState": state, "UpgradeDescription": {"CodeVersion": "7.1.0"}});
    Mock::given(method("GET"))
        .and(path("/$/GetUpgradeProgress"))
        .respond_with(Seq::json(vec![
            progress("RollingForwardInProgress"),
            progress("RollingBackCompleted"),
        ]))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/$/RollbackUpgrade"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&server)
        .await;
    server
}

/// Runs `rollback ARGS` with a terminal for stdin, stdout and stderr, typing `keys`.
async fn on_a_terminal(args: &str, keys: &'static [u8], env: &[(&str, &str)]) -> (i32, String) {
    let home = std::env::temp_dir().join("rollback-it-home");
    let mut cmd = std::process::Command::new("script");
    cmd.args([
        "-q",
        "-e",
        "-c",
        &format!("{} {args}", assert_cmd::cargo_bin!("rollback").display()),
        "/dev/null",
    ])
    .env_clear()
    .env("PATH", std::env::var_os("PATH").unwrap_or_default())
    .env("HOME", &home)
    .env("XDG_CONFIG_HOME", home.join("config"))
    .env("TERM", "xterm")
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        use std::time::{Duration, Instant};
        let mut child = cmd.spawn().expect("util-linux script runs");
        let mut stdin = child.stdin.take().unwrap();
        if !keys.is_empty() {
            // Typed once the prompt is up (raw mode): earlier, the terminal would turn ^C into
            // a signal and hold other keys in its line buffer.
            std::thread::sleep(Duration::from_secs(1));
            stdin.write_all(keys).unwrap();
        }
        drop(stdin);
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                panic!("the run on a terminal did not end");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut screen = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut screen)
            .unwrap();
        (status.code().unwrap_or(-1), screen)
    })
    .await
    .unwrap()
}

const QUESTION: &str = "Roll back the cluster upgrade to 7.1.0?";

#[tokio::test(flavor = "multi_thread")]
async fn a_terminal_is_asked_and_no_means_nothing_is_sent() {
    let server = cluster().await;
    let (code, screen) = on_a_terminal(
        &format!("sf --endpoint {} cluster start", server.uri()),
        b"n",
        &[],
    )
    .await;
    assert_eq!(code, 130, "{screen}");
    assert!(screen.contains(QUESTION), "{screen}");
    assert!(
        screen.contains("not confirmed; nothing was sent"),
        "{screen}"
    );
    assert!(requests_with_method(&server, "POST").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_at_the_prompt_sends_nothing() {
    let server = cluster().await;
    let (code, screen) = on_a_terminal(
        &format!("sf --endpoint {} cluster start", server.uri()),
        b"\x03",
        &[],
    )
    .await;
    assert_eq!(code, 130, "{screen}");
    assert!(
        screen.contains("interrupted at the prompt; nothing was sent"),
        "{screen}"
    );
    assert!(requests_with_method(&server, "POST").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn yes_at_the_prompt_rolls_back() {
    let server = cluster().await;
    let (code, screen) = on_a_terminal(
        &format!(
            "sf --endpoint {} --poll-interval 10ms cluster start",
            server.uri()
        ),
        b"y",
        &[],
    )
    .await;
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains(QUESTION), "{screen}");
    assert_eq!(requests_with_method(&server, "POST").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn yes_flag_and_ci_mean_no_prompt() {
    for (flag, env) in [("--yes", vec![]), ("", vec![("CI", "true")])] {
        let server = cluster().await;
        let (code, screen) = on_a_terminal(
            &format!(
                "sf --endpoint {} --poll-interval 10ms cluster start {flag}",
                server.uri()
            ),
            b"",
            &env,
        )
        .await;
        assert_eq!(code, 0, "{flag} {env:?}: {screen}");
        assert!(!screen.contains(QUESTION), "{flag} {env:?}: {screen}");
        assert_eq!(requests_with_method(&server, "POST").await.len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_cannot_rewrite_the_prompt() {
    use crate::injection::{EVIL, SHOWN};
    let server = MockServer::start().await;
    let progress = json!({
        "UpgradeState": "RollingForwardInProgress",
        "UpgradeDescription": {"CodeVersion": EVIL},
        "UpgradeDomains": [{"Name": EVIL, "State": "InProgress"}],
        "CurrentUpgradeDomainProgress": {"DomainName": EVIL},
    });
    Mock::given(method("GET"))
        .and(path("/$/GetUpgradeProgress"))
        .respond_with(Seq::json(vec![progress]))
        .mount(&server)
        .await;
    let (code, screen) = on_a_terminal(
        &format!("sf --endpoint {} --color never cluster start", server.uri()),
        b"n",
        &[],
    )
    .await;
    assert_eq!(code, 130, "{screen}");
    // The question and its context show the server's words escaped, on their own lines.
    assert!(
        screen.contains(&format!("Roll back the cluster upgrade to {SHOWN}?")),
        "{screen}"
    );
    assert!(
        screen.contains(&format!(
            ": RollingForwardInProgress, 0/1 upgrade domains done, in {SHOWN}\r\n"
        )),
        "{screen}"
    );
    for raw in ["\x1b[2J", "\x1b]52", "\u{9b}", "\u{202e}", "\x07"] {
        assert!(
            !screen.contains(raw),
            "{raw:?} reached the terminal: {screen:?}"
        );
    }
    assert!(
        !screen.lines().any(|l| l.starts_with("error: all good")),
        "{screen:?}"
    );
    assert!(
        screen.contains("not confirmed; nothing was sent"),
        "{screen}"
    );
    assert!(requests_with_method(&server, "POST").await.is_empty());
}
