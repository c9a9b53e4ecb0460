use super::*;
use crate::cli::{FLEET, SECTIONS};

fn plan(text: &str) -> Result<Plan, String> {
    parse(text, "p.toml", FLEET, SECTIONS).map_err(|e| {
        assert_eq!(e.exit_code(), 2, "{e}");
        e.to_string()
    })
}

#[test]
fn every_platform_reads_with_defaults_and_inline_keys() {
    let plan = plan(
        r#"
[defaults]
profile = "prod"
sf = { endpoint = "https://eu.example.com:19080", token_env = "EU" }

[[targets]]
platform = "sf-cluster"

[[targets]]
name = "eu-app"
platform = "sf-app"
app = "myapp~app1"
sf = { endpoint = "https://eu2.example.com:19080" }

[[targets]]
platform = "cloudsvc"
profile = "classic"
service = "shop"
slot = "staging"

[[targets]]
platform = "arcgis"
to = "previous"
arcgis = { url = "https://gis.example.com/arcgis", username = "admin" }
"#,
    )
    .unwrap();
    let names: Vec<&str> = plan.targets.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["sf-cluster#1", "eu-app", "cloudsvc#3", "arcgis#4"]);
    let app = &plan.targets[1];
    assert_eq!(app.line, 9);
    assert_eq!(app.identity["app"], "myapp~app1");
    // Its own endpoint over the defaults', the defaults' token variable kept.
    assert_eq!(
        app.section["endpoint"].as_str(),
        Some("https://eu2.example.com:19080")
    );
    assert_eq!(app.section["token_env"].as_str(), Some("EU"));
    assert_eq!(app.profile.as_deref(), Some("prod"));
    let cloudsvc = &plan.targets[2];
    assert_eq!(cloudsvc.profile.as_deref(), Some("classic"));
    assert_eq!(cloudsvc.section["service"].as_str(), Some("shop"));
    assert_eq!(cloudsvc.section["slot"].as_str(), Some("staging"));
    assert_eq!(plan.targets[3].identity["to"], "previous");
}

#[test]
fn an_unknown_platform_names_the_target_and_line() {
    let error = plan("[[targets]]\nplatform = \"sf-app\"\napp = \"a~b\"\n\n[[targets]]\nname = \"x\"\nplatform = \"kubernetes\"\n").unwrap_err();
    assert_eq!(
        error,
        "plan p.toml: line 5: target \"x\": unknown platform \"kubernetes\", expected one of sf-cluster, sf-app, sf-compose, cloudsvc, arcgis"
    );
}

#[test]
fn a_duplicate_name_is_refused() {
    let error = plan("[[targets]]\nname = \"a\"\nplatform = \"sf-cluster\"\n[[targets]]\nname = \"a\"\nplatform = \"sf-app\"\napp = \"x~y\"\n").unwrap_err();
    assert_eq!(
        error,
        "plan p.toml: line 4: target \"a\": a target of that name comes earlier; names are unique"
    );
}

#[test]
fn a_missing_identity_is_refused() {
    let error = plan("\n[[targets]]\nplatform = \"arcgis\"\n").unwrap_err();
    assert_eq!(
        error,
        "plan p.toml: line 2: target \"arcgis#1\": no `to` (which arcgis target: to)"
    );
}

#[test]
fn a_bad_key_is_refused_where_it_stands() {
    // A misspelt connection key, checked as a profile's section is.
    let error = plan("[[targets]]\nplatform = \"sf-cluster\"\nsf = { endpiont = \"http://h\" }\n")
        .unwrap_err();
    assert!(
        error.starts_with("plan p.toml: line 1: target \"sf-cluster#1\": sf: unknown field `endpiont`, expected one of"),
        "{error}"
    );
    // Another platform's table, or a key no target has.
    let error = plan("[[targets]]\nplatform = \"sf-app\"\napp = \"a~b\"\narcgis = { url = \"https://g/arcgis\" }\n").unwrap_err();
    assert_eq!(
        error,
        "plan p.toml: line 1: target \"sf-app#1\": unknown key `arcgis` for sf-app, expected one of platform, name, profile, app, sf"
    );
    // A secret in the plan itself is no key of any table.
    let error =
        plan("[[targets]]\nplatform = \"sf-cluster\"\nsf = { token = \"t\" }\n").unwrap_err();
    assert!(error.contains("unknown field `token`"), "{error}");
    // An identity the platform's own arguments refuse.
    let error = plan("[[targets]]\nplatform = \"sf-app\"\napp = 7\n").unwrap_err();
    assert_eq!(
        error,
        "plan p.toml: line 1: target \"sf-app#1\": app must be a string"
    );
    let error = plan(
        "[defaults]\nsff = { endpoint = \"http://h\" }\n[[targets]]\nplatform = \"sf-cluster\"\n",
    )
    .unwrap_err();
    assert!(error.contains("[defaults]: unknown key `sff`"), "{error}");
    let error = plan("[[target]]\nplatform = \"sf-cluster\"\n").unwrap_err();
    assert_eq!(
        error,
        "plan p.toml: line 1: unknown key `target`, expected `defaults` or `targets`"
    );
}

#[test]
fn bad_toml_and_an_empty_plan_are_refused() {
    let error = plan("[[targets]]\nplatform = \"sf-cluster\n").unwrap_err();
    assert!(error.starts_with("plan p.toml: line 2:"), "{error}");
    assert_eq!(plan("").unwrap_err(), "plan p.toml: no [[targets]]");
}
