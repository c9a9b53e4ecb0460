//! The sandbox's credentials: random for each sandbox, written to files only their owner can
//! read, removed with the sandbox.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

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

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Removes the credential files.
    pub fn remove(&self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
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
}
