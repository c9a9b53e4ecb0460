//! Every scenario of the sandbox gives its documented exit code, and `--sandbox` refuses the
//! connection options it cannot honour.

use serde_json::{Value, json};

use super::served::{Served, expect, run_env_scenario, run_env_scenario_none, sandboxed};

#[test]
fn scenario_fails_fails_on_every_platform() {
    let served = Served::start(&["--scenario", "fails"]);
    // ArcGIS documents no failure word for its job: the client calls the one it sees unknown.
    // Each says why as its platform does: SF's FailureReason with the domain and the node,
    // the Cloud Services operation's error, the ArcGIS job's last message.
    for (args, phase, reason, progress) in [
        (
            &["sf", "app", "start", "myapp~app1", "--yes"][..],
            "failed",
            "the health check failed during upgrade domain UD1: node _Node_1 is Error: Node _Node_1 did not come back after the rollback (sandbox scenario fails).",
            json!({"domains_done": 1, "domains_total": 3, "current": "UD1"}),
        ),
        (
            &["cloudsvc", "start", "--yes"],
            "failed",
            "InternalError: The rollback of upgrade domain 1 failed: role instance WebRole1_IN_1 did not start (sandbox scenario fails).",
            Value::Null,
        ),
        (
            &["arcgis", "start", "--to", "previous", "--yes"],
            "unknown",
            "Rollback failed: the containers of step 2 did not start in time (sandbox scenario fails).",
            Value::Null,
        ),
    ] {
        let run = served.run(&[&["--json"], args].concat());
        expect(&run, 1);
        let doc = run.json();
        assert_eq!(doc["phase"], phase, "{}", run.stdout);
        assert_eq!(doc["reason"], reason, "{}", run.stdout);
        assert_eq!(doc["progress"], progress, "{}", run.stdout);
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
    // The text output: no result on stdout, the reason after the error.
    assert!(
        sf.stderr.contains(
            "\nreason: the health check failed during upgrade domain UD1: node _Node_1 is Error: "
        ),
        "{}",
        sf.stderr
    );
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

/// `--verify` turns the `unhealthy` scenario into exit 7 naming the entity, on every platform
/// that reports health; the healthy sandbox verifies with 0.
#[test]
fn scenario_unhealthy_with_verify_is_exit_7() {
    let served = Served::start(&["--scenario", "unhealthy"]);
    let verify = ["--yes", "--verify", "--verify-timeout", "1s"];
    let app = served.run(&[&["sf", "app", "start", "myapp~app1"][..], &verify].concat());
    expect(&app, 7);
    assert!(
        app.stderr.contains("error: rolled back, but myapp~app1 was not healthy within 1s (last read error: service fabric:/myapp/app1/"),
        "{}",
        app.stderr
    );
    expect(
        &served.run(&[&["sf", "cluster", "start"][..], &verify].concat()),
        7,
    );
    let cloudsvc = served.run(&[&["--json", "cloudsvc", "start"][..], &verify].concat());
    expect(&cloudsvc, 7);
    let doc: Value = serde_json::from_str(&cloudsvc.stdout).unwrap();
    assert_eq!(doc["outcome"], "rolled_back");
    assert_eq!(doc["health"]["state"], "error");
    assert_eq!(doc["error"]["kind"], "unhealthy");
    // ArcGIS: the version is the one rolled back to, but the health check's report failed.
    let arcgis = ["--json", "arcgis", "start", "--to", "previous"];
    let run = served.run(&[&arcgis[..], &verify].concat());
    expect(&run, 7);
    let doc = run.json();
    assert_eq!(doc["to_version"], "11.3.0.4230");
    assert_eq!(doc["health"]["state"], "error", "{}", run.stdout);
    assert_eq!(
        doc["health"]["details"][0],
        "critical test healthcheck_objectStore (Object store health check): fail"
    );
    let healthy = Served::start(&[]);
    expect(
        &healthy.run(&[&["sf", "app", "start", "myapp~app1"][..], &verify].concat()),
        0,
    );
    let run = healthy.run(&[&arcgis[..], &verify].concat());
    expect(&run, 0);
    assert_eq!(run.json()["health"]["state"], "ok", "{}", run.stdout);
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
    let profile = run_env_scenario_none(
        &[("ROLLBACK_PROFILE", "prod")],
        &["sf", "cluster", "status"],
    );
    expect(&profile, 0);
    assert!(
        profile
            .stderr
            .contains("--sandbox uses its own profile: --profile and --config"),
        "{}",
        profile.stderr
    );
    // Choosing another deployment is no connection option.
    let staging = sandboxed(&["--json", "cloudsvc", "--slot", "staging", "status"]);
    expect(&staging, 0);
    assert_eq!(staging.json()["platform_state"], "Manual/Before/UD1");
}

#[test]
fn a_scenario_without_the_sandbox_reaches_nothing() {
    let run = super::served::run(
        &[
            "sf",
            "cluster",
            "start",
            "--yes",
            "--endpoint",
            "http://127.0.0.1:9",
        ],
        &[("ROLLBACK_SANDBOX_SCENARIO", "fails")],
    );
    expect(&run, 2);
    assert!(
        run.stderr
            .contains("--sandbox-scenario (ROLLBACK_SANDBOX_SCENARIO) needs --sandbox"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_pace_sets_the_time_an_upgrade_domain_takes() {
    // Under `slow` a domain takes ten minutes: a 20s timeout ends only because of the pace.
    let served = Served::start(&["--scenario", "slow", "--pace", "10ms"]);
    let run = served.run(&[
        "--json",
        "--timeout",
        "20s",
        "--poll-interval",
        "100ms",
        "sf",
        "app",
        "start",
        "myapp~app1",
        "--yes",
    ]);
    expect(&run, 0);
    let doc = run.json();
    assert_eq!(doc["outcome"], "rolled_back");
    // Three domains of 10ms, not of the default 800ms.
    assert!(doc["elapsed_ms"].as_u64().unwrap() < 2400, "{doc}");
    let refused = super::served::run(&["sandbox", "--pace", "0s"], &[]);
    expect(&refused, 2);
}
