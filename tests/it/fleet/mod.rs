//! `rollback fleet`: many targets in one run, through the same engine as single commands,
//! against a farm of Service Fabric applications that counts what it sees, and the sandbox.

mod bench;
mod journal;
mod live;
mod recipes;
mod shards;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::common::{Run, rollback, run};
use crate::scenario::sf;

/// One application of the farm, as the server saw it.
#[derive(Default)]
struct App {
    started: bool,
    posts: usize,
    polls: usize,
    done: bool,
}

/// Applications `fleet~appN`, each rolling forward until its rollback POST, then rolling back
/// for `polls` reads. It counts the targets in flight (from a target's first read to the
/// answer that ends it) and every POST.
#[derive(Default)]
pub struct Farm {
    apps: Mutex<HashMap<String, App>>,
    in_flight: AtomicUsize,
    pub peak: AtomicUsize,
    /// Reads of a rolling-back application before it is rolled back.
    pub polls: AtomicUsize,
    /// Applications whose upgrade has failed (no rollback may be sent).
    pub failed: Mutex<Vec<String>>,
}

impl Farm {
    pub async fn start(polls: usize) -> (Arc<Farm>, MockServer) {
        let farm = Arc::new(Farm::default());
        farm.polls.store(polls, Ordering::SeqCst);
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path_regex(
                r"^/Applications/fleet~app\d+/\$/GetUpgradeProgress$",
            ))
            .respond_with(Answer(farm.clone()))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path_regex(
                r"^/Applications/fleet~app\d+/\$/RollbackUpgrade$",
            ))
            .respond_with(Answer(farm.clone()))
            .mount(&server)
            .await;
        (farm, server)
    }

    /// The POSTs each application received, by id.
    pub fn posts(&self) -> HashMap<String, usize> {
        let apps = self.apps.lock().unwrap();
        apps.iter().map(|(id, a)| (id.clone(), a.posts)).collect()
    }

    fn ended(&self, app: &mut App) {
        if !app.done {
            app.done = true;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

struct Answer(Arc<Farm>);

impl Respond for Answer {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let farm = &self.0;
        let id = request
            .url
            .path()
            .split('/')
            .nth(2)
            .unwrap_or_default()
            .to_string();
        let mut apps = farm.apps.lock().unwrap();
        let app = apps.entry(id.clone()).or_default();
        if request.method.as_str() == "POST" {
            app.posts += 1;
            return ResponseTemplate::new(200);
        }
        if !app.started {
            app.started = true;
            let now = farm.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            farm.peak.fetch_max(now, Ordering::SeqCst);
        }
        let body = if farm.failed.lock().unwrap().contains(&id) {
            farm.ended(app);
            sf::app("Failed", 1)
        } else if app.posts == 0 {
            sf::app("RollingForwardInProgress", 1)
        } else if app.polls >= farm.polls.load(Ordering::SeqCst) {
            farm.ended(app);
            sf::app("RollingBackCompleted", 3)
        } else {
            app.polls += 1;
            sf::app("RollingBackInProgress", 1)
        };
        ResponseTemplate::new(200).set_body_json(body)
    }
}

/// A plan of `n` applications `fleet~app0…` named `app0…` at `endpoint`.
pub fn plan(endpoint: &str, n: usize) -> String {
    let mut text = format!("[defaults]\nsf = {{ endpoint = \"{endpoint}\" }}\n");
    for i in 0..n {
        text.push_str(&format!(
            "\n[[targets]]\nname = \"app{i}\"\nplatform = \"sf-app\"\napp = \"fleet~app{i}\"\n"
        ));
    }
    text
}

/// `rollback fleet run PLAN --yes --poll-interval 20ms ARGS…` with the plan written to `dir`.
pub async fn fleet(dir: &Path, plan: &str, args: &[&str]) -> Run {
    let file = dir.join("plan.toml");
    std::fs::write(&file, plan).unwrap();
    let mut cmd = rollback();
    cmd.args(["fleet", "run"])
        .arg(&file)
        .args(["--yes", "--poll-interval", "20ms"]);
    cmd.args(args);
    run(cmd).await
}

/// The outcome of each target of a fleet document, by name.
pub fn outcomes(doc: &Value) -> Vec<(String, String)> {
    doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_plan_of_every_platform_rolls_back_each_once_through_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let plan = r#"
[[targets]]
platform = "sf-cluster"

[[targets]]
name = "app"
platform = "sf-app"
app = "fabric:/myapp/app1"

[[targets]]
platform = "sf-compose"
compose = "mycompose"

[[targets]]
platform = "cloudsvc"
service = "mysvc"
slot = "production"

[[targets]]
platform = "arcgis"
to = "previous"
"#;
    let run = fleet(dir.path(), plan, &["--sandbox", "--json"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let doc = run.json();
    assert_eq!(doc["kind"], "fleet");
    assert_eq!(
        outcomes(&doc),
        [
            ("sf-cluster#1".into(), "rolled_back".into()),
            ("app".into(), "rolled_back".into()),
            ("sf-compose#3".into(), "rolled_back".into()),
            ("cloudsvc#4".into(), "rolled_back".into()),
            ("arcgis#5".into(), "rolled_back".into()),
        ]
    );
    let platforms: Vec<&str> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["platform"].as_str().unwrap())
        .collect();
    assert_eq!(
        platforms,
        ["sf-cluster", "sf-app", "sf-compose", "cloudsvc", "arcgis"]
    );
    // Each target's own result document, with exactly one rollback request.
    for target in doc["targets"].as_array().unwrap() {
        assert_eq!(target["schema_version"], 1);
        assert_eq!(target["action"], "start");
        assert_eq!(target["requests"].as_array().unwrap().len(), 1, "{target}");
        assert_eq!(target["requests"][0]["method"], "POST");
    }
    assert_eq!(
        doc["summary"],
        json!({"targets": 5, "counts": {"rolled_back": 5}, "exit_code": 0})
    );
    conforms(&doc);
}

/// The fleet document matches docs/schema/fleet-v1.json, and each target that ran, without
/// its name, is a result document of docs/schema/result-v1.json.
pub fn conforms(doc: &Value) {
    let schema = |text: &str| {
        let schema: Value = serde_json::from_str(text).unwrap();
        jsonschema::draft202012::new(&schema).unwrap()
    };
    let fleet = schema(include_str!("../../../docs/schema/fleet-v1.json"));
    let result = schema(include_str!("../../../docs/schema/result-v1.json"));
    let errors: Vec<String> = fleet.iter_errors(doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}\n{doc:#}");
    for target in doc["targets"].as_array().unwrap() {
        if target["outcome"] == "skipped" || target.get("journal").is_some() {
            continue;
        }
        let mut target = target.clone();
        target.as_object_mut().unwrap().shift_remove("name");
        let errors: Vec<String> = result.iter_errors(&target).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}\n{target:#}");
    }
}

#[tokio::test]
async fn never_more_than_max_concurrency_in_flight_and_one_post_each() {
    let (farm, server) = Farm::start(3).await;
    let dir = tempfile::tempdir().unwrap();
    let run = fleet(
        dir.path(),
        &plan(&server.uri(), 12),
        &["--max-concurrency", "3", "-o", "jsonl"],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        farm.peak.load(Ordering::SeqCst),
        3,
        "the bound, and reached"
    );
    let posts = farm.posts();
    assert_eq!(posts.len(), 12);
    assert!(posts.values().all(|&n| n == 1), "{posts:?}");
    // One result line a target as it ends, then the summary.
    let lines: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 13);
    for line in &lines[..12] {
        assert_eq!(line["type"], "result");
        assert_eq!(line["outcome"], "rolled_back");
        assert!(line["name"].as_str().unwrap().starts_with("app"));
    }
    let mut names: Vec<&str> = lines[..12]
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 12);
    assert_eq!(
        lines[12],
        json!({"type": "summary", "targets": 12, "counts": {"rolled_back": 12}, "exit_code": 0})
    );
}

#[tokio::test]
async fn max_failures_stops_starting_new_targets() {
    let (farm, server) = Farm::start(1).await;
    farm.failed
        .lock()
        .unwrap()
        .extend(["fleet~app1".to_string(), "fleet~app2".to_string()]);
    let dir = tempfile::tempdir().unwrap();
    let run = fleet(
        dir.path(),
        &plan(&server.uri(), 6),
        &["--max-concurrency", "1", "--max-failures", "2", "--json"],
    )
    .await;
    assert_eq!(run.code, 8, "{run:?}");
    let doc = run.json();
    assert_eq!(
        outcomes(&doc),
        [
            ("app0".into(), "rolled_back".into()),
            ("app1".into(), "failed".into()),
            ("app2".into(), "failed".into()),
            ("app3".into(), "skipped".into()),
            ("app4".into(), "skipped".into()),
            ("app5".into(), "skipped".into()),
        ]
    );
    assert_eq!(
        doc["summary"],
        json!({"targets": 6, "counts": {"failed": 2, "rolled_back": 1, "skipped": 3}, "exit_code": 8})
    );
    conforms(&doc);
    // The skipped ones were never read; the failed ones got no rollback.
    let posts = farm.posts();
    assert_eq!(posts.len(), 3, "{posts:?}");
    assert_eq!(posts["fleet~app0"], 1);
    assert_eq!(posts["fleet~app1"], 0);
}

#[tokio::test]
async fn a_malformed_plan_sends_nothing() {
    let (_farm, server) = Farm::start(1).await;
    let dir = tempfile::tempdir().unwrap();
    let mut text = plan(&server.uri(), 3);
    text.push_str("\n[[targets]]\nname = \"bad\"\nplatform = \"sf-app\"\n");
    let run = fleet(dir.path(), &text, &[]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        format!(
            "error: plan {}: line 19: target \"bad\": no `app` (which sf-app target: app)\n",
            dir.path().join("plan.toml").display()
        )
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn text_is_one_line_a_target_then_the_summary() {
    let (_farm, server) = Farm::start(0).await;
    let dir = tempfile::tempdir().unwrap();
    let run = fleet(
        dir.path(),
        &plan(&server.uri(), 2),
        &["--max-concurrency", "1"],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{run:?}");
    assert!(
        lines[0].starts_with("app0  rolled_back  exit 0  "),
        "{run:?}"
    );
    assert!(
        lines[1].starts_with("app1  rolled_back  exit 0  "),
        "{run:?}"
    );
    assert_eq!(lines[2], "2 targets: 2 rolled_back (exit 0)");
}
