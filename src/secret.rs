//! The one secret type (never shown by `Debug`, redacted from everything printed) and its
//! resolver: a secret comes from stdin, an environment variable (named by a flag or a profile's
//! `*_env`) or a file (`*_file`), never from argv or the config file itself.

use std::path::Path;

use crate::error::Error;
use crate::input;
use crate::redact::REDACTED;

/// A credential. Its `Debug` never shows it, and nothing prints it: creating one registers it
/// with [`crate::redact`], which removes it from every string the tool prints.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        crate::redact::register(&value);
        Self(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Reads a secret from stdin (`--token-stdin`, `--password-stdin`); a pipe that stays open
/// gives way to `--timeout` and Ctrl-C.
pub async fn secret_from_stdin(what: &str) -> Result<Secret, Error> {
    let source = format!("the {what} on stdin");
    let bytes = input::read_stdin()
        .await
        .map_err(|e| Error::Usage(format!("cannot read the {what} from stdin: {e}")))?;
    let text =
        String::from_utf8(bytes).map_err(|_| Error::Usage(format!("{source} is not UTF-8")))?;
    non_empty_secret(text, &source)
}

pub fn non_empty_secret(text: String, source: &str) -> Result<Secret, Error> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(Error::Usage(format!("{source} is empty")));
    }
    input::plain_secret(trimmed, source)?;
    Ok(Secret::new(trimmed))
}

/// A secret from the environment variable `name`, which must be set.
pub fn secret_from_env(name: &str, option: &str) -> Result<Secret, Error> {
    if !is_variable_name(name) {
        // Someone may have pasted the secret itself here: never quote it.
        return Err(Error::Usage(format!(
            "{option} takes the name of an environment variable (letters, digits and '_', not starting with a digit); the value given is not one, and is not shown in case it is the secret itself"
        )));
    }
    match std::env::var(name) {
        Ok(value) => non_empty_secret(value, &format!("{option} names {name}, which")),
        Err(_) => Err(Error::Usage(format!(
            "{option} names {name}, which is not set"
        ))),
    }
}

/// Letters, digits and `_`, not starting with a digit (POSIX's portable variable names).
pub fn is_variable_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub async fn secret_from_file(path: &Path, option: &str) -> Result<Secret, Error> {
    let source = format!("{option} {}", path.display());
    let bytes = input::read_secret_file(path)
        .await
        .map_err(|e| Error::Usage(format!("{option}: cannot read {}: {e}", path.display())))?;
    let text =
        String::from_utf8(bytes).map_err(|_| Error::Usage(format!("{source} is not UTF-8")))?;
    non_empty_secret(text, &source)
}

/// A secret (`what`: "token" or "password"): from stdin when asked, else the platform's
/// variable, else the profile's `{what}_env` (a variable name) or `{what}_file` (a path).
pub async fn resolve(
    what: &str,
    stdin: bool,
    variable: &str,
    profile_env: Option<&str>,
    profile_file: Option<&Path>,
    table: &str,
) -> Result<Option<Secret>, Error> {
    if stdin {
        return secret_from_stdin(what).await.map(Some);
    }
    if let Ok(value) = std::env::var(variable) {
        return non_empty_secret(value, variable).map(Some);
    }
    if let Some(name) = profile_env {
        return secret_from_env(name, &format!("profile setting {table}.{what}_env")).map(Some);
    }
    if let Some(path) = profile_file {
        return secret_from_file(path, &format!("profile setting {table}.{what}_file"))
            .await
            .map(Some);
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_variable_name_that_is_not_one_is_refused_unquoted() {
        for bad in ["p@ss w0rd", "", "1ABC", "A-B", "A=B", "A\nB", "ÄB"] {
            let err = secret_from_env(bad, "--cert-password-env").unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}");
            assert!(
                err.to_string()
                    .starts_with("--cert-password-env takes the name"),
                "{err}"
            );
            if !bad.is_empty() {
                assert!(!err.to_string().contains(bad), "{err}");
            }
        }
        for good in ["A", "_X", "ROLLBACK_PFX_PASSWORD_2"] {
            assert!(is_variable_name(good), "{good}");
        }
    }
}
