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
