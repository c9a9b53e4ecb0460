//! Shards: `fleet matrix`, `--shard I/N` (and a Kubernetes Indexed Job's variables), and
//! `fleet report` merging the shards into what one unsharded run reports.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::{Farm, fleet, outcomes, plan};
use crate::common::run_args;

#[tokio::test]
async fn shards_partition_the_plan_and_their_report_is_the_unsharded_summary() {
    let dir = tempfile::tempdir().unwrap();
    // The unsharded run, against a farm of its own.
    let (farm, server) = Farm::start(1).await;
    farm.failed.lock().unwrap().push("fleet~app3".into());
    let whole = fleet(dir.path(), &plan(&server.uri(), 7), &["--json"]).await;
    assert_eq!(whole.code, 8, "{whole:?}");
    let whole = whole.json();

    let (farm, server) = Farm::start(1).await;
    farm.failed.lock().unwrap().push("fleet~app3".into());
    let text = plan(&server.uri(), 7);
    std::fs::write(dir.path().join("plan.toml"), &text).unwrap();
    let plan_file = dir.path().join("plan.toml");
    let plan_file = plan_file.to_str().unwrap();
    let matrix = run_args(&["fleet", "matrix", plan_file, "--shards", "3"], &[]).await;
    assert_eq!(matrix.code, 0, "{matrix:?}");
    assert_eq!(
        matrix.json(),
        json!({"include": [{"shard": "0/3"}, {"shard": "1/3"}, {"shard": "2/3"}]})
    );
    let mut files = Vec::new();
    let mut seen = BTreeSet::new();
    for entry in matrix.json()["include"].as_array().unwrap() {
        let shard = entry["shard"].as_str().unwrap();
        let run = fleet(dir.path(), &text, &["--json", "--shard", shard]).await;
        let doc: Value = run.json();
        let names: Vec<String> = outcomes(&doc).into_iter().map(|(n, _)| n).collect();
        let index: usize = shard[..1].parse().unwrap();
        // Position p is in shard p % 3.
        let expected: Vec<String> = (0..7)
            .filter(|p| p % 3 == index)
            .map(|p| format!("app{p}"))
            .collect();
        assert_eq!(names, expected, "shard {shard}");
        for name in names {
            assert!(seen.insert(name), "a target in two shards");
        }
        let file = dir.path().join(format!("shard-{index}.json"));
        std::fs::write(&file, &run.stdout).unwrap();
        files.push(file.to_str().unwrap().to_string());
    }
    assert_eq!(seen.len(), 7, "the union is the plan");
    assert!(farm.posts().values().all(|&n| n <= 1));

    let mut args = vec!["--json", "fleet", "report"];
    args.extend(files.iter().map(String::as_str));
    let report = run_args(&args, &[]).await;
    assert_eq!(report.code, 8, "{report:?}");
    assert_eq!(report.json()["summary"], whole["summary"]);
    assert_eq!(
        whole["summary"],
        json!({"targets": 7, "counts": {"failed": 1, "rolled_back": 6}, "exit_code": 8})
    );
    let text = run_args(&["fleet", "report", &files[0], &files[1]], &[]).await;
    assert_eq!(text.stdout, "5 targets: 1 failed, 4 rolled_back (exit 8)\n");
    assert_eq!(text.code, 8);
    let twice = run_args(&["fleet", "report", &files[0], &files[0]], &[]).await;
    assert_eq!(twice.code, 2, "{twice:?}");
    assert_eq!(twice.stdout, "");
    assert!(
        twice.stderr.contains("is in an earlier document too"),
        "{twice:?}"
    );
}

#[tokio::test]
async fn an_indexed_job_picks_its_shard_from_the_environment() {
    let (_farm, server) = Farm::start(0).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.toml");
    std::fs::write(&file, plan(&server.uri(), 5)).unwrap();
    let file = file.to_str().unwrap();
    let args = [
        "--json",
        "fleet",
        "run",
        file,
        "--yes",
        "--poll-interval",
        "20ms",
    ];
    let env = [("JOB_COMPLETION_INDEX", "1"), ("JOB_COMPLETIONS", "2")];
    let run = run_args(&args, &env).await;
    assert_eq!(run.code, 0, "{run:?}");
    let names: Vec<String> = outcomes(&run.json()).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["app1", "app3"]);
    let run = run_args(&args, &[("JOB_COMPLETION_INDEX", "1")]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("JOB_COMPLETIONS is not"), "{run:?}");
}
