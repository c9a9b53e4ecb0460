//! The fleet benchmark in its CI size, so that it cannot rot: `scripts/bench-fleet 50` (this
//! build's binary) against `rollback sandbox --targets 50`, both ways, one POST a target.

#[test]
fn the_benchmark_runs_at_fifty_targets() {
    let bin = assert_cmd::cargo_bin!("rollback");
    let output = std::process::Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/bench-fleet"))
        .arg("50")
        .env("BIN", bin)
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    for (row, how) in rows.iter().zip(["fleet", "xargs"]) {
        assert_eq!(row[0], "50", "{stdout}");
        assert_eq!(row[1], how, "{stdout}");
        // Exactly one rollback POST a target, each way.
        assert_eq!(row[5], "50", "{stdout}");
    }
}
