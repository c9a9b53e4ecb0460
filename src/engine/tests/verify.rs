//! `--verify` driven by a scripted platform: healthy at last, a signal that does not exist,
//! unhealthy until the bound, a health read that fails.

use std::time::Duration;

use super::*;
use crate::config::Verify;
use crate::engine::verify::{not_healthy_in_time, verify};
use crate::engine::wait::{Stop, bounded};

fn health(state: HealthState, details: &[&str]) -> Result<Health, Error> {
    Ok(Health {
        state,
        settling: true,
        details: details.iter().map(|d| d.to_string()).collect(),
    })
}

/// Verifies `fake` as `commands` does, bounded by 300 ms.
async fn verified(fake: &mut Fake, strict: bool) -> (Report, Result<(), Error>) {
    let mut global = global(false, false);
    global.poll_interval = Some(Duration::from_millis(10));
    global.verify = Some(Verify {
        timeout: Duration::from_millis(300),
        strict,
    });
    let printer = Printer::new(OutputFormat::Json, true, false);
    let audit = Audit::new(None);
    let ctx = Ctx {
        global: &global,
        printer: &printer,
        audit: &audit,
    };
    let mut report = Report::new("fake", "t".into(), "start", "the fake", false);
    let deadline = tokio::time::Instant::now() + Duration::from_millis(300);
    let result = match bounded(deadline, verify(fake, &ctx, &mut report, strict)).await {
        Ok(result) => result,
        Err(Stop::TimedOut) => Err(not_healthy_in_time(&report, Duration::from_millis(300))),
        Err(Stop::Signal(_)) => unreachable!("no signal is sent"),
    };
    (report, result)
}

fn with_healths(healths: Vec<Result<Health, Error>>) -> Fake {
    let fake = Fake::new(vec![rolled_back()], Vec::new());
    *fake.healths.borrow_mut() = healths.into();
    fake
}

#[tokio::test]
async fn an_entity_missing_from_the_health_store_is_read_again_until_healthy() {
    let mut fake = with_healths(vec![
        health(
            HealthState::Error,
            &["service fabric:/a/s is Error: not in the health store"],
        ),
        health(HealthState::Unknown, &["AggregatedHealthState Invalid"]),
        health(HealthState::Ok, &[]),
    ]);
    let (report, result) = verified(&mut fake, false).await;
    result.unwrap();
    assert_eq!(fake.health_reads.get(), 3);
    let health = report.health.unwrap();
    assert_eq!(health.state, HealthState::Ok);
    assert!(health.details.is_empty());
}

#[tokio::test]
async fn warning_is_healthy_unless_strict() {
    let warning = || with_healths(vec![health(HealthState::Warning, &["node n1 is Warning"])]);
    let (_, result) = verified(&mut warning(), false).await;
    result.unwrap();
    let (report, result) = verified(&mut warning(), true).await;
    let error = result.unwrap_err();
    assert_eq!(error.exit_code(), 7);
    assert_eq!(
        error.to_string(),
        "rolled back, but t was not healthy within 300ms (last read warning: node n1 is Warning)"
    );
    assert_eq!(report.health.unwrap().state, HealthState::Warning);
}

#[tokio::test]
async fn unhealthy_until_the_bound_is_exit_7_naming_the_entity() {
    let mut fake = with_healths(vec![health(
        HealthState::Error,
        &[
            "partition p1 is Error: below target replica count",
            "node n2 is Warning",
        ],
    )]);
    let (report, result) = verified(&mut fake, false).await;
    let error = result.unwrap_err();
    assert_eq!(error.exit_code(), 7);
    assert_eq!(error.kind(), "unhealthy");
    assert_eq!(
        error.to_string(),
        "rolled back, but t was not healthy within 300ms (last read error: partition p1 is Error: below target replica count)"
    );
    assert!(fake.health_reads.get() >= 3, "read until the bound");
    assert_eq!(report.health.unwrap().details.len(), 2);
}

#[tokio::test]
async fn a_final_unhealthy_verdict_ends_the_wait_at_once() {
    let mut fake = with_healths(vec![Ok(Health {
        state: HealthState::Error,
        settling: false,
        details: vec!["role instance Web_IN_0 is FailedStartingVM".into()],
    })]);
    let (_, result) = verified(&mut fake, false).await;
    assert_eq!(
        result.unwrap_err().to_string(),
        "rolled back, but t is error: role instance Web_IN_0 is FailedStartingVM"
    );
    assert_eq!(fake.health_reads.get(), 1);
}

#[tokio::test]
async fn no_health_signal_is_unknown_and_no_failure() {
    let mut fake = with_healths(Vec::new());
    let (report, result) = verified(&mut fake, false).await;
    result.unwrap();
    let health = report.health.unwrap();
    assert_eq!(health.state, HealthState::Unknown);
    assert_eq!(health.details, ["no health signal"]);
}

#[tokio::test]
async fn a_failing_health_read_is_unknown_and_read_again() {
    let mut fake = with_healths(vec![
        Err(Error::unreachable("GET /health answered HTTP 503")),
        health(HealthState::Ok, &[]),
    ]);
    let (report, result) = verified(&mut fake, false).await;
    result.unwrap();
    assert_eq!(fake.health_reads.get(), 2);
    assert_eq!(report.health.unwrap().state, HealthState::Ok);

    let mut failing = with_healths(vec![Err(Error::unreachable(
        "GET /health answered HTTP 503",
    ))]);
    let (report, result) = verified(&mut failing, false).await;
    assert_eq!(
        result.unwrap_err().to_string(),
        "rolled back, but t was not healthy within 300ms (last read unknown: the health read failed: GET /health answered HTTP 503)"
    );
    assert_eq!(report.health.unwrap().state, HealthState::Unknown);
}
