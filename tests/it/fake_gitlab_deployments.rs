//! A fake GitLab REST API on a free port for the deployment backfill
//! (wiremock, one responder): the project by id or path, an empty pipeline
//! listing (the poller lists pipelines first), and
//! `GET /projects/:id/deployments` filtered by `updated_after`, ordered by
//! `updated_at` ascending, paginated with `Link` (`rel="next"`). Objects
//! are the documentation's example (`tests/fixtures/gitlab/api/list-deployments.json`)
//! with ids, SHAs, environments, times and states changed. Every request
//! is logged.

use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::helpers::fixture_bytes;

pub const PROJECT_ID: i64 = 42;

#[derive(Default)]
pub struct DeployState {
    /// The project's path (`group/api`).
    pub path: String,
    pub deployments: Vec<Value>,
    /// Path and query of every request.
    pub log: Vec<String>,
    pub base_url: String,
}

pub struct FakeGitLabDeployments {
    pub server: MockServer,
    pub state: Arc<Mutex<DeployState>>,
}

fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl FakeGitLabDeployments {
    pub async fn start(path: &str) -> FakeGitLabDeployments {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(DeployState {
            path: path.to_owned(),
            base_url: server.uri(),
            ..DeployState::default()
        }));
        Mock::given(any()).respond_with(Responder { state: state.clone() }).mount(&server).await;
        FakeGitLabDeployments { server, state }
    }

    pub fn url(&self) -> String {
        self.server.uri()
    }

    pub fn state(&self) -> MutexGuard<'_, DeployState> {
        self.state.lock().expect("fake state")
    }

    /// Adds (or replaces) deployment `id` to `environment` at `sha`,
    /// created at `created`, in `status` since `updated` (`finished_at` too
    /// when the status is final), deployed by job `9000 + id`.
    pub fn put(
        &self,
        id: i64,
        environment: &str,
        sha: &str,
        status: &str,
        created: DateTime<Utc>,
        updated: DateTime<Utc>,
    ) {
        let list: Value =
            serde_json::from_slice(&fixture_bytes("gitlab/api/list-deployments.json")).expect("json");
        let mut object = list[0].clone();
        let path = self.state().path.clone();
        object["id"] = json!(id);
        object["iid"] = json!(id);
        object["sha"] = json!(sha);
        object["status"] = json!(status);
        object["created_at"] = json!(iso(created));
        object["updated_at"] = json!(iso(updated));
        let finished = matches!(status, "success" | "failed" | "canceled" | "skipped");
        object["finished_at"] = if finished { json!(iso(updated)) } else { Value::Null };
        object["environment"]["name"] = json!(environment);
        object["deployable"]["id"] = json!(9000 + id);
        object["deployable"]["web_url"] =
            json!(format!("https://gitlab.example.com/{path}/-/jobs/{}", 9000 + id));
        object["deployable"]["commit"]["id"] = json!(sha);
        let mut state = self.state();
        state.deployments.retain(|d| d["id"] != json!(id));
        state.deployments.push(object);
    }

    pub fn requests(&self, prefix: &str) -> Vec<String> {
        self.state().log.iter().filter(|target| target.starts_with(prefix)).cloned().collect()
    }
}

struct Responder {
    state: Arc<Mutex<DeployState>>,
}

fn query(request: &Request, name: &str) -> Option<String> {
    request.url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

fn time(value: &Value) -> i64 {
    DateTime::parse_from_rfc3339(value.as_str().unwrap_or_default()).map_or(0, |t| t.timestamp_millis())
}

impl Responder {
    fn answer(&self, request: &Request, state: &DeployState) -> ResponseTemplate {
        let path = request.url.path().to_owned();
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let not_found =
            || ResponseTemplate::new(404).set_body_json(json!({"message": "404 Project Not Found"}));
        let ["api", "v4", "projects", key, rest @ ..] = segments.as_slice() else {
            return not_found();
        };
        let decoded = key.replace("%2F", "/");
        if decoded != state.path && *key != PROJECT_ID.to_string() {
            return not_found();
        }
        match rest {
            [] => ResponseTemplate::new(200).set_body_json(
                json!({"id": PROJECT_ID, "path_with_namespace": state.path, "archived": false}),
            ),
            ["pipelines"] => ResponseTemplate::new(200).set_body_json(json!([])),
            ["deployments"] => {
                let after = query(request, "updated_after").map_or(i64::MIN, |t| time(&json!(t)));
                let mut items: Vec<Value> =
                    state.deployments.iter().filter(|d| time(&d["updated_at"]) > after).cloned().collect();
                items.sort_by_key(|d| (time(&d["updated_at"]), d["id"].as_i64()));
                let page: usize = query(request, "page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
                let per_page: usize =
                    query(request, "per_page").and_then(|p| p.parse().ok()).unwrap_or(20).clamp(1, 100);
                let slice: Vec<Value> =
                    items.iter().skip((page - 1) * per_page).take(per_page).cloned().collect();
                let mut template = ResponseTemplate::new(200).set_body_json(json!(slice));
                if page * per_page < items.len() {
                    let mut next =
                        url::Url::parse(&format!("{}{}", state.base_url, request.url.path())).expect("url");
                    let pairs: Vec<(String, String)> = request
                        .url
                        .query_pairs()
                        .filter(|(k, _)| k != "page")
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect();
                    next.query_pairs_mut().extend_pairs(pairs).append_pair("page", &(page + 1).to_string());
                    template = template.insert_header("link", format!("<{next}>; rel=\"next\"").as_str());
                }
                template
            }
            _ => not_found(),
        }
    }
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.state.lock().expect("fake state");
        let template = self.answer(request, &state);
        let target = match request.url.query() {
            Some(q) => format!("{}?{q}", request.url.path()),
            None => request.url.path().to_owned(),
        };
        state.log.push(target);
        template
            .insert_header("ratelimit-limit", "2000")
            .insert_header("ratelimit-remaining", "1900")
            .insert_header("ratelimit-reset", (Utc::now().timestamp() + 60).to_string().as_str())
    }
}
