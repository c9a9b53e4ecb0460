//! Application ids, and hostile upgrade-progress, error and version answers: read or
//! refused, never a panic.

use super::*;
use model::{FabricError, VersionInfo};

#[test]
fn names_become_ids() {
    assert_eq!(
        AppId::parse("fabric:/myapp/app1").unwrap().as_str(),
        "myapp~app1"
    );
    assert_eq!(AppId::parse("FABRIC:/a/b/c").unwrap().as_str(), "a~b~c");
    assert_eq!(AppId::parse("myapp~app1").unwrap().as_str(), "myapp~app1");
    assert_eq!(AppId::parse("fabric:/solo").unwrap().as_str(), "solo");
}

#[test]
fn bad_applications_are_refused() {
    for bad in [
        "",
        "  ",
        "fabric:",
        "fabric:/",
        "fabric:a/b",
        "fabric:/a//b",
        "fabric:/a/",
        "a/b",
        "a~~b",
        "~a",
        "..",
        "fabric:/a/..",
        "a\u{7}b",
        "a\nb",
    ] {
        assert!(AppId::parse(bad).is_err(), "{bad:?} accepted");
    }
}

use crate::testing::{arb_json, arb_object_with, response};
use proptest::prelude::*;

const FIELDS: &[&str] = &[
    "UpgradeState",
    "UpgradeDomains",
    "UpgradeUnits",
    "CurrentUpgradeDomainProgress",
    "NextUpgradeDomain",
    "FailureReason",
    "UpgradeDomainProgressAtFailure",
    "UnhealthyEvaluations",
    "UpgradeDescription",
    "TargetApplicationTypeVersion",
    "UpgradeStatusDetails",
];

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(status in 100u16..600, body in prop::collection::vec(any::<u8>(), 0..512)) {
        let r = response(status, &body);
        let _ = snapshot(&r);
        let _ = fabric_error(&r);
    }

    #[test]
    fn any_json_shape_is_an_answer_or_an_error(doc in arb_object_with(FIELDS)) {
        let r = response(200, doc.to_string().as_bytes());
        if let Ok(s) = snapshot(&r) {
            prop_assert_eq!(s.detail, doc);
        }
    }

    #[test]
    fn unknown_states_and_extra_fields_keep_the_raw_state(state in "[A-Za-z]{1,24}", extra in prop::collection::btree_map("[A-Za-z]{1,10}", arb_json(), 0..4)) {
        let mut doc: serde_json::Map<String, serde_json::Value> = extra.into_iter().collect();
        doc.insert("UpgradeState".into(), state.clone().into());
        let s = snapshot(&response(200, serde_json::Value::Object(doc).to_string().as_bytes())).unwrap();
        prop_assert_eq!(s.phase, model::phase(&state));
        prop_assert_eq!(s.platform_state.as_deref(), Some(state.as_str()));
    }
}

use crate::testing::{Shape, arb_document, arb_text, arb_value, full_document};
use Shape::{Leaf, List, Object};

const DOMAIN: Shape = Object(&[("Name", Leaf), ("State", Leaf)]);
const CURRENT: Shape = Object(&[
    ("DomainName", Leaf),
    (
        "NodeUpgradeProgressList",
        List(&Object(&[
            ("NodeName", Leaf),
            ("UpgradePhase", Leaf),
            (
                "PendingSafetyChecks",
                List(&Object(&[(
                    "SafetyCheck",
                    Object(&[("Kind", Leaf), ("PartitionId", Leaf)]),
                )])),
            ),
        ])),
    ),
]);
/// `ClusterUpgradeProgressObject` and `ApplicationUpgradeProgressInfo`: every field the
/// model reads, and the spec's durations, dates and counts that it keeps in `detail`.
const PROGRESS: Shape = Object(&[
    ("UpgradeState", Leaf),
    (
        "UpgradeDescription",
        Object(&[
            ("CodeVersion", Leaf),
            ("ConfigVersion", Leaf),
            ("UpgradeReplicaSetCheckTimeoutInSeconds", Leaf),
            (
                "MonitoringPolicy",
                Object(&[
                    ("HealthCheckWaitDurationInMilliseconds", Leaf),
                    ("UpgradeDomainTimeoutInMilliseconds", Leaf),
                ]),
            ),
        ]),
    ),
    ("TargetApplicationTypeVersion", Leaf),
    ("RollingUpgradeMode", Leaf),
    ("NextUpgradeDomain", Leaf),
    ("UpgradeDomains", List(&DOMAIN)),
    ("UpgradeUnits", List(&DOMAIN)),
    ("CurrentUpgradeDomainProgress", CURRENT),
    ("CurrentUpgradeUnitsProgress", CURRENT),
    ("FailureReason", Leaf),
    ("UpgradeDomainProgressAtFailure", CURRENT),
    ("UpgradeStatusDetails", Leaf),
    (
        "UnhealthyEvaluations",
        List(&Object(&[(
            "HealthEvaluation",
            Object(&[
                ("Kind", Leaf),
                ("Description", Leaf),
                ("AggregatedHealthState", Leaf),
                ("MaxPercentUnhealthyNodes", Leaf),
                ("TotalCount", Leaf),
                ("ApplicationName", Leaf),
                ("ServiceName", Leaf),
                ("PartitionId", Leaf),
                ("ReplicaOrInstanceId", Leaf),
                ("NodeName", Leaf),
                ("ServiceManifestName", Leaf),
                ("UpgradeDomainName", Leaf),
                (
                    "UnhealthyEvent",
                    Object(&[
                        ("SourceId", Leaf),
                        ("Property", Leaf),
                        ("HealthState", Leaf),
                        ("Description", Leaf),
                    ]),
                ),
            ]),
        )])),
    ),
    ("CodeVersion", Leaf),
    ("ConfigVersion", Leaf),
    ("StartTimestampUtc", Leaf),
    ("FailureTimestampUtc", Leaf),
    ("UpgradeDurationInMilliseconds", Leaf),
    ("UpgradeDomainDurationInMilliseconds", Leaf),
    ("IsNodeByNode", Leaf),
]);
const FABRIC_ERROR: Shape = Object(&[("Error", Object(&[("Code", Leaf), ("Message", Leaf)]))]);
const VERSION: Shape = Object(&[("TypeVersion", Leaf), ("Version", Leaf)]);

fn text() -> BoxedStrategy<serde_json::Value> {
    arb_text().prop_map(serde_json::Value::String).boxed()
}

#[test]
fn the_shapes_name_every_field_the_models_read() {
    let progress: UpgradeProgress = serde_json::from_value(full_document(&PROGRESS)).unwrap();
    let error: FabricError = serde_json::from_value(full_document(&FABRIC_ERROR)).unwrap();
    let version: VersionInfo = serde_json::from_value(full_document(&VERSION)).unwrap();
    for model in [
        format!("{progress:?}"),
        format!("{error:?}"),
        format!("{version:?}"),
    ] {
        assert!(
            !model.contains("None"),
            "a field the shape does not name: {model}"
        );
    }
}

proptest! {
    /// Every known field with any value (1e300, integer extremes, negative, fractional,
    /// long strings, unicode): the snapshot is built, or the answer is an unexpected one.
    #[test]
    fn hostile_values_in_every_field_are_read_or_refused(
        doc in arb_document(&PROGRESS, arb_value),
        error in arb_document(&FABRIC_ERROR, arb_value),
        version in arb_document(&VERSION, arb_value),
        status in 400u16..600,
    ) {
        match snapshot(&response(200, doc.to_string().as_bytes())) {
            Ok(s) => {
                let state = doc["UpgradeState"].as_str().filter(|s| !s.is_empty());
                prop_assert_eq!(s.phase, state.map_or(Phase::Unknown, model::phase));
                prop_assert_eq!(s.platform_state.as_deref(), state);
                prop_assert_eq!(s.detail, doc);
            }
            Err(e) => prop_assert_eq!(e.exit_code(), 1),
        }
        let e = fabric_error(&response(status, error.to_string().as_bytes()));
        prop_assert!([1, 3, 4, 6].contains(&e.exit_code()));
        let _ = serde_json::from_value::<VersionInfo>(version);
    }

    /// Every known field holding text, however hostile: always read.
    #[test]
    fn hostile_texts_in_every_field_are_read(doc in arb_document(&PROGRESS, text)) {
        let s = snapshot(&response(200, doc.to_string().as_bytes())).unwrap();
        let state = doc["UpgradeState"].as_str().filter(|s| !s.is_empty());
        prop_assert_eq!(s.phase, state.map_or(Phase::Unknown, model::phase));
        prop_assert_eq!(s.platform_state.as_deref(), state);
        prop_assert!(!s.progress.is_empty());
    }
}

#[test]
fn segments_escape_only_what_cannot_stand_raw() {
    let id = AppId::parse("fabric:/my app/a#b?c%d/é:$").unwrap();
    assert_eq!(id.path_segment(), "my%20app~a%23b%3Fc%25d~%C3%A9:$");
}
