//! A fake GitLab REST API (`/api/v4`) on a free port: wiremock with one
//! responder that behaves like GitLab for the endpoints the poller uses —
//! projects by id or URL-encoded path (404 `Project Not Found` otherwise),
//! pipelines filtered by `updated_after` (strictly after) and ordered by
//! `updated_at` ascending, a pipeline by id, its jobs newest first (retried
//! ones only with `include_retried=true`), a group's projects (subgroups
//! included), job traces (`…/jobs/:id/trace`), offset pagination with `X-Page`/`X-Next-Page`/`X-Total` and
//! a `Link` header, `RateLimit-*` headers on every answer, and scripted
//! limits (429 with `Retry-After`, a spent budget). Objects are the
//! documented examples in `tests/fixtures/gitlab/api` with ids, times and
//! states changed.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::fake_gitlab_pages::paginate;
use crate::helpers::fixture_bytes;

/// Something the next matching request gets instead of its normal answer.
#[derive(Debug, Clone)]
pub enum Scripted {
    /// 429 with `Retry-After: seconds`.
    TooMany { retry_after: u64 },
    /// The normal answer, with `RateLimit-Remaining: 0` until `reset_in`
    /// seconds from now.
    Exhausted { reset_in: i64 },
}

/// One request the fake answered.
#[derive(Debug, Clone)]
pub struct Logged {
    /// Path (as sent, percent-encoded) and query.
    pub target: String,
    pub status: u16,
    pub at: std::time::Instant,
    pub private_token: Option<String>,
}

#[derive(Default)]
pub struct FakeState {
    /// Path → (id, archived).
    pub projects: BTreeMap<String, (i64, bool)>,
    /// Project ids answering 404 although listed (deleted meanwhile).
    pub gone: HashSet<i64>,
    /// Pipeline id → (project id, pipeline object in the full form).
    pub pipelines: BTreeMap<i64, (i64, Value)>,
    /// Pipeline id → its jobs (every try).
    pub jobs: BTreeMap<i64, Vec<Value>>,
    /// Group path → project paths (subgroups' included).
    pub groups: BTreeMap<String, Vec<String>>,
    /// Pipeline listings after this many hang (a process stuck
    /// mid-backfill).
    pub hang_after_listings: Option<usize>,
    /// Pipeline listings answered so far.
    pub listings: usize,
    /// Job id → its trace (`GET /projects/:id/jobs/:job_id/trace`).
    pub traces: BTreeMap<i64, String>,
    /// `(path prefix, answer)`: applied to the next request that matches.
    pub script: VecDeque<(String, Scripted)>,
    pub log: Vec<Logged>,
    pub base_url: String,
}

/// The running fake.
pub struct FakeGitLab {
    pub server: MockServer,
    pub state: Arc<Mutex<FakeState>>,
}

impl FakeGitLab {
    pub async fn start() -> FakeGitLab {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(FakeState { base_url: server.uri(), ..FakeState::default() }));
        Mock::given(any()).respond_with(Responder { state: state.clone() }).mount(&server).await;
        FakeGitLab { server, state }
    }

    /// The instance's base URL (the API is under `/api/v4`).
    pub fn url(&self) -> String {
        self.server.uri()
    }

    pub fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().expect("fake state")
    }

    pub fn add_project(&self, path: &str, id: i64) {
        self.state().projects.insert(path.to_owned(), (id, false));
    }

    /// Adds (or replaces) a pipeline of project `project_id` with its jobs.
    pub fn put_pipeline(&self, project_id: i64, pipeline: Value, jobs: Vec<Value>) {
        let id = pipeline["id"].as_i64().expect("id");
        let mut state = self.state();
        state.pipelines.insert(id, (project_id, pipeline));
        state.jobs.insert(id, jobs);
    }

    /// Requests answered so far whose target starts with `prefix`.
    pub fn requests(&self, prefix: &str) -> Vec<Logged> {
        self.state().log.iter().filter(|l| l.target.starts_with(prefix)).cloned().collect()
    }
}

/// ISO 8601 with milliseconds, as GitLab's API writes them.
pub fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn fixture_json(path: &str) -> Value {
    serde_json::from_slice(&fixture_bytes(path)).expect("fixture JSON")
}

/// A pipeline from the documented `get-pipeline` answer, made into pipeline
/// `id` of `path` in `status`, created at `created`, updated at `updated`
/// (a finished one finishes then).
pub fn pipeline_object(
    path: &str,
    id: i64,
    status: &str,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
) -> Value {
    let mut pipeline = fixture_json("gitlab/api/get-pipeline.json");
    let finished = matches!(status, "success" | "failed" | "canceled" | "skipped");
    pipeline["id"] = json!(id);
    pipeline["iid"] = json!(id % 1000);
    pipeline["status"] = json!(status);
    pipeline["created_at"] = json!(iso(created));
    pipeline["updated_at"] = json!(iso(updated));
    pipeline["started_at"] = json!(iso(created + chrono::Duration::seconds(5)));
    pipeline["finished_at"] = if finished { json!(iso(updated)) } else { Value::Null };
    pipeline["web_url"] = json!(format!("https://gitlab.example.com/{path}/-/pipelines/{id}"));
    pipeline
}

/// A job from the documented `list-pipeline-jobs` answer, made into job
/// `id` named `name` of pipeline `pipeline_id`, created at `created`,
/// lasting 60 s when finished.
pub fn job_object(
    path: &str,
    pipeline_id: i64,
    id: i64,
    name: &str,
    status: &str,
    created: DateTime<Utc>,
) -> Value {
    let list = fixture_json("gitlab/api/list-pipeline-jobs.json");
    let mut job = list[0].clone();
    let started = created + chrono::Duration::seconds(3);
    let finished = matches!(status, "success" | "failed" | "canceled" | "skipped");
    job["id"] = json!(id);
    job["name"] = json!(name);
    job["status"] = json!(status);
    job["failure_reason"] = if status == "failed" { json!("script_failure") } else { Value::Null };
    job["created_at"] = json!(iso(created));
    job["started_at"] =
        if status == "created" || status == "pending" { Value::Null } else { json!(iso(started)) };
    job["finished_at"] =
        if finished { json!(iso(started + chrono::Duration::seconds(60))) } else { Value::Null };
    job["pipeline"]["id"] = json!(pipeline_id);
    job["web_url"] = json!(format!("https://gitlab.example.com/{path}/-/jobs/{id}"));
    job
}

struct Responder {
    state: Arc<Mutex<FakeState>>,
}

pub(crate) fn query(request: &Request, name: &str) -> Option<String> {
    request.url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

fn not_found(what: &str) -> Reply {
    Reply::new(404).json(json!({"message": format!("404 {what} Not Found")}))
}

fn decode(segment: &str) -> String {
    percent_decode(segment)
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The listing's short form of a pipeline.
fn short(pipeline: &Value) -> Value {
    let mut out = json!({});
    for key in [
        "id",
        "iid",
        "project_id",
        "status",
        "source",
        "ref",
        "sha",
        "name",
        "web_url",
        "created_at",
        "updated_at",
    ] {
        out[key] = pipeline[key].clone();
    }
    out
}

impl Responder {
    fn project_id(state: &FakeState, key: &str) -> Option<i64> {
        match key.parse::<i64>() {
            Ok(id) => state.projects.values().any(|(p, _)| *p == id).then_some(id),
            Err(_) => state.projects.get(key).map(|(id, _)| *id),
        }
        .filter(|id| !state.gone.contains(id))
    }

    fn answer(&self, request: &Request, state: &mut FakeState) -> Reply {
        let path = request.url.path().to_owned();
        let segments: Vec<String> = path.trim_matches('/').split('/').map(decode).collect();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        if request.method.as_str() != "GET" {
            return Reply::new(405).json(json!({"message": "405 Method Not Allowed"}));
        }
        match segments.as_slice() {
            ["api", "v4", "projects", key, rest @ ..] => {
                let Some(project) = Self::project_id(state, key) else { return not_found("Project") };
                let path = state.projects.iter().find(|(_, (id, _))| *id == project).map(|(p, _)| p.clone());
                match rest {
                    [] => {
                        let archived = state.projects.values().any(|(id, a)| *id == project && *a);
                        Reply::new(200)
                            .json(json!({"id": project, "path_with_namespace": path, "archived": archived}))
                    }
                    ["pipelines"] => self.list_pipelines(request, state, project),
                    ["pipelines", id] => match state.pipelines.get(&id.parse().unwrap_or(0)) {
                        Some((owner, pipeline)) if *owner == project => {
                            let mut full = pipeline.clone();
                            full["project_id"] = json!(project);
                            Reply::new(200).json(full)
                        }
                        _ => not_found("Pipeline"),
                    },
                    ["pipelines", id, "jobs"] => {
                        let id: i64 = id.parse().unwrap_or(0);
                        if state.pipelines.get(&id).map(|(owner, _)| *owner) != Some(project) {
                            return not_found("Pipeline");
                        }
                        let mut jobs = state.jobs.get(&id).cloned().unwrap_or_default();
                        jobs.sort_by_key(|j| std::cmp::Reverse(j["id"].as_i64()));
                        if query(request, "include_retried").as_deref() != Some("true") {
                            let mut seen = HashSet::new();
                            jobs.retain(|j| seen.insert(j["name"].as_str().unwrap_or_default().to_owned()));
                        }
                        paginate(request, &state.base_url, jobs)
                    }
                    ["jobs", id, "trace"] => match state.traces.get(&id.parse().unwrap_or(0)) {
                        Some(trace) => {
                            Reply(200, ResponseTemplate::new(200).set_body_raw(trace.clone(), "text/plain"))
                        }
                        None => not_found("Job"),
                    },
                    _ => not_found("Resource"),
                }
            }
            ["api", "v4", "groups", group, "projects"] => match state.groups.get(*group) {
                Some(paths) => {
                    let projects: Vec<Value> = paths
                        .iter()
                        .filter_map(|p| state.projects.get(p).map(|(id, archived)| (p, id, archived)))
                        .map(|(p, id, archived)| json!({"id": id, "path_with_namespace": p, "archived": archived}))
                        .collect();
                    paginate(request, &state.base_url, projects)
                }
                None => not_found("Group"),
            },
            _ => not_found("Resource"),
        }
    }

    fn list_pipelines(&self, request: &Request, state: &mut FakeState, project: i64) -> Reply {
        let after = query(request, "updated_after")
            .map(|t| DateTime::parse_from_rfc3339(&t).expect("updated_after").with_timezone(&Utc));
        state.listings += 1;
        if state.hang_after_listings.is_some_and(|n| state.listings > n) {
            return Reply::new(200).delay(std::time::Duration::from_secs(600));
        }
        let updated = |p: &Value| {
            DateTime::parse_from_rfc3339(p["updated_at"].as_str().unwrap_or_default())
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default()
        };
        let mut pipelines: Vec<Value> = state
            .pipelines
            .values()
            .filter(|(owner, p)| *owner == project && after.is_none_or(|a| updated(p) > a))
            .map(|(_, p)| {
                let mut listed = short(p);
                listed["project_id"] = json!(project);
                listed
            })
            .collect();
        assert_eq!(
            query(request, "order_by").as_deref(),
            Some("updated_at"),
            "the poller orders by updated_at"
        );
        pipelines.sort_by_key(|p| (updated(p), p["id"].as_i64()));
        if query(request, "sort").as_deref() != Some("asc") {
            pipelines.reverse();
        }
        paginate(request, &state.base_url, pipelines)
    }
}

fn rate_headers(reply: Reply, remaining: i64, reset_in: i64) -> Reply {
    reply
        .header("ratelimit-limit", "2000")
        .header("ratelimit-remaining", &remaining.to_string())
        .header("ratelimit-reset", &(Utc::now().timestamp() + reset_in).to_string())
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.state.lock().expect("fake state");
        let target = match request.url.query() {
            Some(q) => format!("{}?{q}", request.url.path()),
            None => request.url.path().to_owned(),
        };
        let scripted = state
            .script
            .iter()
            .position(|(prefix, _)| target.starts_with(prefix.as_str()))
            .and_then(|i| state.script.remove(i))
            .map(|(_, s)| s);
        let Reply(status, template) = match scripted {
            Some(Scripted::TooMany { retry_after }) => rate_headers(Reply::new(429), 0, retry_after as i64)
                .header("retry-after", &retry_after.to_string())
                .json(json!({"message": "Retry later"})),
            Some(Scripted::Exhausted { reset_in }) => {
                rate_headers(self.answer(request, &mut state), 0, reset_in)
            }
            None => rate_headers(self.answer(request, &mut state), 1900, 60),
        };
        state.log.push(Logged {
            target,
            status,
            at: std::time::Instant::now(),
            private_token: request
                .headers
                .get("private-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        });
        template
    }
}

/// A response template and the status it answers (for the request log).
pub(crate) struct Reply(pub(crate) u16, pub(crate) ResponseTemplate);

impl Reply {
    pub(crate) fn new(status: u16) -> Reply {
        Reply(status, ResponseTemplate::new(status))
    }
    pub(crate) fn json(self, body: Value) -> Reply {
        Reply(self.0, self.1.set_body_json(body))
    }
    pub(crate) fn header(self, name: &str, value: &str) -> Reply {
        Reply(self.0, self.1.insert_header(name, value))
    }
    pub(crate) fn delay(self, delay: std::time::Duration) -> Reply {
        Reply(self.0, self.1.set_delay(delay))
    }
}
