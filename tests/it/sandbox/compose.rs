//! `sf compose` against the sandbox's compose deployment mycompose: start, status, --watch, a
//! second start, and every scenario.

use serde_json::Value;

use super::served::{Served, expect, run_env_scenario, sandboxed};

#[test]
fn start_rolls_back_through_unprovisioning_the_target() {
    let run = sandboxed(&["sf", "compose", "start", "mycompose", "--yes"]);
    expect(&run, 0);
    assert!(
        run.stdout
            .starts_with("Rolled back mycompose from 2.0 to 1.0 (RollingBackCompleted) in"),
        "{}",
        run.stdout
    );
    for line in [
        "RollingForwardInProgress, in UD1",
        "Rollback accepted (HTTP 200).",
        "RollingBackInProgress, in UD0",
        "UnprovisioningTarget",
        "RollingBackCompleted",
    ] {
        assert!(run.stderr.contains(line), "{line}: {}", run.stderr);
    }
}

#[test]
fn status_reads_the_upgrade_and_a_second_start_has_nothing_to_roll_back() {
    let run = sandboxed(&["--json", "sf", "compose", "status", "fabric:/mycompose"]);
    expect(&run, 0);
    let doc = run.json();
    assert_eq!(doc["platform"], "sf-compose");
    assert_eq!(doc["target"], "mycompose");
    assert_eq!(doc["phase"], "upgrading");
    assert_eq!(doc["platform_state"], "RollingForwardInProgress");
    assert_eq!(doc["reason"], Value::Null);
    assert_eq!(doc["progress"], Value::Null);

    let served = Served::start(&[]);
    let started = served.run(&[
        "--json",
        "--no-wait",
        "sf",
        "compose",
        "start",
        "mycompose",
        "--yes",
    ]);
    expect(&started, 0);
    assert_eq!(started.json()["outcome"], "accepted");
    let watched = served.run(&["--json", "sf", "compose", "status", "mycompose", "--watch"]);
    expect(&watched, 0);
    let doc = watched.json();
    assert_eq!(doc["outcome"], "rolled_back");
    assert_eq!(doc["to_version"], "1.0");
    assert_eq!(
        doc["reason"],
        "a rollback was requested (by this tool or an operator) during upgrade domain UD1"
    );
    let again = served.run(&["--json", "sf", "compose", "start", "mycompose", "--yes"]);
    expect(&again, 3);
    assert_eq!(again.json()["outcome"], "nothing_to_roll_back");
}

#[test]
fn every_scenario_gives_its_exit_code() {
    let fails = run_env_scenario(
        "fails",
        &["--json", "sf", "compose", "start", "mycompose", "--yes"],
    );
    expect(&fails, 1);
    let doc = fails.json();
    assert_eq!(doc["phase"], "failed");
    assert!(
        doc["reason"].as_str().unwrap().contains("did not start"),
        "{doc}"
    );
    let slow = run_env_scenario(
        "slow",
        &[
            "--timeout",
            "2s",
            "sf",
            "compose",
            "start",
            "mycompose",
            "--yes",
        ],
    );
    expect(&slow, 5);
    let unhealthy = Served::start(&["--scenario", "unhealthy"]);
    let verify = unhealthy.run(&[
        "sf",
        "compose",
        "start",
        "mycompose",
        "--yes",
        "--verify",
        "--verify-timeout",
        "1s",
    ]);
    expect(&verify, 7);
    assert!(
        verify.stderr.contains(
            "error: rolled back, but mycompose was not healthy within 1s (last read error: service fabric:/mycompose/web is Error"
        ),
        "{}",
        verify.stderr
    );
    let healthy = sandboxed(&["sf", "compose", "start", "mycompose", "--yes", "--verify"]);
    expect(&healthy, 0);
    let auth = run_env_scenario("auth", &["sf", "compose", "status", "mycompose"]);
    expect(&auth, 4);
    let unknown = sandboxed(&["sf", "compose", "status", "other"]);
    expect(&unknown, 1);
    assert!(
        unknown
            .stderr
            .contains("Compose deployment other not found"),
        "{}",
        unknown.stderr
    );
}
