//! What a fleet writes: each target's result document (with its `name`) as it ends, then the
//! summary; or one fleet document (`--json`); or one line a target and a summary line (text).
//! Also `fleet report`, which merges shards' fleet documents.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{Value, json};

use super::args::ReportArgs;
use super::plan::Target;
use crate::config::OutputFormat;
use crate::error::{Error, Problem};
use crate::output::{self, one_line};
use crate::report::Report;

/// A finished target's document: its result document with `name` first.
pub fn target_doc(target: &Target, report: &Report) -> Value {
    let mut doc = output::result_value(report);
    if let Some(map) = doc.as_object_mut() {
        map.shift_insert(0, "name".into(), target.name.clone().into());
    }
    doc
}

/// A target the run did not start (`--max-failures` reached, or a signal).
pub fn skipped_doc(target: &Target) -> Value {
    json!({
        "name": target.name,
        "platform": target.kind.platform,
        "outcome": "skipped",
        "exit_code": null,
    })
}

/// What the summary reads of a target's document.
pub fn slim(doc: &Value) -> Value {
    json!({"outcome": doc["outcome"], "exit_code": doc["exit_code"]})
}

/// The summary of a fleet's documents: how many ended each way, and the exit code (0 when
/// every target's was 0, else 8).
pub fn summary(docs: &[Value]) -> Value {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for doc in docs {
        let outcome = doc["outcome"].as_str().unwrap_or("error").to_string();
        *counts.entry(outcome).or_default() += 1;
    }
    let ok = docs.iter().all(|d| d["exit_code"].as_u64() == Some(0));
    json!({
        "targets": docs.len(),
        "counts": counts,
        "exit_code": exit_code(ok),
    })
}

fn exit_code(ok: bool) -> u8 {
    if ok {
        0
    } else {
        Error::Fleet(Problem::new("some target did not succeed")).exit_code()
    }
}

/// Writes a target's end as it happens: one JSON line, or one text line.
pub fn target_done(format: OutputFormat, doc: &Value) -> std::io::Result<()> {
    match format {
        OutputFormat::Json => Ok(()),
        OutputFormat::Jsonl => {
            let mut line = doc.clone();
            if let Some(map) = line.as_object_mut() {
                map.shift_insert(0, "type".into(), "result".into());
            }
            write(&format!("{line}\n"))
        }
        OutputFormat::Text => write(&format!("{}\n", text_line(doc))),
    }
}

/// `NAME  OUTCOME  exit N  ELAPSED  error message`, every server string made one safe line.
fn text_line(doc: &Value) -> String {
    let name = one_line(doc["name"].as_str().unwrap_or_default());
    let outcome = doc["outcome"].as_str().unwrap_or("error");
    let code = doc["exit_code"]
        .as_u64()
        .map_or("-".to_string(), |c| c.to_string());
    let elapsed = doc["elapsed_ms"].as_u64().map_or(String::new(), |ms| {
        format!(
            "  {}",
            crate::config::show_duration(std::time::Duration::from_millis(ms))
        )
    });
    let error = doc["error"]["message"]
        .as_str()
        .map_or(String::new(), |m| format!("  {}", one_line(m)));
    format!("{name}  {outcome}  exit {code}{elapsed}{error}")
}

/// Writes the end of the run: the summary line (jsonl, text) or the whole fleet document.
pub fn finish(format: OutputFormat, docs: Vec<Value>, summary: &Value) -> std::io::Result<()> {
    match format {
        OutputFormat::Json => {
            let doc = json!({
                "schema_version": 1,
                "kind": "fleet",
                "targets": docs,
                "summary": summary,
            });
            write(&format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ))
        }
        OutputFormat::Jsonl => {
            let mut line = summary.clone();
            if let Some(map) = line.as_object_mut() {
                map.shift_insert(0, "type".into(), "summary".into());
            }
            write(&format!("{line}\n"))
        }
        OutputFormat::Text => {
            let counts: Vec<String> = summary["counts"]
                .as_object()
                .map(|c| c.iter().map(|(k, v)| format!("{v} {k}")).collect())
                .unwrap_or_default();
            write(&format!(
                "{} targets: {} (exit {})\n",
                summary["targets"],
                counts.join(", "),
                summary["exit_code"]
            ))
        }
    }
}

fn write(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|()| out.flush())
}

/// Writes `text` to stdout; the exit code (0, or that of a failed write).
pub fn stdout(text: &str) -> u8 {
    match write(text) {
        Ok(()) => 0,
        Err(e) => failed(&Error::Output(Problem::new(format!(
            "cannot write to stdout: {e}"
        )))),
    }
}

/// `error: MESSAGE` on stderr; the error's exit code.
pub fn failed(error: &Error) -> u8 {
    output::stderr_line(&format!("error: {}", one_line(&error.to_string())));
    error.exit_code()
}

/// `fleet report FILE…`: the shards' `--json` documents merged, their summary recomputed.
pub fn merge(args: &ReportArgs, format: OutputFormat) -> u8 {
    let mut docs = Vec::new();
    let mut names = std::collections::HashSet::new();
    for file in &args.files {
        let bad = |why: String| Error::Usage(format!("{}: {why}", file.display()));
        let text = match crate::input::read_regular(file, super::plan::MAX_PLAN) {
            Ok(bytes) => bytes,
            Err(e) => return failed(&bad(e.to_string())),
        };
        let doc: Value = match serde_json::from_slice(&text) {
            Ok(doc) => doc,
            Err(e) => return failed(&bad(format!("not JSON: {e}"))),
        };
        if doc["kind"] != "fleet" {
            return failed(&bad(
                "not a fleet document (`rollback fleet run --json`)".into()
            ));
        }
        let Some(targets) = doc["targets"].as_array() else {
            return failed(&bad("no targets".into()));
        };
        for target in targets {
            // The same shard twice would count its targets twice.
            let name = target["name"].as_str().unwrap_or_default().to_string();
            if !names.insert(name.clone()) {
                return failed(&bad(format!(
                    "target {} is in an earlier document too (the same shard twice?)",
                    crate::input::shown(&name)
                )));
            }
            docs.push(target.clone());
        }
    }
    let summary = summary(&docs);
    let code = summary["exit_code"]
        .as_u64()
        .and_then(|c| u8::try_from(c).ok());
    match finish(format, docs, &summary) {
        Ok(()) => code.unwrap_or(1),
        Err(e) => failed(&Error::Output(Problem::new(format!(
            "cannot write to stdout: {e}"
        )))),
    }
}
