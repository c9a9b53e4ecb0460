//! Service Management's documents as the sandbox writes them: `<Deployment>`, `<Operation>`,
//! `<Error>`, and the request ids.

use super::{Cloudsvc, DOMAINS, NS, SERVICE, Stage, Status};
use crate::sandbox::{Now, Reply};

impl Cloudsvc {
    pub(super) fn operation(&self, id: &str) -> Reply {
        let id = id.to_ascii_lowercase().replace('-', "");
        let (Some(status), 32) = (self.operations.get(&id), id.len()) else {
            return error(404, "ResourceNotFound", "The operation was not found.");
        };
        // The POST's id has no dashes; the operation answers with it as a GUID.
        let dashed = format!(
            "{}-{}-{}-{}-{}",
            &id[0..8],
            &id[8..12],
            &id[12..16],
            &id[16..20],
            &id[20..32]
        );
        let tail = match status {
            Status::InProgress => "<Status>InProgress</Status>".to_string(),
            Status::Succeeded => {
                "<Status>Succeeded</Status><HttpStatusCode>200</HttpStatusCode>".to_string()
            }
            Status::Failed(message) => format!(
                "<Status>Failed</Status><HttpStatusCode>500</HttpStatusCode><Error><Code>InternalError</Code><Message>{}</Message></Error>",
                escape(message)
            ),
        };
        xml(
            200,
            &format!(
                r#"<Operation xmlns="{NS}" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><ID>{dashed}</ID>{tail}</Operation>"#
            ),
        )
    }

    pub(super) fn deployment(&mut self, i: usize, now: Now) -> Reply {
        let unhealthy = self.unhealthy;
        let d = &mut self.deployments[i];
        let mut rollback_allowed = false;
        let mut locked = false;
        let mut busy = None;
        let mut failed = false;
        let upgrade = match &mut d.update {
            None => String::new(),
            Some(update) => {
                let manual = update.walk.manual();
                let (state, domain) = match update.walk.stage(now.instant) {
                    Stage::Waiting(n) => ("Before", n),
                    Stage::Processing(n) => ("During", n),
                    Stage::Failed(n) => {
                        failed = true;
                        ("During", n)
                    }
                    Stage::Done => ("During", DOMAINS - 1),
                };
                rollback_allowed = !update.rollback;
                locked = update.rollback && state == "During" && !failed;
                if state == "During" {
                    busy = Some(domain);
                }
                format!(
                    "<UpgradeStatus><UpgradeType>{}</UpgradeType><CurrentUpgradeDomainState>{state}</CurrentUpgradeDomainState><CurrentUpgradeDomain>{domain}</CurrentUpgradeDomain></UpgradeStatus>",
                    if manual { "Manual" } else { "Auto" }
                )
            }
        };
        let instances: String = (0..DOMAINS)
            .map(|n| {
                let status = match busy {
                    Some(b) if b == n && failed => "FailedStartingRole",
                    Some(b) if b == n && d.update.is_some() => "BusyRole",
                    _ if unhealthy && d.update.is_none() && n == 1 => "UnresponsiveRole",
                    _ => "ReadyRole",
                };
                format!(
                    "<RoleInstance><RoleName>WebRole1</RoleName><InstanceName>WebRole1_IN_{n}</InstanceName><InstanceStatus>{status}</InstanceStatus><InstanceUpgradeDomain>{n}</InstanceUpgradeDomain><InstanceFaultDomain>{}</InstanceFaultDomain><InstanceSize>Small</InstanceSize><PowerState>Started</PowerState></RoleInstance>",
                    n % 2
                )
            })
            .collect();
        let label = base64(d.label);
        let status = if locked {
            "RunningTransitioning"
        } else {
            "Running"
        };
        xml(
            200,
            &format!(
                r#"<?xml version="1.0" encoding="utf-8"?><Deployment xmlns="{NS}" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Name>{name}</Name><DeploymentSlot>{slot}</DeploymentSlot><PrivateID>{private}</PrivateID><Status>{status}</Status><Label>{label}</Label><Url>http://{SERVICE}.cloudapp.net/</Url><Configuration>PFNlcnZpY2VDb25maWd1cmF0aW9uIC8+</Configuration><RoleInstanceList>{instances}</RoleInstanceList>{upgrade}<UpgradeDomainCount>{DOMAINS}</UpgradeDomainCount><SdkVersion>2.9.8899.26</SdkVersion><Locked>{locked}</Locked><RollbackAllowed>{rollback_allowed}</RollbackAllowed></Deployment>"#,
                name = d.name,
                slot = d.slot,
                private = if i == 0 {
                    "a1b2c3d4e5f60718293a4b5c6d7e8f90"
                } else {
                    "0f9e8d7c6b5a49382716f5e4d3c2b1a0"
                },
            ),
        )
    }
}

/// The text of `<name>…</name>` in `body`.
pub(super) fn element<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    let start = body.find(&format!("<{name}>"))? + name.len() + 2;
    let end = start + body[start..].find(&format!("</{name}>"))?;
    Some(body[start..end].trim())
}

/// An `<Error>` answer.
pub(super) fn error(status: u16, code: &str, message: &str) -> Reply {
    xml(
        status,
        &format!(
            r#"<Error xmlns="{NS}" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Code>{code}</Code><Message>{}</Message></Error>"#,
            escape(message)
        ),
    )
}

pub(super) fn xml(status: u16, body: &str) -> Reply {
    Reply::new(status, "application/xml; charset=utf-8", body.to_string())
}

pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// 32 lower-case hex digits, as `x-ms-request-id` carries them.
pub(super) fn request_id() -> String {
    (0..32)
        .map(|_| char::from_digit(fastrand::u32(0..16), 16).unwrap_or('0'))
        .collect()
}

pub(super) fn base64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}
