//! `cicd-dashboard report tests PATH…`: a job's JUnit XML reports, each
//! file gzip-compressed and posted as its own body to a running server's
//! `POST /api/test-results` (idempotent per attempt, job and file, so a
//! re-run step stores nothing twice). The attempt and job come from flags,
//! else the CI's environment variables: GitHub Actions here
//! (`GITHUB_REPOSITORY`, `GITHUB_RUN_ID`, `GITHUB_RUN_ATTEMPT`,
//! `GITHUB_JOB`, documented at
//! <https://docs.github.com/actions/reference/variables-reference>), the
//! others through [`super::ci_env`]. A client of the HTTP API only.
//!
//! Exit codes: 0 every file stored or already stored; 2 nothing was sent
//! (a field missing, no report file found, a path unreadable); 3 the server
//! refused a file (a bad token, an unreadable report: 4xx; the other files
//! are still sent); 4 the server could not be reached or kept answering
//! 5xx or 429 after the retries.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::Value;

use super::{ReportError, ci_env, problem_text};
use crate::cli::ReportTestsArgs;
use crate::domain::words::count;

/// The attempt and job an upload names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub provider: String,
    pub repository: String,
    pub run_id: String,
    pub attempt: i64,
    pub job: String,
}

/// The target from flags over the CI's variables; every missing field named.
pub fn target(args: &ReportTestsArgs, var: &dyn Fn(&str) -> Option<String>) -> Result<Target, ReportError> {
    let v = |name: &str| var(name).filter(|value| !value.trim().is_empty());
    let (provider, repository, run_id, attempt, job) = if v("GITHUB_ACTIONS").is_some() {
        (
            Some("github".to_owned()),
            v("GITHUB_REPOSITORY"),
            v("GITHUB_RUN_ID"),
            v("GITHUB_RUN_ATTEMPT").and_then(|a| a.trim().parse().ok()),
            v("GITHUB_JOB"),
        )
    } else {
        let found = ci_env::detect(var);
        (found.provider.map(str::to_owned), found.repository, found.run_id, found.attempt, found.job_name)
    };
    let provider = args.provider.clone().or(provider);
    let repository = args.repository.clone().or(repository);
    let run_id = args.run_id.clone().or(run_id);
    let job = args.job.clone().or(job);
    let mut missing = Vec::new();
    if provider.is_none() {
        missing.push("--provider (no CI's environment variables were found)");
    }
    if repository.is_none() {
        missing.push("--repository (or the CI's GITHUB_REPOSITORY, CI_PROJECT_PATH, JOB_NAME, …)");
    }
    if run_id.is_none() {
        missing.push("--run-id (or the CI's GITHUB_RUN_ID, CI_PIPELINE_ID, BUILD_ID, …)");
    }
    if job.is_none() {
        missing.push("--job (or the CI's GITHUB_JOB, CI_JOB_NAME, BUILDKITE_LABEL, CIRCLE_JOB, …)");
    }
    match (provider, repository, run_id, job) {
        (Some(provider), Some(repository), Some(run_id), Some(job)) => {
            let attempt = args.attempt.or(attempt).unwrap_or(1);
            if attempt < 1 {
                return Err(ReportError::Input(format!("--attempt must be 1 or more, got {attempt}")));
            }
            Ok(Target { provider, repository, run_id, attempt, job })
        }
        _ => Err(ReportError::Input(format!("missing {}", missing.join("; ")))),
    }
}

/// The report files `paths` name: files as given, directories searched
/// (with their subdirectories, in name order) for `*.xml`.
pub fn report_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ReportError> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path)
            .map_err(|err| ReportError::Input(format!("cannot read {}: {err}", path.display())))?;
        if meta.is_dir() {
            collect_xml(path, &mut files)?;
        } else {
            files.push(path.clone());
        }
    }
    if files.is_empty() {
        return Err(ReportError::Input("no report file found (directories are searched for *.xml)".into()));
    }
    Ok(files)
}

fn collect_xml(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), ReportError> {
    let unreadable =
        |err: std::io::Error| ReportError::Input(format!("cannot read {}: {err}", dir.display()));
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(unreadable)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(unreadable)?;
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            collect_xml(&entry, files)?;
        } else if entry.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("xml")) {
            files.push(entry);
        }
    }
    Ok(())
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>, ReportError> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder
        .write_all(bytes)
        .and_then(|_| encoder.finish())
        .map_err(|err| ReportError::Input(format!("gzip: {err}")))
}

/// Sends every report file; answers the lines to print (one per file), or
/// the first error by exit code order (a refusal after the others are sent).
///
/// Errors: see [`ReportError`] and the module doc.
pub async fn run(args: ReportTestsArgs, var: &dyn Fn(&str) -> Option<String>) -> Result<String, ReportError> {
    let target = target(&args, var)?;
    let token = args.token.as_ref().ok_or_else(|| {
        ReportError::Input(
            "no token: give --token or set CICD_INGEST_TOKEN (a write-role token or the ingest token)".into(),
        )
    })?;
    let files = report_files(&args.paths)?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(|err| ReportError::Unreachable(format!("cannot make an HTTP client: {err}")))?;
    let url = reqwest::Url::parse_with_params(
        &format!("{}/api/test-results", args.server.trim_end_matches('/')),
        [
            ("provider", target.provider.as_str()),
            ("repo", target.repository.as_str()),
            ("run_id", target.run_id.as_str()),
            ("attempt", &target.attempt.to_string()),
            ("job", target.job.as_str()),
        ],
    )
    .map_err(|err| ReportError::Input(format!("--server is not a URL: {err}")))?;
    let mut refused = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file)
            .map_err(|err| ReportError::Input(format!("cannot read {}: {err}", file.display())))?;
        let body = gzip(&bytes)?;
        match post(&client, &url, token.expose(), body, &args).await {
            // Printed as each file is stored, so a later refusal does not
            // hide what got in.
            Ok(answer) => println!("{}", summary(file, &answer)),
            Err(ReportError::Refused(message)) => {
                eprintln!("error: {}: {message}", file.display());
                refused.push(file.display().to_string());
            }
            Err(other) => return Err(other),
        }
    }
    if !refused.is_empty() {
        return Err(ReportError::Refused(format!(
            "{} of {} refused: {}",
            refused.len(),
            count(files.len(), "file", "files"),
            refused.join(", ")
        )));
    }
    Ok(format!(
        "{} for {} run {} attempt {} job {:?} ({})",
        count(files.len(), "file", "files"),
        target.repository,
        target.run_id,
        target.attempt,
        target.job,
        target.provider
    ))
}

/// `applied: PATH (N tests: p passed, f failed, e errored, s skipped)`.
fn summary(file: &Path, answer: &Value) -> String {
    let one = &answer["files"][0];
    let n = |key: &str| one[key].as_u64().unwrap_or(0);
    format!(
        "{}: {} ({}: {} passed, {} failed, {} errored, {} skipped)",
        one["outcome"].as_str().unwrap_or("unknown"),
        file.display(),
        count(n("cases"), "test", "tests"),
        n("passed"),
        n("failed"),
        n("errored"),
        n("skipped")
    )
}

/// Posts one gzip body, retrying connection errors, 429 and 5xx with
/// doubling waits.
async fn post(
    client: &reqwest::Client,
    url: &reqwest::Url,
    token: &str,
    body: Vec<u8>,
    args: &ReportTestsArgs,
) -> Result<Value, ReportError> {
    let mut delay = Duration::from_millis(args.retry_delay_ms);
    let mut attempt = 0;
    loop {
        let sent = client
            .post(url.clone())
            .bearer_auth(token)
            .header("content-type", "application/xml")
            .header("content-encoding", "gzip")
            .body(body.clone())
            .send()
            .await;
        let failure = match sent {
            Ok(response) if response.status().is_success() => {
                return response
                    .json()
                    .await
                    .map_err(|err| ReportError::Unreachable(format!("unreadable answer from {url}: {err}")));
            }
            Ok(response) => {
                let status = response.status();
                let detail = problem_text(&response.json().await.unwrap_or(Value::Null));
                if status.is_server_error() || status.as_u16() == 429 {
                    format!("the server answered {status}: {detail}")
                } else {
                    return Err(ReportError::Refused(format!("refused ({status}): {detail}")));
                }
            }
            Err(err) => format!("cannot reach {}: {err}", args.server),
        };
        if attempt >= args.retries {
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command, ReportCommand};

    fn args(argv: &[&str]) -> ReportTestsArgs {
        let mut all = vec!["cicd-dashboard", "report", "tests"];
        all.extend_from_slice(argv);
        match Cli::parse_from(all).command {
            Some(Command::Report(ReportCommand::Tests(args))) => args,
            other => panic!("not report tests: {other:?}"),
        }
    }

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn github_actions_variables_and_flags() {
        let github = env(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_REPOSITORY", "octo-org/app"),
            ("GITHUB_RUN_ID", "9001"),
            ("GITHUB_RUN_ATTEMPT", "2"),
            ("GITHUB_JOB", "test"),
        ]);
        let found = target(&args(&["out.xml"]), &github).expect("target");
        assert_eq!(
            found,
            Target {
                provider: "github".into(),
                repository: "octo-org/app".into(),
                run_id: "9001".into(),
                attempt: 2,
                job: "test".into()
            }
        );
        let named = target(&args(&["out.xml", "--job", "test (ubuntu)"]), &github).expect("target");
        assert_eq!(named.job, "test (ubuntu)");
    }

    #[test]
    fn gitlab_variables_and_what_is_missing() {
        let gitlab = env(&[
            ("GITLAB_CI", "true"),
            ("CI_PROJECT_PATH", "group/app"),
            ("CI_PIPELINE_ID", "77"),
            ("CI_JOB_NAME", "rspec 1/2"),
        ]);
        let found = target(&args(&["a.xml"]), &gitlab).expect("target");
        assert_eq!((found.provider.as_str(), found.run_id.as_str(), found.attempt), ("gitlab", "77", 1));
        assert_eq!(found.job, "rspec 1/2");
        let Err(ReportError::Input(message)) = target(&args(&["a.xml"]), &env(&[])) else {
            panic!("missing fields")
        };
        for flag in ["--provider", "--repository", "--run-id", "--job"] {
            assert!(message.contains(flag), "{flag}: {message}");
        }
    }

    #[test]
    fn directories_are_searched_for_xml() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        for name in ["b.xml", "a.XML", "notes.txt", "sub/c.xml"] {
            std::fs::write(dir.path().join(name), "<testsuite/>").expect("write");
        }
        let files = report_files(&[dir.path().to_path_buf()]).expect("files");
        let names: Vec<String> =
            files.iter().map(|f| f.strip_prefix(dir.path()).expect("inside").display().to_string()).collect();
        assert_eq!(names, ["a.XML", "b.xml", "sub/c.xml"]);
        std::fs::remove_file(dir.path().join("notes.txt")).expect("rm");
        assert!(matches!(report_files(&[dir.path().join("missing.xml")]), Err(ReportError::Input(_))));
        let empty = tempfile::tempdir().expect("tempdir");
        assert!(matches!(report_files(&[empty.path().to_path_buf()]), Err(ReportError::Input(_))));
    }
}
