//! A fake GitHub REST API on a free port for the deployment backfill
//! (wiremock, one responder): `GET /repos/{owner}/{repo}/deployments`
//! (newest first, paginated with `Link`, `ETag`/`If-None-Match` → 304),
//! `GET …/deployments/{id}/statuses` (newest first), an empty run
//! listing (the poller lists runs first), and `GET …/compare/{base}...{head}`
//! (paginated `commits`). Objects are the REST description's examples
//! (`tests/fixtures/github/api/list-deployments.json`,
//! `list-deployment-statuses.json`) with ids, SHAs, environments, times and
//! states changed. Every request is logged.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::fake_github::iso;
use crate::helpers::fixture_bytes;

#[derive(Default)]
pub struct DeployState {
    /// `(repo, deployment id)` → deployment object.
    pub deployments: BTreeMap<(String, i64), Value>,
    /// Deployment id → its statuses, oldest first (answered newest first).
    pub statuses: BTreeMap<i64, Vec<Value>>,
    /// `(repo, "base...head")` → the commits between them, oldest first.
    pub compares: BTreeMap<(String, String), Vec<Value>>,
    /// Path and query of every request, with the status answered.
    pub log: Vec<(String, u16)>,
    pub base_url: String,
}

pub struct FakeDeployments {
    pub server: MockServer,
    pub state: Arc<Mutex<DeployState>>,
}

fn fixture_item(path: &str) -> Value {
    let list: Value = serde_json::from_slice(&fixture_bytes(path)).expect("fixture JSON");
    list[0].clone()
}

impl FakeDeployments {
    pub async fn start() -> FakeDeployments {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(DeployState { base_url: server.uri(), ..DeployState::default() }));
        Mock::given(any()).respond_with(Responder { state: state.clone() }).mount(&server).await;
        FakeDeployments { server, state }
    }

    pub fn url(&self) -> String {
        self.server.uri()
    }

    pub fn state(&self) -> MutexGuard<'_, DeployState> {
        self.state.lock().expect("fake state")
    }

    /// Adds deployment `id` of `repo` to `environment` at `sha`, created at
    /// `created`.
    pub fn put_deployment(&self, repo: &str, id: i64, environment: &str, sha: &str, created: DateTime<Utc>) {
        let mut object = fixture_item("github/api/list-deployments.json");
        object["id"] = json!(id);
        object["url"] = json!(format!("https://api.github.com/repos/{repo}/deployments/{id}"));
        object["sha"] = json!(sha);
        object["ref"] = json!("main");
        object["environment"] = json!(environment);
        object["original_environment"] = json!(environment);
        object["created_at"] = json!(iso(created));
        object["updated_at"] = json!(iso(created));
        object["statuses_url"] =
            json!(format!("https://api.github.com/repos/{repo}/deployments/{id}/statuses"));
        object["repository_url"] = json!(format!("https://api.github.com/repos/{repo}"));
        self.state().deployments.insert((repo.to_owned(), id), object);
    }

    /// Adds a status `state` at `at` to deployment `id`.
    pub fn put_status(&self, id: i64, state: &str, at: DateTime<Utc>) {
        let mut status = fixture_item("github/api/list-deployment-statuses.json");
        let mut guard = self.state();
        let number = guard.statuses.get(&id).map_or(0, Vec::len) as i64 + 1;
        status["id"] = json!(id * 100 + number);
        status["state"] = json!(state);
        status["created_at"] = json!(iso(at));
        status["updated_at"] = json!(iso(at));
        status["target_url"] = json!(format!("https://ci.example.com/deploy/{id}/{number}"));
        guard.statuses.entry(id).or_default().push(status);
    }

    /// Requests answered so far whose path starts with `prefix`.
    pub fn requests(&self, prefix: &str) -> Vec<(String, u16)> {
        self.state().log.iter().filter(|(target, _)| target.starts_with(prefix)).cloned().collect()
    }
}

struct Responder {
    state: Arc<Mutex<DeployState>>,
}

fn query(request: &Request, name: &str) -> Option<String> {
    request.url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// One page of a bare JSON array (or of `items` under `key` in
/// `envelope`), with a `Link` to the next page and an `ETag` honoured by
/// `If-None-Match`.
fn paginate(
    request: &Request,
    base_url: &str,
    envelope: Option<(Value, &str)>,
    items: Vec<Value>,
) -> (u16, ResponseTemplate) {
    let page: usize = query(request, "page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let per_page: usize = query(request, "per_page").and_then(|p| p.parse().ok()).unwrap_or(30).clamp(1, 100);
    let slice: Vec<Value> = items.iter().skip((page - 1) * per_page).take(per_page).cloned().collect();
    let body = match envelope {
        Some((mut envelope, key)) => {
            envelope[key] = json!(slice);
            envelope
        }
        None => json!(slice),
    };
    let body = serde_json::to_vec(&body).expect("body");
    let etag = format!("W/\"{}\"", hex::encode(Sha256::digest(&body)));
    if request.headers.get("if-none-match").and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        return (304, ResponseTemplate::new(304).insert_header("etag", etag.as_str()));
    }
    let mut template = ResponseTemplate::new(200)
        .set_body_raw(body, "application/json; charset=utf-8")
        .insert_header("etag", etag.as_str());
    if page * per_page < items.len() {
        let mut next = url::Url::parse(&format!("{base_url}{}", request.url.path())).expect("next URL");
        let pairs: Vec<(String, String)> = request
            .url
            .query_pairs()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        next.query_pairs_mut().extend_pairs(pairs).append_pair("page", &(page + 1).to_string());
        template = template.insert_header("link", format!("<{next}>; rel=\"next\"").as_str());
    }
    (200, template)
}

fn not_found() -> (u16, ResponseTemplate) {
    (404, ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
}

impl Responder {
    fn answer(&self, request: &Request, state: &DeployState) -> (u16, ResponseTemplate) {
        let path = request.url.path().to_owned();
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        if request.method.as_str() != "GET" {
            return not_found();
        }
        let ["repos", owner, name, rest @ ..] = segments.as_slice() else {
            return not_found();
        };
        let repo = format!("{owner}/{name}");
        match rest {
            ["actions", "runs"] => (
                200,
                ResponseTemplate::new(200).set_body_json(json!({"total_count": 0, "workflow_runs": []})),
            ),
            ["deployments"] => {
                let mut items: Vec<Value> = state
                    .deployments
                    .iter()
                    .filter(|((r, _), _)| *r == repo)
                    .map(|(_, object)| object.clone())
                    .collect();
                items.reverse();
                paginate(request, &state.base_url, None, items)
            }
            ["deployments", id, "statuses"] => {
                let id: i64 = id.parse().unwrap_or(0);
                if !state.deployments.contains_key(&(repo, id)) {
                    return not_found();
                }
                let mut items = state.statuses.get(&id).cloned().unwrap_or_default();
                items.reverse();
                paginate(request, &state.base_url, None, items)
            }
            ["compare", range] => match state.compares.get(&(repo, (*range).to_owned())) {
                Some(commits) => paginate(
                    request,
                    &state.base_url,
                    Some((json!({"status": "ahead", "total_commits": commits.len()}), "commits")),
                    commits.clone(),
                ),
                None => not_found(),
            },
            _ => not_found(),
        }
    }
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.state.lock().expect("fake state");
        let (status, template) = self.answer(request, &state);
        let target = match request.url.query() {
            Some(q) => format!("{}?{q}", request.url.path()),
            None => request.url.path().to_owned(),
        };
        state.log.push((target, status));
        template
            .insert_header("x-ratelimit-limit", "5000")
            .insert_header("x-ratelimit-remaining", "4000")
            .insert_header("x-ratelimit-reset", (Utc::now().timestamp() + 3600).to_string().as_str())
    }
}
