//! Hostile Service Management answers: read, judged in every state a run can be in, never a
//! panic.

use super::*;

use crate::testing::{Shape, arb_document, arb_xml_text, full_document, response, to_xml};
use Shape::{Leaf, List, Object};
use proptest::prelude::*;
use reqwest::Url;
use serde_json::Value;

const ROLE_INSTANCE: Shape = Object(&[
    ("RoleName", Leaf),
    ("InstanceName", Leaf),
    ("InstanceStatus", Leaf),
    ("InstanceUpgradeDomain", Leaf),
    ("InstanceFaultDomain", Leaf),
    ("InstanceSize", Leaf),
]);
/// `<Deployment>`: every element the model reads, and counts and dates it does not.
const DEPLOYMENT: Shape = Object(&[
    ("Name", Leaf),
    ("DeploymentSlot", Leaf),
    ("PrivateID", Leaf),
    ("Status", Leaf),
    ("Label", Leaf),
    ("Configuration", Leaf),
    (
        "RoleInstanceList",
        Object(&[("RoleInstance", List(&ROLE_INSTANCE))]),
    ),
    (
        "UpgradeStatus",
        Object(&[
            ("UpgradeType", Leaf),
            ("CurrentUpgradeDomainState", Leaf),
            ("CurrentUpgradeDomain", Leaf),
        ]),
    ),
    ("UpgradeDomainCount", Leaf),
    ("SdkVersion", Leaf),
    ("Locked", Leaf),
    ("RollbackAllowed", Leaf),
    ("CreatedTime", Leaf),
    ("LastModifiedTime", Leaf),
]);
const ERROR: Shape = Object(&[("Code", Leaf), ("Message", Leaf)]);
const OPERATION: Shape = Object(&[
    ("ID", Leaf),
    ("Status", Leaf),
    ("HttpStatusCode", Leaf),
    ("Error", ERROR),
]);

fn text() -> BoxedStrategy<Value> {
    arb_xml_text().prop_map(Value::String).boxed()
}

fn document(name: &str, value: &Value) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n{}",
        to_xml(name, value)
    )
    .into_bytes()
}

fn target(mode: Mode, walk_only: bool) -> CloudsvcTarget {
    let base = Url::parse("https://management.core.invalid").unwrap();
    let http = crate::testing::client(&base);
    let purpose = if walk_only {
        Purpose::Walk
    } else {
        Purpose::Rollback
    };
    CloudsvcTarget::new(
        CloudsvcClient {
            http,
            base,
            subscription: "0123abcd-0000-4000-8000-0123456789ab".into(),
            service: "svc".into(),
            deploy: Deploy::Slot(Slot::Production),
        },
        mode,
        false,
        purpose,
    )
}

fn accepted_with(id: &str) -> Response {
    let mut answer = response(202, b"");
    answer
        .headers
        .insert("x-ms-request-id", id.parse().unwrap());
    answer
}

/// The text of a leaf as the API would parse it: a number of type `T`, or none.
fn number<T: std::str::FromStr>(value: &Value) -> Option<T> {
    value.as_str()?.trim().parse().ok()
}

#[test]
fn the_shapes_name_every_element_the_models_read() {
    let d: Deployment = model::parse(&document("Deployment", &full_document(&DEPLOYMENT))).unwrap();
    let o: Operation = model::parse(&document("Operation", &full_document(&OPERATION))).unwrap();
    for model in [format!("{d:?}"), format!("{o:?}")] {
        assert!(
            !model.contains("None"),
            "an element the shape does not name: {model}"
        );
    }
    assert_eq!(d.role_instance_list.unwrap().role_instances.len(), 1);
}

proptest! {
    /// Get Deployment with hostile text in every element (counts and upgrade domains
    /// beyond u32, negative, fractional, 1e300, long strings) is read and judged in every
    /// state a run can be in, without a panic.
    #[test]
    fn hostile_deployments_are_judged(
        doc in arb_document(&DEPLOYMENT, text),
        manual in any::<bool>(),
        walk_only in any::<bool>(),
        accepted in any::<bool>(),
    ) {
        let body = document("Deployment", &doc);
        let mode = if manual { Mode::Manual } else { Mode::Auto };
        let mut t = target(mode, walk_only);
        if accepted {
            t.accepted(&accepted_with("5250805d51f2bf4fb2b7614bc03870de")).unwrap();
            t.tracking.operation_done = true;
        }
        let deployment: Deployment = model::parse(&body).unwrap();
        let snapshot = t.judge(DeploymentState { deployment, retry_after: None });
        let upgrade = &doc["UpgradeStatus"];
        let domains = t.deployment_state(&snapshot);
        prop_assert_eq!(domains.count, number::<u32>(&doc["UpgradeDomainCount"]));
        let current = number::<u32>(&upgrade["CurrentUpgradeDomain"]);
        prop_assert_eq!(domains.current.map(|c| c.0), current);
        if upgrade.is_null() {
            prop_assert!(!snapshot.moving);
        } else if !accepted {
            prop_assert!(matches!(snapshot.phase, Phase::Upgrading | Phase::Unknown));
        }
        if snapshot.next_step.is_some() {
            prop_assert!(manual && accepted && !walk_only && current.is_some());
        }
        let _ = crate::testing::finish(t.describe(&snapshot));
        let _ = t.decide(&snapshot);
    }

    /// Get Operation Status with hostile text everywhere, `HttpStatusCode` included.
    #[test]
    fn hostile_operations_are_judged(
        doc in arb_document(&OPERATION, text),
        status in prop::sample::select(&["InProgress", "Succeeded", "Failed", "Other"][..]),
        keep in any::<bool>(),
    ) {
        let mut doc = doc;
        if keep {
            doc["Status"] = Value::String(status.into());
        }
        let body = document("Operation", &doc);
        let mut t = target(Mode::Auto, false);
        let operation: Operation = model::parse(&body).unwrap();
        let state = operation.status.clone().unwrap_or_default();
        let judged = t.judge_operation("5250805d51f2bf4fb2b7614bc03870de", operation, &response(200, &body));
        match (state.as_str(), judged) {
            ("Succeeded", None) => {}
            ("InProgress", Some(s)) => prop_assert!(s.moving && s.phase == Phase::RollingBack),
            ("Failed", Some(s)) => {
                prop_assert_eq!(s.phase, Phase::Failed);
                let failure = s.failure.unwrap();
                prop_assert_eq!(failure.http_status, number::<u16>(&doc["HttpStatusCode"]));
            }
            (_, Some(s)) => prop_assert_eq!(s.phase, Phase::Unknown),
            (state, None) => prop_assert!(false, "{} ended the operation", state),
        }
    }

    /// An `<Error>` answer with hostile text, in any error status.
    #[test]
    fn hostile_errors_are_errors(doc in arb_document(&ERROR, text), status in 400u16..600) {
        let e = target(Mode::Auto, false).client.error(&response(status, &document("Error", &doc)));
        prop_assert!([1, 4, 6].contains(&e.exit_code()));
    }
}
