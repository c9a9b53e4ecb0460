//! Where a Cloud Services update or rollback stands in its upgrade domains (the result's
//! `progress`, from the deployment's `UpgradeStatus`), and why its operation failed (the
//! result's `reason`, from Get Operation Status's `Error`).

use super::model::{Deployment, ErrorBody};
use crate::platforms::Progress;

fn number(text: Option<&str>) -> Option<u32> {
    text?.trim().parse().ok()
}

/// While an update or rollback runs: the domains before `CurrentUpgradeDomain` are done (it
/// walks them in ascending order), out of `UpgradeDomainCount`; the current one by its number.
/// `None` without an `UpgradeStatus` or a count.
pub fn running(d: &Deployment) -> Option<Progress> {
    let upgrade = d.upgrade_status.as_ref()?;
    let total = number(d.upgrade_domain_count.as_deref())?;
    let current = number(upgrade.current_upgrade_domain.as_deref());
    Some(Progress {
        domains_done: current.unwrap_or(0).min(total),
        domains_total: total,
        current: current.filter(|c| *c < total).map(|c| c.to_string()),
    })
}

/// Once a rollback is over (its `UpgradeStatus` gone): every domain done.
pub fn finished(d: &Deployment) -> Option<Progress> {
    let total = number(d.upgrade_domain_count.as_deref())?;
    Some(Progress {
        domains_done: total,
        domains_total: total,
        current: None,
    })
}

/// A failed operation's `Error/Code` and `Error/Message` as one line; `None` when it has
/// neither.
pub fn operation_reason(error: &ErrorBody) -> Option<String> {
    let part = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    match (part(&error.code), part(&error.message)) {
        (Some(code), Some(message)) => Some(format!("{code}: {message}")),
        (code, message) => code.or(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(xml: &str) -> Deployment {
        quick_xml::de::from_str(xml).unwrap()
    }

    fn progress(done: u32, total: u32, current: Option<&str>) -> Option<Progress> {
        Some(Progress {
            domains_done: done,
            domains_total: total,
            current: current.map(str::to_string),
        })
    }

    const NS: &str = r#"xmlns="http://schemas.microsoft.com/windowsazure" xmlns:i="http://www.w3.org/2001/XMLSchema-instance""#;

    fn updating(kind: &str, state: &str, domain: &str, count: &str) -> Deployment {
        deployment(&format!(
            "<Deployment {NS}><Name>v2</Name><Status>Running</Status><UpgradeStatus><UpgradeType>{kind}</UpgradeType><CurrentUpgradeDomainState>{state}</CurrentUpgradeDomainState><CurrentUpgradeDomain>{domain}</CurrentUpgradeDomain></UpgradeStatus><UpgradeDomainCount>{count}</UpgradeDomainCount><RollbackAllowed>false</RollbackAllowed></Deployment>"
        ))
    }

    #[test]
    fn the_current_domain_and_those_before_it() {
        // Auto, in the second of five; Manual, waiting before the third; the last one.
        assert_eq!(
            running(&updating("Auto", "During", "1", "5")),
            progress(1, 5, Some("1"))
        );
        assert_eq!(
            running(&updating("Manual", "Before", "2", "5")),
            progress(2, 5, Some("2"))
        );
        assert_eq!(
            running(&updating("Manual", "During", "0", "3")),
            progress(0, 3, Some("0"))
        );
        // A domain past the count is no domain of it.
        assert_eq!(
            running(&updating("Auto", "During", "9", "3")),
            progress(3, 3, None)
        );
        // A current domain that is no number: none done that the tool can tell.
        assert_eq!(
            running(&updating("Auto", "During", "x", "3")),
            progress(0, 3, None)
        );
    }

    #[test]
    fn no_update_or_no_count_is_no_progress() {
        let idle = deployment(&format!(
            "<Deployment {NS}><Status>Running</Status><UpgradeDomainCount>3</UpgradeDomainCount></Deployment>"
        ));
        assert_eq!(running(&idle), None);
        assert_eq!(finished(&idle), progress(3, 3, None));
        assert_eq!(running(&updating("Auto", "During", "1", "")), None);
        assert_eq!(finished(&updating("Auto", "During", "1", "many")), None);
    }

    #[test]
    fn the_operation_error_is_one_line() {
        let operation: super::super::model::Operation = quick_xml::de::from_str(&format!(
            "<Operation {NS}><ID>5250805d-51f2-bf4f-b2b7-614bc03870de</ID><Status>Failed</Status><HttpStatusCode>500</HttpStatusCode><Error><Code>InternalError</Code><Message>The server encountered an internal error. Please retry the request.</Message></Error></Operation>"
        ))
        .unwrap();
        assert_eq!(
            operation_reason(&operation.error.unwrap()).as_deref(),
            Some(
                "InternalError: The server encountered an internal error. Please retry the request."
            )
        );
        let only = |code: Option<&str>, message: Option<&str>| {
            operation_reason(&ErrorBody {
                code: code.map(str::to_string),
                message: message.map(str::to_string),
            })
        };
        assert_eq!(
            only(Some("Conflict"), Some(" ")).as_deref(),
            Some("Conflict")
        );
        assert_eq!(only(None, Some("busy")).as_deref(), Some("busy"));
        assert_eq!(only(Some(""), None), None);
    }
}
