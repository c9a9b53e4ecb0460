//! The sandbox: every command of every platform against `--sandbox` (the real client over real
//! HTTP, only the server simulated), `rollback sandbox` serving its state to several runs, its
//! profile used as a config file, and every scenario's exit code.

mod compose;
mod scenarios;
mod served;

use std::path::PathBuf;

use serde_json::Value;

use served::{Served, expect, run, sandboxed};

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
    // Why: this tool asked for the rollback, while UD1 was upgrading.
    assert!(
        run.stdout.ends_with(
            "\nreason: a rollback was requested (by this tool or an operator) during upgrade domain UD1\n"
        ),
        "{}",
        run.stdout
    );
    for line in [
        "UD 1/3 (UD1): RollingForwardInProgress, 1/3 upgrade domains done, in UD1",
        "Rollback accepted (HTTP 200).",
        "UD 1/3 (UD1): RollingBackInProgress, 1/3 upgrade domains done, in UD1",
        "UD 3/3: RollingBackCompleted, 3/3 upgrade domains done",
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
    assert_eq!(doc["detail"]["UpgradeDomainCount"], 3);
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
        targets.stdout.contains("pat_113_4230"),
        "{}",
        targets.stdout
    );
    assert!(targets.stdout.contains("11.3.0.4230"), "{}", targets.stdout);
    let start = served.run(&["--json", "arcgis", "start", "--to", "previous", "--yes"]);
    expect(&start, 0);
    let doc = start.json();
    assert_eq!(doc["outcome"], "rolled_back");
    assert_eq!(doc["platform_state"], "success");
    assert!(
        start
            .stderr
            .contains("Starting the rollback process from 11.3.0.4250 to 11.3.0.4230."),
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
        run.stderr.starts_with(&format!(
            "error: cannot start the sandbox: cannot listen on 127.0.0.1:{port}: "
        )),
        "{}",
        run.stderr
    );
}
