//! Query-string parsing that never fails on its own: parameters are read as
//! text and validated here, so bad values get a 422 problem naming them.

use std::collections::HashMap;

use super::problem::Problem;

/// Decoded query parameters (last value wins for repeated keys).
pub struct Params(HashMap<String, String>);

impl Params {
    /// Decodes the query string. 422 when a name or value holds a NUL
    /// character (no stored text can hold one: PostgreSQL refuses it).
    pub fn parse(raw: Option<&str>) -> Result<Self, Problem> {
        let pairs: HashMap<String, String> =
            url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned().collect();
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

    /// A non-empty text parameter.
    pub fn text(&self, name: &str) -> Option<String> {
        self.0.get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    /// An integer parameter within `min..=max`, `default` when absent.
    pub fn int_in(&self, name: &str, default: i64, min: i64, max: i64) -> Result<i64, Problem> {
        let Some(text) = self.text(name) else {
            return Ok(default);
        };
        match text.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(Problem::invalid_parameter(format!(
                "{name} must be an integer from {min} to {max}, got {text:?}"
            ))),
        }
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
