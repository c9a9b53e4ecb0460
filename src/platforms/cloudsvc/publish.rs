//! `.publishsettings` files (schema 2.0): the subscription, its management endpoint and its
//! management certificate (base64 PKCS#12 with an empty password).

use base64::Engine;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct PublishData {
    #[serde(rename = "PublishProfile", default)]
    profiles: Vec<PublishProfile>,
}

#[derive(Debug, Deserialize)]
struct PublishProfile {
    #[serde(rename = "@SchemaVersion")]
    schema_version: Option<String>,
    #[serde(rename = "@PublishMethod")]
    publish_method: Option<String>,
    #[serde(rename = "Subscription", default)]
    subscriptions: Vec<Subscription>,
}

#[derive(Debug, Deserialize)]
struct Subscription {
    #[serde(rename = "@Id")]
    id: Option<String>,
    #[serde(rename = "@Name")]
    name: Option<String>,
    #[serde(rename = "@ServiceManagementUrl")]
    service_management_url: Option<String>,
    #[serde(rename = "@ManagementCertificate")]
    management_certificate: Option<String>,
}

/// The subscription picked from a publish-settings file.
#[derive(Debug)]
pub struct Published {
    pub id: String,
    pub name: Option<String>,
    pub service_management_url: Option<String>,
    /// The PKCS#12 bundle, DER.
    pub certificate: Vec<u8>,
}

/// Picks the subscription `wanted` (case-insensitive), or the only one when none is named.
pub fn select(xml: &[u8], wanted: Option<&str>) -> Result<Published, String> {
    let data: PublishData =
        super::model::parse(xml).map_err(|e| format!("not a publish-settings file ({e})"))?;
    let subscriptions: Vec<Subscription> = data
        .profiles
        .into_iter()
        .filter(|p| {
            p.schema_version.as_deref() == Some("2.0")
                && p.publish_method.as_deref() == Some("AzureServiceManagementAPI")
        })
        .flat_map(|p| p.subscriptions)
        .collect();
    if subscriptions.is_empty() {
        return Err(
            "has no PublishProfile with SchemaVersion=\"2.0\" and PublishMethod=\"AzureServiceManagementAPI\" holding a Subscription".into(),
        );
    }
    let ids: Vec<String> = subscriptions
        .iter()
        .map(|s| s.id.clone().unwrap_or_default())
        .collect();
    let chosen = match wanted {
        Some(wanted) => subscriptions
            .into_iter()
            .find(|s| {
                s.id.as_deref()
                    .is_some_and(|id| id.eq_ignore_ascii_case(wanted))
            })
            .ok_or_else(|| format!("has no subscription {wanted} (it has {})", ids.join(", ")))?,
        None if subscriptions.len() == 1 => {
            subscriptions.into_iter().next().expect("one subscription")
        }
        None => {
            return Err(format!(
                "holds several subscriptions ({}): pick one with --subscription",
                ids.join(", ")
            ));
        }
    };
    let id = chosen
        .id
        .filter(|id| !id.is_empty())
        .ok_or("has a Subscription without an Id")?;
    let encoded = chosen
        .management_certificate
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| format!("subscription {id} has no ManagementCertificate"))?;
    let certificate = base64::engine::general_purpose::STANDARD
        .decode(encoded.split_whitespace().collect::<String>())
        .map_err(|e| format!("subscription {id}: the ManagementCertificate is not base64 ({e})"))?;
    Ok(Published {
        id,
        name: chosen.name,
        service_management_url: chosen.service_management_url.filter(|u| !u.is_empty()),
        certificate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<PublishData>
  <PublishProfile SchemaVersion="2.0" PublishMethod="AzureServiceManagementAPI">
    <Subscription ServiceManagementUrl="https://management.core.windows.net" Id="AAAA-1" Name="Dev" ManagementCertificate="MIIB" />
    <Subscription ServiceManagementUrl="https://management.core.chinacloudapi.cn" Id="bbbb-2" Name="China" ManagementCertificate="MII C" />
  </PublishProfile>
</PublishData>"#;

    use crate::testing::{Shape, arb_document, arb_xml_text, full_document, to_xml};
    use Shape::{Leaf, List, Object};
    use proptest::prelude::*;
    use serde_json::Value;

    const PUBLISH_DATA: Shape = Object(&[(
        "PublishProfile",
        List(&Object(&[
            ("@SchemaVersion", Leaf),
            ("@PublishMethod", Leaf),
            (
                "Subscription",
                List(&Object(&[
                    ("@Id", Leaf),
                    ("@Name", Leaf),
                    ("@ServiceManagementUrl", Leaf),
                    ("@ManagementCertificate", Leaf),
                ])),
            ),
        ])),
    )]);

    fn text() -> BoxedStrategy<Value> {
        prop_oneof![
            arb_xml_text(),
            Just("2.0".to_string()),
            Just("AzureServiceManagementAPI".to_string()),
            "[A-Za-z0-9+/ ]{0,40}={0,2}",
        ]
        .prop_map(Value::String)
        .boxed()
    }

    #[test]
    fn the_shape_names_every_attribute_the_model_reads() {
        let xml = to_xml("PublishData", &full_document(&PUBLISH_DATA));
        let data: PublishData = crate::platforms::cloudsvc::model::parse(xml.as_bytes()).unwrap();
        let model = format!("{data:?}");
        assert!(!model.contains("None"), "{model}");
    }

    proptest! {
        /// Publish settings with hostile attribute values: a subscription or a reason, never a
        /// panic; what is chosen is what the file says.
        #[test]
        fn hostile_publish_settings_are_read_or_refused(doc in arb_document(&PUBLISH_DATA, text), wanted in prop::option::of(text())) {
            let xml = to_xml("PublishData", &doc);
            let wanted = wanted.as_ref().and_then(Value::as_str);
            if let Ok(chosen) = select(xml.as_bytes(), wanted) {
                prop_assert!(!chosen.id.is_empty());
                if let Some(wanted) = wanted {
                    prop_assert!(chosen.id.eq_ignore_ascii_case(wanted));
                }
            }
        }
    }

    #[test]
    fn picks_by_id_case_insensitively() {
        let p = select(FILE.as_bytes(), Some("BBBB-2")).unwrap();
        assert_eq!(p.id, "bbbb-2");
        assert_eq!(
            p.service_management_url.as_deref(),
            Some("https://management.core.chinacloudapi.cn")
        );
        assert_eq!(
            p.certificate,
            base64::engine::general_purpose::STANDARD
                .decode("MIIC")
                .unwrap()
        );
    }

    #[test]
    fn needs_a_choice_among_several() {
        assert!(
            select(FILE.as_bytes(), None)
                .unwrap_err()
                .contains("pick one with --subscription")
        );
        assert!(
            select(FILE.as_bytes(), Some("cccc"))
                .unwrap_err()
                .contains("has no subscription cccc")
        );
    }

    #[test]
    fn other_layouts_are_refused() {
        let v1 = r#"<PublishData><PublishProfile PublishMethod="AzureServiceManagementAPI" Url="https://x" ManagementCertificate="MIIB"><Subscription Id="a" Name="b" /></PublishProfile></PublishData>"#;
        assert!(
            select(v1.as_bytes(), None)
                .unwrap_err()
                .contains("SchemaVersion=\"2.0\"")
        );
        assert!(select(b"not xml at all <", None).is_err());
        let bad = r#"<PublishData><PublishProfile SchemaVersion="2.0" PublishMethod="AzureServiceManagementAPI"><Subscription Id="a" ManagementCertificate="!!!" /></PublishProfile></PublishData>"#;
        assert!(
            select(bad.as_bytes(), None)
                .unwrap_err()
                .contains("not base64")
        );
    }
}
