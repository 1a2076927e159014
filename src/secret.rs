//! A secret string (token, password, key) that never shows itself: `Debug`
//! and `Display` print `***`. Owns the wrapper only; where secrets come
//! from is `config`'s, how they are sealed at rest is `secret_box`'s.

use std::fmt;
use std::str::FromStr;

/// A secret string: `Debug`/`Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `secret` unless it is empty or blank: an empty environment variable
    /// (`GITHUB_TOKEN=` in a compose file) means "not set", never "the
    /// empty secret".
    pub fn present(secret: &Option<Secret>) -> Option<Secret> {
        secret.as_ref().filter(|s| !s.0.trim().is_empty()).cloned()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl FromStr for Secret {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() { Err("must not be empty".into()) } else { Ok(Secret(s.to_owned())) }
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_owned())
    }
}
