//! The OpenAPI document: served, 3.1, complete (every API route, with its
//! answers), and true (each documented operation exists on the server);
//! Swagger UI served from the binary.

use serde_json::Value;

use crate::on_both_backends;

/// Every API operation the server has; a new route must be added here and
/// documented, or this test fails.
const OPERATIONS: &[(&str, &str)] = &[
    ("get", "/health"),
    ("get", "/ready"),
    ("get", "/metrics"),
    ("get", "/api/builds"),
    ("get", "/api/builds/{id}"),
    ("get", "/api/metrics/summary"),
    ("get", "/api/events"),
    ("post", "/api/events/ticket"),
    ("get", "/api/providers"),
    ("get", "/api/repos"),
    ("get", "/api/audit"),
    ("post", "/api/webhook/github-actions"),
    ("post", "/api/webhook/gitlab"),
    ("get", "/api/builds/export"),
    ("get", "/api/metrics/health"),
    ("get", "/api/metrics/timeseries"),
    ("get", "/api/insights/runners"),
    ("get", "/api/insights/minutes"),
    ("get", "/api/alerts"),
    ("get", "/api/alerts/configure"),
    ("post", "/api/alerts/configure"),
    ("post", "/api/alert/test"),
    ("post", "/api/builds/events"),
    ("post", "/api/alerts/{id}/ack"),
    ("post", "/api/alerts/{id}/resolve"),
    ("get", "/api/insights/jobs"),
    ("get", "/api/insights/jobs/{key}"),
    ("get", "/api/insights/flaky"),
    ("post", "/api/test-results"),
    ("get", "/api/builds/{id}/tests"),
    ("get", "/api/insights/tests"),
    ("get", "/api/insights/tests/{id}"),
    ("get", "/api/insights/failures"),
    ("get", "/api/insights/failures/{fingerprint}"),
    ("get", "/api/dora"),
    ("get", "/api/dora/timeseries"),
    ("get", "/api/deployments"),
    ("post", "/api/incidents"),
    ("get", "/api/incidents"),
];

on_both_backends! {
    async fn the_document_lists_every_route_and_every_listed_route_exists(app: TestApp) {
        let (status, doc) = app.get("/openapi.json").await;
        assert_eq!(status, 200);
        assert!(doc["openapi"].as_str().expect("version").starts_with("3.1"), "{}", doc["openapi"]);
        let paths = doc["paths"].as_object().expect("paths");
        let mut documented: Vec<(String, String)> = Vec::new();
        for (path, item) in paths {
            for method in ["get", "post", "put", "patch", "delete"] {
                if let Some(operation) = item.get(method) {
                    documented.push((method.to_owned(), path.clone()));
                    let responses = operation["responses"].as_object().expect("responses");
                    assert!(!responses.is_empty(), "{method} {path} documents no answers");
                    if path != "/health" && path != "/ready" {
                        assert!(responses.contains_key("401"), "{method} {path} does not document 401");
                    }
                }
            }
        }
        let mut expected: Vec<(String, String)> =
            OPERATIONS.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
        expected.sort();
        documented.sort();
        assert_eq!(documented, expected);
        // Every documented operation is served (not 404/405).
        for (method, path) in &documented {
            let url = app.url(&path.replace("{id}", "1").replace("{key}", "1").replace("{fingerprint}", "0123456789abcdef"));
            let request = match method.as_str() {
                "post" => app.client.post(url).header("content-type", "application/json").body("{}"),
                _ => app.client.get(url),
            };
            let status = request.send().await.expect("request").status().as_u16();
            let is_missing_build = ["{id}", "{key}", "{fingerprint}"].iter().any(|p| path.contains(p)) && status == 404;
            assert!(is_missing_build || (status != 404 && status != 405), "{method} {path}: {status}");
        }
        // Shared shapes are components, errors are problem documents.
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        for name in ["Build", "Job", "BuildPage", "Summary", "Problem", "ProvidersAnswer"] {
            assert!(schemas.contains_key(name), "schema {name} missing");
        }
        assert_eq!(doc["components"]["securitySchemes"]["token"]["scheme"], "bearer");
        let problem: &Value = &doc["paths"]["/api/builds"]["get"]["responses"]["422"];
        assert!(problem.to_string().contains("#/components/schemas/Problem"), "{problem}");
    }

    async fn swagger_ui_is_served_from_the_binary(app: TestApp) {
        let page = app.client.get(app.url("/docs/")).send().await.expect("docs");
        assert_eq!(page.status(), 200);
        let csp = page.headers()["content-security-policy"].to_str().expect("csp").to_owned();
        assert!(csp.contains("script-src 'self'") && !csp.contains("script-src 'self' 'unsafe"), "{csp}");
        let html = page.text().await.expect("html");
        assert!(html.contains("swagger-ui-bundle.js"), "{html}");
        assert!(!html.contains("http://") && !html.contains("https://"), "no CDN: {html}");
        let bundle = app.client.get(app.url("/docs/swagger-ui-bundle.js")).send().await.expect("bundle");
        assert_eq!(bundle.status(), 200);
        assert!(bundle.bytes().await.expect("body").len() > 100_000);
        let init = app.client.get(app.url("/docs/swagger-initializer.js")).send().await.expect("init");
        let init = init.text().await.expect("js");
        assert!(init.contains("/openapi.json"), "{init}");
        assert!(init.contains(r#""validatorUrl": "none""#), "no online validator: {init}");
    }
}
