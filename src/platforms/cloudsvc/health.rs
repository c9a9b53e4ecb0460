//! Cloud Services health after a rollback: the deployment `Running` and every role instance
//! `ReadyRole`. Transitional instance states keep a wait going; failed ones are named.

use super::model::Deployment;
use crate::platforms::{Health, HealthState};

/// Instance states on the way to `ReadyRole`.
const TRANSITIONAL: &[&str] = &[
    "Unknown",
    "CreatingVM",
    "StartingVM",
    "CreatingRole",
    "StartingRole",
    "BusyRole",
    "Preparing",
    "RoleStateUnknown",
];

/// The verdict of a Get Deployment answer.
pub fn verdict(deployment: &Deployment) -> Health {
    let instances = deployment
        .role_instance_list
        .as_ref()
        .map(|list| list.role_instances.as_slice())
        .unwrap_or_default();
    let mut failed = Vec::new();
    let mut waiting = Vec::new();
    for instance in instances {
        let status = instance.instance_status.as_deref().unwrap_or("no status");
        if status == "ReadyRole" {
            continue;
        }
        let name = instance
            .instance_name
            .as_deref()
            .or(instance.role_name.as_deref())
            .unwrap_or("an unnamed instance");
        let line = format!("role instance {name} is {status}");
        if TRANSITIONAL.contains(&status) {
            waiting.push(line);
        } else {
            failed.push(line);
        }
    }
    let status = deployment.status.as_deref().unwrap_or("no status");
    if status != "Running" {
        waiting.insert(0, format!("the deployment is {status}"));
    }
    if instances.is_empty() {
        waiting.push("the deployment lists no role instance".into());
    }
    let state = if !failed.is_empty() {
        HealthState::Error
    } else if !waiting.is_empty() {
        HealthState::Unknown
    } else {
        HealthState::Ok
    };
    failed.extend(waiting);
    Health {
        state,
        // A restarting or recycling role may come back: the wait reads again until the bound.
        settling: true,
        details: failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::cloudsvc::model::parse;

    fn deployment(status: &str, instances: &[(&str, &str)]) -> Deployment {
        let instances: String = instances
            .iter()
            .map(|(name, state)| {
                format!("<RoleInstance><RoleName>Web</RoleName><InstanceName>{name}</InstanceName><InstanceStatus>{state}</InstanceStatus></RoleInstance>")
            })
            .collect();
        let xml = format!(
            r#"<Deployment xmlns="http://schemas.microsoft.com/windowsazure"><Status>{status}</Status><RoleInstanceList>{instances}</RoleInstanceList></Deployment>"#
        );
        parse(xml.as_bytes()).unwrap()
    }

    #[test]
    fn every_instance_ready_and_running_is_healthy() {
        let health = verdict(&deployment(
            "Running",
            &[("Web_IN_0", "ReadyRole"), ("Web_IN_1", "ReadyRole")],
        ));
        assert_eq!(health.state, HealthState::Ok);
        assert!(health.details.is_empty());
    }

    #[test]
    fn transitional_states_wait_and_failed_ones_are_named_first() {
        for state in TRANSITIONAL {
            let health = verdict(&deployment("Running", &[("Web_IN_0", state)]));
            assert_eq!(health.state, HealthState::Unknown, "{state}");
            assert!(health.settling);
        }
        for state in [
            "RestartingRole",
            "CyclingRole",
            "FailedStartingRole",
            "FailedStartingVM",
            "UnresponsiveRole",
            "StoppedVM",
            "StoppedDeallocated",
        ] {
            let health = verdict(&deployment(
                "Running",
                &[("Web_IN_0", "BusyRole"), ("Web_IN_1", state)],
            ));
            assert_eq!(health.state, HealthState::Error, "{state}");
            assert_eq!(
                health.details,
                [
                    format!("role instance Web_IN_1 is {state}"),
                    "role instance Web_IN_0 is BusyRole".to_string()
                ]
            );
        }
        let suspended = verdict(&deployment(
            "RunningTransitioning",
            &[("Web_IN_0", "ReadyRole")],
        ));
        assert_eq!(suspended.state, HealthState::Unknown);
        assert_eq!(
            suspended.details,
            ["the deployment is RunningTransitioning"]
        );
        let empty = verdict(&deployment("Running", &[]));
        assert_eq!(empty.state, HealthState::Unknown);
    }
}
