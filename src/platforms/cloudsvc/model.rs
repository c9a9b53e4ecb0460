//! The Service Management XML the tool reads and writes, through quick-xml's serde support.
//! Elements are matched by name; namespace declarations and unknown elements are ignored.

use serde::{Deserialize, Serialize};

pub const NAMESPACE: &str = "http://schemas.microsoft.com/windowsazure";
const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";

/// `<Deployment>` (Get Deployment), the parts the tool uses.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Deployment {
    pub name: Option<String>,
    pub deployment_slot: Option<String>,
    pub status: Option<String>,
    pub upgrade_status: Option<UpgradeStatus>,
    pub rollback_allowed: Option<String>,
    pub locked: Option<String>,
    #[serde(serialize_with = "number_or_text")]
    pub upgrade_domain_count: Option<String>,
    pub sdk_version: Option<String>,
    pub label: Option<String>,
    pub role_instance_list: Option<RoleInstanceList>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpgradeStatus {
    pub upgrade_type: Option<String>,
    pub current_upgrade_domain_state: Option<String>,
    #[serde(serialize_with = "number_or_text")]
    pub current_upgrade_domain: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct RoleInstanceList {
    #[serde(rename = "RoleInstance")]
    pub role_instances: Vec<RoleInstance>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RoleInstance {
    pub role_name: Option<String>,
    pub instance_name: Option<String>,
    pub instance_status: Option<String>,
    #[serde(serialize_with = "number_or_text")]
    pub instance_upgrade_domain: Option<String>,
}

/// `<Operation>` (Get Operation Status).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Operation {
    #[serde(rename = "ID")]
    pub id: Option<String>,
    pub status: Option<String>,
    #[serde(serialize_with = "number_or_text")]
    pub http_status_code: Option<String>,
    pub error: Option<ErrorBody>,
}

/// `<Error>`, as an error answer and inside a failed `<Operation>`.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ErrorBody {
    pub code: Option<String>,
    pub message: Option<String>,
}

#[derive(Serialize)]
#[serde(rename = "RollbackUpdateOrUpgrade")]
struct RollbackBody {
    #[serde(rename = "@xmlns")]
    xmlns: &'static str,
    #[serde(rename = "Mode")]
    mode: &'static str,
    #[serde(rename = "Force")]
    force: bool,
}

#[derive(Serialize)]
#[serde(rename = "WalkUpgradeDomain")]
struct WalkBody {
    #[serde(rename = "@xmlns")]
    xmlns: &'static str,
    #[serde(rename = "UpgradeDomain")]
    upgrade_domain: u32,
}

/// A count or number the XML holds as text goes into the result's `detail` as a JSON number;
/// anything else stays the text it was, so that nothing the server said is lost.
fn number_or_text<S: serde::Serializer>(
    value: &Option<String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value.as_deref().map(|v| (v, v.trim().parse::<u64>())) {
        Some((_, Ok(number))) => serializer.serialize_some(&number),
        Some((text, Err(_))) => serializer.serialize_some(text),
        None => serializer.serialize_none(),
    }
}

/// `detail` as the model reads it back: its numbers as the text the XML held.
pub fn as_read(detail: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match detail {
        Value::Number(n) => Value::String(n.to_string()),
        Value::Array(items) => Value::Array(items.iter().map(as_read).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), as_read(v))).collect())
        }
        other => other.clone(),
    }
}

fn document(body: &impl Serialize) -> String {
    // Serializing these fixed structs cannot fail.
    let xml = quick_xml::se::to_string(body).expect("a serializable request body");
    format!("{DECLARATION}{xml}")
}

/// The body of Rollback Update Or Upgrade: `Mode` (`Auto`/`Manual`) then `Force`.
pub fn rollback_body(mode: &'static str, force: bool) -> String {
    document(&RollbackBody {
        xmlns: NAMESPACE,
        mode,
        force,
    })
}

/// The body of Walk Upgrade Domain.
pub fn walk_body(domain: u32) -> String {
    document(&WalkBody {
        xmlns: NAMESPACE,
        upgrade_domain: domain,
    })
}

/// Parses an XML answer, tolerating a byte-order mark.
pub fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, String> {
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    quick_xml::de::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| e.to_string())
}

/// `true`/`false` as the API writes them.
pub fn flag(value: &Option<String>) -> bool {
    value
        .as_deref()
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// Whether a server's `x-ms-request-id` can be an operation id, to be put into a URL path: a
/// GUID's hex digits, with or without dashes.
pub fn operation_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

/// Operation ids: the POST's `x-ms-request-id` has no dashes, the operation's `<ID>` does.
pub fn same_operation(a: &str, b: &str) -> bool {
    let plain = |s: &str| {
        s.chars()
            .filter(|c| *c != '-')
            .collect::<String>()
            .to_ascii_lowercase()
    };
    plain(a) == plain(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;
    use quick_xml::escape::escape;

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse::<Deployment>(&body);
            let _ = parse::<Operation>(&body);
            let _ = parse::<ErrorBody>(&body);
        }

        #[test]
        fn arbitrary_text_never_panics(body in ".{0,300}") {
            let _ = parse::<Deployment>(body.as_bytes());
            let _ = parse::<Operation>(format!("<Operation>{body}</Operation>").as_bytes());
        }

        #[test]
        fn unknown_values_and_elements_are_kept_or_ignored(
            status in "[ -~]{0,20}",
            kind in "[ -~]{0,20}",
            domain in "[ -~]{0,5}",
            extra in prop::collection::vec(("[A-Z][a-zA-Z]{0,8}", "[ -~]{0,20}"), 0..4),
        ) {
            let extra: String = extra
                .iter()
                .map(|(name, text)| format!("<X{name}>{}</X{name}>", escape(text.as_str())))
                .collect();
            let xml = format!(
                "<Deployment xmlns=\"{NAMESPACE}\">{extra}<Status>{}</Status><UpgradeStatus><UpgradeType>{}</UpgradeType><CurrentUpgradeDomain>{}</CurrentUpgradeDomain>{extra}</UpgradeStatus><RollbackAllowed>true</RollbackAllowed></Deployment>",
                escape(status.as_str()),
                escape(kind.as_str()),
                escape(domain.as_str()),
            );
            let d: Deployment = parse(xml.as_bytes()).unwrap();
            let seen_status = d.status.clone().unwrap_or_default();
            let seen_kind = d.upgrade_status.as_ref().and_then(|u| u.upgrade_type.clone()).unwrap_or_default();
            prop_assert_eq!(seen_status.trim(), status.trim());
            prop_assert_eq!(seen_kind.trim(), kind.trim());
            prop_assert!(flag(&d.rollback_allowed));
        }
    }

    #[test]
    fn request_bodies_are_exact() {
        assert_eq!(
            rollback_body("Auto", false),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<RollbackUpdateOrUpgrade xmlns=\"http://schemas.microsoft.com/windowsazure\"><Mode>Auto</Mode><Force>false</Force></RollbackUpdateOrUpgrade>"
        );
        assert_eq!(
            rollback_body("Manual", true),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<RollbackUpdateOrUpgrade xmlns=\"http://schemas.microsoft.com/windowsazure\"><Mode>Manual</Mode><Force>true</Force></RollbackUpdateOrUpgrade>"
        );
        assert_eq!(
            walk_body(2),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<WalkUpgradeDomain xmlns=\"http://schemas.microsoft.com/windowsazure\"><UpgradeDomain>2</UpgradeDomain></WalkUpgradeDomain>"
        );
    }

    #[test]
    fn deployment_with_namespaces_and_unknown_elements() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?>
<Deployment xmlns="http://schemas.microsoft.com/windowsazure" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
  <Name>v2</Name><DeploymentSlot>Production</DeploymentSlot><PrivateID>abc</PrivateID><Status>Running</Status>
  <Label>djI=</Label><Url>http://x.cloudapp.net/</Url><Configuration>PD94bWw=</Configuration>
  <RoleInstanceList>
    <RoleInstance><RoleName>Web</RoleName><InstanceName>Web_IN_0</InstanceName><InstanceStatus>ReadyRole</InstanceStatus><InstanceUpgradeDomain>0</InstanceUpgradeDomain></RoleInstance>
    <RoleInstance><RoleName>Web</RoleName><InstanceName>Web_IN_1</InstanceName><InstanceStatus>Busy</InstanceStatus><InstanceUpgradeDomain>1</InstanceUpgradeDomain></RoleInstance>
  </RoleInstanceList>
  <UpgradeStatus><UpgradeType>Auto</UpgradeType><CurrentUpgradeDomainState>During</CurrentUpgradeDomainState><CurrentUpgradeDomain>1</CurrentUpgradeDomain></UpgradeStatus>
  <UpgradeDomainCount>3</UpgradeDomainCount><SdkVersion>2.9</SdkVersion><Locked>false</Locked><RollbackAllowed>true</RollbackAllowed>
</Deployment>"#;
        let d: Deployment = parse(xml.as_bytes()).unwrap();
        assert_eq!(d.status.as_deref(), Some("Running"));
        assert!(flag(&d.rollback_allowed));
        assert!(!flag(&d.locked));
        let u = d.upgrade_status.unwrap();
        assert_eq!(u.current_upgrade_domain.as_deref(), Some("1"));
        assert_eq!(d.role_instance_list.unwrap().role_instances.len(), 2);
    }

    #[test]
    fn operation_ids_are_hex_and_dashes() {
        assert!(operation_id("5250805d51f2bf4fb2b7614bc03870de"));
        assert!(operation_id("5250805d-51f2-bf4f-b2b7-614bc03870de"));
        for bad in [
            "",
            "../../x",
            "a/b",
            "x",
            "5250805d%2F",
            "a b",
            &"a".repeat(65),
        ] {
            assert!(!operation_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn operation_and_error() {
        let op: Operation = parse(br#"<Operation xmlns="http://schemas.microsoft.com/windowsazure" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><ID>5250805d-51f2-bf4f-b2b7-614bc03870de</ID><Status>Failed</Status><HttpStatusCode>400</HttpStatusCode><Error><Code>BadRequest</Code><Message>No.</Message></Error></Operation>"#).unwrap();
        assert_eq!(op.status.as_deref(), Some("Failed"));
        assert_eq!(op.error.unwrap().code.as_deref(), Some("BadRequest"));
        assert!(same_operation(
            "5250805d51f2bf4fb2b7614bc03870de",
            op.id.as_deref().unwrap()
        ));
        let plain: ErrorBody =
            parse(b"<Error><Code>ConflictError</Code><Message>busy</Message></Error>").unwrap();
        assert_eq!(plain.code.as_deref(), Some("ConflictError"));
        assert!(
            parse::<Operation>(b"<html><body>oops").is_err()
                || parse::<Operation>(b"<html><body>oops")
                    .unwrap()
                    .status
                    .is_none()
        );
    }
}
