//! Service Management (classic Cloud Services): the service `mysvc` with a production
//! deployment in an Auto update (in the last of three upgrade domains) and a staging deployment
//! in a Manual update (waiting before domain 1); Get Deployment, Rollback Update Or Upgrade,
//! Walk Upgrade Domain, Get Operation Status, and `<Error>` answers.

use std::collections::BTreeMap;

use super::credentials::Credentials;
use super::state::{Pace, Stage, Walk, WalkRefused};
use super::{Now, Reply, Request};
use documents::{element, error, request_id};

mod documents;
#[cfg(test)]
mod tests;

pub const SUBSCRIPTION: &str = "5a4db0c5-0000-4000-8000-00000000c10d";
pub const SERVICE: &str = "mysvc";
const NS: &str = "http://schemas.microsoft.com/windowsazure";
const DOMAINS: u32 = 3;

/// Whether a first path segment is a subscription id (a GUID).
pub fn is_subscription(segment: &str) -> bool {
    segment.len() == 36 && segment.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

/// An update running on a deployment.
struct Update {
    rollback: bool,
    walk: Walk,
    /// The rollback's operation (Auto: it ends with the rollback).
    operation: Option<String>,
    /// The operation of the walk of a domain.
    walking: Option<(String, u32)>,
}

struct Deployment {
    slot: &'static str,
    name: &'static str,
    label: &'static str,
    previous_label: &'static str,
    update: Option<Update>,
}

/// An operation's status: `InProgress`, `Succeeded`, or `Failed` with its error.
#[derive(Clone)]
enum Status {
    InProgress,
    Succeeded,
    Failed(String),
}

pub struct Cloudsvc {
    pace: Pace,
    unhealthy: bool,
    deployments: [Deployment; 2],
    operations: BTreeMap<String, Status>,
}

impl Cloudsvc {
    pub fn new(pace: Pace, unhealthy: bool, now: Now) -> Self {
        let production = Deployment {
            slot: "Production",
            name: "mysvc-v2",
            label: "v2",
            previous_label: "v1",
            update: Some(Update {
                rollback: false,
                walk: Walk::held(DOMAINS, 2, now.instant),
                operation: None,
                walking: None,
            }),
        };
        let staging = Deployment {
            slot: "Staging",
            name: "mysvc-v3",
            label: "v3",
            previous_label: "v2",
            update: Some(Update {
                rollback: false,
                walk: Walk::new(DOMAINS, 1, true, pace, now.instant),
                operation: None,
                walking: None,
            }),
        };
        Self {
            pace,
            unhealthy,
            deployments: [production, staging],
            operations: BTreeMap::new(),
        }
    }

    pub fn handle(&mut self, request: &Request, creds: &Credentials, now: Now) -> Reply {
        let given = request.bearer("authorization");
        let path = request.path.trim_end_matches('/');
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        if !creds.accepts(&creds.cloudsvc_token, given) || segments[0] != SUBSCRIPTION {
            return error(
                403,
                "ForbiddenError",
                "The server failed to authenticate the request. Verify that the certificate is valid and is associated with this subscription.",
            );
        }
        if request
            .header("x-ms-version")
            .is_none_or(|v| v < "2011-10-01")
        {
            return error(
                400,
                "MissingOrIncorrectVersionHeader",
                "The versioning header is not specified or was specified incorrectly.",
            );
        }
        self.tick(now);
        let reply = match (request.method.as_str(), &segments[1..]) {
            ("GET", ["operations", id]) => self.operation(id),
            (method, ["services", "hostedservices", service, kind, which]) => {
                let found = (*service == SERVICE)
                    .then(|| {
                        self.deployments.iter().position(|d| match *kind {
                            "deploymentslots" => d.slot.eq_ignore_ascii_case(which),
                            "deployments" => d.name == *which,
                            _ => false,
                        })
                    })
                    .flatten();
                match (found, method, request.query_value("comp").as_deref()) {
                    (None, _, _) => error(404, "ResourceNotFound", "No deployments were found."),
                    (Some(i), "GET", None) => self.deployment(i, now),
                    (Some(i), "POST", Some("rollback")) => self.rollback(i, request, now),
                    (Some(i), "POST", Some("walkupgradedomain")) => self.walk(i, request, now),
                    _ => error(400, "InvalidHttpVerb", "The operation is not supported."),
                }
            }
            _ => error(
                404,
                "ResourceNotFound",
                "The requested resource does not exist.",
            ),
        };
        // Every answer carries a request id of its own.
        if reply
            .headers
            .iter()
            .any(|(name, _)| *name == "x-ms-request-id")
        {
            reply
        } else {
            reply.with_header("x-ms-request-id", request_id())
        }
    }

    /// Moves every update on, and ends the operations whose work ended.
    fn tick(&mut self, now: Now) {
        for deployment in &mut self.deployments {
            let Some(update) = &mut deployment.update else {
                continue;
            };
            let stage = update.walk.stage(now.instant);
            let done = update.walk.done(now.instant);
            if let Some((id, domain)) = &update.walking
                && done > *domain
            {
                self.operations.insert(id.clone(), Status::Succeeded);
                update.walking = None;
            }
            match stage {
                Stage::Done => {
                    if let Some(id) = &update.operation {
                        self.operations.insert(id.clone(), Status::Succeeded);
                    }
                    if update.rollback {
                        deployment.label = deployment.previous_label;
                    }
                    deployment.update = None;
                }
                Stage::Failed(d) => {
                    let failed = Status::Failed(format!(
                        "The rollback of upgrade domain {d} failed: role instance WebRole1_IN_{d} did not start (sandbox scenario fails)."
                    ));
                    for id in update
                        .operation
                        .iter()
                        .chain(update.walking.iter().map(|w| &w.0))
                    {
                        self.operations.insert(id.clone(), failed.clone());
                    }
                }
                Stage::Waiting(_) | Stage::Processing(_) => {}
            }
        }
    }

    fn rollback(&mut self, i: usize, request: &Request, now: Now) -> Reply {
        let body = String::from_utf8_lossy(&request.body);
        let mode = element(&body, "Mode");
        let force = element(&body, "Force");
        let manual = match (mode, force) {
            (Some("Auto"), Some("true" | "false")) => false,
            (Some("Manual"), Some("true" | "false")) => true,
            (_, None) => {
                return error(400, "BadRequest", "The 'Force' element must be specified.");
            }
            _ => {
                return error(
                    400,
                    "InvalidXmlRequest",
                    "The request body is not a valid RollbackUpdateOrUpgrade.",
                );
            }
        };
        let pace = self.pace;
        let d = &mut self.deployments[i];
        let Some(update) = &mut d.update else {
            return error(
                400,
                "BadRequest",
                "No update or upgrade is in progress on the deployment: there is nothing to roll back.",
            );
        };
        if update.rollback {
            return error(
                409,
                "ConflictError",
                "Windows Azure is currently performing an operation on this deployment that requires exclusive access.",
            );
        }
        // The rollback returns every domain the update reached, from the first.
        let reached = match update.walk.stage(now.instant) {
            Stage::Processing(n) => n + 1,
            Stage::Waiting(n) | Stage::Failed(n) => n,
            Stage::Done => DOMAINS,
        };
        let id = request_id();
        let walk = Walk::new(reached.max(1), 0, manual, pace, now.instant);
        // A Manual rollback's operation only sets it up; the walks do the work.
        let status = if manual {
            Status::Succeeded
        } else {
            Status::InProgress
        };
        self.operations.insert(id.clone(), status);
        d.update = Some(Update {
            rollback: true,
            walk,
            operation: (!manual).then(|| id.clone()),
            walking: None,
        });
        Reply::empty(202).with_header("x-ms-request-id", id)
    }

    fn walk(&mut self, i: usize, request: &Request, now: Now) -> Reply {
        let body = String::from_utf8_lossy(&request.body);
        if !request
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/xml"))
        {
            return error(
                400,
                "InvalidContentType",
                "The content type must be application/xml.",
            );
        }
        let Some(domain) = element(&body, "UpgradeDomain").and_then(|n| n.parse::<u32>().ok())
        else {
            return error(
                400,
                "InvalidXmlRequest",
                "The request body is not a valid WalkUpgradeDomain.",
            );
        };
        let Some(update) = &mut self.deployments[i].update else {
            return error(
                400,
                "BadRequest",
                "No update or upgrade is in progress on the deployment.",
            );
        };
        if !update.walk.manual() {
            return error(
                400,
                "BadRequest",
                "The update is in Auto mode: its upgrade domains are not walked.",
            );
        }
        match update.walk.walk(domain, now.instant) {
            Ok(()) => {
                let id = request_id();
                self.operations.insert(id.clone(), Status::InProgress);
                update.walking = Some((id.clone(), domain));
                Reply::empty(202).with_header("x-ms-request-id", id)
            }
            Err(WalkRefused::Expected(n)) => error(
                400,
                "BadRequest",
                &format!(
                    "Upgrade domain {domain} cannot be walked now: upgrade domain {n} is next."
                ),
            ),
            Err(WalkRefused::Busy(_)) => error(
                409,
                "ConflictError",
                "Windows Azure is currently performing an operation on this deployment that requires exclusive access.",
            ),
            Err(WalkRefused::Over) => error(
                400,
                "BadRequest",
                "No update or upgrade is in progress on the deployment.",
            ),
        }
    }
}
