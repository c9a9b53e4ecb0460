use std::time::Duration;

use hyper::HeaderMap;

use super::*;

const PER_DOMAIN: Duration = Duration::from_secs(1);
const SLOT: &str =
    "/5a4db0c5-0000-4000-8000-00000000c10d/services/hostedservices/mysvc/deploymentslots";

struct Fixture {
    service: Cloudsvc,
    creds: Credentials,
    t0: Now,
}

impl Fixture {
    fn new(fail_at: Option<u32>) -> Self {
        let t0 = Now::current();
        let pace = Pace {
            per_domain: PER_DOMAIN,
            fail_at,
        };
        Self {
            service: Cloudsvc::new(pace, false, t0),
            creds: Credentials::create(false).unwrap(),
            t0,
        }
    }

    fn at(&self, seconds: u64) -> Now {
        Now {
            instant: self.t0.instant + Duration::from_secs(seconds),
            wall: self.t0.wall + Duration::from_secs(seconds),
        }
    }

    /// `method path?query` with the token and `x-ms-version`, at `seconds` after the start.
    fn send(
        &mut self,
        method: &str,
        path: &str,
        body: &str,
        seconds: u64,
    ) -> (u16, String, Option<String>) {
        let mut headers = HeaderMap::new();
        let token = format!("Bearer {}", self.creds.cloudsvc_token);
        headers.insert("authorization", token.parse().unwrap());
        headers.insert("x-ms-version", "2014-10-01".parse().unwrap());
        headers.insert("content-type", "application/xml".parse().unwrap());
        let (path, query) = match path.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (path.to_string(), None),
        };
        let request = Request {
            method: method.into(),
            path,
            query,
            headers,
            body: body.as_bytes().to_vec(),
        };
        let now = self.at(seconds);
        let reply = self.service.handle(&request, &self.creds, now);
        let id = reply
            .headers
            .iter()
            .find(|(name, _)| *name == "x-ms-request-id")
            .map(|(_, v)| v.clone());
        (reply.status, String::from_utf8(reply.body).unwrap(), id)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.creds.remove();
    }
}

fn rollback_body(mode: &str) -> String {
    format!(
        r#"<RollbackUpdateOrUpgrade xmlns="{NS}"><Mode>{mode}</Mode><Force>false</Force></RollbackUpdateOrUpgrade>"#
    )
}

fn walk_body(domain: u32) -> String {
    format!(
        r#"<WalkUpgradeDomain xmlns="{NS}"><UpgradeDomain>{domain}</UpgradeDomain></WalkUpgradeDomain>"#
    )
}

#[test]
fn an_auto_rollback_runs_its_operation_to_the_end() {
    let mut f = Fixture::new(None);
    let (status, body, _) = f.send("GET", &format!("{SLOT}/production"), "", 0);
    assert_eq!(status, 200);
    assert!(body.contains("<UpgradeType>Auto</UpgradeType><CurrentUpgradeDomainState>During</CurrentUpgradeDomainState><CurrentUpgradeDomain>2</CurrentUpgradeDomain>"), "{body}");
    assert!(
        body.contains("<RollbackAllowed>true</RollbackAllowed>"),
        "{body}"
    );
    let (status, _, id) = f.send(
        "POST",
        &format!("{SLOT}/production/?comp=rollback"),
        &rollback_body("Auto"),
        0,
    );
    assert_eq!(status, 202);
    let id = id.unwrap();
    let operation = format!("/{SUBSCRIPTION}/operations/{id}");
    let (_, body, _) = f.send("GET", &operation, "", 1);
    assert!(body.contains("<Status>InProgress</Status>"), "{body}");
    assert!(
        body.contains(&format!("<ID>{}-", &id[..8])),
        "a dashed GUID: {body}"
    );
    let (_, body, _) = f.send("GET", &format!("{SLOT}/production"), "", 1);
    assert!(
        body.contains("<CurrentUpgradeDomain>1</CurrentUpgradeDomain>"),
        "{body}"
    );
    assert!(
        body.contains("<Locked>true</Locked><RollbackAllowed>false</RollbackAllowed>"),
        "{body}"
    );
    let (_, body, _) = f.send("GET", &operation, "", 3);
    assert!(
        body.contains("<Status>Succeeded</Status><HttpStatusCode>200</HttpStatusCode>"),
        "{body}"
    );
    let (_, body, _) = f.send("GET", &format!("{SLOT}/production"), "", 3);
    assert!(!body.contains("<UpgradeStatus>"), "{body}");
    assert!(body.contains("<Label>djE=</Label>"), "back at v1: {body}");
    let (status, body, _) = f.send(
        "POST",
        &format!("{SLOT}/production/?comp=rollback"),
        &rollback_body("Auto"),
        4,
    );
    assert_eq!(status, 400, "{body}");
}

#[test]
fn a_manual_rollback_waits_for_each_walk_in_order() {
    let mut f = Fixture::new(None);
    let at = format!("{SLOT}/production/?comp=");
    let (status, _, id) = f.send(
        "POST",
        &format!("{at}rollback"),
        &rollback_body("Manual"),
        0,
    );
    assert_eq!(status, 202);
    let (_, body, _) = f.send(
        "GET",
        &format!("/{SUBSCRIPTION}/operations/{}", id.unwrap()),
        "",
        0,
    );
    assert!(body.contains("<Status>Succeeded</Status>"), "{body}");
    let (status, body, _) = f.send("POST", &format!("{at}walkupgradedomain"), &walk_body(1), 0);
    assert_eq!(status, 400);
    assert!(body.contains("upgrade domain 0 is next"), "{body}");
    let (status, _, walk) = f.send("POST", &format!("{at}walkupgradedomain"), &walk_body(0), 0);
    assert_eq!(status, 202);
    let (status, body, _) = f.send("POST", &format!("{at}walkupgradedomain"), &walk_body(0), 0);
    assert_eq!(status, 409, "{body}");
    let (_, body, _) = f.send(
        "GET",
        &format!("/{SUBSCRIPTION}/operations/{}", walk.unwrap()),
        "",
        1,
    );
    assert!(body.contains("<Status>Succeeded</Status>"), "{body}");
    let (_, body, _) = f.send("GET", &format!("{SLOT}/production"), "", 1);
    assert!(body.contains("<UpgradeType>Manual</UpgradeType><CurrentUpgradeDomainState>Before</CurrentUpgradeDomainState><CurrentUpgradeDomain>1</CurrentUpgradeDomain>"), "{body}");
}

#[test]
fn a_failing_rollback_fails_its_operation() {
    let mut f = Fixture::new(Some(1));
    let (_, _, id) = f.send(
        "POST",
        &format!("{SLOT}/production/?comp=rollback"),
        &rollback_body("Auto"),
        0,
    );
    let (_, body, _) = f.send(
        "GET",
        &format!("/{SUBSCRIPTION}/operations/{}", id.unwrap()),
        "",
        5,
    );
    assert!(body.contains("<Status>Failed</Status><HttpStatusCode>500</HttpStatusCode><Error><Code>InternalError</Code>"), "{body}");
}

#[test]
fn requests_without_credential_or_version_are_refused() {
    let mut f = Fixture::new(None);
    f.creds.refused = true;
    let (status, body, _) = f.send("GET", &format!("{SLOT}/production"), "", 0);
    assert_eq!(status, 403);
    assert!(body.contains("<Code>ForbiddenError</Code>"), "{body}");
    f.creds.refused = false;
    let (status, body, _) = f.send("GET", &format!("{SLOT}/nowhere"), "", 0);
    assert_eq!(status, 404, "{body}");
    let (status, _, _) = f.send("GET", &format!("/{SUBSCRIPTION}/operations/nope"), "", 0);
    assert_eq!(status, 404);
}
