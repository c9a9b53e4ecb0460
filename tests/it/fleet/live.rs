//! `fleet run` on a terminal: a live table of the running targets on stderr, redrawn in place,
//! each finished target's line above it.

use regex::Regex;

use crate::scenario::Scenario;
use crate::scenario::terminal::Act;

#[tokio::test(flavor = "multi_thread")]
async fn on_a_terminal_a_live_table_shows_each_running_target_and_its_domains() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    let text: String = (1..=3)
        .map(|k| format!("[[targets]]\nplatform = \"sf-app\"\napp = \"myapp~app{k}\"\n\n"))
        .collect();
    let plan_arg = plan.to_str().unwrap().to_string();
    let outcome = Scenario::new()
        .file(&plan, &text)
        .args([
            "--sandbox",
            "--yes",
            "--color",
            "never",
            "fleet",
            "run",
            &plan_arg,
            "--sandbox-targets",
            "3",
            "--max-concurrency",
            "2",
        ])
        .on_terminal(Act::Keys(b""))
        .await;
    outcome.code(0);
    let screen = &outcome.run.stdout;
    // The table: its header, and a row of a running target with its phase, the upgrade
    // domains of its latest reading and the time so far.
    assert!(
        Regex::new(r"TARGET +PHASE +PROGRESS +ELAPSED")
            .unwrap()
            .is_match(screen),
        "{screen:?}"
    );
    let row = Regex::new(r"\x1b\[2Ksf-app#[12] +rolling_back +UD [0-3]/3 +\d+m?s").unwrap();
    assert!(row.is_match(screen), "{screen:?}");
    // Redrawn in place: back up over the table, erase it, draw it again.
    assert!(
        Regex::new(r"\x1b\[\d+A\r\x1b\[J").unwrap().is_match(screen),
        "{screen:?}"
    );
    // Every target's line, then the summary; no table is left under them.
    for k in 1..=3 {
        outcome.screen_contains(&format!("sf-app#{k}  rolled_back  exit 0"));
    }
    outcome.screen_contains("3 targets: 3 rolled_back (exit 0)");
    let last_erase = screen.rfind("\x1b[J").unwrap();
    assert!(!screen[last_erase..].contains("TARGET"), "{screen:?}");
}

#[tokio::test]
async fn off_a_terminal_a_fleet_writes_no_table() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        "[[targets]]\nplatform = \"sf-app\"\napp = \"myapp~app1\"\n",
    )
    .unwrap();
    let outcome = Scenario::new()
        .args(["--sandbox", "--yes", "fleet", "run", plan.to_str().unwrap()])
        .run()
        .await;
    outcome.code(0);
    // One line a finished target and the summary, as before: nothing but text.
    let lines =
        Regex::new(r"^sf-app#1  rolled_back  exit 0  \d+s\n1 targets: 1 rolled_back \(exit 0\)\n$")
            .unwrap();
    assert!(
        lines.is_match(&outcome.run.stdout),
        "{:?}",
        outcome.run.stdout
    );
    assert!(
        !outcome.run.stderr.contains('\x1b'),
        "{:?}",
        outcome.run.stderr
    );
}
