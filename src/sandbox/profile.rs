//! The config file that points every platform at the sandbox, with its credential files.

use super::Scenario;
use super::cloudsvc::{SERVICE, SUBSCRIPTION};
use super::credentials::{ARCGIS_USER, Credentials};

/// The name of the profile the sandbox's config file holds.
pub const PROFILE: &str = "sandbox";

/// A config file whose profile [`PROFILE`] reaches every platform of the sandbox at `origin`.
pub fn config(origin: &str, scenario: Option<Scenario>, credentials: &Credentials) -> String {
    let file = |name: &str| toml_string(&credentials.file(name).display().to_string());
    let scenario = scenario.map_or("none", Scenario::as_str);
    format!(
        r#"# rollback sandbox at {origin} (scenario: {scenario}). Use it with
# `--config THIS_FILE --profile {PROFILE}`, or paste it into config.toml. The credential files
# last as long as the sandbox.
[profiles.{PROFILE}]
poll_interval = "500ms"

[profiles.{PROFILE}.sf]
endpoint = {endpoint}
token_file = {sf}

[profiles.{PROFILE}.cloudsvc]
endpoint = {endpoint}
subscription = "{SUBSCRIPTION}"
service = "{SERVICE}"
slot = "production"
token_file = {cloudsvc}

[profiles.{PROFILE}.arcgis]
url = {arcgis}
username = "{ARCGIS_USER}"
password_file = {password}
"#,
        endpoint = toml_string(origin),
        sf = file("sf.token"),
        cloudsvc = file("cloudsvc.token"),
        arcgis = toml_string(&format!("{origin}/arcgis")),
        password = file("arcgis.password"),
    )
}

/// A TOML basic string.
fn toml_string(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_is_toml_naming_no_secret() {
        let credentials = Credentials::create(true).unwrap();
        let text = config("http://127.0.0.1:1234", Some(Scenario::Auth), &credentials);
        credentials.remove();
        let table: toml::Table = toml::from_str(&text).unwrap();
        let profile = &table["profiles"][PROFILE];
        assert_eq!(
            profile["sf"]["endpoint"].as_str(),
            Some("http://127.0.0.1:1234")
        );
        assert_eq!(
            profile["arcgis"]["url"].as_str(),
            Some("http://127.0.0.1:1234/arcgis")
        );
        assert!(!credentials.accepts(&credentials.sf_token, Some(&credentials.sf_token)));
        for secret in [
            &credentials.sf_token,
            &credentials.cloudsvc_token,
            &credentials.arcgis_password,
        ] {
            assert!(!text.contains(secret.as_str()));
        }
        assert_eq!(toml_string("a\"b\\c"), r#""a\"b\\c""#);
    }
}
