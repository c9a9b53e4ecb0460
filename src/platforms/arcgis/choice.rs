//! `--to`: which of Check Rollback's options a rollback goes to.

use super::model::RollbackOption;
use crate::error::{Error, Problem};

/// `--to`: an option's id, or the newest option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    Previous,
    Id(String),
}

impl Choice {
    /// `previous` (in any case), or an id: not empty, not too long, no control characters.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        if value.eq_ignore_ascii_case("previous") {
            return Ok(Self::Previous);
        }
        if value.is_empty()
            || value.len() > crate::input::MAX_VALUE
            || value.chars().any(|c| c.is_control())
        {
            return Err(format!(
                "--to {}: expected an id from `rollback arcgis targets`, or previous",
                crate::input::shown(value)
            ));
        }
        Ok(Self::Id(value.to_string()))
    }
}

/// Picks the option `choice` names; exit 3 (listing the options) when there is none.
pub fn choose(
    options: &[RollbackOption],
    choice: &Choice,
    url: &str,
) -> Result<RollbackOption, Error> {
    let listing = || {
        options
            .iter()
            .map(RollbackOption::line)
            .collect::<Vec<_>>()
            .join("; ")
    };
    if options.is_empty() {
        return Err(Error::NothingToRollBack(Problem::new(format!(
            "no patch is installed on {url}: Check Rollback lists no version to roll back to"
        ))));
    }
    match choice {
        Choice::Id(id) if id.starts_with("rel_") => Err(Error::Usage(format!(
            "--to {id}: that is a release; only patches can be rolled back"
        ))),
        Choice::Id(id) => options
            .iter()
            .find(|o| o.id == *id)
            .cloned()
            .ok_or_else(|| {
                Error::NothingToRollBack(Problem::new(format!(
                    "{id} is not among the versions {url} can roll back to: {}",
                    listing()
                )))
            }),
        Choice::Previous => {
            let build = |o: &RollbackOption| {
                o.build
                    .as_deref()
                    .and_then(|b| b.trim().parse::<u64>().ok())
            };
            let newest = options.iter().filter_map(build).max();
            let candidates: Vec<&RollbackOption> =
                options.iter().filter(|o| build(o) == newest).collect();
            match (newest, candidates.as_slice()) {
                (Some(_), [only]) if options.iter().all(|o| build(o).is_some()) => {
                    Ok((*only).clone())
                }
                _ => Err(Error::NothingToRollBack(Problem::new(format!(
                    "cannot tell which version is the previous one (builds missing or equal); pick one with --to: {}",
                    listing()
                )))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn option(id: &str, build: Option<&str>) -> RollbackOption {
        RollbackOption {
            id: id.into(),
            name: None,
            version: Some("10.9.0".into()),
            build: build.map(str::to_string),
            update_type: Some("patch".into()),
        }
    }

    #[test]
    fn previous_is_the_newest_build() {
        let options = [
            option("pat_1_503", Some("503")),
            option("pat_2_505", Some("505")),
        ];
        assert_eq!(
            choose(&options, &Choice::Previous, "u").unwrap().id,
            "pat_2_505"
        );
        let tie = [option("a", Some("5")), option("b", Some("5"))];
        assert_eq!(
            choose(&tie, &Choice::Previous, "u")
                .unwrap_err()
                .exit_code(),
            3
        );
        let missing = [option("a", Some("5")), option("b", None)];
        assert_eq!(
            choose(&missing, &Choice::Previous, "u")
                .unwrap_err()
                .exit_code(),
            3
        );
    }

    #[test]
    fn ids_must_be_options_and_releases_are_refused() {
        let options = [option("pat_1_503", Some("503"))];
        assert_eq!(
            choose(&options, &Choice::Id("pat_9".into()), "u")
                .unwrap_err()
                .exit_code(),
            3
        );
        assert_eq!(
            choose(&options, &Choice::Id("rel_1_500".into()), "u")
                .unwrap_err()
                .exit_code(),
            2
        );
        assert_eq!(
            choose(&[], &Choice::Previous, "u").unwrap_err().exit_code(),
            3
        );
    }

    #[test]
    fn version_build() {
        assert_eq!(
            option("a", Some("505")).version_build().as_deref(),
            Some("10.9.0.505")
        );
        let mut already = option("a", Some("505"));
        already.version = Some("10.9.0.505".into());
        assert_eq!(already.version_build().as_deref(), Some("10.9.0.505"));
    }

    #[test]
    fn choice_parsing() {
        assert_eq!(Choice::parse("previous"), Ok(Choice::Previous));
        assert_eq!(Choice::parse("pat_1"), Ok(Choice::Id("pat_1".into())));
        assert!(Choice::parse("").is_err());
        assert!(Choice::parse("a\nb").is_err());
    }
}
