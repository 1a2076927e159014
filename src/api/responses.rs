//! The error answers of the OpenAPI document, written once: each set is the
//! problem statuses a kind of route can answer, every one a
//! `application/problem+json` problem document (`super::problem::ProblemDoc`,
//! registered as the `Problem` schema in `openapi`). A route lists its success
//! answers and then one set, e.g.
//! `responses((status = 200, body = Summary), QueryProblems)`.

use std::collections::BTreeMap;

use utoipa::IntoResponses;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

/// What each problem status means, as the document says it.
fn meaning(status: u16) -> &'static str {
    match status {
        400 => "The request is malformed (problem JSON says what)",
        401 => "No valid token (or signature)",
        403 => "The token's role is not enough",
        404 => "No such item",
        413 => "The body is too large",
        415 => "The body's content type (or encoding) is not accepted",
        422 => "A parameter or field is invalid (problem JSON names it)",
        429 => "Rate limited; see Retry-After",
        503 => "The database (or a needed setting) is unavailable; see Retry-After",
        _ => "Problem",
    }
}

fn problems(statuses: &[u16]) -> BTreeMap<String, RefOr<Response>> {
    statuses
        .iter()
        .map(|status| {
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
            let response = ResponseBuilder::new()
                .description(meaning(*status))
                .content("application/problem+json", content);
            (status.to_string(), RefOr::T(response.build()))
        })
        .collect()
}

macro_rules! problem_set {
    ($(#[$doc:meta])* $name:ident: $($status:literal),+) => {
        $(#[$doc])*
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                problems(&[$($status),+])
            }
        }
    };
}

problem_set!(
    /// A read that takes no parameters: authentication, rate limit, database.
    ReadProblems: 401, 403, 429, 503
);
problem_set!(
    /// A read with query parameters (422 for a bad one).
    QueryProblems: 401, 403, 422, 429, 503
);
problem_set!(
    /// One item by id (404 when there is none).
    ItemProblems: 401, 403, 404, 429, 503
);
problem_set!(
    /// One item by id with query parameters (404 unknown, 422 bad parameter).
    ItemQueryProblems: 401, 403, 404, 422, 429, 503
);
problem_set!(
    /// A request with a JSON body (400 malformed, 415 not declared JSON,
    /// 422 invalid fields).
    BodyProblems: 400, 401, 403, 415, 422, 429, 503
);
problem_set!(
    /// A stream or scrape: authentication and rate limit only.
    StreamProblems: 401, 403, 429
);
problem_set!(
    /// A webhook delivery.
    DeliveryProblems: 400, 401, 403, 413, 415, 429, 503
);
problem_set!(
    /// A batch of generic build events (400 malformed, 413 too large, 415
    /// not declared JSON, 422 invalid fields).
    EventProblems: 400, 401, 403, 413, 415, 422, 429, 503
);
problem_set!(
    /// An upload of files (400 missing identification, 413 too large, 415
    /// content type, 422 a file or parameter refused).
    UploadProblems: 400, 401, 403, 413, 415, 422, 429, 503
);
