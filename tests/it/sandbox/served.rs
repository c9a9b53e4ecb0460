//! Running the binary against the sandbox: `--sandbox` runs, and a `rollback sandbox` process
//! with the config file it printed.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::common::{Run, rollback};

/// Runs `rollback ARGS` with extra environment, waiting for it.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = rollback();
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().expect("the binary runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// `rollback --sandbox ARGS`.
pub fn sandboxed(args: &[&str]) -> Run {
    run(&[&["--sandbox"], args].concat(), &[])
}

#[track_caller]
pub fn expect(run: &Run, code: i32) {
    assert_eq!(run.code, code, "exit code of {run:?}");
}

/// A `rollback sandbox` process and the config file it printed.
pub struct Served {
    child: Child,
    pub origin: String,
    pub config: PathBuf,
    _dir: tempfile::TempDir,
}

impl Served {
    pub fn start(extra: &[&str]) -> Self {
        let mut child = rollback()
            .args([&["sandbox", "--port", "0"], extra].concat())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary runs");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut text = String::new();
        // The config file's last line names the ArcGIS password file.
        while !text.contains("password_file = ") {
            let mut line = String::new();
            assert!(
                out.read_line(&mut line).unwrap() > 0,
                "stdout ended: {text}"
            );
            text.push_str(&line);
        }
        let first = text.lines().next().unwrap();
        let origin = first
            .strip_prefix("# rollback sandbox at ")
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or_else(|| panic!("the first line names the sandbox: {first}"))
            .to_string();
        assert!(origin.starts_with("http://127.0.0.1:"), "{origin}");
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(&config, &text).unwrap();
        Self {
            child,
            origin,
            config,
            _dir: dir,
        }
    }

    /// `rollback --config CONFIG --profile sandbox ARGS`.
    pub fn run(&self, args: &[&str]) -> Run {
        let config = self.config.to_str().unwrap();
        run(
            &[&["--config", config, "--profile", "sandbox"], args].concat(),
            &[],
        )
    }

    /// A plain GET with the Service Fabric token, the status and body it got.
    pub fn sf_get(&self, path: &str) -> (u16, String) {
        let text = std::fs::read_to_string(&self.config).unwrap();
        let table: toml::Table = toml::from_str(&text).unwrap();
        let file = table["profiles"]["sandbox"]["sf"]["token_file"]
            .as_str()
            .unwrap();
        let token = std::fs::read_to_string(file).unwrap();
        let host = self.origin.strip_prefix("http://").unwrap();
        let mut stream = std::net::TcpStream::connect(host).unwrap();
        write!(
            stream,
            "GET {path}?api-version=6.0 HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let status = answer[9..12].parse().unwrap();
        let body = answer
            .split("\r\n\r\n")
            .nth(1)
            .unwrap_or_default()
            .to_string();
        (status, body)
    }

    /// Ends it with SIGTERM: its exit code and what it logged.
    pub fn terminate(mut self) -> (i32, String) {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let code = self.child.wait().unwrap().code().unwrap_or(-1);
        (code, stderr)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `rollback --sandbox ARGS` with the scenario from ROLLBACK_SANDBOX_SCENARIO.
pub fn run_env_scenario(scenario: &str, args: &[&str]) -> Run {
    run(
        args,
        &[
            ("ROLLBACK_SANDBOX", "1"),
            ("ROLLBACK_SANDBOX_SCENARIO", scenario),
        ],
    )
}

/// `ROLLBACK_SANDBOX=1 rollback ARGS` with extra environment.
pub fn run_env_scenario_none(env: &[(&str, &str)], args: &[&str]) -> Run {
    run(args, &[&[("ROLLBACK_SANDBOX", "1")], env].concat())
}
