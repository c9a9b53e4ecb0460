//! The recipes of docs/fleet.md (GitHub Actions, Azure Pipelines, Kubernetes Indexed Job): their
//! very command lines, run by `sh` against the sandbox (`ROLLBACK_SANDBOX=1`), as a rehearsal.

use std::path::Path;

use serde_json::{Value, json};

use crate::common::Run;

const DOC: &str = include_str!("../../../docs/fleet.md");

/// A plan of every platform, as the sandbox holds them.
const PLAN: &str = r#"
[[targets]]
platform = "sf-cluster"

[[targets]]
platform = "sf-app"
app = "fabric:/myapp/app1"

[[targets]]
platform = "cloudsvc"
service = "mysvc"
slot = "production"

[[targets]]
platform = "arcgis"
to = "previous"
"#;

/// The line, checked to be in docs/fleet.md as it is.
fn documented(line: &str) -> &str {
    assert!(DOC.contains(line), "not in docs/fleet.md: {line}");
    line
}

/// Runs `line` with `sh` in `dir`, `rollback` on the PATH, every target in the sandbox.
fn sh(dir: &Path, line: &str, env: &[(&str, &str)]) -> Run {
    let bin = Path::new(assert_cmd::cargo_bin!("rollback"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = std::process::Command::new("sh")
        .args(["-c", line])
        .current_dir(dir)
        .env_clear()
        .env("PATH", path)
        .env("HOME", dir)
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("ROLLBACK_SANDBOX", "1")
        .env("ROLLBACK_POLL_INTERVAL", "20ms")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

fn every_platform_rolled_back(report: &Run) {
    assert_eq!(report.code, 0, "{report:?}");
    assert_eq!(
        report.stdout, "4 targets: 4 rolled_back (exit 0)\n",
        "{report:?}"
    );
}

#[tokio::test]
async fn the_github_actions_recipe() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::write(dir.join("plan.toml"), PLAN).unwrap();
    let output = dir.join("github-output");
    let matrix = sh(
        dir,
        documented(
            r#"echo "matrix=$(rollback fleet matrix plan.toml --shards 4)" >> "$GITHUB_OUTPUT""#,
        ),
        &[("GITHUB_OUTPUT", output.to_str().unwrap())],
    );
    assert_eq!(matrix.code, 0, "{matrix:?}");
    let written = std::fs::read_to_string(&output).unwrap();
    let matrix: Value =
        serde_json::from_str(written.trim().strip_prefix("matrix=").unwrap()).unwrap();
    let include = matrix["include"].as_array().unwrap();
    assert_eq!(include.len(), 4);
    let step = documented(
        r#"rollback fleet run plan.toml --yes --shard "${{ matrix.shard }}" --json > shard.json"#,
    );
    for (index, entry) in include.iter().enumerate() {
        // What Actions makes of the expression before the shell sees the line.
        let line = step.replace("${{ matrix.shard }}", entry["shard"].as_str().unwrap());
        let run = sh(dir, &line, &[]);
        assert_eq!(run.code, 0, "{run:?}");
        let artifact = dir.join(format!("shards/shard-{index}"));
        std::fs::create_dir_all(&artifact).unwrap();
        std::fs::rename(dir.join("shard.json"), artifact.join("shard.json")).unwrap();
    }
    let report = documented("rollback fleet report shards/*/shard.json");
    every_platform_rolled_back(&sh(dir, report, &[]));
}

#[tokio::test]
async fn the_azure_pipelines_recipe() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::write(dir.join("plan.toml"), PLAN).unwrap();
    let step =
        documented(r#"rollback fleet run plan.toml --yes --shard "$(SHARD)" --json > shard.json"#);
    for (index, shard) in ["0/3", "1/3", "2/3"].iter().enumerate() {
        documented(&format!("SHARD: \"{shard}\""));
        // Azure replaces the macro `$(SHARD)` before the shell sees the line.
        let run = sh(dir, &step.replace("$(SHARD)", shard), &[]);
        assert_eq!(run.code, 0, "{run:?}");
        let artifact = dir.join(format!("shard-{index}"));
        std::fs::create_dir_all(&artifact).unwrap();
        std::fs::rename(dir.join("shard.json"), artifact.join("shard.json")).unwrap();
    }
    let report = documented("rollback fleet report $(Pipeline.Workspace)/shard-*/shard.json");
    every_platform_rolled_back(&sh(dir, &report.replace("$(Pipeline.Workspace)", "."), &[]));
}

#[tokio::test]
async fn the_kubernetes_indexed_job_recipe() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    // The ConfigMap's plan, as the pod sees it mounted.
    let (_, rest) = DOC.split_once("  plan.toml: |\n").unwrap();
    let (plan, _) = rest.split_once("---").unwrap();
    let plan: String = plan
        .lines()
        .map(|l| format!("{}\n", l.trim_start()))
        .collect();
    std::fs::create_dir_all(dir.join("plan")).unwrap();
    std::fs::write(dir.join("plan/plan.toml"), &plan).unwrap();
    documented(
        r#"command: ["rollback", "fleet", "run", "/plan/plan.toml", "--yes", "-o", "jsonl"]"#,
    );
    documented(r#"- { name: JOB_COMPLETIONS, value: "3" }"#);
    documented("completionMode: Indexed");
    // The container's command, with the ConfigMap mounted under the test's directory.
    let line = "rollback fleet run plan/plan.toml --yes -o jsonl";
    let mut names = Vec::new();
    for index in ["0", "1", "2"] {
        let env = [("JOB_COMPLETIONS", "3"), ("JOB_COMPLETION_INDEX", index)];
        let run = sh(dir, line, &env);
        assert_eq!(run.code, 0, "{run:?}");
        let lines: Vec<Value> = run
            .stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let (summary, results) = lines.split_last().unwrap();
        assert_eq!(summary["type"], "summary");
        for result in results {
            assert_eq!(result["outcome"], "rolled_back");
            names.push(result["name"].clone());
        }
    }
    assert_eq!(
        names,
        [json!("sf-app#1")],
        "the plan's one target, in one shard"
    );
}
