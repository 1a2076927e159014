//! `cicd-dashboard report run|job`: one generic build event, from flags and
//! the CI's environment variables (`ci_env`; flags win), posted to a running
//! server's `POST /api/builds/events`. A client of the HTTP API only: it
//! never opens the database.
//!
//! Exit codes: 0 the event was applied or was a duplicate; 2 a field is
//! missing or malformed (nothing was sent); 3 the server refused it (a bad
//! token, 403, 422 …; its problem is printed); 4 the server could not be
//! reached or kept answering 5xx after the retries (connection errors, 5xx
//! and 429 are retried with doubling waits).

pub mod ci_env;
pub mod test_upload;

use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::cli::{ReportCommand, ReportCommon};
use crate::domain::time::{format_timestamp, parse_timestamp};
use crate::domain::words::count;

/// Why a report failed, with its exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportError {
    /// A field is missing or malformed; nothing was sent (exit 2).
    Input(String),
    /// The server answered with a problem that retrying will not fix (exit 3).
    Refused(String),
    /// No answer, or 5xx, after every retry (exit 4).
    Unreachable(String),
}

impl ReportError {
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            ReportError::Input(_) => 2,
            ReportError::Refused(_) => 3,
            ReportError::Unreachable(_) => 4,
        }
    }
}

/// Runs `report`, printing the outcome on stdout or the error on stderr.
pub async fn main(command: ReportCommand) -> ExitCode {
    let env = |name: &str| std::env::var(name).ok();
    let result = match command {
        ReportCommand::Tests(args) => test_upload::run(args, &env).await,
        other => run(other, &env).await,
    };
    match result {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            let (ReportError::Input(message)
            | ReportError::Refused(message)
            | ReportError::Unreachable(message)) = &err;
            eprintln!("error: {message}");
            ExitCode::from(err.exit_code())
        }
    }
}

/// Builds the event and posts it; answers the line to print.
///
/// Errors: see [`ReportError`].
pub async fn run(
    command: ReportCommand,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ReportError> {
    let detected = ci_env::detect(env);
    let (common, event) = build_event(&command, &detected)?;
    let token = common.token.as_ref().ok_or_else(|| {
        ReportError::Input(
            "no token: give --token or set CICD_INGEST_TOKEN (a write-role token or the ingest token)".into(),
        )
    })?;
    let answer = send(common, token.expose(), &event).await?;
    let outcome = answer["events"][0]["outcome"].as_str().unwrap_or("unknown").to_owned();
    Ok(format!(
        "{outcome}: {} {} of {} run {} ({})",
        event["type"].as_str().unwrap_or_default(),
        event["status"].as_str().unwrap_or_default(),
        event["repository"].as_str().unwrap_or_default(),
        event["run_id"].as_str().unwrap_or_default(),
        event["provider"].as_str().unwrap_or_default()
    ))
}

/// The status words `--status` takes, as the API's.
fn status(text: &str) -> Result<&'static str, ReportError> {
    match text {
        "queued" => Ok("queued"),
        "started" | "in_progress" | "running" => Ok("in_progress"),
        "completed" | "finished" => Ok("completed"),
        other => {
            Err(ReportError::Input(format!("--status must be queued, started or completed, got {other:?}")))
        }
    }
}

/// A conclusion in the API's words, from ours or a CI's (case-insensitive).
fn conclusion(text: &str) -> Result<&'static str, ReportError> {
    Ok(match text.to_ascii_lowercase().as_str() {
        "success" | "passed" | "succeeded" => "success",
        "failure" | "failed" | "unstable" => "failure",
        "cancelled" | "canceled" | "aborted" => "cancelled",
        "skipped" | "not_built" => "skipped",
        "timed_out" => "timed_out",
        "neutral" => "neutral",
        "startup_failure" => "startup_failure",
        "action_required" => "action_required",
        "stale" => "stale",
        _ => {
            return Err(ReportError::Input(format!(
                "--conclusion must be success, failure, cancelled, skipped, timed_out, neutral, \
                 startup_failure, action_required or stale (or SUCCESS, UNSTABLE, FAILURE, ABORTED, \
                 NOT_BUILT), got {text:?}"
            )));
        }
    })
}

/// The event JSON: flags over what the CI's variables say, `now` for the
/// status's own timestamp when none is given.
fn build_event<'c>(
    command: &'c ReportCommand,
    detected: &ci_env::Detected,
) -> Result<(&'c ReportCommon, Value), ReportError> {
    let common = match command {
        ReportCommand::Run(args) => &args.common,
        ReportCommand::Job(args) => &args.common,
        ReportCommand::Tests(_) => {
            return Err(ReportError::Input("report tests sends no build event".into()));
        }
    };
    let mut event = Map::new();
    let mut missing = Vec::new();
    let put = |event: &mut Map<String, Value>, key: &str, value: Option<Value>| {
        if let Some(value) = value {
            event.insert(key.to_owned(), value);
        }
    };
    let pick = |flag: &Option<String>, found: &Option<String>| {
        flag.clone().or_else(|| found.clone()).map(Value::from)
    };
    let status = status(&common.status)?;
    let provider = common.provider.clone().or_else(|| detected.provider.map(str::to_owned));
    if provider.is_none() {
        missing.push("--provider (no CI's environment variables were found)");
    }
    let repository = pick(&common.repository, &detected.repository);
    if repository.is_none() {
        missing.push("--repository (or the CI's JOB_NAME, BUILDKITE_PIPELINE_SLUG, CIRCLE_PROJECT_REPONAME, CI_PROJECT_PATH, BUILD_REPOSITORY_NAME)");
    }
    let run_id = pick(&common.run_id, &detected.run_id);
    if run_id.is_none() {
        missing.push("--run-id (or the CI's BUILD_ID, BUILDKITE_BUILD_ID, CIRCLE_WORKFLOW_ID, CI_PIPELINE_ID, BUILD_BUILDID)");
    }
    event.insert(
        "type".into(),
        Value::from(if matches!(command, ReportCommand::Run(_)) { "run" } else { "job" }),
    );
    put(&mut event, "provider", provider.map(Value::from));
    put(&mut event, "repository", repository);
    put(&mut event, "run_id", run_id);
    put(&mut event, "workflow", pick(&common.workflow, &detected.workflow));
    put(&mut event, "attempt", common.attempt.or(detected.attempt).map(Value::from));
    put(&mut event, "branch", pick(&common.branch, &detected.branch));
    put(&mut event, "commit", pick(&common.commit, &detected.commit));
    event.insert("status".into(), Value::from(status));
    let concluded = match (&common.conclusion, common.exit_code) {
        (Some(text), _) => Some(conclusion(text)?),
        (None, Some(0)) => Some("success"),
        (None, Some(_)) => Some("failure"),
        (None, None) => None,
    };
    match (status, concluded) {
        ("completed", None) => missing.push("--conclusion or --exit-code (with --status completed)"),
        ("completed", Some(c)) => put(&mut event, "conclusion", Some(Value::from(c))),
        (_, Some(_)) => {
            return Err(ReportError::Input("--conclusion and --exit-code go with --status completed".into()));
        }
        _ => {}
    }
    let now = format_timestamp(Utc::now());
    for (key, flag, own_status) in [
        ("created_at", &common.created_at, "queued"),
        ("started_at", &common.started_at, "in_progress"),
        ("completed_at", &common.completed_at, "completed"),
    ] {
        let value = match flag {
            Some(text) => Some(format_timestamp(parse_timestamp(text).map_err(|_| {
                ReportError::Input(format!(
                    "--{} must be an RFC 3339 timestamp, got {text:?}",
                    key.replace('_', "-")
                ))
            })?)),
            None if status == own_status => Some(now.clone()),
            None => None,
        };
        put(&mut event, key, value.map(Value::from));
    }
    match command {
        ReportCommand::Run(args) => {
            put(&mut event, "url", pick(&common.url, &detected.url));
            put(&mut event, "number", args.number.or(detected.number).map(Value::from));
            put(&mut event, "event", pick(&args.event, &detected.event));
            put(&mut event, "actor", pick(&args.actor, &detected.actor));
        }
        ReportCommand::Job(args) => {
            let job_id = pick(&args.job_id, &detected.job_id);
            if job_id.is_none() {
                missing.push("--job-id (or the CI's BUILDKITE_JOB_ID, CIRCLE_WORKFLOW_JOB_ID, CI_JOB_ID, SYSTEM_JOBID)");
            }
            put(&mut event, "job_id", job_id);
            put(&mut event, "url", pick(&common.url, &detected.job_url));
            put(&mut event, "name", pick(&args.name, &detected.job_name));
            put(&mut event, "runner_name", pick(&args.runner_name, &detected.runner_name));
            let labels = if args.labels.is_empty() { detected.labels.clone() } else { args.labels.clone() };
            if !labels.is_empty() {
                put(&mut event, "runner_labels", Some(json!(labels)));
            }
        }
        ReportCommand::Tests(_) => {}
    }
    if !missing.is_empty() {
        return Err(ReportError::Input(format!("missing {}", missing.join("; "))));
    }
    let key = match &common.key {
        Some(key) => key.clone(),
        None => default_key(&event),
    };
    event.insert("idempotency_key".into(), Value::from(key));
    Ok((common, Value::Object(event)))
}

/// `provider-repository-run-attempt[-job]-status` in visible ASCII (other
/// characters become `_`); over 200 characters, its SHA-256 in hex.
fn default_key(event: &Map<String, Value>) -> String {
    let text = |key: &str| event.get(key).map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned));
    let parts: Vec<String> = ["provider", "repository", "run_id", "attempt", "job_id", "status"]
        .iter()
        .filter_map(|key| text(key))
        .collect();
    let key: String = parts.join("-").chars().map(|c| if c.is_ascii_graphic() { c } else { '_' }).collect();
    if key.len() <= 200 { key } else { hex::encode(Sha256::digest(key.as_bytes())) }
}

/// Posts `event`, retrying connection errors, 429 and 5xx with doubling
/// waits; answers the server's JSON.
async fn send(common: &ReportCommon, token: &str, event: &Value) -> Result<Value, ReportError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|err| ReportError::Unreachable(format!("cannot make an HTTP client: {err}")))?;
    let url = format!("{}/api/builds/events", common.server.trim_end_matches('/'));
    let mut delay = Duration::from_millis(common.retry_delay_ms);
    let mut attempt = 0;
    loop {
        let failure = match client.post(&url).bearer_auth(token).json(event).send().await {
            Ok(response) if response.status().is_success() => {
                return response
                    .json()
                    .await
                    .map_err(|err| ReportError::Unreachable(format!("unreadable answer from {url}: {err}")));
            }
            Ok(response) => {
                let status = response.status();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                let detail = problem_text(&body);
                if status.is_server_error() || status.as_u16() == 429 {
                    format!("{url} answered {status}: {detail}")
                } else {
                    return Err(ReportError::Refused(format!(
                        "{url} refused the event ({status}): {detail}"
                    )));
                }
            }
            Err(err) => format!("cannot reach {url}: {err}"),
        };
        if attempt >= common.retries {
            return Err(ReportError::Unreachable(format!(
                "{failure} (after {})",
                count(attempt + 1, "attempt", "attempts")
            )));
        }
        eprintln!("{failure}; retrying in {} ms", delay.as_millis());
        tokio::time::sleep(delay).await;
        delay = delay.saturating_mul(2);
        attempt += 1;
    }
}

/// A problem answer's `detail` and each field error, on one line.
pub(crate) fn problem_text(body: &Value) -> String {
    let mut text = body["detail"].as_str().unwrap_or("no detail").to_owned();
    for error in body["errors"].as_array().into_iter().flatten() {
        text.push_str(&format!(
            "; {}: {}",
            error["field"].as_str().unwrap_or("?"),
            error["message"].as_str().unwrap_or("?")
        ));
    }
    text
}

#[cfg(test)]
mod tests;
