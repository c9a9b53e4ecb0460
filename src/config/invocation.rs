//! The command line as typed, taken apart so that a `next:` hint can give the exact command to
//! run next (attach with `status --watch`, walk a domain, rehearse on the sandbox). `cli`
//! fills it from the clap tree; secrets never come from argv, so echoing it leaks none.

/// The words of the command line, by role.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    /// The subcommands above the leaf (`sf app`).
    pub path: Vec<String>,
    /// The leaf (`start`).
    pub leaf: String,
    /// Its positional arguments (`myapp~app1`).
    pub positionals: Vec<String>,
    /// The options that say where and how (connection, output, profile), each with its value:
    /// not the leaf's own, and none of those only a sending command takes.
    pub options: Vec<String>,
}

impl Invocation {
    /// `rollback PATH status POSITIONALS --watch OPTIONS`: attach to what runs.
    pub fn attach(&self) -> String {
        let mut words = self.path.clone();
        words.push("status".into());
        words.extend(self.positionals.iter().cloned());
        words.push("--watch".into());
        words.extend(self.options.iter().cloned());
        command(&words)
    }

    /// `rollback PATH LEAF OPTIONS`: another leaf of the same platform (`walk --domain 1`).
    pub fn with_leaf(&self, leaf: &[String]) -> String {
        let mut words = self.path.clone();
        words.extend(leaf.iter().cloned());
        words.extend(self.options.iter().cloned());
        command(&words)
    }

    /// `rollback --sandbox PATH LEAF POSITIONALS`: the same command against the sandbox.
    pub fn sandbox(&self) -> String {
        let mut words = vec!["--sandbox".to_string()];
        words.extend(self.path.iter().cloned());
        words.push(self.leaf.clone());
        words.extend(self.positionals.iter().cloned());
        command(&words)
    }
}

/// `rollback WORDS…`, each word quoted for a POSIX shell when it needs it.
fn command(words: &[String]) -> String {
    let mut text = "rollback".to_string();
    for word in words {
        text.push(' ');
        text.push_str(&quote(word));
    }
    text
}

fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:=~@%+,".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_quoted_for_a_shell() {
        let invocation = Invocation {
            path: vec!["sf".into(), "app".into()],
            leaf: "start".into(),
            positionals: vec!["fabric:/my app/app1".into()],
            options: vec!["--endpoint".into(), "http://h:19080".into()],
        };
        assert_eq!(
            invocation.attach(),
            "rollback sf app status 'fabric:/my app/app1' --watch --endpoint http://h:19080"
        );
        assert_eq!(
            invocation.sandbox(),
            "rollback --sandbox sf app start 'fabric:/my app/app1'"
        );
        assert_eq!(quote("it's"), r"'it'\''s'");
    }
}
