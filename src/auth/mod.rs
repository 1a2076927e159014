//! API tokens and roles: who may call what.
//!
//! Roles nest — `admin` ⊇ `write` ⊇ `read`: `read` for the read API and the
//! event stream, `write` for ingest by senders other than GitHub, `admin`
//! for alert configuration, tests, the audit log and token management.
//! A token is 32 random bytes (`cicd_` + 64 hex digits), shown once; only its
//! SHA-256 is stored. A fast hash is right here (as for GitHub's tokens):
//! the input has 256 bits of entropy, so there is nothing to brute-force, and
//! every request can be checked with one indexed lookup.
//!
//! This module owns token format, hashing and role rules; storage is the
//! store's, HTTP checks are `api::auth`'s.

use sha2::{Digest, Sha256};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Read,
    Write,
    Admin,
}

impl Role {
    /// `read`, `write`, `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Write => "write",
            Role::Admin => "admin",
        }
    }

    /// Parses [`Role::as_str`]; `None` otherwise.
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "read" => Some(Role::Read),
            "write" => Some(Role::Write),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// Whether this role includes `needed` (roles nest).
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

/// Prefix of every token, so leaked ones are easy to recognise.
pub const TOKEN_PREFIX: &str = "cicd_";

/// A new random token.
///
/// Errors: the operating system's random source failed.
pub fn generate_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{TOKEN_PREFIX}{}", hex::encode(bytes)))
}

/// The stored form of a token: SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Who made a request, once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's name; `anonymous` for public reads.
    pub name: String,
    pub role: Option<Role>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_nest() {
        assert!(Role::Admin.allows(Role::Write) && Role::Admin.allows(Role::Read));
        assert!(Role::Write.allows(Role::Read) && !Role::Write.allows(Role::Admin));
        assert!(!Role::Read.allows(Role::Write));
        assert_eq!(Role::parse("admin"), Some(Role::Admin));
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (generate_token().expect("random"), generate_token().expect("random"));
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == TOKEN_PREFIX.len() + 64);
        assert_eq!(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
