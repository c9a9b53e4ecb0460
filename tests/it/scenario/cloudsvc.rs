//! Azure Cloud Services (classic): the Service Management API's paths and XML documents, the
//! result's records of them, and the presets that serve them.

use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use super::{Answers, Scenario};
use crate::common::VERSION;

pub const SUB: &str = "0123abcd-0000-4000-8000-0123456789ab";
/// The id of the operation an accepted request starts, as `x-ms-request-id` gives it.
pub const OP: &str = "5250805d51f2bf4fb2b7614bc03870de";
/// The production slot of mysvc.
pub const SLOT: &str = "/0123abcd-0000-4000-8000-0123456789ab/services/hostedservices/mysvc/deploymentslots/production";
/// The deployment v2-build17 of mysvc, by name.
pub const NAMED: &str =
    "/0123abcd-0000-4000-8000-0123456789ab/services/hostedservices/mysvc/deployments/v2-build17";
/// Get Operation Status of `OP`.
pub const OPERATION: &str =
    "/0123abcd-0000-4000-8000-0123456789ab/operations/5250805d51f2bf4fb2b7614bc03870de";
pub const TOKEN: (&str, &str) = ("ROLLBACK_CLOUDSVC_TOKEN", "aad-MARKER-token");
const NS: &str = "http://schemas.microsoft.com/windowsazure";

/// How a run names its deployment: the arguments, the deployment's path, the result's target.
pub struct Target {
    pub args: [&'static str; 2],
    pub path: &'static str,
    pub label: &'static str,
}

pub const BY_SLOT: Target = Target {
    args: ["--slot", "production"],
    path: SLOT,
    label: "mysvc/production",
};

pub const BY_NAME: Target = Target {
    args: ["--deployment", "v2-build17"],
    path: NAMED,
    label: "mysvc/v2-build17",
};

/// An update in progress: (type, domain state, current domain).
pub type Update<'a> = Option<(&'a str, &'a str, u32)>;

impl Scenario {
    /// `rollback cloudsvc --endpoint SERVER --subscription SUB --service mysvc --poll-interval
    /// 20ms …` with a token: no deployment named yet.
    pub fn cloudsvc_cli() -> Self {
        Self::cloudsvc_with(&[])
    }

    /// `cloudsvc_cli` with the arguments `target` that name the deployment.
    fn cloudsvc_with(target: &[&str]) -> Self {
        let base = [
            "cloudsvc",
            "--endpoint",
            "SERVER",
            "--subscription",
            SUB,
            "--service",
            "mysvc",
            "--poll-interval",
            "20ms",
        ];
        Self::new()
            .base(&[&base[..], target].concat())
            .env(TOKEN.0, TOKEN.1)
    }

    /// `cloudsvc_cli` on `target`, whose Get Deployment answers `deployments`.
    pub fn cloudsvc_on(target: &Target, deployments: impl Answers) -> Self {
        Self::cloudsvc_with(&target.args)
            .result_of("cloudsvc", target.label)
            .get(target.path, deployments)
    }

    /// `cloudsvc_cli --slot production`, whose Get Deployment answers `deployments`.
    pub fn cloudsvc(deployments: impl Answers) -> Self {
        Self::cloudsvc_on(&BY_SLOT, deployments)
    }

    /// POST `at`/?comp=`comp` (rollback, walkupgradedomain) answers `answers`.
    pub fn post_comp(self, at: &str, comp: &str, answers: impl Answers) -> Self {
        self.mock(
            Mock::given(method("POST"))
                .and(path(format!("{at}/")))
                .and(query_param("comp", comp))
                .respond_with(answers.into_seq()),
        )
    }

    /// Get Operation Status of `OP` answers `answers`.
    pub fn operations(self, answers: impl Answers) -> Self {
        self.get(OPERATION, answers)
    }
}

/// A `<Deployment>` of v2-build17 in 3 upgrade domains, `update` in progress.
pub fn deployment(update: Update, rollback_allowed: bool) -> String {
    let update = update
        .map(|(t, s, d)| {
            format!("<UpgradeStatus><UpgradeType>{t}</UpgradeType><CurrentUpgradeDomainState>{s}</CurrentUpgradeDomainState><CurrentUpgradeDomain>{d}</CurrentUpgradeDomain></UpgradeStatus>")
        })
        .unwrap_or_default();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><Deployment xmlns="{NS}" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Name>v2-build17</Name><DeploymentSlot>Production</DeploymentSlot><PrivateID>9f1c</PrivateID><Status>Running</Status><Label>djI=</Label><Configuration>PD94bWwgLz4=</Configuration><RoleInstanceList><RoleInstance><RoleName>Web</RoleName><InstanceName>Web_IN_0</InstanceName><InstanceStatus>ReadyRole</InstanceStatus><InstanceUpgradeDomain>0</InstanceUpgradeDomain></RoleInstance></RoleInstanceList>{update}<UpgradeDomainCount>3</UpgradeDomainCount><SdkVersion>2.9.6</SdkVersion><Locked>false</Locked><RollbackAllowed>{rollback_allowed}</RollbackAllowed></Deployment>"#
    )
}

/// The result's `detail` of `deployment(update, rollback_allowed)`.
pub fn deployment_detail(update: Update, rollback_allowed: bool) -> Value {
    let update = update.map(|(t, s, d)| {
        json!({"UpgradeType": t, "CurrentUpgradeDomainState": s, "CurrentUpgradeDomain": d})
    });
    json!({
        "Name": "v2-build17", "DeploymentSlot": "Production", "Status": "Running", "UpgradeStatus": update,
        "RollbackAllowed": rollback_allowed.to_string(), "Locked": "false", "UpgradeDomainCount": 3,
        "SdkVersion": "2.9.6", "Label": "djI=",
        "RoleInstanceList": {"RoleInstance": [{"RoleName": "Web", "InstanceName": "Web_IN_0", "InstanceStatus": "ReadyRole", "InstanceUpgradeDomain": 0}]},
    })
}

/// The update most tests roll back: Auto, during upgrade domain 1, a rollback allowed.
pub const AUTO: Update = Some(("Auto", "During", 1));

/// A deployment that an Auto update in upgrade domain 1 may be rolled back from.
pub fn updating() -> String {
    deployment(AUTO, true)
}

/// A deployment with no update in progress.
pub fn idle() -> String {
    deployment(None, false)
}

/// An `<Operation>` of `OP` in `status`, with `extra` elements.
pub fn operation(status: &str, extra: &str) -> String {
    format!(
        r#"<Operation xmlns="{NS}" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><ID>5250805d-51f2-bf4f-b2b7-614bc03870de</ID><Status>{status}</Status>{extra}</Operation>"#
    )
}

/// The result's `detail` of an `operation` in `status` with no extra elements.
pub fn operation_detail(status: &str) -> Value {
    json!({"ID": "5250805d-51f2-bf4f-b2b7-614bc03870de", "Status": status, "HttpStatusCode": null, "Error": null})
}

/// An `<Error>` answer.
pub fn azure_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(
        format!(r#"<Error xmlns="{NS}" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Code>{code}</Code><Message>{message}</Message></Error>"#),
        "application/xml",
    )
}

/// 202 with the operation `OP`.
pub fn accepted() -> ResponseTemplate {
    ResponseTemplate::new(202).insert_header("x-ms-request-id", OP)
}

pub fn rollback_body(mode: &str, force: bool) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<RollbackUpdateOrUpgrade xmlns=\"{NS}\"><Mode>{mode}</Mode><Force>{force}</Force></RollbackUpdateOrUpgrade>"
    )
}

pub fn walk_body(domain: u32) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<WalkUpgradeDomain xmlns=\"{NS}\"><UpgradeDomain>{domain}</UpgradeDomain></WalkUpgradeDomain>"
    )
}

/// The result's record of a POST of `body` to SERVER`at`/?comp=`comp`.
pub fn post_record(at: &str, comp: &str, body: &str) -> Value {
    json!({
        "method": "POST",
        "url": format!("SERVER{at}/?comp={comp}"),
        "headers": {
            "User-Agent": format!("rollback/{VERSION}"), "x-ms-version": "2014-10-01",
            "Authorization": "Bearer <redacted>", "Content-Type": "application/xml",
            "Content-Length": body.len().to_string(),
        },
        "body": body,
    })
}

/// The result's `requests` once an Auto rollback (not forced) of the production slot was sent.
pub fn rollback_sent() -> Value {
    json!([post_record(SLOT, "rollback", &rollback_body("Auto", false))])
}

/// The whole document of a `start` whose rollback ran to its end: `requests` sent, the
/// operation `OP` succeeded, the deployment idle again.
pub fn rolled_back(requests: Value) -> Value {
    json!({
        "action": "start", "outcome": "rolled_back", "phase": "rolled_back", "platform_state": "Succeeded",
        "operation_id": OP, "requests": requests, "progress": all_done(),
        "detail": deployment_detail(None, false),
    })
}

/// The result's `progress` of `deployment(update, …)`: the domains before the current one
/// done, of 3; null without an update.
pub fn progress_of(update: Update) -> Value {
    match update {
        Some((_, _, domain)) => {
            json!({"domains_done": domain, "domains_total": 3, "current": domain.to_string()})
        }
        None => Value::Null,
    }
}

/// The result's `progress` once a rollback is over: every one of the 3 domains done.
pub fn all_done() -> Value {
    json!({"domains_done": 3, "domains_total": 3, "current": null})
}
