use std::time::Duration;

use super::*;

fn pace() -> Pace {
    Pace {
        per_domain: Duration::from_secs(1),
        fail_at: None,
    }
}

#[test]
fn an_application_rolls_back_once_through_three_domains() {
    let t0 = Now::current();
    let mut app = Target::new("2.0.0", "1.0.0", t0);
    assert_eq!(app.progress(t0)["UpgradeState"], "RollingForwardInProgress");
    assert!(app.rollback(pace(), t0));
    let later = |s: u64| Now {
        instant: t0.instant + Duration::from_secs(s),
        wall: t0.wall + Duration::from_secs(s),
    };
    let doc = app.progress(later(1));
    assert_eq!(doc["UpgradeState"], "RollingBackInProgress");
    assert_eq!(doc["UpgradeDomains"][0]["State"], "Completed");
    assert_eq!(doc["UpgradeDomains"][1]["State"], "InProgress");
    assert_eq!(doc["NextUpgradeDomain"], "UD2");
    assert_eq!(doc["FailureReason"], "Interrupted");
    assert_eq!(app.version(later(1)), "2.0.0");
    assert_eq!(
        app.progress(later(3))["UpgradeState"],
        "RollingBackCompleted"
    );
    assert_eq!(app.version(later(3)), "1.0.0");
    assert!(
        !app.rollback(pace(), later(4)),
        "a second rollback is refused"
    );
}

#[test]
fn a_failing_rollback_ends_failed_with_details() {
    let t0 = Now::current();
    let mut cluster = Target::new("10.1", "10.0", t0);
    let failing = Pace {
        fail_at: Some(1),
        ..pace()
    };
    assert!(cluster.rollback(failing, t0));
    let at = Now {
        instant: t0.instant + Duration::from_secs(5),
        wall: t0.wall,
    };
    let doc = cluster.progress(at);
    assert_eq!(doc["UpgradeState"], "Failed");
    assert!(
        doc["UpgradeStatusDetails"]
            .as_str()
            .unwrap()
            .contains("UD1")
    );
    // Why, as Service Fabric says it: the health check, the domain, the node.
    assert_eq!(doc["FailureReason"], "HealthCheck");
    assert_eq!(doc["UpgradeDomainProgressAtFailure"]["DomainName"], "UD1");
    let node = &doc["UnhealthyEvaluations"][0]["HealthEvaluation"]["UnhealthyEvaluations"][0]["HealthEvaluation"];
    assert_eq!(node["Kind"], "Node");
    assert_eq!(node["NodeName"], "_Node_1");
}

/// `method path` with `authorization` (none when `None`) at `now`: status and body.
fn send(
    sf: &mut Sf,
    creds: &Credentials,
    method: &str,
    path: &str,
    token: Option<&str>,
    now: Now,
) -> (u16, Value) {
    let mut headers = hyper::HeaderMap::new();
    if let Some(token) = token {
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (path.to_string(), None),
    };
    let request = Request {
        method: method.into(),
        path,
        query,
        headers,
        body: Vec::new(),
    };
    let reply = sf.handle(&request, creds, now);
    let body = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
    (reply.status, body)
}

#[test]
fn the_gateway_answers_as_service_fabric_does() {
    let t0 = Now::current();
    let creds = Credentials::create(false).unwrap();
    let token = creds.sf_token.clone();
    let ok = Some(token.as_str());
    let mut sf = Sf::new(pace(), true, t0);
    let progress = "/Applications/myapp~app1/$/GetUpgradeProgress?api-version=6.0";
    assert_eq!(send(&mut sf, &creds, "GET", progress, None, t0).0, 401);
    let (status, body) = send(&mut sf, &creds, "GET", progress, Some("nope"), t0);
    assert_eq!(
        (status, body["Error"]["Code"].as_str()),
        (403, Some("E_ACCESSDENIED"))
    );
    let (status, body) = send(
        &mut sf,
        &creds,
        "GET",
        "/Applications/myapp~app1/$/GetUpgradeProgress",
        ok,
        t0,
    );
    assert_eq!(
        (status, body["Error"]["Code"].as_str()),
        (400, Some("E_INVALIDARG"))
    );
    let (status, body) = send(
        &mut sf,
        &creds,
        "GET",
        "/Applications/other~app/$/GetUpgradeProgress?api-version=6.0",
        ok,
        t0,
    );
    assert_eq!(
        (status, body["Error"]["Code"].as_str()),
        (404, Some("FABRIC_E_APPLICATION_NOT_FOUND"))
    );
    assert_eq!(
        send(
            &mut sf,
            &creds,
            "GET",
            "/Applications/other~app?api-version=6.0",
            ok,
            t0
        )
        .0,
        204
    );
    let (status, body) = send(&mut sf, &creds, "GET", progress, ok, t0);
    assert_eq!(
        (status, body["TargetApplicationTypeVersion"].as_str()),
        (200, Some("2.0.0"))
    );
    let rollback = "/Applications/myapp~app1/$/RollbackUpgrade?api-version=6.0";
    assert_eq!(send(&mut sf, &creds, "POST", rollback, ok, t0).0, 200);
    let (status, body) = send(&mut sf, &creds, "POST", rollback, ok, t0);
    assert_eq!(
        (status, body["Error"]["Code"].as_str()),
        (400, Some("FABRIC_E_APPLICATION_NOT_UPGRADING"))
    );
    assert_eq!(
        send(
            &mut sf,
            &creds,
            "POST",
            "/$/RollbackUpgrade?api-version=6.0",
            ok,
            t0
        )
        .0,
        202
    );
    let (_, body) = send(
        &mut sf,
        &creds,
        "GET",
        "/$/GetClusterVersion?api-version=6.4",
        ok,
        t0,
    );
    assert_eq!(body["Version"], "10.1.1541.9590", "not rolled back yet");
    // Scenario unhealthy: health reads Error.
    let (_, body) = send(
        &mut sf,
        &creds,
        "GET",
        "/Applications/myapp~app1/$/GetHealth?api-version=6.0",
        ok,
        t0,
    );
    assert_eq!(body["AggregatedHealthState"], "Error");
    assert_eq!(
        body["UnhealthyEvaluations"][0]["HealthEvaluation"]["Kind"],
        "Services"
    );
    assert_eq!(
        send(&mut sf, &creds, "GET", "/$/Nothing?api-version=6.0", ok, t0).0,
        404
    );
    creds.remove();
}

#[test]
fn a_compose_deployment_rolls_back_then_unprovisions_its_target() {
    let t0 = Now::current();
    let later = |s: u64| Now {
        instant: t0.instant + Duration::from_secs(s),
        wall: t0.wall + Duration::from_secs(s),
    };
    let mut sf = Sf::new(pace(), false, t0);
    let get = |path: &str, version: &str| Request {
        method: "GET".into(),
        path: path.into(),
        query: Some(format!("api-version={version}")),
        headers: Default::default(),
        body: Vec::new(),
    };
    let progress = "/ComposeDeployments/mycompose/$/GetUpgradeProgress";
    let state = |sf: &mut Sf, at: Now| {
        let reply = sf
            .compose
            .route(&get(progress, "6.0-preview"), pace(), false, at);
        let doc: Value = serde_json::from_slice(&reply.unwrap().body).unwrap();
        doc["UpgradeState"].as_str().unwrap().to_string()
    };
    assert_eq!(state(&mut sf, t0), "RollingForwardInProgress");
    // The compose operations keep their own api-versions.
    let wrong = sf.compose.route(&get(progress, "6.0"), pace(), false, t0);
    assert_eq!(wrong.unwrap().status, 400);
    let mut post = get(
        "/ComposeDeployments/mycompose/$/RollbackUpgrade",
        "6.4-preview",
    );
    post.method = "POST".into();
    assert_eq!(
        sf.compose.route(&post, pace(), false, t0).unwrap().status,
        200
    );
    assert_eq!(
        sf.compose.route(&post, pace(), false, t0).unwrap().status,
        400
    );
    assert_eq!(state(&mut sf, later(1)), "RollingBackInProgress");
    assert_eq!(state(&mut sf, later(3)), "UnprovisioningTarget");
    assert_eq!(state(&mut sf, later(4)), "RollingBackCompleted");
    let info = sf.compose.route(
        &get("/Applications/mycompose", "6.0"),
        pace(),
        false,
        later(4),
    );
    let info: Value = serde_json::from_slice(&info.unwrap().body).unwrap();
    assert_eq!(info["TypeVersion"], "1.0");
    let health = sf.compose.route(
        &get("/Applications/mycompose/$/GetHealth", "6.0"),
        pace(),
        true,
        later(4),
    );
    let health: Value = serde_json::from_slice(&health.unwrap().body).unwrap();
    assert_eq!(health["AggregatedHealthState"], "Error");
    // Other applications are not the deployment's.
    assert!(
        sf.compose
            .route(&get("/Applications/myapp~app1", "6.0"), pace(), false, t0)
            .is_none()
    );
}
