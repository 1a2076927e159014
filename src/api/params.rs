//! Query-string parsing that never fails on its own: parameters are read as
//! text and validated here, so bad values get a 422 problem naming them.
//! The parameters several routes share are parsed by one typed extractor
//! each ([`Window`], [`RepoBranch`] with `provider`, [`Paging`]), which also documents
//! them for the OpenAPI document where it can ([`Window`], [`RepoBranch`],
//! [`PageParams`]).

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::problem::Problem;
use crate::domain::{BranchName, ProviderKind, RepoName};
use crate::store::PointFilter;

/// Decoded query parameters, each given at most once.
pub struct Params(HashMap<String, String>);

/// What a parameter given more than once is told (`known_params` says it
/// too, for the routes that read their query outside this module).
pub(super) fn given_twice(name: &str) -> String {
    format!("{} is given more than once; give it once", name.replace('\0', "\\0"))
}

impl Params {
    /// Decodes the query string. 422 `invalid-parameter` when a name is
    /// given more than once (`?repo=a&repo=b`: no parameter takes a list, and
    /// silently keeping one value would answer for a filter nobody asked
    /// for), or when a name or value holds a NUL character (no stored text
    /// can hold one: PostgreSQL refuses it). Every extractor of this module
    /// parses through here, so every GET endpoint answers alike.
    pub fn parse(raw: Option<&str>) -> Result<Self, Problem> {
        let mut pairs: HashMap<String, String> = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned() {
            if pairs.contains_key(&name) {
                return Err(Problem::invalid_parameter(given_twice(&name)));
            }
            pairs.insert(name, value);
        }
        if let Some((name, _)) =
            pairs.iter().find(|(name, value)| name.contains('\0') || value.contains('\0'))
        {
            return Err(Problem::invalid_parameter(format!(
                "{:?} must not contain a NUL character",
                name.replace('\0', "\\0")
            )));
        }
        Ok(Params(pairs))
    }

    /// 422 `invalid-parameter` naming the first parameter (by name) not in
    /// `known`, and the ones the route takes: for routes that read their
    /// query here and are outside `known_params`' check (it checks `GET`s).
    pub fn only(&self, known: &[String]) -> Result<(), Problem> {
        match self.0.keys().filter(|name| !known.contains(name)).min() {
            None => Ok(()),
            Some(name) => Err(Problem::invalid_parameter(format!(
                "unknown parameter {name:?}; this route takes {}",
                known.join(", ")
            ))),
        }
    }

    /// A non-empty text parameter.
    pub fn text(&self, name: &str) -> Option<String> {
        self.0.get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    /// An integer parameter within `min..=max`, `default` when absent.
    pub fn int_in(&self, name: &str, default: i64, min: i64, max: i64) -> Result<i64, Problem> {
        let Some(text) = self.text(name) else {
            return Ok(default);
        };
        match plain_integer(&text) {
            Some(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(Problem::invalid_parameter(format!(
                "{name} must be an integer from {min} to {max}, got {text:?}"
            ))),
        }
    }

    /// `provider`: a provider kind ([`ProviderKind::kind`]), `None` when
    /// absent; 422 naming the known kinds for any other text.
    pub fn provider(&self) -> Result<Option<ProviderKind>, Problem> {
        let Some(text) = self.text("provider") else { return Ok(None) };
        ProviderKind::from_kind(&text).map(Some).ok_or_else(|| {
            let known: Vec<&str> = ProviderKind::ALL.iter().map(|p| p.kind()).collect();
            Problem::invalid_parameter(format!("provider must be one of {}, got {text:?}", known.join(", ")))
        })
    }

    /// A boolean parameter (`true`/`false`, also `1`/`0`), `false` when absent.
    pub fn flag(&self, name: &str) -> Result<bool, Problem> {
        match self.text(name).as_deref() {
            None | Some("false" | "0") => Ok(false),
            Some("true" | "1") => Ok(true),
            Some(text) => {
                Err(Problem::invalid_parameter(format!("{name} must be true or false, got {text:?}")))
            }
        }
    }
}

/// An integer written plainly: ASCII digits with an optional leading `-`,
/// nothing else (Rust's `parse` also takes a leading `+`, which no client
/// means to send: `window_days=+7` is a 422, and `/api/builds/+7` names no
/// build). Ids in paths and integer parameters read through here.
pub fn plain_integer(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// One path parameter as text. A segment axum cannot decode (not UTF-8
/// once percent-decoded, as in `/api/builds/%FF`) names nothing, so it is
/// the route's 404 problem rather than axum's plain-text 400.
pub struct PathText(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathText {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        match axum::extract::Path::<String>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(text)) => Ok(PathText(text)),
            Err(rejection) => {
                Err(Problem::not_found(format!("nothing has this name: {}", rejection.body_text())))
            }
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        Params::parse(parts.uri.query())
    }
}

/// `window_days`: the window of a figure, in days back from now (rolling,
/// whole UTC days or whole local days by route: README, *Time windows*).
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Window {
    /// Days, 1–365 (default 7)
    #[param(required = false, minimum = 1, maximum = 365, default = 7)]
    pub window_days: u32,
}

impl<S: Send + Sync> FromRequestParts<S> for Window {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        let params = Params::parse(parts.uri.query())?;
        Ok(Window { window_days: params.int_in("window_days", 7, 1, 365)? as u32 })
    }
}

/// `repo`, `branch` and `provider`: exact-match narrowing of a figure.
#[derive(Debug, Clone, PartialEq, Eq, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RepoBranch {
    /// Only this repository (`owner/name`, exact)
    pub repo: Option<String>,
    /// Only this branch (exact)
    pub branch: Option<String>,
    /// Only this provider (`provider_kind` of a Build, e.g. `github`, `jenkins`)
    #[param(value_type = Option<String>)]
    pub provider: Option<ProviderKind>,
}

impl RepoBranch {
    /// The store's filter of metric reads.
    pub fn filter(self) -> PointFilter {
        PointFilter {
            repo: self.repo.map(RepoName::from),
            branch: self.branch.map(BranchName::from),
            provider: self.provider,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RepoBranch {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        let params = Params::parse(parts.uri.query())?;
        Ok(RepoBranch {
            repo: params.text("repo"),
            branch: params.text("branch"),
            provider: params.provider()?,
        })
    }
}

/// `limit` and `offset` of a page, `limit` from 1 to `MAX` (default
/// `DEFAULT`), `offset` ≥ 0 (default 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging<const DEFAULT: i64, const MAX: i64> {
    pub limit: i64,
    pub offset: i64,
}

impl<const DEFAULT: i64, const MAX: i64, S: Send + Sync> FromRequestParts<S> for Paging<DEFAULT, MAX> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        let params = Params::parse(parts.uri.query())?;
        Ok(Paging {
            limit: params.int_in("limit", DEFAULT, 1, MAX)?,
            offset: params.int_in("offset", 0, 0, i64::MAX)?,
        })
    }
}

/// How pages of 1–100 entries (default 50) are asked for, as the OpenAPI
/// document shows it.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(dead_code, reason = "read by utoipa only")]
pub struct PageParams {
    /// Page size, 1–100 (default 50)
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// Entries to skip (default 0)
    #[param(minimum = 0)]
    offset: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::plain_integer;

    #[test]
    fn only_digits_with_an_optional_minus_are_integers() {
        for (text, want) in [("7", Some(7)), ("-3", Some(-3)), ("007", Some(7)), ("0", Some(0))] {
            assert_eq!(plain_integer(text), want, "{text}");
        }
        for text in ["+7", "", "-", "7 ", " 7", "1e3", "0x10", "--1", "7.0", "٣", "99999999999999999999"] {
            assert_eq!(plain_integer(text), None, "{text:?}");
        }
    }
}
