//! Secrets at rest: AES-256-GCM with a key from `CICD_SECRET_KEY` (32 bytes,
//! base64 or hex) or `CICD_SECRET_KEY_FILE`. A sealed value is
//! `v1:` + base64(12-byte random nonce ‖ ciphertext ‖ 16-byte tag); the
//! tag makes a wrong key or a tampered value an error, never garbage.
//! Generate a key with `openssl rand -base64 32`.
//!
//! Owns the cipher and the sealed format only; which values are secret is
//! the caller's (alert channel secrets, stored credentials).

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::config::SecretSettings;
use crate::secret::Secret;

const PREFIX: &str = "v1:";

/// The process's sealing key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(***)")
    }
}

impl SecretBox {
    /// A box from a key's text: 32 bytes as base64 (44 characters) or hex
    /// (64 characters).
    ///
    /// Errors: anything else (the message never contains the key).
    pub fn from_key_text(text: &str) -> Result<SecretBox, String> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
            hex::decode(text).map_err(|_| "the secret key is not valid hex".to_owned())?
        } else {
            STANDARD
                .decode(text)
                .map_err(|_| "the secret key is neither base64 nor 64 hex digits".to_owned())?
        };
        if bytes.len() != 32 {
            return Err(format!(
                "the secret key must be 32 bytes (e.g. `openssl rand -base64 32`), got {}",
                bytes.len()
            ));
        }
        Ok(SecretBox { cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes)) })
    }

    /// The box the settings give: the key text, else the key file, else none.
    ///
    /// Errors: an unreadable file or a malformed key.
    pub fn from_settings(key: &Option<Secret>, key_file: Option<&Path>) -> Result<Option<SecretBox>, String> {
        if let Some(key) = Secret::present(key) {
            return SecretBox::from_key_text(key.expose()).map(Some);
        }
        match key_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|err| format!("could not read the secret key file {}: {err}", path.display()))?;
                SecretBox::from_key_text(&text).map(Some)
            }
            None => Ok(None),
        }
    }

    /// Seals `plaintext` with a fresh random nonce.
    ///
    /// Errors: the operating system's random source failed.
    pub fn seal(&self, plaintext: &str) -> Result<String, String> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|err| format!("no random source: {err}"))?;
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
            .map_err(|_| "encryption failed".to_owned())?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}", STANDARD.encode(out)))
    }

    /// Opens a value made by [`SecretBox::seal`].
    ///
    /// Errors: not a sealed value, a different key, or tampering.
    pub fn open(&self, sealed: &str) -> Result<String, String> {
        let body = sealed.strip_prefix(PREFIX).ok_or_else(|| "not a sealed value".to_owned())?;
        let bytes = STANDARD.decode(body).map_err(|_| "a sealed value is not base64".to_owned())?;
        if bytes.len() < 12 + 16 {
            return Err("a sealed value is too short".into());
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| "a sealed value does not open with this key (wrong CICD_SECRET_KEY?)".to_owned())?;
        String::from_utf8(plain).map_err(|_| "a sealed value is not UTF-8".to_owned())
    }

    /// Whether `text` looks sealed.
    pub fn is_sealed(text: &str) -> bool {
        text.starts_with(PREFIX)
    }
}

impl SecretBox {
    /// The sealing key: the configured one, else (SQLite only) the key file
    /// beside the database, created (mode 0600) on first use; `None` for
    /// PostgreSQL without a key.
    ///
    /// Errors: a malformed or unreadable key, or a key file that cannot be
    /// created.
    pub fn for_database(settings: &SecretSettings, database_url: &str) -> Result<Option<SecretBox>, String> {
        if let Some(found) =
            SecretBox::from_settings(&settings.secret_key, settings.secret_key_file.as_deref())?
        {
            return Ok(Some(found));
        }
        let Some(path) = database_url.strip_prefix("sqlite://").map(|p| p.split('?').next().unwrap_or(p))
        else {
            return Ok(None);
        };
        if path.is_empty() || path.starts_with(':') {
            return Ok(None);
        }
        let dir = std::path::Path::new(path).parent().unwrap_or(std::path::Path::new("."));
        let key_file = dir.join("secret.key");
        if !key_file.exists() {
            std::fs::create_dir_all(dir)
                .map_err(|err| format!("could not create {}: {err}", dir.display()))?;
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).map_err(|err| format!("no random source: {err}"))?;
            write_private(&key_file, &hex::encode(bytes))?;
        }
        SecretBox::from_settings(&None, Some(&key_file))
    }
}

/// Writes `text` to a new file readable by its owner only.
fn write_private(path: &std::path::Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|err| format!("could not create {}: {err}", path.display()))?;
    file.write_all(text.as_bytes()).map_err(|err| format!("could not write {}: {err}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // base64 of 32 ASCII bytes

    #[test]
    fn seals_and_opens_and_refuses_a_wrong_key_or_tampering() {
        let sealed_box = SecretBox::from_key_text(KEY).expect("key");
        let sealed = sealed_box.seal("https://hooks.slack.com/services/T/B/X").expect("seal");
        assert!(SecretBox::is_sealed(&sealed) && !sealed.contains("hooks.slack.com"));
        assert_ne!(
            sealed,
            sealed_box.seal("https://hooks.slack.com/services/T/B/X").expect("seal"),
            "fresh nonce"
        );
        assert_eq!(sealed_box.open(&sealed).expect("open"), "https://hooks.slack.com/services/T/B/X");
        let other = SecretBox::from_key_text(&"ab".repeat(32)).expect("hex key");
        assert!(other.open(&sealed).is_err());
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 3;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(sealed_box.open(&String::from_utf8(tampered).expect("utf8")).is_err());
    }

    #[test]
    fn refuses_keys_of_the_wrong_size_without_echoing_them() {
        let err = SecretBox::from_key_text("c2hvcnQ=").expect_err("short");
        assert!(err.contains("32 bytes") && !err.contains("c2hvcnQ"));
        assert!(SecretBox::from_key_text("not base64 at all!").is_err());
    }
}
