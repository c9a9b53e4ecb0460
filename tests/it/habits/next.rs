//! Every ending that leaves the user stuck says, in one `next:` line, what to do: the exact
//! command to attach or to walk, the access that is missing, where to look.

use serde_json::json;

use crate::scenario::Scenario;
use crate::scenario::cloudsvc::{SUB, deployment};
use crate::scenario::sf::ROLLBACK;

fn cluster(state: &str) -> serde_json::Value {
    json!({"UpgradeState": state, "UpgradeDescription": {"CodeVersion": "7.1.0"}})
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timeout_gives_the_exact_command_to_attach() {
    Scenario::sf_cluster([cluster("RollingForwardInProgress"), cluster("RollingBackInProgress")])
        .post(ROLLBACK, 202)
        .args(["cluster", "start", "--yes", "--timeout", "1s"])
        .run()
        .await
        .code(5)
        .stderr_ends_with(
            "error: timed out after 1s; last seen: rolling_back (RollingBackInProgress); the rollback continues on the cluster\n\
             next: attach with `rollback sf cluster status --watch --endpoint SERVER --poll-interval 20ms --timeout 1s`\n",
        );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_manual_rollback_waiting_for_a_walk_gives_its_phase_and_the_walk_command() {
    let waiting = deployment(Some(("Manual", "Before", 1)), false);
    let out = Scenario::cloudsvc(waiting).args(["status"]).run().await;
    out.code(0)
        .stdout(
            "target:   mysvc/production\nphase:    rolling_back\nstate:    Manual/Before/UD1\n\
             progress: deployment Running, Manual update in upgrade domain 1 (Before) of 3, RollbackAllowed false, waiting for upgrade domain 1 to be walked\n",
        )
        .stderr(&format!(
            "next: go on with `rollback cloudsvc walk --domain 1 --endpoint SERVER --subscription {SUB} --service mysvc --poll-interval 20ms --slot production`\n"
        ));
    // Quiet: the result only.
    out.again()
        .args(["status", "-q"])
        .run()
        .await
        .code(0)
        .stderr("");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_credential_names_the_access_it_needs() {
    Scenario::sf_cluster(cluster("RollingForwardInProgress"))
        .post(ROLLBACK, 403)
        .args(["cluster", "start", "--yes"])
        .run()
        .await
        .code(4)
        .stderr_contains("\nnext: the cluster refused these credentials: rolling back needs a client certificate the cluster knows as admin (--cert), or a token with the Admin role (ROLLBACK_SF_TOKEN)");
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_answering_points_at_the_endpoint_and_the_sandbox() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    drop(listener);
    Scenario::sf_at(&endpoint)
        .args(["app", "start", "fabric:/myapp/app1", "--yes"])
        .run()
        .await
        .code(6)
        .stderr_ends_with("next: check --endpoint (or its variable or profile key); to try the tool without a platform: `rollback --sandbox sf app start fabric:/myapp/app1`\n");
}
