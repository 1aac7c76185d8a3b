//! `launchplane secrets put | list | show | relabel | disable`: managed
//! secrets at a terminal.
//!
//! Writes go straight to the record store under the service's master key
//! (`LAUNCHPLANE_MASTER_ENCRYPTION_KEY`), with the same records, versions,
//! bindings and audit events as the product-config API, so an operator
//! can set the Dokploy credentials before the service first starts. A
//! value comes from a file or standard input, never from an argument
//! (arguments are visible to every process on the machine and stay in
//! shell history), and is never printed: every command prints metadata as
//! JSON.

use super::exit::outln;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::config::required;
use crate::providers::dokploy::credentials::{self as dokploy, DokployEndpoint, DokployToken};
use crate::records::Store;
use crate::secrets::{MasterKey, SecretScope, SecretTarget, Vault, WriteContext};

/// The integration whose secrets overlay runtime environment records.
const RUNTIME_ENVIRONMENT: &str = "runtime_environment";

#[derive(Debug, Clone, Subcommand)]
pub enum SecretsCommand {
    /// Write a secret value: a new version when it differs from the
    /// current one, nothing but the binding when it does not.
    Put(PutArgs),
    /// List secrets, newest first (metadata only, never values).
    List {
        /// Only this integration's secrets.
        #[arg(long)]
        integration: Option<String>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Bind a secret to another environment key: the old binding is
    /// disabled, the new one configured, and a `relabelled` event kept.
    Relabel {
        /// The secret's id (`launchplane secrets list` shows them).
        secret_id: String,
        /// The environment key the secret is bound to.
        #[arg(long)]
        binding_key: String,
        /// Who acts, as kept in the audit record.
        #[arg(long, default_value = "launchplane-cli")]
        actor: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Withdraw a secret (a leaked value, a retired integration): it and
    /// its binding become `disabled`, nothing resolves it any more, and a
    /// `disabled` event records the reason. `put` configures it again,
    /// always as a new version.
    Disable {
        /// The secret's id (`launchplane secrets list` shows them).
        secret_id: String,
        /// Why; kept on the audit event.
        #[arg(long)]
        reason: String,
        /// Who acts, as kept in the audit record.
        #[arg(long, default_value = "launchplane-cli")]
        actor: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Show one secret's metadata, binding and recent audit events.
    Show {
        /// The secret's id (`launchplane secrets list` shows them).
        secret_id: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

/// `--database-url` (or `LAUNCHPLANE_DATABASE_URL`) of the commands that
/// work on the record store directly.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// `postgres://…` or `sqlite://…`: the record store.
    #[arg(long, env = "LAUNCHPLANE_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

impl DatabaseArgs {
    /// Opens (and migrates) the store.
    pub async fn open(self) -> anyhow::Result<Store> {
        let url = required(
            self.database_url,
            "--database-url",
            "LAUNCHPLANE_DATABASE_URL",
        )?;
        Ok(Store::open(&url).await?)
    }
}

#[derive(Debug, Clone, Args)]
pub struct PutArgs {
    /// `dokploy` (global scope; `DOKPLOY_HOST` and `DOKPLOY_TOKEN`) or
    /// `runtime_environment` (overlaid on a lane's runtime settings).
    #[arg(long)]
    integration: String,
    /// The secret's name; also its binding key unless `--binding-key`.
    #[arg(long)]
    name: String,
    /// The environment key the value is bound to (default: the name).
    #[arg(long)]
    binding_key: Option<String>,
    /// Context of a `context` or `context_instance` secret (none: global).
    #[arg(long, default_value = "")]
    context: String,
    /// Instance of a `context_instance` secret.
    #[arg(long, default_value = "")]
    instance: String,
    /// What the secret is for (kept as metadata; never a value).
    #[arg(long, default_value = "")]
    description: String,
    /// File holding the value (one trailing line break is dropped); `-`
    /// reads standard input.
    #[arg(long)]
    value_file: PathBuf,
    /// Recorded as the writer on the record and its audit event.
    #[arg(long, default_value = "launchplane-cli")]
    actor: String,
    #[command(flatten)]
    database: DatabaseArgs,
}

pub async fn run(command: SecretsCommand) -> anyhow::Result<()> {
    let output = match command {
        SecretsCommand::Put(args) => put(args, MasterKey::from_env()).await?,
        SecretsCommand::List {
            integration,
            database,
        } => {
            let vault = vault(database, None).await?;
            Value::Array(vault.list_all(integration.as_deref()).await?)
        }
        SecretsCommand::Relabel {
            secret_id,
            binding_key,
            actor,
            database,
        } => {
            relabel(
                &vault(database, None).await?,
                &secret_id,
                &binding_key,
                &actor,
            )
            .await?
        }
        SecretsCommand::Disable {
            secret_id,
            reason,
            actor,
            database,
        } => disable(&vault(database, None).await?, &secret_id, &reason, &actor).await?,
        SecretsCommand::Show {
            secret_id,
            database,
        } => {
            let vault = vault(database, None).await?;
            vault
                .status(&secret_id)
                .await?
                .with_context(|| format!("no secret `{secret_id}`"))?
        }
    };
    outln!("{}", serde_json::to_string_pretty(&output)?)?;
    Ok(())
}

async fn vault(database: DatabaseArgs, key: Option<Arc<MasterKey>>) -> anyhow::Result<Vault> {
    Ok(Vault::new(database.open().await?, key))
}

/// Writes the value `args` name, encrypted under `key` (the service's
/// master key, from its variable).
async fn put(args: PutArgs, key: Option<MasterKey>) -> anyhow::Result<Value> {
    let name = args.name.trim().to_string();
    let binding_key = args
        .binding_key
        .as_deref()
        .map(str::trim)
        .unwrap_or(&name)
        .to_string();
    let target = SecretTarget {
        scope: SecretScope::for_target(&args.context, &args.instance),
        integration: args.integration.trim().to_string(),
        name,
        context: args.context.trim().to_string(),
        instance: args.instance.trim().to_string(),
    };
    check_binding_key(&binding_key)?;
    let value = read_value(&args.value_file)?;
    check_integration(&target, &binding_key, &value)?;
    let key = key.with_context(|| {
        format!(
            "{} is not set: secret values are encrypted with the service's master key",
            crate::secrets::MASTER_KEY_ENV
        )
    })?;
    let vault = vault(args.database, Some(Arc::new(key))).await?;
    let context = WriteContext {
        actor: args.actor.trim(),
        source: "cli",
        description: args.description.trim(),
        binding_key: &binding_key,
    };
    let trace_id = format!("cli-{}", uuid::Uuid::new_v4());
    let written = vault.write(&target, &value, &context, &trace_id).await?;
    Ok(json!({
        "status": "ok",
        "secret_id": written.secret_id,
        "action": written.action.as_str(),
        "version_id": written.version_id,
    }))
}

async fn relabel(
    vault: &Vault,
    secret_id: &str,
    binding_key: &str,
    actor: &str,
) -> anyhow::Result<Value> {
    let binding_key = binding_key.trim();
    check_binding_key(binding_key)?;
    let status = vault
        .status(secret_id)
        .await?
        .with_context(|| format!("no secret `{secret_id}`"))?;
    // The host reads `dokploy` secrets by these two keys only.
    if status["integration"] == dokploy::INTEGRATION
        && ![dokploy::HOST_KEY, dokploy::TOKEN_KEY].contains(&binding_key)
    {
        anyhow::bail!(
            "`{}` secrets are bound to {} or {} (got `{binding_key}`)",
            dokploy::INTEGRATION,
            dokploy::HOST_KEY,
            dokploy::TOKEN_KEY
        );
    }
    let trace_id = format!("cli-{}", uuid::Uuid::new_v4());
    let done = vault
        .relabel(secret_id, binding_key, actor.trim(), &trace_id)
        .await?;
    Ok(json!({
        "status": "ok",
        "secret_id": done.secret_id,
        "action": done.action,
        "old_binding_key": done.old_binding_key,
        "binding_key": done.binding_key,
        "binding_id": done.binding_id,
    }))
}

async fn disable(
    vault: &Vault,
    secret_id: &str,
    reason: &str,
    actor: &str,
) -> anyhow::Result<Value> {
    let trace_id = format!("cli-{}", uuid::Uuid::new_v4());
    let done = vault
        .disable(secret_id.trim(), reason, actor.trim(), &trace_id)
        .await?;
    Ok(json!({
        "status": "ok",
        "secret_id": done.secret_id,
        "action": done.action,
        "disabled_binding_ids": done.binding_ids,
    }))
}

/// The value, without one trailing line break (what `echo` and editors
/// add). Empty is refused, as the vault would.
fn read_value(path: &Path) -> anyhow::Result<Zeroizing<String>> {
    let mut text = Zeroizing::new(String::new());
    if path == Path::new("-") {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the value from standard input")?;
    } else {
        let mut file = std::fs::File::open(path)
            .with_context(|| format!("cannot open --value-file {}", path.display()))?;
        file.read_to_string(&mut text)
            .with_context(|| format!("cannot read --value-file {}", path.display()))?;
    }
    let trimmed = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    if trimmed.is_empty() {
        anyhow::bail!("the value is empty; a secret needs a value");
    }
    Ok(Zeroizing::new(trimmed.to_string()))
}

/// An environment key: letters, digits and `_`, not starting with a digit.
fn check_binding_key(key: &str) -> anyhow::Result<()> {
    let valid = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        anyhow::bail!(
            "binding key `{key}` is not an environment key (letters, digits and `_`, not starting with a digit)"
        );
    }
    Ok(())
}

/// The integrations the host reads, and what each accepts: a typo in an
/// integration or a Dokploy key would write a secret nothing ever reads.
fn check_integration(target: &SecretTarget, binding_key: &str, value: &str) -> anyhow::Result<()> {
    match target.integration.as_str() {
        dokploy::INTEGRATION => {
            if target.scope != SecretScope::Global {
                anyhow::bail!(
                    "`{}` secrets are global: drop --context and --instance",
                    dokploy::INTEGRATION
                );
            }
            match binding_key {
                dokploy::HOST_KEY => {
                    let token = DokployToken::new("check")?;
                    DokployEndpoint::new(value, token)?;
                }
                dokploy::TOKEN_KEY => {
                    DokployToken::new(value)?;
                }
                other => anyhow::bail!(
                    "`{}` secrets are bound to {} or {} (got `{other}`)",
                    dokploy::INTEGRATION,
                    dokploy::HOST_KEY,
                    dokploy::TOKEN_KEY
                ),
            }
            Ok(())
        }
        RUNTIME_ENVIRONMENT => Ok(()),
        other => anyhow::bail!(
            "--integration must be `{}` or `{RUNTIME_ENVIRONMENT}` (got `{other}`)",
            dokploy::INTEGRATION
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(integration: &str, context: &str) -> SecretTarget {
        SecretTarget {
            scope: SecretScope::for_target(context, ""),
            integration: integration.into(),
            name: "N".into(),
            context: context.into(),
            instance: String::new(),
        }
    }

    #[test]
    fn only_readable_secrets_are_accepted() {
        let global = target("dokploy", "");
        assert!(check_integration(&global, "DOKPLOY_HOST", "https://dokploy.example").is_ok());
        assert!(check_integration(&global, "DOKPLOY_TOKEN", "k").is_ok());
        let error = check_integration(&global, "DOKPLOY_HOST", "dokploy.example").unwrap_err();
        assert!(error.to_string().contains("DOKPLOY_HOST"), "{error}");
        assert!(check_integration(&global, "DOKPLOY_URL", "x").is_err());
        assert!(check_integration(&target("dokploy", "opw"), "DOKPLOY_TOKEN", "k").is_err());
        assert!(check_integration(&target("dokpoly", ""), "DOKPLOY_TOKEN", "k").is_err());
        assert!(check_integration(&target("runtime_environment", "opw"), "API_KEY", "k").is_ok());
        assert!(check_binding_key("GITHUB_TOKEN").is_ok());
        for bad in ["", "1KEY", "A=B", "A B"] {
            assert!(check_binding_key(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn put_writes_versions_and_prints_no_value() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("s.sqlite").display());
        let value_file = dir.path().join("token");
        let args = |value: &str| {
            std::fs::write(&value_file, format!("{value}\n")).expect("value");
            PutArgs {
                integration: "dokploy".into(),
                name: "DOKPLOY_TOKEN".into(),
                binding_key: None,
                context: String::new(),
                instance: String::new(),
                description: "Dokploy API key".into(),
                value_file: value_file.clone(),
                actor: "ops".into(),
                database: DatabaseArgs {
                    database_url: Some(url.clone()),
                },
            }
        };
        let key = || MasterKey::from_text("cli tests key");
        let error = put(args("first-token-1a2b"), None).await.unwrap_err();
        assert!(
            error.to_string().contains(crate::secrets::MASTER_KEY_ENV),
            "{error}"
        );
        let first = put(args("first-token-1a2b"), key()).await.expect("created");
        assert_eq!(first["action"], "created");
        assert_eq!(first["secret_id"], "secret-dokploy-dokploy-token");
        let again = put(args("first-token-1a2b"), key()).await.expect("same");
        assert_eq!(again["action"], "unchanged");
        assert_eq!(again["version_id"], first["version_id"]);
        let rotated = put(args("second-token-3c4d"), key())
            .await
            .expect("rotated");
        assert_eq!(rotated["action"], "rotated");

        let vault = vault(
            DatabaseArgs {
                database_url: Some(url.clone()),
            },
            key().map(Arc::new),
        )
        .await
        .expect("vault");
        let resolved = vault.resolve("dokploy", "", "").await.expect("resolve");
        assert_eq!(resolved["DOKPLOY_TOKEN"].as_str(), "second-token-3c4d");
        let listed = Value::Array(vault.list_all(Some("dokploy")).await.expect("list"));
        assert_eq!(listed[0]["version_count"], 2);
        assert_eq!(listed[0]["updated_by"], "ops");
        let shown = format!("{first}{again}{rotated}{listed}");
        for value in ["first-token-1a2b", "second-token-3c4d"] {
            assert!(!shown.contains(value), "{value} printed: {shown}");
        }
        assert!(
            vault
                .list_all(Some("runtime_environment"))
                .await
                .expect("none")
                .is_empty()
        );
    }

    #[tokio::test]
    async fn a_disabled_secret_resolves_to_nothing_until_a_value_is_written_again() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("s.sqlite").display());
        let value_file = dir.path().join("value");
        let database = || DatabaseArgs {
            database_url: Some(url.clone()),
        };
        let args = |value: &str| {
            std::fs::write(&value_file, value).expect("value");
            PutArgs {
                integration: "runtime_environment".into(),
                name: "API_TOKEN".into(),
                binding_key: None,
                context: "opw".into(),
                instance: String::new(),
                description: String::new(),
                value_file: value_file.clone(),
                actor: "ops".into(),
                database: database(),
            }
        };
        let key = || MasterKey::from_text("cli disable tests key");
        let written = put(args("leaked-value-9f8e"), key()).await.expect("put");
        let id = written["secret_id"].as_str().expect("id").to_string();
        let vault = vault(database(), key().map(Arc::new)).await.expect("vault");
        let resolved = vault.resolve("runtime_environment", "opw", "prod");
        assert_eq!(resolved.await.expect("resolve").len(), 1);

        // A reason is required, and an unknown secret is named.
        let error = disable(&vault, &id, " ", "ops").await.unwrap_err();
        assert!(error.to_string().contains("reason"), "{error}");
        let error = disable(&vault, "secret-nope", "leak", "ops")
            .await
            .unwrap_err();
        assert!(error.to_string().contains("secret-nope"), "{error}");

        let done = disable(&vault, &id, "leaked in a build log", "alice")
            .await
            .expect("disabled");
        assert_eq!(done["action"], "disabled");
        assert_eq!(
            done["disabled_binding_ids"].as_array().map(Vec::len),
            Some(1)
        );
        let resolved = vault.resolve("runtime_environment", "opw", "prod");
        assert!(resolved.await.expect("resolve").is_empty());
        let shown = vault.status(&id).await.expect("status").expect("found");
        assert_eq!(shown["status"], "disabled");
        assert_eq!(shown["updated_by"], "alice");
        // The read model shows the configured binding only; there is none.
        assert_eq!(shown["binding"], Value::Null);
        let event = &shown["recent_audit_events"][0];
        assert_eq!(event["event_type"], "disabled");
        assert_eq!(event["metadata"]["reason"], "leaked in a build log");
        assert_eq!(event["metadata"]["binding_keys"], "API_TOKEN");
        let again = disable(&vault, &id, "again", "alice").await.expect("again");
        assert_eq!(again["action"], "unchanged");

        // Writing the same value configures it again, as a new version.
        let rewritten = put(args("leaked-value-9f8e"), key()).await.expect("put");
        assert_eq!(rewritten["action"], "rotated");
        assert_ne!(rewritten["version_id"], written["version_id"]);
        let resolved = vault.resolve("runtime_environment", "opw", "prod").await;
        let resolved = resolved.expect("resolve");
        assert_eq!(resolved["API_TOKEN"].as_str(), "leaked-value-9f8e");
        let shown = vault.status(&id).await.expect("status").expect("found");
        assert_eq!(shown["status"], "configured");
        assert_eq!(shown["binding"]["status"], "configured");
        assert_eq!(shown["version_count"], 2);
        let text = format!("{done}{again}{shown}");
        assert!(!text.contains("leaked-value-9f8e"), "{text}");
    }

    #[test]
    fn values_lose_one_trailing_line_break_and_must_not_be_empty() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("v");
        std::fs::write(&file, "value\n").expect("write");
        assert_eq!(read_value(&file).expect("read").as_str(), "value");
        std::fs::write(&file, "two\n\n").expect("write");
        assert_eq!(read_value(&file).expect("read").as_str(), "two\n");
        std::fs::write(&file, "\r\n").expect("write");
        assert!(read_value(&file).is_err());
        assert!(read_value(&dir.path().join("absent")).is_err());
    }
}
