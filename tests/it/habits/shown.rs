//! What the results show: durations under a second in milliseconds, a cluster's version from
//! the progress's own `CodeVersion`.

use regex::Regex;
use serde_json::json;

use crate::scenario::Scenario;
use crate::scenario::sf::APP_ROLLBACK;

#[tokio::test(flavor = "multi_thread")]
async fn a_rollback_under_a_second_says_milliseconds() {
    let progress =
        |state: &str| json!({"UpgradeState": state, "TargetApplicationTypeVersion": "2.0.0"});
    let out = Scenario::sf_app([
        progress("RollingForwardInProgress"),
        progress("RollingBackCompleted"),
    ])
    .post(APP_ROLLBACK, 200)
    .args(["app", "start", "myapp~app1", "--yes"])
    .run()
    .await;
    out.code(0);
    let shown = Regex::new(
        r"^Rolled back myapp~app1 from 2\.0\.0 \(RollingBackCompleted\) in [1-9]\d{0,2}ms\.\n$",
    )
    .unwrap();
    assert!(shown.is_match(&out.run.stdout), "{:?}", out.run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_without_an_upgrade_description_takes_its_version_from_code_version() {
    let progress = json!({"UpgradeState": "RollingBackInProgress", "CodeVersion": "7.1.0", "ConfigVersion": "2"});
    let out = Scenario::sf_cluster(progress)
        .args(["cluster", "status", "--json"])
        .run()
        .await;
    out.code(0);
    assert_eq!(out.json()["from_version"], "7.1.0");
}
