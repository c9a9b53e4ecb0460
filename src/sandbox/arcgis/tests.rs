use std::time::Duration;

use super::*;

#[test]
fn the_job_tells_the_rollback_step_by_step() {
    let t0 = Now::current();
    let pace = Pace {
        per_domain: Duration::from_secs(1),
        fail_at: None,
    };
    let mut org = Arcgis::new(pace, t0);
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
