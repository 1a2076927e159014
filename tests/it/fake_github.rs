//! A fake GitHub REST API on a free port (wiremock with one responder that
//! behaves like GitHub for the endpoints the poller uses): run listings
//! filtered by `created`, newest first, paginated with `Link` headers, capped
//! at 1 000 results (422 past them), `ETag`/`If-None-Match` → 304, run
//! attempts and their jobs by id, repositories of an installation or org,
//! app installation tokens, 404 for unknown repositories, rate-limit headers
//! and scripted limits; check-run annotations and job logs (a redirect to a
//! download URL, 410 once expired); an empty deployment listing. Objects are the recorded real responses in
//! `tests/fixtures/github/recorded/api` with ids, times and states changed.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::helpers::fixture_bytes;

/// Something the next matching request gets instead of its normal answer.
#[derive(Debug, Clone)]
pub enum Scripted {
    /// A normal answer whose headers say the budget is spent until
    /// `reset_in` seconds from now.
    Exhausted { reset_in: i64 },
    /// 403 "secondary rate limit" with `Retry-After: seconds`.
    SecondaryLimit { retry_after: u64 },
    /// 502 Bad Gateway.
    ServerError,
}

/// One request the fake answered.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    /// Path and query.
    pub target: String,
    pub status: u16,
    pub at: std::time::Instant,
    pub authorization: Option<String>,
}

#[derive(Default)]
pub struct FakeState {
    /// `(repo, run id, attempt)` → run object of that attempt.
    pub attempts: BTreeMap<(String, i64, i64), Value>,
    /// `(run id, attempt)` → its jobs.
    pub jobs: BTreeMap<(i64, i64), Vec<Value>>,
    /// Repositories answering 404.
    pub gone: HashSet<String>,
    /// Listing requests whose `created` window starts at or after this
    /// instant hang (a process stuck mid-backfill).
    pub hang_from: Option<DateTime<Utc>>,
    /// `(method, path prefix, answer)`: applied to the next request that matches.
    pub script: VecDeque<(String, String, Scripted)>,
    /// Repositories of the installation and of orgs: `(full_name, archived)`.
    pub repositories: Vec<(String, bool)>,
    /// Installation token answered by the access-token endpoint.
    pub installation_token: Option<String>,
    pub log: Vec<Logged>,
    /// Check run (job) id → its annotations.
    pub annotations: BTreeMap<i64, Vec<Value>>,
    /// Job id → its log (`None`: expired, answered 410).
    pub logs: BTreeMap<i64, Option<String>>,
    /// The server's own address, for `Link` URLs (wiremock's request URL
    /// does not carry the port).
    pub base_url: String,
}

/// The running fake.
pub struct FakeGitHub {
    pub server: MockServer,
    pub state: Arc<Mutex<FakeState>>,
}

impl FakeGitHub {
    pub async fn start() -> FakeGitHub {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(FakeState { base_url: server.uri(), ..FakeState::default() }));
        Mock::given(any()).respond_with(Responder { state: state.clone() }).mount(&server).await;
        FakeGitHub { server, state }
    }

    pub fn url(&self) -> String {
        self.server.uri()
    }

    pub fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().expect("fake state")
    }

    /// Adds (or replaces) one attempt of a run, with its jobs.
    pub fn put_attempt(&self, repo: &str, run: Value, jobs: Vec<Value>) {
        let id = run["id"].as_i64().expect("id");
        let attempt = run["run_attempt"].as_i64().unwrap_or(1);
        let mut state = self.state();
        state.attempts.insert((repo.to_owned(), id, attempt), run);
        state.jobs.insert((id, attempt), jobs);
    }

    /// Requests answered so far whose path starts with `prefix`.
    pub fn requests(&self, prefix: &str) -> Vec<Logged> {
        self.state().log.iter().filter(|l| l.target.starts_with(prefix)).cloned().collect()
    }
}

/// RFC 3339 with whole seconds, as GitHub writes them.
pub fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn fixture_json(path: &str) -> Value {
    serde_json::from_slice(&fixture_bytes(path)).expect("fixture JSON")
}

/// A run object from the recorded `get-workflow-run.success.run_attempt-2`
/// answer, made into attempt `attempt` of run `id` in `repo`, created at
/// `created`, in state `status`/`conclusion` (a finished one lasting 90 s).
pub fn run_object(
    repo: &str,
    id: i64,
    attempt: i64,
    status: &str,
    conclusion: Option<&str>,
    created: DateTime<Utc>,
) -> Value {
    let mut run = fixture_json("github/recorded/api/get-workflow-run.success.run_attempt-2.json");
    let started = created + chrono::Duration::seconds(10 + 100 * (attempt - 1));
    run["id"] = json!(id);
    run["run_number"] = json!(id % 100_000);
    run["run_attempt"] = json!(attempt);
    run["status"] = json!(status);
    run["conclusion"] = json!(conclusion);
    run["created_at"] = json!(iso(created));
    run["run_started_at"] = json!(iso(started));
    run["updated_at"] =
        json!(iso(if status == "completed" { started + chrono::Duration::seconds(90) } else { started }));
    run["html_url"] = json!(format!("https://github.com/{repo}/actions/runs/{id}"));
    run["repository"]["full_name"] = json!(repo);
    run
}

/// A job object from the recorded `list-jobs-for-workflow-run` answer (which,
/// being from 2021, has no `run_attempt`), made into job `id` of run `run_id`.
pub fn job_object(repo: &str, run_id: i64, id: i64, conclusion: &str, started: DateTime<Utc>) -> Value {
    let list = fixture_json("github/recorded/api/list-jobs-for-workflow-run.json");
    let mut job = list["jobs"][0].clone();
    job["id"] = json!(id);
    job["run_id"] = json!(run_id);
    job["run_url"] = json!(format!("https://api.github.com/repos/{repo}/actions/runs/{run_id}"));
    job["status"] = json!("completed");
    job["conclusion"] = json!(conclusion);
    job["started_at"] = json!(iso(started));
    job["completed_at"] = json!(iso(started + chrono::Duration::seconds(60)));
    job
}

struct Responder {
    state: Arc<Mutex<FakeState>>,
}

fn query(request: &Request, name: &str) -> Option<String> {
    request.url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// `created` filter → `[start, end]` inclusive (Unix seconds).
fn created_range(created: &str) -> (i64, i64) {
    let parse = |t: &str| DateTime::parse_from_rfc3339(t).expect("created bound").timestamp();
    if let Some(from) = created.strip_prefix(">=") {
        (parse(from), i64::MAX)
    } else if let Some((a, b)) = created.split_once("..") {
        (parse(a), parse(b))
    } else {
        panic!("unsupported created filter {created}")
    }
}

fn rate_headers(template: Reply, remaining: i64, reset_in: i64) -> Reply {
    template
        .header("x-ratelimit-limit", "5000")
        .header("x-ratelimit-remaining", remaining.to_string().as_str())
        .header("x-ratelimit-reset", (Utc::now().timestamp() + reset_in).to_string().as_str())
}

impl Responder {
    fn answer(&self, request: &Request, state: &mut FakeState) -> Reply {
        let path = request.url.path().to_owned();
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let method = request.method.as_str().to_owned();
        match (method.as_str(), segments.as_slice()) {
            ("GET", ["app", "installations"]) => Reply::new(200).json(json!([{"id": 7}])),
            ("POST", ["app", "installations", _, "access_tokens"]) => {
                let token = state.installation_token.clone().unwrap_or_else(|| "ghs_fake".into());
                let expires = iso(Utc::now() + chrono::Duration::hours(1));
                Reply::new(201).json(json!({"token": token, "expires_at": expires}))
            }
            ("GET", ["installation", "repositories"]) => {
                let repos: Vec<Value> = state
                    .repositories
                    .iter()
                    .map(|(name, archived)| json!({"full_name": name, "archived": archived}))
                    .collect();
                Reply::new(200).json(json!({"total_count": repos.len(), "repositories": repos}))
            }
            ("GET", ["orgs", _, "repos"]) => {
                let repos: Vec<Value> = state
                    .repositories
                    .iter()
                    .map(|(name, archived)| json!({"full_name": name, "archived": archived}))
                    .collect();
                Reply::new(200).json(json!(repos))
            }
            ("GET", ["_download", "logs", id]) => {
                let log = state.logs.get(&id.parse().unwrap_or(0)).cloned().flatten().unwrap_or_default();
                Reply::new(200).raw(log.into_bytes(), "text/plain")
            }
            ("GET", ["repos", owner, name, rest @ ..]) => {
                let repo = format!("{owner}/{name}");
                if state.gone.contains(&repo) {
                    return Reply::new(404).json(json!({"message": "Not Found"}));
                }
                match rest {
                    ["actions", "runs"] => self.list_runs(request, state, &repo),
                    ["actions", "runs", id, "attempts", n] => {
                        let key = (repo.clone(), id.parse().unwrap_or(0), n.parse().unwrap_or(0));
                        match state.attempts.get(&key) {
                            Some(run) => Reply::new(200).json(run.clone()),
                            None => Reply::new(404).json(json!({"message": "Not Found"})),
                        }
                    }
                    ["actions", "runs", id, "attempts", n, "jobs"] => {
                        let key = (id.parse().unwrap_or(0), n.parse().unwrap_or(0));
                        let jobs = state.jobs.get(&key).cloned().unwrap_or_default();
                        paginate(request, &state.base_url, json!({"total_count": jobs.len()}), "jobs", jobs)
                    }
                    // No deployments (`fake_github_deployments` has them), with an
                    // ETag like GitHub's listings.
                    ["deployments"] => {
                        let etag = "W/\"no-deployments\"";
                        if request.headers.get("if-none-match").and_then(|v| v.to_str().ok()) == Some(etag) {
                            Reply::new(304).header("etag", etag)
                        } else {
                            Reply::new(200).json(json!([])).header("etag", etag)
                        }
                    }
                    ["check-runs", id, "annotations"] => Reply::new(200).json(json!(
                        state.annotations.get(&id.parse().unwrap_or(0)).cloned().unwrap_or_default()
                    )),
                    ["actions", "jobs", id, "logs"] => match state.logs.get(&id.parse().unwrap_or(0)) {
                        // Like GitHub: a redirect to a short-lived download URL, 410 once expired.
                        Some(Some(_)) => Reply::new(302)
                            .header("location", &format!("{}/_download/logs/{id}?sig=x", state.base_url)),
                        Some(None) => Reply::new(410).json(json!({"message": "Gone"})),
                        None => Reply::new(404).json(json!({"message": "Not Found"})),
                    },
                    _ => Reply::new(404).json(json!({"message": "Not Found"})),
                }
            }
            _ => Reply::new(404).json(json!({"message": "Not Found"})),
        }
    }

    fn list_runs(&self, request: &Request, state: &FakeState, repo: &str) -> Reply {
        let (start, end) = query(request, "created").map_or((i64::MIN, i64::MAX), |c| created_range(&c));
        if let (Some(hang), true) = (state.hang_from, start != i64::MIN)
            && start >= hang.timestamp()
        {
            return Reply::new(200).delay(std::time::Duration::from_secs(600));
        }
        // The latest attempt of each run, newest run first.
        let mut latest: BTreeMap<i64, &Value> = BTreeMap::new();
        for ((r, id, _), run) in &state.attempts {
            if r == repo {
                latest.insert(*id, run);
            }
        }
        let mut runs: Vec<Value> = latest
            .values()
            .filter(|run| {
                let created = DateTime::parse_from_rfc3339(run["created_at"].as_str().unwrap_or_default())
                    .map(|t| t.timestamp())
                    .unwrap_or(0);
                created >= start && created <= end
            })
            .map(|run| (*run).clone())
            .collect();
        runs.sort_by(|a, b| {
            b["created_at"]
                .as_str()
                .cmp(&a["created_at"].as_str())
                .then(b["id"].as_i64().cmp(&a["id"].as_i64()))
        });
        let page: usize = query(request, "page").and_then(|p| p.parse().ok()).unwrap_or(1);
        let per_page: usize = query(request, "per_page").and_then(|p| p.parse().ok()).unwrap_or(30);
        if (page - 1) * per_page >= 1000 {
            return Reply::new(422)
                .json(json!({"message": "Only the first 1000 search results are available"}));
        }
        let total = runs.len();
        paginate(
            request,
            &state.base_url,
            json!({"total_count": total}),
            "workflow_runs",
            runs.into_iter().take(1000).collect(),
        )
    }
}

/// One page of `items` under `key` in `envelope`, with a `Link` to the next
/// page, and an `ETag` of the body honoured by `If-None-Match`.
fn paginate(request: &Request, base_url: &str, mut envelope: Value, key: &str, items: Vec<Value>) -> Reply {
    let page: usize = query(request, "page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let per_page: usize = query(request, "per_page").and_then(|p| p.parse().ok()).unwrap_or(30).clamp(1, 100);
    let slice: Vec<Value> = items.iter().skip((page - 1) * per_page).take(per_page).cloned().collect();
    envelope[key] = json!(slice);
    let body = serde_json::to_vec(&envelope).expect("body");
    let etag = format!("W/\"{}\"", hex::encode(Sha256::digest(&body)));
    if request.headers.get("if-none-match").and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        return Reply::new(304).header("etag", etag.as_str());
    }
    let mut template =
        Reply::new(200).raw(body, "application/json; charset=utf-8").header("etag", etag.as_str());
    if page * per_page < items.len() {
        let mut next = url::Url::parse(&format!("{base_url}{}", request.url.path())).expect("next URL");
        let pairs: Vec<(String, String)> = request
            .url
            .query_pairs()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        next.query_pairs_mut().extend_pairs(pairs).append_pair("page", &(page + 1).to_string());
        template = template.header("link", format!("<{next}>; rel=\"next\"").as_str());
    }
    template
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.state.lock().expect("fake state");
        let target = match request.url.query() {
            Some(q) => format!("{}?{q}", request.url.path()),
            None => request.url.path().to_owned(),
        };
        let method = request.method.as_str().to_owned();
        let scripted = state
            .script
            .iter()
            .position(|(m, prefix, _)| *m == method && target.starts_with(prefix.as_str()))
            .and_then(|i| state.script.remove(i))
            .map(|(_, _, s)| s);
        let Reply(status, template) = match scripted {
            Some(Scripted::SecondaryLimit { retry_after }) => rate_headers(Reply::new(403), 4000, 3600)
                .header("retry-after", retry_after.to_string().as_str())
                .json(json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."})),
            Some(Scripted::ServerError) => Reply::new(502).json(json!({"message": "Server Error"})),
            Some(Scripted::Exhausted { reset_in }) => rate_headers(self.answer(request, &mut state), 0, reset_in),
            None => rate_headers(self.answer(request, &mut state), 4000, 3600),
        };
        state.log.push(Logged {
            method,
            target,
            status,
            at: std::time::Instant::now(),
            authorization: request
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        });
        template
    }
}

/// A response template and the status it answers (wiremock keeps the
/// status private), for the request log.
struct Reply(u16, ResponseTemplate);

impl Reply {
    fn new(status: u16) -> Reply {
        Reply(status, ResponseTemplate::new(status))
    }
    fn json(self, body: Value) -> Reply {
        Reply(self.0, self.1.set_body_json(body))
    }
    fn header(self, name: &str, value: &str) -> Reply {
        Reply(self.0, self.1.insert_header(name, value))
    }
    fn raw(self, body: Vec<u8>, mime: &str) -> Reply {
        Reply(self.0, self.1.set_body_raw(body, mime))
    }
    fn delay(self, delay: std::time::Duration) -> Reply {
        Reply(self.0, self.1.set_delay(delay))
    }
}
