//! Why a Service Fabric upgrade failed or was rolled back, in one line (the result's `reason`):
//! `FailureReason` in words, the upgrade domain it struck in (`UpgradeDomainProgressAtFailure`)
//! and the unhealthy entity its health evaluations lead to. Every progress document that
//! carries these fields (application, cluster, compose deployment) reads them here.

pub use super::health::Wrapper;
use super::health::culprit;

/// The result's `reason` from a progress document: its `FailureReason`, the `DomainName` of
/// its `UpgradeDomainProgressAtFailure` and its `UnhealthyEvaluations` (walked down to the
/// entity). `None` when the document gives no reason (`None`, empty or absent).
pub fn failure_reason(
    reason: Option<&str>,
    failed_domain: Option<&str>,
    evaluations: &[Wrapper],
) -> Option<String> {
    let reason = reason
        .map(str::trim)
        .filter(|r| !r.is_empty() && *r != "None")?;
    let mut line = match reason {
        "HealthCheck" => "the health check failed".to_string(),
        "UpgradeDomainTimeout" => "the upgrade domain timeout ran out".to_string(),
        "OverallUpgradeTimeout" => "the overall upgrade timeout ran out".to_string(),
        // The spec: "There was an external request to roll back the upgrade" (a rollback
        // POST such as this tool's), not a failure the platform found.
        "Interrupted" => "a rollback was requested (by this tool or an operator)".to_string(),
        other => format!("FailureReason {other}"),
    };
    if let Some(domain) = failed_domain.map(str::trim).filter(|d| !d.is_empty()) {
        line.push_str(&format!(" during upgrade domain {domain}"));
    }
    if let Some(culprit) = culprit(evaluations) {
        line.push_str(&format!(": {}", culprit.line()));
    }
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evaluations(json: &str) -> Vec<Wrapper> {
        serde_json::from_str(json).unwrap()
    }

    /// A health check failure as an application upgrade reports it: `Services` → `Service`
    /// → an event.
    const SERVICE_DOWN: &str = r#"[{"HealthEvaluation":{"Kind":"Services",
        "AggregatedHealthState":"Error","Description":"100% (1/1) services of type WebType are unhealthy",
        "UnhealthyEvaluations":[{"HealthEvaluation":{"Kind":"Service","AggregatedHealthState":"Error",
          "ServiceName":"fabric:/myapp/app1/web","Description":"Unhealthy service",
          "UnhealthyEvaluations":[{"HealthEvaluation":{"Kind":"Event","AggregatedHealthState":"Error",
            "UnhealthyEvent":{"SourceId":"watchdog","Property":"probe","HealthState":"Error",
              "Description":"HTTP probe failed"}}}]}}]}}]"#;

    #[test]
    fn every_failure_reason_reads_as_words() {
        let down = evaluations(SERVICE_DOWN);
        let cases = [
            (
                "HealthCheck",
                Some("UD1"),
                &down[..],
                "the health check failed during upgrade domain UD1: service fabric:/myapp/app1/web is Error: HTTP probe failed",
            ),
            (
                "UpgradeDomainTimeout",
                Some("UD2"),
                &[][..],
                "the upgrade domain timeout ran out during upgrade domain UD2",
            ),
            (
                "OverallUpgradeTimeout",
                Some(""),
                &[][..],
                "the overall upgrade timeout ran out",
            ),
            (
                "Interrupted",
                Some("UD1"),
                &[][..],
                "a rollback was requested (by this tool or an operator) during upgrade domain UD1",
            ),
            ("SomethingNew", None, &[][..], "FailureReason SomethingNew"),
        ];
        for (reason, domain, evaluations, line) in cases {
            assert_eq!(
                failure_reason(Some(reason), domain, evaluations).as_deref(),
                Some(line),
                "{reason}"
            );
        }
    }

    #[test]
    fn no_reason_is_none() {
        let down = evaluations(SERVICE_DOWN);
        // `None` is Service Fabric's "no reason" (9.1 examples send it with an empty
        // UpgradeDomainProgressAtFailure); health evaluations alone give none either.
        assert_eq!(failure_reason(Some("None"), Some(""), &down), None);
        assert_eq!(failure_reason(Some(" "), Some("UD1"), &[]), None);
        assert_eq!(failure_reason(None, None, &down), None);
    }
}
