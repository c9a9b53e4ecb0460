//! Service Fabric health evaluations (in upgrade progress and health documents), and the walk
//! down their polymorphic `UnhealthyEvaluations` to the entity that is unhealthy (`Services` →
//! `Service` → `Partitions` → `Partition` → … → `Event`), so that a message can name it instead
//! of the first wrapper.

use serde::Deserialize;

use crate::platforms::{Health, HealthState};

/// `ApplicationHealth` and `ClusterHealth`: the parts a verdict needs.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HealthDoc {
    pub aggregated_health_state: Option<String>,
    #[serde(deserialize_with = "null_as_empty")]
    pub unhealthy_evaluations: Vec<Wrapper>,
}

/// A list sent as `null` reads as empty.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Wrapper>, D::Error> {
    Ok(Option::<Vec<Wrapper>>::deserialize(d)?.unwrap_or_default())
}

impl HealthDoc {
    /// The verdict: `Ok`/`Warning`/`Error` as they are, `Invalid`/`Unknown` (and anything else)
    /// unknown. Nothing is final: an entity not yet in the health store reads `Error` for a
    /// moment, so a wait reads again until healthy.
    pub fn verdict(&self) -> Health {
        let state = match self.aggregated_health_state.as_deref() {
            Some("Ok") => HealthState::Ok,
            Some("Warning") => HealthState::Warning,
            Some("Error") => HealthState::Error,
            _ => HealthState::Unknown,
        };
        let details = match state {
            HealthState::Ok => Vec::new(),
            HealthState::Unknown => vec![format!(
                "AggregatedHealthState {}",
                self.aggregated_health_state.as_deref().unwrap_or("missing")
            )],
            HealthState::Warning | HealthState::Error => culprits(&self.unhealthy_evaluations),
        };
        Health {
            state,
            settling: true,
            details,
        }
    }
}

/// One line for each unhealthy evaluation at the top, each walked down to its entity, the
/// worst first.
fn culprits(evaluations: &[Wrapper]) -> Vec<String> {
    let mut lines: Vec<(u8, String)> = evaluations
        .iter()
        .filter_map(|w| {
            let e = w.health_evaluation.as_ref()?;
            let rank = match e.aggregated_health_state.as_deref() {
                Some("Error") => 0,
                Some("Warning") => 1,
                _ => 2,
            };
            Some((rank, culprit(std::slice::from_ref(w))?.line()))
        })
        .collect();
    lines.sort_by_key(|(rank, _)| *rank);
    lines.into_iter().map(|(_, line)| line).collect()
}

/// `HealthEvaluationWrapper`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Wrapper {
    pub health_evaluation: Option<Evaluation>,
}

/// A `HealthEvaluation` of any `Kind`: the fields that name an entity, whichever kind has them.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Evaluation {
    pub kind: Option<String>,
    pub aggregated_health_state: Option<String>,
    pub description: Option<String>,
    pub application_name: Option<String>,
    pub service_name: Option<String>,
    pub partition_id: Option<String>,
    pub replica_or_instance_id: Option<String>,
    pub node_name: Option<String>,
    pub service_manifest_name: Option<String>,
    pub upgrade_domain_name: Option<String>,
    pub unhealthy_event: Option<Event>,
    #[serde(deserialize_with = "null_as_empty")]
    pub unhealthy_evaluations: Vec<Wrapper>,
}

/// `HealthEvent`: who reported what.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Event {
    pub source_id: Option<String>,
    pub property: Option<String>,
    pub health_state: Option<String>,
    pub description: Option<String>,
}

/// What is unhealthy, as far down as the evaluations go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Culprit {
    /// The deepest entity named on the way ("service fabric:/myapp/app1/svc1").
    pub entity: Option<String>,
    /// The deepest evaluation's `Kind`, for an aggregate that names no entity (`Nodes`).
    pub kind: Option<String>,
    /// Its health state (`Error`, `Warning`).
    pub state: Option<String>,
    /// The most specific description: the health event's, else the deepest evaluation's.
    pub description: Option<String>,
}

impl Culprit {
    /// "service fabric:/myapp/app1/svc1 is Error: the event's description", or for an
    /// aggregate alone "Nodes: its description".
    pub fn line(&self) -> String {
        let description = self
            .description
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty());
        let mut line = match (&self.entity, &self.kind) {
            (Some(entity), _) => match &self.state {
                Some(state) => format!("{entity} is {state}"),
                None => entity.clone(),
            },
            (None, Some(kind)) => kind.clone(),
            (None, None) => return description.unwrap_or("unhealthy").to_string(),
        };
        if let Some(description) = description {
            line.push_str(&format!(": {description}"));
        }
        line
    }
}

/// How far down the walk goes: documents are trees a server writes.
const MAX_DEPTH: usize = 32;

/// Follows the worst evaluation at each level (Error before Warning, then the first) down to
/// the last one, keeping the deepest entity it names.
pub fn culprit(evaluations: &[Wrapper]) -> Option<Culprit> {
    let mut found: Option<Culprit> = None;
    let mut level = evaluations;
    for _ in 0..MAX_DEPTH {
        let Some(evaluation) = worst(level) else {
            break;
        };
        let culprit = found.get_or_insert(Culprit {
            entity: None,
            kind: None,
            state: None,
            description: None,
        });
        if evaluation.kind.is_some() {
            culprit.kind = evaluation.kind.clone();
        }
        if let Some(entity) = entity(evaluation) {
            culprit.entity = Some(entity);
            culprit.state = evaluation.aggregated_health_state.clone();
        }
        if culprit.state.is_none() {
            culprit.state = evaluation.aggregated_health_state.clone();
        }
        let event = evaluation.unhealthy_event.as_ref();
        let description = event
            .and_then(|e| e.description.clone())
            .or_else(|| evaluation.description.clone());
        if description.is_some() {
            culprit.description = description;
        }
        level = &evaluation.unhealthy_evaluations;
    }
    found
}

fn worst(level: &[Wrapper]) -> Option<&Evaluation> {
    let evaluations = || level.iter().filter_map(|w| w.health_evaluation.as_ref());
    let in_state =
        |state: &str| evaluations().find(|e| e.aggregated_health_state.as_deref() == Some(state));
    in_state("Error")
        .or_else(|| in_state("Warning"))
        .or_else(|| evaluations().next())
}

/// The entity an evaluation of one entity names; `None` for the aggregates (`Services`,
/// `Nodes`, …), which only lead to them.
fn entity(e: &Evaluation) -> Option<String> {
    let on_node = |what: String| match &e.node_name {
        Some(node) => format!("{what} on node {node}"),
        None => what,
    };
    let kind = e.kind.as_deref()?;
    Some(match kind {
        "Application" => format!("application {}", e.application_name.as_deref()?),
        "Service" => format!("service {}", e.service_name.as_deref()?),
        "Partition" => format!("partition {}", e.partition_id.as_deref()?),
        "Replica" => format!(
            "replica {} of partition {}",
            e.replica_or_instance_id.as_deref()?,
            e.partition_id.as_deref().unwrap_or("?")
        ),
        "Node" => format!("node {}", e.node_name.as_deref()?),
        "DeployedApplication" => on_node(format!("application {}", e.application_name.as_deref()?)),
        "DeployedServicePackage" => on_node(format!(
            "service package {}",
            e.service_manifest_name.as_deref()?
        )),
        "UpgradeDomainNodes"
        | "UpgradeDomainDeployedApplications"
        | "UpgradeDomainDeltaNodesCheck" => {
            format!("upgrade domain {}", e.upgrade_domain_name.as_deref()?)
        }
        "SystemApplication" => "the system application fabric:/System".into(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> HealthDoc {
        serde_json::from_str(json).unwrap()
    }

    /// The shape of the spec's `ApplicationHealth` example, down to an event on a replica.
    const APP: &str = r#"{
      "AggregatedHealthState": "Error",
      "Name": "fabric:/myapp/app1",
      "UnhealthyEvaluations": [
        {"HealthEvaluation": {"Kind": "Event", "AggregatedHealthState": "Warning",
          "Description": "a warning on the application itself",
          "UnhealthyEvent": {"SourceId": "ops", "Property": "note", "HealthState": "Warning"}}},
        {"HealthEvaluation": {"Kind": "Services", "AggregatedHealthState": "Error",
          "Description": "100% (1/1) services of type MyService are unhealthy",
          "ServiceTypeName": "MyService", "TotalCount": 1,
          "UnhealthyEvaluations": [
            {"HealthEvaluation": {"Kind": "Service", "AggregatedHealthState": "Error",
              "ServiceName": "fabric:/myapp/app1/svc1",
              "Description": "Unhealthy service",
              "UnhealthyEvaluations": [
                {"HealthEvaluation": {"Kind": "Partitions", "AggregatedHealthState": "Error",
                  "UnhealthyEvaluations": [
                    {"HealthEvaluation": {"Kind": "Partition", "AggregatedHealthState": "Error",
                      "PartitionId": "9a3c1b6e-0000-4000-8000-000000000001",
                      "UnhealthyEvaluations": [
                        {"HealthEvaluation": {"Kind": "Event", "AggregatedHealthState": "Error",
                          "Description": "Error event: SourceId='System.FM', Property='State'.",
                          "UnhealthyEvent": {"SourceId": "System.FM", "Property": "State",
                            "HealthState": "Error",
                            "Description": "Partition is below target replica or instance count."}}}
                      ]}}
                  ]}}
              ]}}
          ]}}
      ]
    }"#;

    #[test]
    fn the_walk_goes_down_the_worst_evaluation_to_the_deepest_entity() {
        let doc = read(APP);
        let culprit = culprit(&doc.unhealthy_evaluations).unwrap();
        assert_eq!(
            culprit,
            Culprit {
                entity: Some("partition 9a3c1b6e-0000-4000-8000-000000000001".into()),
                kind: Some("Event".into()),
                state: Some("Error".into()),
                description: Some("Partition is below target replica or instance count.".into()),
            }
        );
        assert_eq!(
            culprit.line(),
            "partition 9a3c1b6e-0000-4000-8000-000000000001 is Error: Partition is below target replica or instance count."
        );
    }

    #[test]
    fn the_verdict_names_the_worst_entity_first() {
        let verdict = read(APP).verdict();
        assert_eq!(verdict.state, HealthState::Error);
        assert!(
            verdict.settling,
            "an Error may be the health store catching up"
        );
        assert_eq!(
            verdict.details,
            [
                "partition 9a3c1b6e-0000-4000-8000-000000000001 is Error: Partition is below target replica or instance count.",
                "Event: a warning on the application itself",
            ]
        );
        assert!(!verdict.is_healthy(false));
        let warning =
            read(r#"{"AggregatedHealthState":"Warning","UnhealthyEvaluations":[]}"#).verdict();
        assert!(warning.is_healthy(false) && !warning.is_healthy(true));
        for (state, read_as) in [
            ("Ok", HealthState::Ok),
            ("Invalid", HealthState::Unknown),
            ("Unknown", HealthState::Unknown),
            ("Sideways", HealthState::Unknown),
        ] {
            let doc = read(&format!(r#"{{"AggregatedHealthState":"{state}"}}"#));
            assert_eq!(doc.verdict().state, read_as, "{state}");
        }
    }

    #[test]
    fn entities_of_every_kind_are_named() {
        let cases = [
            (
                r#"{"Kind":"Service","ServiceName":"fabric:/a/s"}"#,
                "service fabric:/a/s",
            ),
            (
                r#"{"Kind":"Application","ApplicationName":"fabric:/a"}"#,
                "application fabric:/a",
            ),
            (r#"{"Kind":"Node","NodeName":"_Node_0"}"#, "node _Node_0"),
            (
                r#"{"Kind":"Replica","PartitionId":"p1","ReplicaOrInstanceId":"132"}"#,
                "replica 132 of partition p1",
            ),
            (
                r#"{"Kind":"DeployedApplication","ApplicationName":"fabric:/a","NodeName":"n1"}"#,
                "application fabric:/a on node n1",
            ),
            (
                r#"{"Kind":"DeployedServicePackage","ServiceManifestName":"Pkg","NodeName":"n1"}"#,
                "service package Pkg on node n1",
            ),
            (
                r#"{"Kind":"UpgradeDomainNodes","UpgradeDomainName":"UD1"}"#,
                "upgrade domain UD1",
            ),
        ];
        for (json, named) in cases {
            let evaluation: Evaluation = serde_json::from_str(json).unwrap();
            assert_eq!(entity(&evaluation).as_deref(), Some(named), "{json}");
        }
        // Aggregates lead to an entity, they are none.
        let nodes: Evaluation = serde_json::from_str(r#"{"Kind":"Nodes"}"#).unwrap();
        assert_eq!(entity(&nodes), None);
    }

    #[test]
    fn an_aggregate_without_children_still_says_what_it_knows() {
        let doc = read(
            r#"{"AggregatedHealthState":"Error","UnhealthyEvaluations":[
                {"HealthEvaluation":{"Kind":"Nodes","AggregatedHealthState":"Error",
                 "Description":"66% (2/3) nodes are unhealthy"}}]}"#,
        );
        let culprit = culprit(&doc.unhealthy_evaluations).unwrap();
        assert_eq!(culprit.line(), "Nodes: 66% (2/3) nodes are unhealthy");
    }

    #[test]
    fn hostile_documents_are_read_and_bounded() {
        // Nulls, wrong types where they are tolerated, no evaluations at all.
        let doc = read(r#"{"AggregatedHealthState":null,"UnhealthyEvaluations":null,"X":[1]}"#);
        assert_eq!(culprit(&doc.unhealthy_evaluations), None);
        // A chain deeper than the walk goes: it stops, naming what it reached.
        let mut json = String::from(
            r#"{"Kind":"Service","ServiceName":"fabric:/deep","AggregatedHealthState":"Error"}"#,
        );
        for _ in 0..40 {
            json = format!(
                r#"{{"Kind":"Services","AggregatedHealthState":"Error","UnhealthyEvaluations":[{{"HealthEvaluation":{json}}}]}}"#
            );
        }
        let doc = read(&format!(
            r#"{{"UnhealthyEvaluations":[{{"HealthEvaluation":{json}}}]}}"#
        ));
        let culprit = culprit(&doc.unhealthy_evaluations).unwrap();
        assert_eq!(culprit.entity, None, "the service is past the bound");
        // Deeper than serde_json reads: an error, no stack overflow.
        let deep = "[".repeat(10_000);
        assert!(serde_json::from_str::<HealthDoc>(&deep).is_err());
    }
}
