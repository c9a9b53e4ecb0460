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
pub async fn on_a_terminal(args: &str, keys: &'static [u8], env: &[(&str, &str)]) -> (i32, String) {
    on_a_terminal_then(args, Act::Keys(keys), env).await
}

/// What happens once the prompt is up.
pub enum Act {
    /// Typed on the terminal.
    Keys(&'static [u8]),
    /// Sent to the rollback process (`kill -SIGNAL`).
    Signal(&'static str),
}

/// The pid of the `rollback` process under `parent` (script runs it through a shell).
fn rollback_under(parent: u32) -> Option<u32> {
    let mut stats = Vec::new();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid …: comm may hold spaces, so split after its last ')'.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = stat[open + 1..close].to_string();
        let ppid = stat[close + 1..]
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok());
        stats.push((pid, comm, ppid));
    }
    let mut family = vec![parent];
    for _ in 0..4 {
        for (pid, comm, ppid) in &stats {
            if ppid.is_some_and(|p| family.contains(&p)) && !family.contains(pid) {
                if comm == "rollback" {
                    return Some(*pid);
                }
                family.push(*pid);
            }
        }
    }
    None
}

pub async fn on_a_terminal_then(args: &str, act: Act, env: &[(&str, &str)]) -> (i32, String) {
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
        match act {
            Act::Keys(b"") => {}
            Act::Keys(keys) => {
                // Typed once the prompt is up (raw mode): earlier, the terminal would turn ^C
                // into a signal and hold other keys in its line buffer.
                std::thread::sleep(Duration::from_secs(1));
                stdin.write_all(keys).unwrap();
            }
            Act::Signal(signal) => {
                std::thread::sleep(Duration::from_secs(1));
                let pid = rollback_under(child.id()).expect("the rollback process");
                let status = std::process::Command::new("kill")
                    .args([&format!("-{signal}"), &pid.to_string()])
                    .status()
                    .unwrap();
                assert!(status.success());
            }
        }
        // The terminal stays open until the run has ended.
        let keep = stdin;
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
        drop(keep);
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

const QUESTION: &str = "Abandon 7.1.0 and return the cluster to its previous version?";

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
    let hidden = screen
        .rfind("\x1b[?25l")
        .expect("the prompt hides the cursor");
    assert!(
        screen[hidden..].contains("\x1b[?25h"),
        "the cursor stays hidden: {screen:?}"
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
        screen.contains(&format!(
            "Abandon {SHOWN} and return the cluster to its previous version?"
        )),
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

async fn signal_at_the_prompt(signal: &'static str, code: i32, said: &str) {
    let server = cluster().await;
    let (code_seen, screen) = on_a_terminal_then(
        &format!("sf --endpoint {} --color never cluster start", server.uri()),
        Act::Signal(signal),
        &[],
    )
    .await;
    assert_eq!(code_seen, code, "{screen}");
    assert!(screen.contains(QUESTION), "{screen}");
    assert!(
        screen.contains(&format!(
            "error: {said}; last seen: upgrading (RollingForwardInProgress); no rollback was sent"
        )),
        "{screen}"
    );
    assert!(requests_with_method(&server, "POST").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_at_the_prompt_exits_143_and_sends_nothing() {
    signal_at_the_prompt("TERM", 143, "terminated (SIGTERM)").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_prompt_ended_by_a_signal_gives_the_terminal_back_as_it_was() {
    let server = cluster().await;
    let (code, screen) = on_a_terminal_then(
        &format!(
            "sf --endpoint {} --color never cluster start; echo exit=$?; stty -a",
            server.uri()
        ),
        Act::Signal("TERM"),
        &[],
    )
    .await;
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("exit=143"), "{screen}");
    // Line editing, echo and signal keys are back on: the prompt's raw mode did not outlive
    // the run; and the cursor it hid is shown again.
    let modes: Vec<&str> = screen.split_whitespace().collect();
    for mode in ["icanon", "echo", "isig"] {
        assert!(modes.contains(&mode), "{mode} is off: {screen}");
    }
    let hidden = screen
        .rfind("\x1b[?25l")
        .expect("the prompt hides the cursor");
    assert!(
        screen[hidden..].contains("\x1b[?25h"),
        "the cursor stays hidden: {screen:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_at_the_prompt_exits_129_and_sends_nothing() {
    signal_at_the_prompt("HUP", 129, "hung up (SIGHUP)").await;
}
