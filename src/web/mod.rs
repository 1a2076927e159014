//! The dashboard page: static HTML, CSS and JavaScript modules compiled into
//! the binary (no CDN, works offline). The page reads the JSON API like any
//! other client; this module must not query the store.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every asset: path, content type, body.
const ASSETS: [(&str, &str, &str); 23] = [
    ("/", HTML, include_str!("assets/index.html")),
    ("/assets/style.css", CSS, include_str!("assets/style.css")),
    ("/assets/js/main.js", JS, include_str!("assets/js/main.js")),
    ("/assets/js/api.js", JS, include_str!("assets/js/api.js")),
    ("/assets/js/format.js", JS, include_str!("assets/js/format.js")),
    ("/assets/js/charts.js", JS, include_str!("assets/js/charts.js")),
    ("/assets/js/overview.js", JS, include_str!("assets/js/overview.js")),
    ("/assets/js/builds.js", JS, include_str!("assets/js/builds.js")),
    ("/assets/js/detail.js", JS, include_str!("assets/js/detail.js")),
    ("/assets/js/failed_tests.js", JS, include_str!("assets/js/failed_tests.js")),
    ("/assets/js/failure_reasons.js", JS, include_str!("assets/js/failure_reasons.js")),
    ("/assets/js/failures.js", JS, include_str!("assets/js/failures.js")),
    ("/assets/js/tests.js", JS, include_str!("assets/js/tests.js")),
    ("/assets/js/live.js", JS, include_str!("assets/js/live.js")),
    ("/assets/js/views.js", JS, include_str!("assets/js/views.js")),
    ("/assets/js/jobs.js", JS, include_str!("assets/js/jobs.js")),
    ("/assets/js/alerts.js", JS, include_str!("assets/js/alerts.js")),
    ("/assets/js/alert_fields.js", JS, include_str!("assets/js/alert_fields.js")),
    ("/assets/js/alert_settings.js", JS, include_str!("assets/js/alert_settings.js")),
    ("/assets/js/alert_test.js", JS, include_str!("assets/js/alert_test.js")),
    ("/assets/js/runners.js", JS, include_str!("assets/js/runners.js")),
    ("/assets/js/flaky.js", JS, include_str!("assets/js/flaky.js")),
    ("/assets/js/delivery.js", JS, include_str!("assets/js/delivery.js")),
];

/// The JavaScript module paths (for tests and the README).
pub fn script_paths() -> impl Iterator<Item = &'static str> {
    ASSETS.iter().filter(|(_, kind, _)| *kind == JS).map(|(path, _, _)| *path)
}

/// Routes: `/`, `/assets/style.css`, `/assets/js/*.js`.
pub fn router() -> Router {
    ASSETS.iter().fold(Router::new(), |router, &(path, content_type, body)| {
        router.route(path, get(move || async move { asset(content_type, body) }))
    })
}

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body)
}
