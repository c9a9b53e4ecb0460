use std::time::Duration;

use super::*;

#[test]
fn the_job_tells_the_rollback_step_by_step() {
    let t0 = Now::current();
    let pace = Pace {
        per_domain: Duration::from_secs(1),
        fail_at: None,
    };
    let mut org = Arcgis::new(pace, false, t0);
    assert_eq!(org.job_document(t0)["status"]["state"], "success");
    let form = BTreeMap::from([
        (
            "versionManifest".to_string(),
            format!(r#"{{"id":"{PATCH}"}}"#),
        ),
        ("rollbackSettings".to_string(), "{}".to_string()),
    ]);
    org.rollback(&form, t0);
    let at = |s: u64| Now {
        instant: t0.instant + Duration::from_secs(s),
        wall: t0.wall + Duration::from_secs(s),
    };
    let doc = org.job_document(at(1));
    assert_eq!(doc["status"]["state"], "in_progress");
    assert_eq!(doc["status"]["messages"][0]["code"], 2072);
    assert_eq!(doc["status"]["messages"].as_array().unwrap().len(), 2);
    let doc = org.job_document(at(4));
    assert_eq!(doc["status"]["state"], "success");
    assert_eq!(doc["status"]["messages"][4]["code"], 2074);
    assert!(!org.patched(at(4)), "the patch is gone");
    let again = org.rollback(&form, at(5));
    assert!(String::from_utf8_lossy(&again.body).contains("not available"));
}

/// A form POST to `path` with `fields` and the headers given: the JSON (or HTML) answer.
fn post(
    org: &mut Arcgis,
    creds: &Credentials,
    path: &str,
    fields: &str,
    headers: &[(&str, &str)],
) -> String {
    let mut map = hyper::HeaderMap::new();
    for (name, value) in headers {
        map.insert(
            hyper::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    let request = Request {
        method: "POST".into(),
        path: path.into(),
        query: None,
        headers: map,
        body: fields.as_bytes().to_vec(),
    };
    String::from_utf8(org.handle(&request, creds, Now::current()).body).unwrap()
}

#[test]
fn tokens_come_from_generate_token_and_stay_bound_to_their_referer() {
    let creds = Credentials::create(false).unwrap();
    let mut org = Arcgis::new(
        Pace {
            per_domain: Duration::from_secs(1),
            fail_at: None,
        },
        false,
        Now::current(),
    );
    let up = "/arcgis/admin/system/upgrades";
    assert!(
        post(&mut org, &creds, up, "", &[]).starts_with("<html>"),
        "no f=json: HTML"
    );
    assert!(post(&mut org, &creds, up, "f=json", &[]).contains(r#""code":499"#));
    assert!(post(&mut org, &creds, up, "f=json&token=made-up", &[]).contains(r#""code":498"#));
    let generate = "/arcgis/sharing/rest/generateToken";
    let refused = post(
        &mut org,
        &creds,
        generate,
        "f=json&username=admin&password=wrong&client=referer&referer=http%3A%2F%2Fa",
        &[],
    );
    assert!(refused.contains("Unable to generate token."), "{refused}");
    let fields = format!(
        "f=json&username=admin&password={}&client=referer&referer=http%3A%2F%2Fa&expiration=60",
        creds.arcgis_password
    );
    let answer: Value =
        serde_json::from_str(&post(&mut org, &creds, generate, &fields, &[])).unwrap();
    let token = answer["token"].as_str().unwrap().to_string();
    let bearer = format!("Bearer {token}");
    let job = post(
        &mut org,
        &creds,
        up,
        "f=json",
        &[("x-esri-authorization", &bearer), ("referer", "http://a")],
    );
    assert!(job.contains(r#""state":"success""#), "{job}");
    let elsewhere = post(
        &mut org,
        &creds,
        up,
        &format!("f=json&token={token}"),
        &[("referer", "http://b")],
    );
    assert!(
        elsewhere.contains(r#""code":498"#),
        "another referer: {elsewhere}"
    );
    creds.remove();
}

#[test]
fn the_health_check_runs_and_its_report_fails_under_scenario_unhealthy() {
    let creds = Credentials::create(false).unwrap();
    for unhealthy in [false, true] {
        let pace = Pace {
            per_domain: Duration::from_secs(1),
            fail_at: None,
        };
        let mut org = Arcgis::new(pace, unhealthy, Now::current());
        let fields = format!(
            "f=json&username=admin&password={}&client=referer&referer=http%3A%2F%2Fa",
            creds.arcgis_password
        );
        let answer: Value = serde_json::from_str(&post(
            &mut org,
            &creds,
            "/arcgis/sharing/rest/generateToken",
            &fields,
            &[],
        ))
        .unwrap();
        let token = answer["token"].as_str().unwrap().to_string();
        let headers = [("referer", "http://a")];
        let mut call = |path: &str, fields: &str| -> Value {
            let body = post(
                &mut org,
                &creds,
                path,
                &format!("{fields}&f=json&token={token}"),
                &headers,
            );
            serde_json::from_str(&body).unwrap()
        };
        let refused = call("/arcgis/admin/healthCheck/run", "suiteIds=X&runName=r");
        assert_eq!(refused["code"], 400);
        let run = call(
            "/arcgis/admin/healthCheck/run",
            "suiteIds=BSHC-001&runName=r&async=false",
        );
        let url = run["reportUrl"].as_str().unwrap().to_string();
        let report = call(&format!("/arcgis/admin/healthCheck/{url}"), "");
        let result = if unhealthy { "failed" } else { "passed" };
        assert_eq!(report["result"], result, "{report}");
        assert_eq!(report["runName"], "r");
        let object_store = &report["suiteStatus"][0]["criticalTestStatus"][1];
        assert_eq!(object_store["name"], "healthcheck_objectStore");
        assert_eq!(
            object_store["result"],
            if unhealthy { "fail" } else { "pass" }
        );
        let missing = call("/arcgis/admin/healthCheck/reports/nope", "");
        assert_eq!(missing["error"]["code"], 404);
        // A long-running sandbox keeps the newest reports only.
        for _ in 0..MAX_REPORTS + 5 {
            call(
                "/arcgis/admin/healthCheck/run",
                "suiteIds=BSHC-001&runName=r",
            );
        }
        assert_eq!(org.reports.len(), MAX_REPORTS);
    }
    creds.remove();
}
