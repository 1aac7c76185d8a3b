//! `launchplane operators create-token | list | revoke`.

use super::exit::outln;
use clap::Subcommand;

use crate::auth::operator::{new_token, token_hash};
use crate::config::required;
use crate::records::Store;

#[derive(Debug, Clone, Subcommand)]
pub enum OperatorsCommand {
    /// Create a token for a person at a terminal; printed once, stored hashed.
    CreateToken {
        /// Who or what the token is for (policy rules match it).
        #[arg(long)]
        label: String,
        /// `postgres://…` or `sqlite://…`: the record store.
        #[arg(long, env = "LAUNCHPLANE_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
    },
    /// List tokens (labels, ids, dates; never the tokens).
    List {
        /// `postgres://…` or `sqlite://…`: the record store.
        #[arg(long, env = "LAUNCHPLANE_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
    },
    /// Revoke a token by id.
    Revoke {
        /// The token's id (`launchplane operators list` shows them).
        #[arg(long)]
        token_id: String,
        /// `postgres://…` or `sqlite://…`: the record store.
        #[arg(long, env = "LAUNCHPLANE_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
    },
}

async fn open(database_url: Option<String>) -> anyhow::Result<Store> {
    let url = required(database_url, "--database-url", "LAUNCHPLANE_DATABASE_URL")?;
    Ok(Store::open(&url).await?)
}

pub async fn run(command: OperatorsCommand) -> anyhow::Result<()> {
    match command {
        OperatorsCommand::CreateToken {
            label,
            database_url,
        } => {
            let label = label.trim().to_string();
            if label.is_empty() {
                anyhow::bail!("--label must not be blank");
            }
            let store = open(database_url).await?;
            let (token, token_id) = new_token();
            store
                .insert_operator_token(&token_id, &label, &token_hash(&token))
                .await?;
            eprintln!("operator token {token_id} for `{label}` (shown once; store it now):");
            outln!("{token}")?;
        }
        OperatorsCommand::List { database_url } => {
            let store = open(database_url).await?;
            outln!(
                "{:<30} {:<24} {:<22} REVOKED",
                "TOKEN ID",
                "LABEL",
                "CREATED"
            )?;
            for t in store.list_operator_tokens().await? {
                outln!(
                    "{:<30} {:<24} {:<22} {}",
                    t.token_id,
                    t.label,
                    t.created_at,
                    t.revoked_at
                )?;
            }
        }
        OperatorsCommand::Revoke {
            token_id,
            database_url,
        } => {
            let store = open(database_url).await?;
            if !store.revoke_operator_token(&token_id).await? {
                anyhow::bail!("no live operator token `{token_id}`");
            }
            outln!("revoked {token_id}")?;
        }
    }
    Ok(())
}
