//! The sandbox: every command of every platform against `--sandbox` (the real client over real
//! HTTP, only the server simulated), `rollback sandbox` serving its state to several runs, its
//! profile used as a config file, and every scenario's exit code.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::common::{Run, rollback};

/// Runs `rollback ARGS` with extra environment, waiting for it.
fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
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
fn sandboxed(args: &[&str]) -> Run {
    run(&[&["--sandbox"], args].concat(), &[])
}

#[track_caller]
fn expect(run: &Run, code: i32) {
    assert_eq!(run.code, code, "exit code of {run:?}");
}

/// A `rollback sandbox` process and the config file it printed.
struct Served {
    child: Child,
    origin: String,
    config: PathBuf,
    _dir: tempfile::TempDir,
}

impl Served {
    fn start(extra: &[&str]) -> Self {
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
    fn run(&self, args: &[&str]) -> Run {
        let config = self.config.to_str().unwrap();
        run(
            &[&["--config", config, "--profile", "sandbox"], args].concat(),
            &[],
        )
    }

    /// A plain GET with the Service Fabric token, the status and body it got.
    fn sf_get(&self, path: &str) -> (u16, String) {
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
    fn terminate(mut self) -> (i32, String) {
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

#[test]
fn the_readme_command_rolls_back_an_application_with_progress() {
    let run = sandboxed(&["sf", "app", "start", "fabric:/myapp/app1", "--yes"]);
    expect(&run, 0);
    assert!(
        run.stdout
            .starts_with("Rolled back myapp~app1 from 2.0.0 to 1.0.0 (RollingBackCompleted) in"),
        "{}",
        run.stdout
    );
    for line in [
        "RollingForwardInProgress, 1/3 upgrade domains done, in UD1",
        "Rollback accepted (HTTP 200).",
        "RollingBackInProgress, 1/3 upgrade domains done, in UD1, failure reason Interrupted",
        "RollingBackCompleted, 3/3 upgrade domains done",
    ] {
        assert!(run.stderr.contains(line), "{line}: {}", run.stderr);
    }
}

#[test]
fn sf_app_status_reads_the_upgrade() {
    let run = sandboxed(&["--json", "sf", "app", "status", "myapp~app1"]);
    expect(&run, 0);
    let doc = run.json();
    assert_eq!(doc["outcome"], "status");
    assert_eq!(doc["phase"], "upgrading");
    assert_eq!(doc["platform_state"], "RollingForwardInProgress");
    assert_eq!(doc["from_version"], "2.0.0");
    assert_eq!(doc["detail"]["UpgradeDomains"][1]["State"], "InProgress");
}

#[test]
fn sf_cluster_start_and_status() {
    let run = sandboxed(&["--json", "sf", "cluster", "start", "--yes"]);
    expect(&run, 0);
    let doc = run.json();
    assert_eq!(doc["platform"], "sf-cluster");
    assert_eq!(doc["outcome"], "rolled_back");
    assert_eq!(doc["platform_state"], "RollingBackCompleted");
    assert_eq!(doc["to_version"], "10.0.1949.9590");
    assert_eq!(doc["requests"][0]["method"], "POST");
    let run = sandboxed(&["--json", "sf", "cluster", "status"]);
    expect(&run, 0);
    assert_eq!(run.json()["phase"], "upgrading");
}

#[test]
fn sf_cluster_status_watch_attaches_to_a_rollback_started_elsewhere() {
    let served = Served::start(&[]);
    let started = served.run(&["--json", "--no-wait", "sf", "cluster", "start", "--yes"]);
    expect(&started, 0);
    assert_eq!(started.json()["outcome"], "accepted");
    let watched = served.run(&["--json", "sf", "cluster", "status", "--watch"]);
    expect(&watched, 0);
    let doc = watched.json();
    assert_eq!(doc["phase"], "rolled_back");
    assert_eq!(doc["platform_state"], "RollingBackCompleted");
    assert!(
        watched.stderr.contains("RollingBackInProgress"),
        "{}",
        watched.stderr
    );
}

#[test]
fn cloudsvc_start_follows_the_operation() {
    let run = sandboxed(&["--json", "cloudsvc", "start", "--yes"]);
    expect(&run, 0);
    let doc = run.json();
    assert_eq!(doc["target"], "mysvc/production");
    assert_eq!(doc["outcome"], "rolled_back");
    assert_eq!(doc["platform_state"], "Succeeded");
    let id = doc["operation_id"].as_str().unwrap();
    assert!(
        id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{id}"
    );
    assert_eq!(doc["detail"]["UpgradeStatus"], Value::Null);
    assert_eq!(
        doc["requests"][0]["headers"]["Authorization"],
        "Bearer <redacted>"
    );
    assert!(
        run.stderr.contains(&format!("operation {id}: InProgress")),
        "{}",
        run.stderr
    );
}

#[test]
fn cloudsvc_status_shows_the_update() {
    let run = sandboxed(&["--json", "cloudsvc", "status"]);
    expect(&run, 0);
    let doc = run.json();
    assert_eq!(doc["phase"], "upgrading");
    assert_eq!(doc["platform_state"], "Auto/During/UD2");
    assert_eq!(doc["detail"]["RollbackAllowed"], "true");
    assert_eq!(doc["detail"]["UpgradeDomainCount"], "3");
}

#[test]
fn cloudsvc_manual_rollback_walks_each_domain() {
    let run = sandboxed(&["cloudsvc", "start", "--mode", "manual", "--yes"]);
    expect(&run, 0);
    for domain in 0..3 {
        let line = format!("Upgrade domain {domain} walk accepted (HTTP 202).");
        assert!(run.stderr.contains(&line), "{line}: {}", run.stderr);
    }
    assert!(
        run.stdout.starts_with("Rolled back mysvc/production"),
        "{}",
        run.stdout
    );
}

#[test]
fn cloudsvc_walk_steps_the_manual_update_of_staging() {
    let served = Served::start(&[]);
    let wrong = served.run(&["cloudsvc", "--slot", "staging", "walk", "--domain", "2"]);
    expect(&wrong, 2);
    assert!(
        wrong.stderr.contains("waits at upgrade domain 1"),
        "{}",
        wrong.stderr
    );
    let walked = served.run(&[
        "--json", "cloudsvc", "--slot", "staging", "walk", "--domain", "1",
    ]);
    expect(&walked, 0);
    let doc = walked.json();
    assert_eq!(doc["action"], "walk");
    assert_eq!(doc["target"], "mysvc/staging");
    assert_eq!(doc["platform_state"], "Manual/Before/UD2");
    // The production slot's Auto update is still mid-way in domain 2: no walk there.
    let auto = served.run(&["cloudsvc", "walk", "--domain", "2"]);
    expect(&auto, 1);
    assert!(
        auto.stderr.contains("still being processed"),
        "{}",
        auto.stderr
    );
}

#[test]
fn arcgis_targets_start_and_status() {
    let served = Served::start(&[]);
    let targets = served.run(&["arcgis", "targets"]);
    expect(&targets, 0);
    assert!(
        targets.stdout.contains("pat_113_4250"),
        "{}",
        targets.stdout
    );
    assert!(targets.stdout.contains("11.3.0.4250"), "{}", targets.stdout);
    let start = served.run(&["--json", "arcgis", "start", "--to", "previous", "--yes"]);
    expect(&start, 0);
    let doc = start.json();
    assert_eq!(doc["outcome"], "rolled_back");
    assert_eq!(doc["platform_state"], "success");
    assert!(
        start
            .stderr
            .contains("Starting the rollback process from 11.3.0.4250 to 11.3.0.4200."),
        "{}",
        start.stderr
    );
    assert!(
        start
            .stderr
            .contains("Rolled back the data store containers."),
        "{}",
        start.stderr
    );
    let status = served.run(&["--json", "arcgis", "status"]);
    expect(&status, 0);
    assert_eq!(status.json()["phase"], "rolled_back");
}

#[test]
fn a_second_start_on_a_rolled_back_target_has_nothing_to_roll_back() {
    let served = Served::start(&[]);
    for args in [
        &["sf", "app", "start", "myapp~app1", "--yes"][..],
        &["sf", "cluster", "start", "--yes"],
        &["cloudsvc", "start", "--yes"],
        &["arcgis", "start", "--to", "previous", "--yes"],
    ] {
        expect(&served.run(args), 0);
        let again = served.run(args);
        expect(&again, 3);
    }
    let (code, log) = served.terminate();
    assert_eq!(code, 0, "{log}");
    for line in [
        "sandbox: POST /Applications/myapp~app1/$/RollbackUpgrade 200",
        "sandbox: POST /$/RollbackUpgrade 202",
        "sandbox: POST /arcgis/sharing/rest/generateToken 200",
        "sandbox: POST /arcgis/admin/system/upgrades/checkRollback 200",
        "sandbox: GET /5a4db0c5-0000-4000-8000-00000000c10d/services/hostedservices/mysvc/deploymentslots/production 200",
        "stopped",
    ] {
        assert!(log.contains(line), "{line}: {log}");
    }
}

#[test]
fn scenario_fails_fails_on_every_platform() {
    let served = Served::start(&["--scenario", "fails"]);
    // ArcGIS documents no failure word for its job: the client calls the one it sees unknown.
    for (args, phase) in [
        (&["sf", "app", "start", "myapp~app1", "--yes"][..], "failed"),
        (&["cloudsvc", "start", "--yes"], "failed"),
        (&["arcgis", "start", "--to", "previous", "--yes"], "unknown"),
    ] {
        let run = served.run(&[&["--json"], args].concat());
        expect(&run, 1);
        assert_eq!(run.json()["phase"], phase, "{}", run.stdout);
    }
    let sf = sandboxed(&[
        "--sandbox-scenario",
        "fails",
        "sf",
        "cluster",
        "start",
        "--yes",
    ]);
    expect(&sf, 1);
    assert!(sf.stderr.contains("UD1"), "{}", sf.stderr);
}

#[test]
fn scenario_slow_times_out() {
    let served = Served::start(&["--scenario", "slow"]);
    let run = served.run(&[
        "--timeout",
        "2s",
        "sf",
        "app",
        "start",
        "myapp~app1",
        "--yes",
    ]);
    expect(&run, 5);
    assert!(
        run.stderr.contains("the rollback continues"),
        "{}",
        run.stderr
    );
    let env = run_env_scenario("slow", &["--timeout", "2s", "cloudsvc", "start", "--yes"]);
    expect(&env, 5);
}

/// `rollback --sandbox ARGS` with the scenario from ROLLBACK_SANDBOX_SCENARIO.
fn run_env_scenario(scenario: &str, args: &[&str]) -> Run {
    run(
        args,
        &[
            ("ROLLBACK_SANDBOX", "1"),
            ("ROLLBACK_SANDBOX_SCENARIO", scenario),
        ],
    )
}

#[test]
fn scenario_unhealthy_rolls_back_but_health_reads_error() {
    let served = Served::start(&["--scenario", "unhealthy"]);
    expect(
        &served.run(&["sf", "app", "start", "myapp~app1", "--yes"]),
        0,
    );
    let (status, body) = served.sf_get("/Applications/myapp~app1/$/GetHealth");
    assert_eq!(status, 200);
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["AggregatedHealthState"], "Error");
    let (_, body) = served.sf_get("/$/GetClusterHealth");
    assert!(
        body.contains(r#""AggregatedHealthState":"Error""#),
        "{body}"
    );
    let cloudsvc = served.run(&["--json", "cloudsvc", "start", "--yes"]);
    expect(&cloudsvc, 0);
    assert!(
        cloudsvc.stderr.contains("UnresponsiveRole"),
        "{}",
        cloudsvc.stderr
    );
    let healthy = Served::start(&[]);
    let (_, body) = healthy.sf_get("/Applications/myapp~app1/$/GetHealth");
    assert!(body.contains(r#""AggregatedHealthState":"Ok""#), "{body}");
}

#[test]
fn scenario_auth_refuses_every_credential() {
    let served = Served::start(&["--scenario", "auth"]);
    for args in [
        &["sf", "app", "status", "myapp~app1"][..],
        &["cloudsvc", "status"],
        &["arcgis", "status"],
    ] {
        expect(&served.run(args), 4);
    }
    expect(
        &run_env_scenario("auth", &["sf", "cluster", "start", "--yes"]),
        4,
    );
}

#[test]
fn connection_options_are_refused_with_the_sandbox() {
    let run = sandboxed(&[
        "sf",
        "app",
        "status",
        "myapp~app1",
        "--endpoint",
        "http://127.0.0.1:9",
    ]);
    expect(&run, 2);
    assert!(
        run.stderr
            .contains("--sandbox brings its own endpoint and credentials: drop --endpoint"),
        "{}",
        run.stderr
    );
    let token = run_env_scenario_none(&[("ROLLBACK_ARCGIS_TOKEN", "t")], &["arcgis", "status"]);
    expect(&token, 2);
    assert!(
        token.stderr.contains("ROLLBACK_ARCGIS_TOKEN"),
        "{}",
        token.stderr
    );
    // Choosing another deployment is no connection option.
    let staging = sandboxed(&["--json", "cloudsvc", "--slot", "staging", "status"]);
    expect(&staging, 0);
    assert_eq!(staging.json()["platform_state"], "Manual/Before/UD1");
}

/// `ROLLBACK_SANDBOX=1 rollback ARGS` with extra environment.
fn run_env_scenario_none(env: &[(&str, &str)], args: &[&str]) -> Run {
    run(args, &[&[("ROLLBACK_SANDBOX", "1")], env].concat())
}

#[test]
fn the_credentials_never_show_and_go_with_the_sandbox() {
    let served = Served::start(&[]);
    let text = std::fs::read_to_string(&served.config).unwrap();
    let table: toml::Table = toml::from_str(&text).unwrap();
    let profile = &table["profiles"]["sandbox"];
    let files: Vec<PathBuf> = [
        ("sf", "token_file"),
        ("cloudsvc", "token_file"),
        ("arcgis", "password_file"),
    ]
    .iter()
    .map(|(section, key)| PathBuf::from(profile[section][key].as_str().unwrap()))
    .collect();
    let secrets: Vec<String> = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    let run = served.run(&[
        "-vv",
        "--json",
        "--dry-run",
        "arcgis",
        "start",
        "--to",
        "previous",
    ]);
    expect(&run, 0);
    let cloud = served.run(&["-vv", "--json", "cloudsvc", "start", "--yes"]);
    expect(&cloud, 0);
    for secret in &secrets {
        for out in [&run.stdout, &run.stderr, &cloud.stdout, &cloud.stderr] {
            assert!(!out.contains(secret.as_str()), "a credential shows: {out}");
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o077,
            0,
            "only its owner reads {}",
            files[0].display()
        );
    }
    let (code, _) = served.terminate();
    assert_eq!(code, 0);
    assert!(
        files.iter().all(|f| !f.exists()),
        "the credential files are removed"
    );
}

#[test]
fn a_port_in_use_is_a_clear_usage_error() {
    let served = Served::start(&[]);
    let port = served.origin.rsplit(':').next().unwrap();
    let run = run(&["sandbox", "--port", port], &[]);
    expect(&run, 2);
    assert_eq!(run.stdout, "", "no profile for a sandbox that does not run");
    assert!(
        run.stderr
            .starts_with(&format!("error: cannot listen on 127.0.0.1:{port}: ")),
        "{}",
        run.stderr
    );
}
