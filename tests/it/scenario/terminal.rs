//! Runs on a real pseudo-terminal (util-linux `script`) that is the run's stdin, stdout and
//! stderr and its controlling terminal: the confirmation prompt, the live progress line.

use std::io::{Read, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::{Outcome, Scenario};
use crate::common::Run;

/// What happens once the prompt is up.
pub enum Act {
    /// Typed on the terminal (nothing for an empty string).
    Keys(&'static [u8]),
    /// Sent to the rollback process (`kill -SIGNAL`).
    Signal(&'static str),
}

impl Scenario {
    /// Runs on a terminal and does `act` once the prompt is up; the outcome's stdout is what
    /// the terminal showed (stdout and stderr together), its stderr empty. The terminal is the
    /// run's input and output: the scenario's `stdin`, `signal_after`, `stdout_to` and
    /// `stderr_to` do not apply.
    pub async fn on_terminal(self, act: Act) -> Outcome {
        self.on_terminal_then(act, "").await
    }

    /// As `on_terminal`, with `tail` after the command line in the shell that `script` runs:
    /// a redirection (`> FILE 2>&1`) or a next command (`; stty -a`).
    pub async fn on_terminal_then(self, act: Act, tail: &str) -> Outcome {
        let (cmd, ready) = self.ready().await;
        let line: Vec<String> = std::iter::once(cmd.get_program())
            .chain(cmd.get_args())
            .map(|a| quoted(&a.to_string_lossy()))
            .collect();
        let mut script = std::process::Command::new("script");
        script
            .args([
                "-q",
                "-e",
                "-c",
                &format!("{} {tail}", line.join(" ")),
                "/dev/null",
            ])
            .env_clear()
            .env("TERM", "xterm")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in cmd.get_envs() {
            if let Some(value) = value {
                script.env(key, value);
            }
        }
        let started = Instant::now();
        let run = tokio::task::spawn_blocking(move || on_terminal(script, act))
            .await
            .unwrap();
        ready.outcome(run, started.elapsed()).await
    }
}

/// `text` as one word of the shell.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn on_terminal(mut script: std::process::Command, act: Act) -> Run {
    let mut child = script.spawn().expect("util-linux script runs");
    let mut stdin = child.stdin.take().unwrap();
    match act {
        Act::Keys(b"") => {}
        Act::Keys(keys) => {
            // Typed once the prompt is up (raw mode): earlier, the terminal would turn ^C into
            // a signal and hold other keys in its line buffer.
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
    Run {
        code: status.code().unwrap_or(-1),
        stdout: screen,
        stderr: String::new(),
    }
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

impl Outcome {
    /// The terminal showed `part` (`SERVER` for the server's URI).
    #[track_caller]
    pub fn screen_contains(&self, part: &str) -> &Self {
        let part = super::fill(part, &self.uri);
        self.holds(self.run.stdout.contains(&part), || {
            format!("the screen lacks {part:?}")
        })
    }

    /// The prompt hid the cursor and showed it again before the end.
    #[track_caller]
    pub fn cursor_shown_again(&self) -> &Self {
        let screen = &self.run.stdout;
        let hidden = screen
            .rfind("\x1b[?25l")
            .expect("the prompt hides the cursor");
        self.holds(screen[hidden..].contains("\x1b[?25h"), || {
            "the cursor stays hidden".into()
        })
    }
}
