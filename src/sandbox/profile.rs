//! The sandbox's credentials (random for each sandbox, in files only its user can read) and the
//! profile that points every platform at it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::Scenario;
use super::cloudsvc::{SERVICE, SUBSCRIPTION};

/// The name of the profile the sandbox's config file holds.
pub const PROFILE: &str = "sandbox";

/// The ArcGIS account the sandbox knows.
pub const ARCGIS_USER: &str = "admin";

/// What the sandbox accepts, and where it wrote it for the client to read.
#[derive(Clone)]
pub struct Credentials {
    pub sf_token: String,
    pub cloudsvc_token: String,
    pub arcgis_password: String,
    /// Scenario `auth`: every credential is refused.
    pub refused: bool,
    dir: PathBuf,
}

impl Credentials {
    /// New random credentials, written to a fresh directory of the temporary directory.
    pub fn create(refused: bool) -> std::io::Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "rollback-sandbox-{}-{}",
            std::process::id(),
            random(12)
        ));
        create_private_dir(&dir).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "cannot create its credentials directory {}: {e}",
                    dir.display()
                ),
            )
        })?;
        let credentials = Self {
            sf_token: format!("sandbox-sf-{}", random(32)),
            cloudsvc_token: format!("sandbox-cloudsvc-{}", random(32)),
            arcgis_password: format!("sandbox-arcgis-{}", random(24)),
            refused,
            dir,
        };
        let written = [
            ("sf.token", &credentials.sf_token),
            ("cloudsvc.token", &credentials.cloudsvc_token),
            ("arcgis.password", &credentials.arcgis_password),
        ]
        .into_iter()
        .try_for_each(|(name, value)| write_private(&credentials.dir.join(name), value));
        if let Err(e) = written {
            credentials.remove();
            return Err(e);
        }
        Ok(credentials)
    }

    /// Whether `given` is the credential `expected` and credentials are accepted at all.
    pub fn accepts(&self, expected: &str, given: Option<&str>) -> bool {
        !self.refused && given == Some(expected)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Removes the credential files.
    pub fn remove(&self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

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

/// `n` random letters and digits.
fn random(n: usize) -> String {
    std::iter::repeat_with(fastrand::alphanumeric)
        .take(n)
        .collect()
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new().mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir(dir)
}

/// Writes a new file only its owner can read.
fn write_private(path: &Path, value: &str) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(value.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_private_files_removed_at_the_end() {
        let credentials = Credentials::create(false).unwrap();
        let path = credentials.file("sf.token");
        assert_eq!(fs::read_to_string(&path).unwrap(), credentials.sf_token);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(credentials.accepts(&credentials.sf_token, Some(&credentials.sf_token)));
        assert!(!credentials.accepts(&credentials.sf_token, Some("other")));
        assert!(!credentials.accepts(&credentials.sf_token, None));
        credentials.remove();
        assert!(!path.exists());
    }

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
