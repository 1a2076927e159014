//! `cicd-dashboard replay`: posts webhook payload files to a running server
//! the way GitHub would — event name in `X-GitHub-Event`, a fresh GUID in
//! `X-GitHub-Delivery`, the raw body signed in `X-Hub-Signature-256` (or a
//! bearer token). A client of the HTTP API only: it never opens the database.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::cli::ReplayArgs;
use crate::domain::time::{format_timestamp, parse_timestamp};
use crate::domain::words::count;
use crate::providers::github::webhook::signature;

/// What happened to one file.
#[derive(Debug, Clone)]
pub struct FileResult {
    pub path: PathBuf,
    pub event: String,
    /// HTTP status, or `None` when the request could not be sent.
    pub status: Option<u16>,
    /// The answer's `outcome`, or the problem's `detail`, or the send error.
    pub outcome: String,
}

impl FileResult {
    /// Whether the server accepted the delivery (any 2xx).
    pub fn accepted(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Runs `replay`, printing one line per file and a summary; fails when any
/// delivery was not accepted.
pub async fn run(args: &ReplayArgs) -> anyhow::Result<()> {
    let results = replay(args).await?;
    for r in &results {
        let status = r.status.map_or_else(|| "---".to_owned(), |s| s.to_string());
        println!("{status} {:<8} {:<14} {}", r.outcome, r.event, r.path.display());
    }
    let accepted = results.iter().filter(|r| r.accepted()).count();
    let outcome = |o: &str| results.iter().filter(|r| r.accepted() && r.outcome == o).count();
    println!(
        "{}: {accepted} accepted ({} stored, {} duplicate, {} ignored), {} not accepted",
        count(results.len(), "file", "files"),
        outcome("stored"),
        outcome("duplicate"),
        outcome("ignored"),
        results.len() - accepted
    );
    if accepted < results.len() {
        let refused = results.len() - accepted;
        let verb = if refused == 1 { "was" } else { "were" };
        bail!("{} {verb} not accepted", count(refused, "delivery", "deliveries"));
    }
    Ok(())
}

/// Posts every payload file under `args.paths` and reports each outcome.
///
/// Errors: no JSON file found, a file cannot be read or is not JSON, or
/// neither a secret nor a token was given.
pub async fn replay(args: &ReplayArgs) -> anyhow::Result<Vec<FileResult>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    if args.secret.is_none() && args.token.is_none() {
        bail!(
            "give --secret (GITHUB_WEBHOOK_SECRET) or --token (CICD_INGEST_TOKEN) so the server accepts the deliveries"
        );
    }
    let files = collect_files(&args.paths)?;
    if files.is_empty() {
        bail!("no .json files found in the given paths");
    }
    let mut payloads = Vec::with_capacity(files.len());
    for path in files {
        let raw = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let value: Value =
            serde_json::from_slice(&raw).with_context(|| format!("{} is not JSON", path.display()))?;
        payloads.push((path, raw, value));
    }

    let client = reqwest::Client::builder().user_agent("GitHub-Hookshot/cicd-dashboard-replay").build()?;
    let endpoint = format!("{}/api/webhook/github-actions", args.url.trim_end_matches('/'));
    let mut results = Vec::new();
    for (path, raw, mut value) in payloads {
        let event = event_name(&value, &path);
        let shift =
            if args.shift_to_now { newest_timestamp(&value).map(|newest| Utc::now() - newest) } else { None };
        let body = match shift {
            Some(delta) => {
                shift_timestamps(&mut value, delta);
                serde_json::to_vec(&value)?
            }
            None => raw,
        };
        let mut request = client
            .post(&endpoint)
            .header("content-type", "application/json")
            .header("x-github-event", &event)
            .header("x-github-delivery", uuid::Uuid::new_v4().to_string());
        request = match (&args.secret, &args.token) {
            (Some(secret), _) => {
                request.header("x-hub-signature-256", signature::sign(secret.expose().as_bytes(), &body))
            }
            (None, Some(token)) => request.bearer_auth(token.expose()),
            (None, None) => request,
        };
        let result = match request.body(body).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let answer: Value = response.json().await.unwrap_or(Value::Null);
                let outcome = answer
                    .get("outcome")
                    .or_else(|| answer.get("detail"))
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_owned();
                FileResult { path, event, status: Some(status), outcome }
            }
            Err(err) => FileResult { path, event, status: None, outcome: format!("send failed: {err}") },
        };
        results.push(result);
    }
    Ok(results)
}

fn collect_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut files).with_context(|| format!("reading folder {}", path.display()))?;
        } else if path.exists() {
            files.push(path.clone());
        } else {
            bail!("{} does not exist", path.display());
        }
    }
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    Ok(())
}

/// The `X-GitHub-Event` for a payload: from its shape where it is
/// unambiguous, else the file name up to its first dot
/// (`workflow_job.queued.json` → `workflow_job`).
pub fn event_name(payload: &Value, path: &Path) -> String {
    let has = |key: &str| payload.get(key).is_some_and(|v| !v.is_null());
    // Objects that other events embed (a deployment_status carries its
    // deployment, both may carry a workflow_run) are checked first.
    for key in ["workflow_job", "deployment_status", "deployment", "check_run", "check_suite", "workflow_run"]
    {
        if has(key) {
            return key.to_owned();
        }
    }
    if has("zen") && has("hook_id") {
        return "ping".to_owned();
    }
    if has("ref") && has("commits") {
        return "push".to_owned();
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    name.split('.').next().unwrap_or(name).to_owned()
}

fn as_timestamp(text: &str) -> Option<DateTime<Utc>> {
    (text.len() >= 20 && text.as_bytes().get(10) == Some(&b'T')).then(|| parse_timestamp(text).ok()).flatten()
}

fn newest_timestamp(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::String(s) => as_timestamp(s),
        Value::Array(items) => items.iter().filter_map(newest_timestamp).max(),
        Value::Object(map) => map.values().filter_map(newest_timestamp).max(),
        _ => None,
    }
}

fn shift_timestamps(value: &mut Value, delta: chrono::Duration) {
    match value {
        Value::String(s) => {
            if let Some(at) = as_timestamp(s) {
                *s = format_timestamp(at + delta);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| shift_timestamps(v, delta)),
        Value::Object(map) => map.values_mut().for_each(|v| shift_timestamps(v, delta)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn event_from_shape_then_file_name() {
        let p = Path::new("x/whatever.json");
        assert_eq!(event_name(&json!({"workflow_run": {}}), p), "workflow_run");
        assert_eq!(event_name(&json!({"workflow_job": {}, "workflow_run": {}}), p), "workflow_job");
        assert_eq!(event_name(&json!({"deployment_status": {}, "workflow_run": {}}), p), "deployment_status");
        assert_eq!(event_name(&json!({"deployment": {}, "workflow_run": {}}), p), "deployment");
        assert_eq!(event_name(&json!({"zen": "z", "hook_id": 1}), p), "ping");
        assert_eq!(event_name(&json!({"action": "x"}), Path::new("a/release.published.json")), "release");
    }

    #[test]
    fn shifting_moves_every_timestamp_by_the_same_amount() {
        let mut v = json!({"a": "2020-01-01T00:00:00Z", "b": ["2020-01-01T00:01:00+00:00", "main"], "n": 3});
        shift_timestamps(&mut v, chrono::Duration::days(1));
        assert_eq!(v, json!({"a": "2020-01-02T00:00:00Z", "b": ["2020-01-02T00:01:00Z", "main"], "n": 3}));
    }
}
