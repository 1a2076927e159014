//! `cicd-dashboard token create|list|revoke`: token management on the
//! database directly (run where the server's database is reachable; an
//! existing one only, never a new one). Each change is written to the audit
//! log with the actor `cli`.

use chrono::Utc;

use crate::auth::{Role, generate_token, token_hash};
use crate::cli::TokenCommand;
use crate::domain::time::format_timestamp;
use crate::store::{AuditEntry, Store};

/// Runs one token subcommand. `create` prints the token alone on its last
/// line of output: it is shown only this once.
pub async fn run(command: TokenCommand) -> anyhow::Result<()> {
    let database = match &command {
        TokenCommand::Create { database, .. }
        | TokenCommand::List { database }
        | TokenCommand::Revoke { database, .. } => database,
    };
    let store = Store::connect_existing(&database.database_url, &super::store_options(database)).await?;
    store.migrate().await?;
    let now = Utc::now();
    let audit = |action: &str, target: &str, detail: String| AuditEntry {
        id: 0,
        at: now,
        actor: "cli".into(),
        action: action.into(),
        target: Some(target.into()),
        detail: Some(detail),
        request_id: None,
    };
    match command {
        TokenCommand::Create { name, role, .. } => {
            let role = Role::parse(&role)
                .ok_or_else(|| anyhow::anyhow!("--role must be read, write or admin, got {role:?}"))?;
            if name.trim().is_empty() || name.len() > 100 {
                anyhow::bail!("--name must be 1 to 100 characters");
            }
            let token = generate_token().map_err(|err| anyhow::anyhow!("no random source: {err}"))?;
            if !store.tokens().create_token(&name, role.as_str(), &token_hash(&token), now).await? {
                anyhow::bail!("a live token named {name:?} exists; revoke it first or pick another name");
            }
            store
                .audit()
                .record_audit(&audit("token.create", &name, format!("role {}", role.as_str())))
                .await?;
            println!("created {} token {name:?}; it is shown only now:", role.as_str());
            println!("{token}");
        }
        TokenCommand::List { .. } => {
            println!("{:<24} {:<6} {:<21} {:<21} state", "name", "role", "created", "last used");
            for t in store.tokens().list().await? {
                let state =
                    t.revoked_at.map_or("live".to_owned(), |at| format!("revoked {}", format_timestamp(at)));
                let used = t.last_used_at.map_or("never".to_owned(), format_timestamp);
                println!(
                    "{:<24} {:<6} {:<21} {:<21} {state}",
                    t.name,
                    t.role,
                    format_timestamp(t.created_at),
                    used
                );
            }
        }
        TokenCommand::Revoke { name, .. } => {
            if !store.tokens().revoke_token(&name, now).await? {
                anyhow::bail!("no live token named {name:?}");
            }
            store.audit().record_audit(&audit("token.revoke", &name, "revoked".into())).await?;
            println!("revoked {name:?}");
        }
    }
    store.close().await;
    Ok(())
}
