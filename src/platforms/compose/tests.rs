use super::model::{ComposeProgress, phase};
use super::*;

fn read(json: &str) -> ComposeProgress {
    serde_json::from_str(json).unwrap()
}

#[test]
fn every_upgrade_state_has_its_phase_and_decision() {
    // (UpgradeState, phase, what `start` does)
    let table = [
        ("ProvisioningTarget", Phase::Upgrading, "roll back"),
        ("RollingForwardInProgress", Phase::Upgrading, "roll back"),
        ("RollingForwardPending", Phase::Upgrading, "roll back"),
        ("UnprovisioningCurrent", Phase::Idle, "nothing"),
        ("RollingForwardCompleted", Phase::Idle, "nothing"),
        ("RollingBackInProgress", Phase::RollingBack, "attach"),
        ("UnprovisioningTarget", Phase::RollingBack, "attach"),
        ("RollingBackCompleted", Phase::RolledBack, "nothing"),
        ("Failed", Phase::Failed, "refuse"),
        ("Invalid", Phase::Unknown, "refuse"),
        ("SomethingNew", Phase::Unknown, "refuse"),
    ];
    for (state, expected, decided_as) in table {
        let body = format!(r#"{{"UpgradeState":"{state}","FailureReason":"None"}}"#);
        let response = Response {
            method: Method::GET,
            url: "http://127.0.0.1:1/ComposeDeployments/c/$/GetUpgradeProgress"
                .parse()
                .unwrap(),
            status: 200,
            headers: Default::default(),
            body: body.into_bytes(),
        };
        let (snapshot, _) = snapshot(&response).unwrap();
        assert_eq!(snapshot.phase, expected, "{state}");
        assert_eq!(snapshot.moving, expected.is_active(), "{state}");
        assert_eq!(snapshot.domains, None, "no domain list");
        assert_eq!(snapshot.reason, None, "FailureReason None is no reason");
        let decided = match decision(&snapshot) {
            Decision::RollBack => "roll back",
            Decision::Attach => "attach",
            Decision::Nothing(_) => "nothing",
            Decision::Refuse(_) => "refuse",
        };
        assert_eq!(decided, decided_as, "{state}");
        assert_eq!(phase(state), expected);
    }
}

#[test]
fn the_reason_names_why_where_and_the_first_unhealthy_entity() {
    let p = read(
        r#"{"UpgradeState":"RollingBackInProgress","FailureReason":"HealthCheck",
            "UpgradeDomainProgressAtFailure":{"DomainName":"UD1","NodeUpgradeProgressList":[]},
            "ApplicationUnhealthyEvaluations":[{"HealthEvaluation":{"Kind":"Services",
              "AggregatedHealthState":"Error","Description":"1 of 1 services unhealthy",
              "UnhealthyEvaluations":[{"HealthEvaluation":{"Kind":"Service",
                "AggregatedHealthState":"Error","ServiceName":"fabric:/mycompose/web",
                "Description":"Service is in Error"}}]}}],
            "ApplicationUpgradeStatusDetails":"Health check failed in UD1."}"#,
    );
    assert_eq!(
        p.reason().as_deref(),
        Some(
            "the health check failed during upgrade domain UD1: service fabric:/mycompose/web is Error: Service is in Error; Health check failed in UD1."
        )
    );
    assert_eq!(p.progress_line(), "RollingBackInProgress");
    for (reason, line) in [
        (
            "Interrupted",
            "a rollback was requested (by this tool or an operator)",
        ),
        ("UpgradeDomainTimeout", "the upgrade domain timeout ran out"),
        (
            "OverallUpgradeTimeout",
            "the overall upgrade timeout ran out",
        ),
        ("Elsewhere", "FailureReason Elsewhere"),
    ] {
        let p = read(&format!(r#"{{"FailureReason":"{reason}"}}"#));
        assert_eq!(p.reason().as_deref(), Some(line));
    }
    for none in [
        r#"{"FailureReason":"None"}"#,
        r#"{"FailureReason":""}"#,
        "{}",
    ] {
        assert_eq!(read(none).reason(), None, "{none}");
    }
    assert_eq!(read("{}").failure_text(), "no reason given");
}

#[test]
fn progress_names_the_state_and_the_current_domain() {
    let p = read(
        r#"{"UpgradeState":"RollingForwardInProgress","TargetApplicationTypeVersion":"2.0",
            "CurrentUpgradeDomainProgress":{"DomainName":"UD1"},"FailureReason":"None",
            "UpgradeDuration":"PT1M","Extra":[1]}"#,
    );
    assert_eq!(p.progress_line(), "RollingForwardInProgress, in UD1");
    assert_eq!(p.abandoned_version().as_deref(), Some("2.0"));
    let nulls = read(r#"{"UpgradeState":null,"CurrentUpgradeDomainProgress":null}"#);
    assert_eq!(nulls.progress_line(), "no UpgradeState");
}

#[test]
fn names_are_one_segment() {
    assert_eq!(
        ComposeName::parse("mycompose").unwrap().as_str(),
        "mycompose"
    );
    assert_eq!(
        ComposeName::parse("fabric:/mycompose").unwrap().as_str(),
        "mycompose"
    );
    assert_eq!(ComposeName::parse("a b#c").unwrap().as_str(), "a b#c");
    assert_eq!(segment("a b#c"), "a%20b%23c");
    for bad in ["", "  ", "a/b", "fabric:/a/b", "..", ".", "a\u{7}b"] {
        assert!(ComposeName::parse(bad).is_err(), "{bad:?}");
    }
    assert!(ComposeName::parse(&"x".repeat(MAX_VALUE + 1)).is_err());
}
