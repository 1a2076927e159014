//! Unknown query parameters on reads: a `GET` whose query string names a
//! parameter its route does not take answers 422 `invalid-parameter`,
//! naming it and the parameters the route takes (and one given twice is
//! refused as `params` refuses it, also on routes that read their query
//! outside `params`, such as `/api/events?ticket=`). A typo such as
//! `?enviroment=staging` would otherwise filter nothing and answer for
//! every environment, which looks like a right answer.
//!
//! What a route takes is read from the OpenAPI document (the handlers'
//! annotations), so the check and the documentation cannot disagree. Only
//! `GET` (and `HEAD`) routes of the document that take query parameters
//! are checked: routes that take none (`/health`, `/ready`, `/metrics`)
//! ignore a query string as probes and scrapers may add one, the webhook
//! routes take what senders add to their URLs (the test-results upload
//! checks its own names with `Params::only`), and routes
//! outside the document (the page, its assets, `/docs`) are left alone.
//! It runs inside authentication (`api::guarded`): a request without the
//! role is 401/403 whatever its query. Owns that check only; what a
//! parameter's value may be is `params`'.

use std::collections::{BTreeSet, HashMap};

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::{OpenApi, RefOr};

use super::AppState;
use super::problem::Problem;

/// Per documented `GET` route (its path template, as the router matches
/// it), the query parameters it takes.
#[derive(Debug, Default)]
pub struct KnownParams(HashMap<String, BTreeSet<String>>);

impl KnownParams {
    /// The `GET` routes of `document` that take query parameters, and those.
    pub fn from_document(document: &OpenApi) -> Self {
        let mut known = HashMap::new();
        for (path, item) in &document.paths.paths {
            let Some(get) = &item.get else { continue };
            let mut names = query_names(item.parameters.as_deref());
            names.extend(query_names(get.parameters.as_deref()));
            if !names.is_empty() {
                known.insert(path.clone(), names);
            }
        }
        KnownParams(known)
    }

    /// What is wrong with `query` on the route `path`: its first parameter
    /// the route does not take (named with the ones it takes), or one given
    /// more than once (as `params` says it for the routes it parses);
    /// `None` when nothing is, or the route is not checked.
    fn refusal(&self, path: &str, query: &str) -> Option<String> {
        let taken = self.0.get(path)?;
        let mut seen = BTreeSet::new();
        for (name, _) in url::form_urlencoded::parse(query.as_bytes()) {
            if !taken.contains(name.as_ref()) {
                let shown = name.replace('\0', "\\0");
                let taken: Vec<&str> = taken.iter().map(String::as_str).collect();
                return Some(format!("unknown query parameter {shown:?}: {path} takes {}", taken.join(", ")));
            }
            if seen.contains(name.as_ref()) {
                return Some(super::params::given_twice(&name));
            }
            seen.insert(name.into_owned());
        }
        None
    }
}

/// The names of the query parameters among `parameters`.
fn query_names(parameters: Option<&[RefOr<Parameter>]>) -> BTreeSet<String> {
    parameters
        .unwrap_or_default()
        .iter()
        .filter_map(|parameter| match parameter {
            RefOr::T(p) if matches!(p.parameter_in, ParameterIn::Query) => Some(p.name.clone()),
            _ => None,
        })
        .collect()
}

/// The middleware (inside authentication, see `api::guarded`): 422 for a
/// documented `GET` route's unknown query parameter, before the handler
/// runs. Checks nothing until `api::router` has read the document.
pub async fn refuse_unknown(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(known) = state.known_params.get()
        && matches!(*request.method(), Method::GET | Method::HEAD)
        && let (Some(path), Some(query)) = (request.extensions().get::<MatchedPath>(), request.uri().query())
        && let Some(detail) = known.refusal(path.as_str(), query)
    {
        return Problem::invalid_parameter(detail).into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> KnownParams {
        let mut map = HashMap::new();
        map.insert("/api/dora".to_owned(), ["window_days", "environment"].map(String::from).into());
        KnownParams(map)
    }

    #[test]
    fn names_the_first_unknown_or_repeated_parameter() {
        let known = known();
        assert_eq!(known.refusal("/api/dora", "window_days=7&environment=prod"), None);
        assert_eq!(known.refusal("/api/dora", ""), None);
        assert_eq!(
            known.refusal("/api/dora", "window_days=7&enviroment=prod").as_deref(),
            Some("unknown query parameter \"enviroment\": /api/dora takes environment, window_days")
        );
        assert_eq!(
            known.refusal("/api/dora", "environment=a&environment=b").as_deref(),
            Some("environment is given more than once; give it once")
        );
        // Decoded as the handlers decode it.
        assert_eq!(known.refusal("/api/dora", "window%5Fdays=7"), None);
        // Routes taking no query parameters, or outside the document, are not checked.
        assert_eq!(known.refusal("/health", "x=1"), None);
        assert_eq!(known.refusal("/", "anything=1"), None);
    }
}
