//! The OpenAPI 3.1 document, generated from the handlers' annotations
//! (utoipa): every route is registered through `utoipa_axum::routes!`, so a
//! route cannot exist without its entry. Served at `/openapi.json`, with
//! Swagger UI (bundled in the binary, no CDN) at `/docs`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Title, version, tags and the bearer-token scheme.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "cicd-dashboard",
        description = "Self-hosted CI/CD pipeline dashboard: CI providers' webhooks in; builds, metrics, \
                       alerts and a live page out. Timestamps are RFC 3339 UTC; durations are seconds; \
                       errors are RFC 9457 problem JSON."
    ),
    components(schemas(super::problem::ProblemDoc)),
    modifiers(&BearerToken),
    tags(
        (name = "builds", description = "Run attempts, jobs and the live event stream"),
        (name = "metrics", description = "Aggregates with written definitions"),
        (name = "insights", description = "Where the time goes: jobs and steps per job key, runners, queues and runner minutes"),
        (name = "ingest", description = "Webhook deliveries"),
        (name = "poller", description = "Backfill and reconciliation from the providers' REST APIs"),
        (name = "alerts", description = "Alert history, configuration and tests"),
        (name = "tests", description = "Test results: JUnit report uploads, failed tests, test insights"),
        (name = "delivery", description = "Deployments, incidents and the four DORA keys"),
        (name = "security", description = "Audit log"),
        (name = "operations", description = "Health, readiness, Prometheus"),
    )
)]
pub struct ApiDoc;

/// `token`: `Authorization: Bearer <token>` (see `cicd-dashboard token`).
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token from `cicd-dashboard token create` (roles read/write/admin)",
                    ))
                    .build(),
            ),
        );
    }
}
