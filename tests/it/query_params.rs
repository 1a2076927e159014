//! Query parameters are given once: a repeated one (`?repo=a&repo=b`) is
//! answered 422 `invalid-parameter` naming it, on every GET operation of the
//! OpenAPI document that takes query parameters, instead of silently
//! answering for the last value.

use serde_json::Value;

use crate::on_both_backends;

/// A path of the document with its path parameters filled in.
fn concrete(path: &str) -> String {
    path.replace("{fingerprint}", "0123456789abcdef").replace("{id}", "1").replace("{key}", "1")
}

on_both_backends! {
    async fn a_repeated_query_parameter_is_422_naming_it_on_every_get_operation(app: TestApp) {
        let (status, doc) = app.get("/openapi.json").await;
        assert_eq!(status, 200);
        let mut checked = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            let Some(get) = item.get("get") else { continue };
            let Some(name) = get["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["in"] == "query")
                .and_then(|p| p["name"].as_str())
            else {
                continue;
            };
            let url = format!("{}?{name}=1&{name}=2", concrete(path));
            let (status, problem) = app.get(&url).await;
            assert_eq!(status, 422, "GET {url}: {problem}");
            assert_eq!(problem["type"], "urn:cicd-dashboard:problem:invalid-parameter", "GET {url}: {problem}");
            let detail = problem["detail"].as_str().unwrap_or_default();
            assert!(detail.starts_with(&format!("{name} is given more than once")), "GET {url}: {problem}");
            checked.push(path.clone());
        }
        assert!(checked.len() >= 15, "only {checked:?} take query parameters?");
        // A parameter given once, and distinct parameters, are still fine.
        let (status, body) = app.get("/api/builds?repo=a/b&branch=main").await;
        assert_eq!(status, 200, "{body}");
        let (status, body): (u16, Value) = app.get("/api/builds?repo=a/b&repo=a/b").await;
        assert_eq!(status, 422, "even the same value twice is refused: {body}");
    }
}

on_both_backends! {
    // A query parameter a route does not take (a typo such as
    // `?enviroment=`) is 422 naming it and what the route takes, on every
    // GET operation of the document that takes query parameters, instead
    // of an answer for no filter; routes that take none ignore it.
    async fn an_unknown_query_parameter_is_422_naming_it_on_every_get_operation(app: TestApp) {
        let (status, doc) = app.get("/openapi.json").await;
        assert_eq!(status, 200);
        let mut checked = 0;
        for (path, item) in doc["paths"].as_object().expect("paths") {
            let Some(get) = item.get("get") else { continue };
            let taken: Vec<&str> = get["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query")
                .filter_map(|p| p["name"].as_str())
                .collect();
            let url = format!("{}?no_such_parameter=1", concrete(path));
            if taken.is_empty() {
                continue;
            }
            let (status, problem) = app.get(&url).await;
            assert_eq!(status, 422, "GET {url}: {problem}");
            assert_eq!(problem["type"], "urn:cicd-dashboard:problem:invalid-parameter", "GET {url}: {problem}");
            let detail = problem["detail"].as_str().unwrap_or_default();
            assert!(detail.starts_with("unknown query parameter \"no_such_parameter\""), "GET {url}: {problem}");
            for name in taken {
                assert!(detail.contains(name), "GET {url} should list {name}: {problem}");
            }
            checked += 1;
        }
        assert!(checked >= 20, "only {checked} GET operations take query parameters?");
        let (status, problem) = app.get("/api/dora?window_days=7&enviroment=staging").await;
        assert_eq!(status, 422, "{problem}");
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("\"enviroment\"") && detail.contains("environment"), "{problem}");
        // Known parameters, routes taking none and routes outside the document still answer.
        let (status, body) = app.get("/health?probe=lb").await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = app.get("/api/dora?window_days=7&environment=staging").await;
        assert_eq!(status, 200, "{body}");
        let page = app.client.get(app.url("/?utm_source=x")).send().await.expect("page");
        assert_eq!(page.status().as_u16(), 200);
    }
}
