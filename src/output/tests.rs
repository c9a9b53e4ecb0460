use std::borrow::Cow;

use super::escape::escape;
use super::*;

#[test]
fn controls_and_bidi_become_visible_escapes() {
    assert_eq!(
        escape(
            "a\x1b[2J\x1b]52;c;eA==\x07\r\t\u{7f}\u{9b}1m\u{202e}\u{2066}\u{200f}\u{61c}\u{2028}\0z",
            false
        ),
        "a\\x1b[2J\\x1b]52;c;eA==\\x07\\r\\t\\x7f\\u{9b}1m\\u{202e}\\u{2066}\\u{200f}\\u{61c}\\u{2028}\\x00z"
    );
    assert_eq!(escape("one\ntwo", false), "one\\ntwo");
    assert_eq!(escape("one\ntwo\r", true), "one\ntwo\\r");
    // Ordinary text, including non-Latin scripts and backslashes, is left alone.
    assert!(matches!(
        escape("Größe 2.0 — ünï/cødé \\ עברית 中文", false),
        Cow::Borrowed(_)
    ));
}

#[test]
fn one_line_redacts_then_escapes() {
    crate::redact::register("OUTPUT-SECRET-42");
    assert_eq!(
        one_line("token OUTPUT-SECRET-42\nnext"),
        "token <redacted>\\nnext"
    );
    assert_eq!(lines("a\nOUTPUT-SECRET-42"), "a\n<redacted>");
}

#[test]
fn the_text_result_escapes_every_server_value() {
    let mut report = Report::new(
        "sf-cluster",
        "cluster".into(),
        "status",
        "the cluster",
        false,
    );
    report.platform_state = Some("X\x1b[2J\nstate: fake".into());
    report.from_version = Some("1\u{202e}0".into());
    report.summary = Some("p\rq".into());
    report.phase = Phase::Upgrading;
    assert_eq!(
        render_text(&report).unwrap(),
        "target:   cluster\nphase:    upgrading\nstate:    X\\x1b[2J\\nstate: fake\nversion:  1\\u{202e}0 (the upgrade's target)\nprogress: p\\rq\n"
    );
}

#[test]
fn a_table_is_aligned_on_what_the_terminal_shows() {
    let rows = vec![
        vec!["ID".into(), "NAME".into(), "X".into()],
        vec!["a\x1b[2J".into(), "中文".into(), "y".into()],
        vec!["long-id".into(), "n".into(), String::new()],
    ];
    assert_eq!(
        table(&rows),
        "ID        NAME  X\n\
         a\\x1b[2J  中文  y\n\
         long-id   n\n"
    );
}

#[test]
fn the_reason_ends_the_text_result_escaped() {
    let mut report = Report::new("sf-app", "myapp~app1".into(), "status", "the app", false);
    report.platform_state = Some("RollingBackInProgress".into());
    report.phase = Phase::RollingBack;
    report.reason = Some("the health check failed\nreason: fake".into());
    assert_eq!(
        render_text(&report).unwrap(),
        "target:   myapp~app1\nphase:    rolling_back\nstate:    RollingBackInProgress\nreason:   the health check failed\\nreason: fake\n"
    );
    report.outcome = Outcome::RolledBack;
    report.action = "start";
    report.platform_state = Some("RollingBackCompleted".into());
    assert_eq!(
        render_text(&report).unwrap(),
        "Rolled back myapp~app1 (RollingBackCompleted) in 0ms.\nreason: the health check failed\\nreason: fake\n"
    );
    // No reason, no line.
    report.reason = None;
    assert!(!render_text(&report).unwrap().contains("reason"));
}

#[test]
fn the_domains_label_counts_and_names_the_current_domain() {
    let label = |done, total, current: Option<&str>| {
        domains_label(&Progress {
            domains_done: done,
            domains_total: total,
            current: current.map(str::to_string),
        })
    };
    assert_eq!(label(2, 5, Some("UD2")), "UD 2/5 (UD2)");
    // Cloud Services numbers its domains.
    assert_eq!(label(1, 3, Some("1")), "UD 1/3 (UD 1)");
    assert_eq!(label(3, 3, None), "UD 3/3");
    // A server's name is one terminal-safe line.
    assert_eq!(label(0, 1, Some("a\nb")), "UD 0/1 (a\\nb)");
}
