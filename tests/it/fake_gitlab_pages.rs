//! GitLab's offset pagination for the fake GitLab API (`fake_gitlab`):
//! one page of items with `X-Page`, `X-Per-Page`, `X-Total`, `X-Next-Page`
//! and a `Link: rel="next"` header.

use serde_json::{Value, json};
use wiremock::Request;

use crate::fake_gitlab::{Reply, query};

/// One page of `items` with GitLab's offset-pagination headers.
pub(crate) fn paginate(request: &Request, base_url: &str, items: Vec<Value>) -> Reply {
    let page: usize = query(request, "page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let per_page: usize = query(request, "per_page").and_then(|p| p.parse().ok()).unwrap_or(20).clamp(1, 100);
    let slice: Vec<Value> = items.iter().skip((page - 1) * per_page).take(per_page).cloned().collect();
    let more = page * per_page < items.len();
    let mut reply = Reply::new(200)
        .json(json!(slice))
        .header("x-page", &page.to_string())
        .header("x-per-page", &per_page.to_string())
        .header("x-total", &items.len().to_string())
        .header("x-next-page", &if more { (page + 1).to_string() } else { String::new() });
    if more {
        let mut next = url::Url::parse(&format!("{base_url}{}", request.url.path())).expect("next URL");
        let pairs: Vec<(String, String)> = request
            .url
            .query_pairs()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        next.query_pairs_mut().extend_pairs(pairs).append_pair("page", &(page + 1).to_string());
        reply = reply.header("link", &format!("<{next}>; rel=\"next\""));
    }
    reply
}
