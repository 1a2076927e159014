//! `POST /api/test-results`: JUnit XML reports of one run attempt's job,
//! uploaded by a CI step (write role).
//!
//! Order of checks: identification in the query (400 when `repo`,
//! `run_id` or `job` is missing, 422 when a value is invalid) → content
//! type and encoding (415) → declared body size (413, before the body is
//! read) → the body, read within the process-wide body budget shared with
//! the webhook (`body_budget`: 413 over the webhook's
//! [`MAX_BODY_BYTES`](super::webhook::MAX_BODY_BYTES), 25 MiB, 503 when the
//! budget is full) → each file, gzip-decoded under [`MAX_DECODED_BYTES`]
//! for the whole upload (413) and read (422 naming the file and the byte
//! position) → the store, all files in one transaction (nothing is stored
//! when any file is refused).

use std::sync::LazyLock;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::IntoParams;
use utoipa::openapi::path::ParameterIn;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::params::Params;
use super::problem::Problem;
use super::responses::UploadProblems;
use crate::domain::limits;
use crate::domain::{ProviderKind, RepoName, TestOutcome};
use crate::store::test_results::{AttemptKey, ReportFile};
use crate::test_reports::Limits;
use crate::test_reports::file::{FileError, ReadFile, read_file};

/// Most bytes the files of one upload may decode to, together: 128 MiB
/// (a 50 000-test report is about 10–20 MiB). A gzip-compressed file may
/// also expand at most [`MAX_GZIP_RATIO`](crate::test_reports::file::MAX_GZIP_RATIO)-fold.
pub const MAX_DECODED_BYTES: u64 = 128 * 1024 * 1024;

/// Most files in one multipart upload.
pub const MAX_FILES: usize = 100;

/// `POST /api/test-results` (write role).
pub(super) fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    // CI senders: the ingest token or a write token (`auth::require_sender`).
    let routes = OpenApiRouter::new()
        .routes(routes!(upload))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), super::auth::require_sender));
    super::limited(routes, &state.api_budget)
}

/// The query parameters identifying the job a report belongs to.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read by utoipa only: the documentation and `identification`'s check
pub struct UploadParams {
    /// Provider kind (default `github`)
    provider: Option<String>,
    /// Repository, `owner/name`
    repo: String,
    /// The provider's run id (GitHub: `github.run_id`)
    run_id: String,
    /// Run attempt, 1-based (default 1)
    #[param(minimum = 1, maximum = 10000)]
    attempt: Option<i64>,
    /// The job's name
    job: String,
}

/// What became of one file.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UploadedFile {
    /// The multipart file name (or field name); `body` for a raw body.
    pub file: String,
    /// SHA-256 of the decompressed file, hex.
    pub digest: String,
    /// Test cases read.
    pub cases: usize,
    pub passed: usize,
    pub failed: usize,
    pub errored: usize,
    pub skipped: usize,
    /// `applied` (stored now) or `duplicate` (this file was already stored
    /// for this attempt and job; counted once).
    pub outcome: String,
}

/// The answer to an upload.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UploadAnswer {
    /// The run attempt's build id (a placeholder row until the run's own
    /// delivery arrives).
    pub build_id: i64,
    pub job: String,
    pub files: Vec<UploadedFile>,
}

/// Stores the uploaded reports; 201 when any file was new, 200 when every
/// file was a duplicate.
#[utoipa::path(post, path = "/api/test-results", tag = "tests",
    description = "JUnit XML reports of one run attempt's job: a raw body (`application/xml` or `text/xml`, \
        gzip-compressed with `Content-Encoding: gzip` or recognised by its magic number) or \
        `multipart/form-data` with one or more files. Idempotent per attempt, job and file digest. \
        Body at most 25 MiB; the files at most 128 MiB decompressed together, a gzip file at most 250-fold its compressed size.",
    params(UploadParams),
    request_body(description = "One JUnit XML report, or several as multipart files",
        content(("application/xml"), ("text/xml"), ("multipart/form-data"))),
    responses((status = 201, body = UploadAnswer, description = "At least one file stored"),
        (status = 200, body = UploadAnswer, description = "Every file was already stored"), UploadProblems),
    security(("token" = [])))]
pub async fn upload(State(state): State<AppState>, request: Request) -> Result<Response, Problem> {
    let params = Params::parse(request.uri().query())?;
    let (key, job) = identification(&params)?;
    let kind = body_kind(request.headers())?;
    let declared = state.webhook_bodies.check_declared(request.headers())?;
    let files = match kind {
        BodyKind::Raw { gzip } => {
            let (parts, body) = request.into_parts();
            let held = state.webhook_bodies.read(body, declared).await?;
            drop(parts);
            vec![Upload { name: "body".into(), bytes: held.bytes.clone(), gzip, _held: Some(held) }]
        }
        BodyKind::Multipart => multipart_files(&state, request, declared).await?,
    };
    let read = read_files(&key.repo, &files).await?;
    drop(files);
    let report_files: Vec<ReportFile> = read
        .iter()
        .map(|(name, file)| ReportFile {
            file_name: Some(name.clone()),
            digest: file.digest.clone(),
            executions: file.executions.clone(),
        })
        .collect();
    let (build_id, outcomes) = state.store.test_results().record_upload(&key, &job, &report_files).await?;
    let any_new = outcomes.contains(&crate::store::test_results::UploadOutcome::Applied);
    let files = read
        .iter()
        .zip(outcomes)
        .map(|((name, file), outcome)| UploadedFile {
            file: name.clone(),
            digest: file.digest.clone(),
            cases: file.executions.len(),
            passed: file.count(TestOutcome::Passed),
            failed: file.count(TestOutcome::Failed),
            errored: file.count(TestOutcome::Errored),
            skipped: file.count(TestOutcome::Skipped),
            outcome: outcome.as_str().to_owned(),
        })
        .collect();
    let status = if any_new { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(UploadAnswer { build_id, job, files })).into_response())
}

/// The attempt and job name from the query: 400 when `repo`, `run_id` or
/// `job` is missing; 422 for a parameter it does not take, an unknown provider, an attempt outside
/// 1–10000, or a text over its stored limit.
fn identification(params: &Params) -> Result<(AttemptKey, String), Problem> {
    // A misspelt name (`atempt=2`) would store the report under another
    // attempt or provider: refused, as reads refuse theirs. The names are
    // the documented ones, so the check and the OpenAPI document agree.
    static NAMES: LazyLock<Vec<String>> = LazyLock::new(|| {
        UploadParams::into_params(|| Some(ParameterIn::Query)).into_iter().map(|p| p.name).collect()
    });
    params.only(&NAMES)?;
    let required = |name: &str| {
        params.text(name).ok_or_else(|| {
            Problem::bad_request(
                "missing-identification",
                format!(
                    "the query parameter {name} is required (repo, run_id and job identify the job's attempt)"
                ),
            )
        })
    };
    let repo = required("repo")?;
    let run_id = required("run_id")?;
    let job = required("job")?;
    let provider = match params.text("provider") {
        None => ProviderKind::GitHub,
        Some(text) => ProviderKind::from_kind(&text).ok_or_else(|| {
            let known: Vec<&str> = ProviderKind::ALL.iter().map(|p| p.kind()).collect();
            Problem::invalid_parameter(format!("provider must be one of {}, got {text:?}", known.join(", ")))
        })?,
    };
    let run_attempt = params.int_in("attempt", 1, 1, 10_000)?;
    limits::check_all([
        ("repository", Some(repo.as_str())),
        ("run id", Some(run_id.as_str())),
        ("job name", Some(job.as_str())),
    ])
    .map_err(Problem::invalid_parameter)?;
    Ok((AttemptKey { provider, repo: RepoName::from(repo), run_id, run_attempt }, job))
}

enum BodyKind {
    Raw { gzip: bool },
    Multipart,
}

/// What the headers say the body is: 415 for a content type other than
/// XML, gzip or multipart form data, or an encoding other than gzip.
fn body_kind(headers: &HeaderMap) -> Result<BodyKind, Problem> {
    let unsupported = |detail: String| {
        Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            detail,
        )
    };
    let encoding =
        headers.get(header::CONTENT_ENCODING).map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase());
    let gzip = match encoding.as_deref() {
        None | Some("" | "identity") => false,
        Some("gzip" | "x-gzip") => true,
        Some(other) => {
            return Err(unsupported(format!("Content-Encoding {other:?} is not accepted; use gzip or none")));
        }
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    match content_type.as_deref() {
        Some("application/xml" | "text/xml") => Ok(BodyKind::Raw { gzip }),
        Some("application/gzip" | "application/x-gzip") => Ok(BodyKind::Raw { gzip: true }),
        Some("multipart/form-data") if !gzip => Ok(BodyKind::Multipart),
        Some("multipart/form-data") => Err(unsupported(
            "a multipart body cannot be gzip-encoded as a whole; compress its files instead".into(),
        )),
        other => Err(unsupported(format!(
            "Content-Type {} is not accepted; send application/xml, text/xml, application/gzip or multipart/form-data",
            other.map_or("(none)".to_owned(), |t| format!("{t:?}"))
        ))),
    }
}

/// One file of the upload, as sent.
struct Upload {
    name: String,
    bytes: Bytes,
    gzip: bool,
    /// The body's share of the body budget, held until the upload is read.
    _held: Option<super::body_budget::HeldBody>,
}

/// The files of a multipart body read within the body budget: every part
/// with content (the file name, else the field name, names it).
async fn multipart_files(
    state: &AppState,
    request: Request,
    declared: Option<usize>,
) -> Result<Vec<Upload>, Problem> {
    let (parts, body) = request.into_parts();
    let held = state.webhook_bodies.read(body, declared).await?;
    let rebuilt = Request::from_parts(parts, axum::body::Body::from(held.bytes.clone()));
    let mut multipart = Multipart::from_request(rebuilt, state)
        .await
        .map_err(|err| Problem::bad_request("invalid-multipart", err.body_text()))?;
    let mut files = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|err| Problem::bad_request("invalid-multipart", err.body_text()))?
    {
        let name = field
            .file_name()
            .or(field.name())
            .map_or_else(|| format!("part {}", files.len() + 1), |n| limits_cap(n, 255));
        let bytes =
            field.bytes().await.map_err(|err| Problem::bad_request("invalid-multipart", err.body_text()))?;
        if bytes.is_empty() {
            continue;
        }
        if files.len() == MAX_FILES {
            return Err(Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-many-files",
                "Payload too large",
                format!("an upload holds at most {MAX_FILES} files"),
            ));
        }
        files.push(Upload { name, bytes, gzip: false, _held: None });
    }
    if files.is_empty() {
        return Err(Problem::bad_request("no-files", "the multipart body holds no file"));
    }
    // The multipart copies hold the body's share from here.
    if let Some(first) = files.first_mut() {
        first._held = Some(held);
    }
    Ok(files)
}

/// `name` cut to `max` bytes on a character boundary, NUL characters removed.
fn limits_cap(name: &str, max: usize) -> String {
    let clean: String = name.chars().filter(|c| *c != '\0').collect();
    crate::test_reports::cap_text(&clean, max)
}

/// Reads every file (on the blocking pool: a large report is CPU work),
/// all of them within [`MAX_DECODED_BYTES`] together.
async fn read_files(repo: &RepoName, files: &[Upload]) -> Result<Vec<(String, ReadFile)>, Problem> {
    let mut read = Vec::with_capacity(files.len());
    let mut left = MAX_DECODED_BYTES;
    for file in files {
        let (bytes, gzip, repo_owned) = (file.bytes.clone(), file.gzip, repo.clone());
        let result = tokio::task::spawn_blocking(move || {
            read_file(&bytes, gzip, &repo_owned, &Limits::default(), left)
        })
        .await
        .map_err(|err| {
            tracing::error!(error = %err, "reading a test report failed");
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal server error",
                "the server failed; the cause is in its log",
            )
        })?;
        let parsed = result.map_err(|err| file_problem(&file.name, err))?;
        left -= parsed.decoded_bytes.min(left);
        read.push((file.name.clone(), parsed));
    }
    Ok(read)
}

fn file_problem(name: &str, err: FileError) -> Problem {
    match err {
        FileError::TooLarge(_)
        | FileError::Bomb
        | FileError::Report(crate::test_reports::ReportError::TooLarge(_)) => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "report-too-large",
            "Payload too large",
            format!(
                "{name}: {err}; the files of one upload may decode to at most {MAX_DECODED_BYTES} bytes together"
            ),
        ),
        other => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-report",
            "Invalid report",
            format!("{name}: {other}; nothing of this upload was stored"),
        ),
    }
}
