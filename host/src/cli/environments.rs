//! `launchplane environments list | resolve | put | unset | delete-record`:
//! runtime environment records (plain per-lane settings, reference §6.11)
//! at a terminal.
//!
//! Writes are read-change-write with the read repeated inside the write
//! (`RecordWrite::ReplaceIf` / `DeleteIf`), so a concurrent change (a
//! product-config apply, another operator) makes this command fail rather
//! than be overwritten. Nothing prints a value except `resolve`, which an
//! operator runs to see what a lane gets; secret-shaped keys are refused on
//! write (they belong in managed secrets), so no value here is a secret.

use super::exit::outln;
use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::secrets::DatabaseArgs;
use crate::providers::{DeployProvider, live_env, provider_from_env};
use crate::records::Lane;
use crate::records::models::runtime_environment::{
    DELETE_EVENT_KIND, EnvironmentScope, RuntimeEnvironmentDeleteEvent, RuntimeEnvironmentRecord,
    check_entry, merge_env, scalar_text,
};
use crate::records::{RecordWrite, Store, StoredRecord, runtime_environment_write};
use crate::secrets::{MasterKey, Vault};

/// The product column of the operator's own writes.
const OPERATOR_PRODUCT: &str = "launchplane";

#[derive(Debug, Clone, Subcommand)]
pub enum EnvironmentsCommand {
    /// Every record: scope, keys and counts, never values.
    List {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// What a lane gets: global, then context, then instance records
    /// merged, with the scope that set each key.
    Resolve {
        /// Lane context (a context of the product profile).
        #[arg(long)]
        context: String,
        /// Lane instance (`testing`, `prod`, …).
        #[arg(long)]
        instance: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Set keys on one scope's record (created when missing); other keys
    /// stay.
    Put {
        #[command(flatten)]
        target: TargetArgs,
        /// `KEY=VALUE`, one or more.
        #[arg(required = true, value_name = "KEY=VALUE")]
        entries: Vec<String>,
        /// Where the values came from, as kept on the record.
        #[arg(long, default_value = "cli")]
        source_label: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Remove keys from one scope's record. A record cannot be emptied
    /// this way: remove it with `delete-record`.
    Unset {
        #[command(flatten)]
        target: TargetArgs,
        /// Keys to remove.
        #[arg(required = true, value_name = "KEY")]
        keys: Vec<String>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Push a lane's resolved environment (records, then its
    /// `runtime_environment` secrets) to its provider target: sets keys
    /// that are missing or differ, removes nothing, deploys nothing. A dry
    /// run (key names only) unless `--apply`. Uses `LAUNCHPLANE_PROVIDER`
    /// and, for secrets, `LAUNCHPLANE_MASTER_ENCRYPTION_KEY`.
    ApplyLiveTarget {
        /// Lane context (a context of the product profile).
        #[arg(long)]
        context: String,
        /// Lane instance (`testing`, `prod`, …).
        #[arg(long)]
        instance: String,
        /// Make the change; without it, a dry run that only shows what would change.
        #[arg(long)]
        apply: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Delete one scope's record and record a delete event (key names
    /// only). A dry run unless `--apply`.
    DeleteRecord {
        #[command(flatten)]
        target: TargetArgs,
        /// Make the change; without it, a dry run that only shows what would change.
        #[arg(long)]
        apply: bool,
        /// Refuse unless the record still has this `updated_at` (from the
        /// dry run), so what was reviewed is what is deleted.
        #[arg(long)]
        expect_updated_at: Option<String>,
        /// Why (kept in the event's `detail`).
        #[arg(long, default_value = "")]
        reason: String,
        /// Who acts, as kept in the audit record.
        #[arg(long, default_value = "launchplane-cli")]
        actor: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

/// Which record: none of the flags for the global one, `--context` for a
/// context's, both for an instance's.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// Lane context (a context of the product profile).
    #[arg(long, default_value = "")]
    context: String,
    /// Lane instance (`testing`, `prod`, …).
    #[arg(long, default_value = "")]
    instance: String,
}

impl TargetArgs {
    fn scope(&self) -> anyhow::Result<EnvironmentScope> {
        if self.context.trim().is_empty() && !self.instance.trim().is_empty() {
            anyhow::bail!("--instance needs --context");
        }
        Ok(EnvironmentScope::for_target(
            self.context.trim(),
            self.instance.trim(),
        ))
    }
}

pub async fn run(command: EnvironmentsCommand) -> anyhow::Result<()> {
    let output = match command {
        EnvironmentsCommand::List { database } => list(&database.open().await?).await?,
        EnvironmentsCommand::Resolve {
            context,
            instance,
            database,
        } => resolve(&database.open().await?, context.trim(), instance.trim()).await?,
        EnvironmentsCommand::Put {
            target,
            entries,
            source_label,
            database,
        } => put(&database.open().await?, &target, &entries, &source_label).await?,
        EnvironmentsCommand::Unset {
            target,
            keys,
            database,
        } => unset(&database.open().await?, &target, &keys).await?,
        EnvironmentsCommand::ApplyLiveTarget {
            context,
            instance,
            apply,
            database,
        } => {
            let store = database.open().await?;
            let vault = Vault::new(store.clone(), MasterKey::from_env().map(Arc::new));
            let provider = provider_from_env(&store, &vault)?
                .context("LAUNCHPLANE_PROVIDER is not set: there is no target to apply to")?;
            let lane = Lane {
                context: context.trim().to_string(),
                instance: instance.trim().to_string(),
            };
            apply_live_target(&store, &vault, provider.as_ref(), &lane, apply).await?
        }
        EnvironmentsCommand::DeleteRecord {
            target,
            apply,
            expect_updated_at,
            reason,
            actor,
            database,
        } => {
            let deletion = Deletion {
                apply,
                expect_updated_at: expect_updated_at.as_deref(),
                reason: &reason,
                actor: &actor,
            };
            delete_record(&database.open().await?, &target, &deletion).await?
        }
    };
    outln!("{}", serde_json::to_string_pretty(&output)?)?;
    Ok(())
}

/// A record as listings show it: keys and counts, no values.
fn summary(record: &RuntimeEnvironmentRecord) -> Value {
    json!({
        "scope": record.scope,
        "context": record.context,
        "instance": record.instance,
        "updated_at": record.updated_at,
        "source_label": record.source_label,
        "env_keys": record.keys(),
        "env_value_count": record.env.len(),
    })
}

async fn list(store: &Store) -> anyhow::Result<Value> {
    let records = store.list_runtime_environments().await?;
    Ok(Value::Array(records.iter().map(summary).collect()))
}

async fn resolve(store: &Store, context: &str, instance: &str) -> anyhow::Result<Value> {
    if context.is_empty() || instance.is_empty() {
        anyhow::bail!("resolve needs both --context and --instance (a lane)");
    }
    let mut env = BTreeMap::new();
    let mut sources = BTreeMap::new();
    for record in store.lane_runtime_environments(context, instance).await? {
        for (key, value) in &record.env {
            env.insert(key.clone(), scalar_text(value));
            sources.insert(key.clone(), record.scope);
        }
    }
    Ok(json!({"context": context, "instance": instance, "env": env, "sources": sources}))
}

async fn put(
    store: &Store,
    target: &TargetArgs,
    entries: &[String],
    source_label: &str,
) -> anyhow::Result<Value> {
    let scope = target.scope()?;
    let mut updates = BTreeMap::new();
    for entry in entries {
        let (key, value) = entry
            .split_once('=')
            .with_context(|| format!("`{entry}` is not KEY=VALUE"))?;
        let value = Value::String(value.to_string());
        check_entry(key, &value)?;
        updates.insert(key.to_string(), value);
    }
    let (context, instance) = (target.context.trim(), target.instance.trim());
    let existing = store.runtime_environment(scope, context, instance).await?;
    let merge = merge_env(existing.as_ref().map(|e| &e.record.env), &updates);
    let action = match (&existing, merge.changed.is_empty()) {
        (None, _) => "created",
        (Some(_), false) => "updated",
        (Some(_), true) => "unchanged",
    };
    let record = RuntimeEnvironmentRecord {
        schema_version: 1,
        scope,
        context: context.to_string(),
        instance: instance.to_string(),
        env: merge.merged,
        updated_at: crate::time::now_rfc3339_micros(),
        source_label: source_label.trim().to_string(),
    };
    record.validate()?;
    if action != "unchanged" {
        let write = runtime_environment_write(existing.as_ref(), &record, OPERATOR_PRODUCT);
        store.write_records(&[write], &trace_id()).await?;
    }
    Ok(json!({
        "status": "ok",
        "action": action,
        "scope": scope,
        "context": context,
        "instance": instance,
        "changed_keys": merge.changed,
        "unchanged_keys": merge.unchanged,
        "env_value_count": record.env.len(),
    }))
}

async fn unset(store: &Store, target: &TargetArgs, keys: &[String]) -> anyhow::Result<Value> {
    let scope = target.scope()?;
    let (context, instance) = (target.context.trim(), target.instance.trim());
    let existing = store
        .runtime_environment(scope, context, instance)
        .await?
        .with_context(|| no_record(scope, context, instance))?;
    let mut record = existing.record.clone();
    let (mut removed, mut missing) = (Vec::new(), Vec::new());
    for key in keys {
        match record.env.remove(key) {
            Some(_) => removed.push(key.clone()),
            None => missing.push(key.clone()),
        }
    }
    if record.env.is_empty() {
        anyhow::bail!(
            "unsetting {} would leave the {} record empty; remove the record with \
             `launchplane environments delete-record`",
            removed.join(", "),
            scope.as_str()
        );
    }
    if !removed.is_empty() {
        record.updated_at = crate::time::now_rfc3339_micros();
        let write = runtime_environment_write(Some(&existing), &record, OPERATOR_PRODUCT);
        store.write_records(&[write], &trace_id()).await?;
    }
    Ok(json!({
        "status": "ok",
        "action": if removed.is_empty() { "unchanged" } else { "updated" },
        "scope": scope,
        "context": context,
        "instance": instance,
        "removed_keys": removed,
        "missing_keys": missing,
        "env_value_count": record.env.len(),
    }))
}

async fn apply_live_target(
    store: &Store,
    vault: &Vault,
    provider: &dyn DeployProvider,
    lane: &Lane,
    apply: bool,
) -> anyhow::Result<Value> {
    let plan = live_env::plan(store, vault, provider, lane).await?;
    if apply {
        live_env::apply(provider, &plan).await?;
    }
    let mut output = plan.summary();
    output["status"] = json!("ok");
    output["mode"] = json!(if apply { "apply" } else { "dry-run" });
    output["deployed"] = json!(false);
    Ok(output)
}

/// How `delete-record` runs.
struct Deletion<'a> {
    apply: bool,
    expect_updated_at: Option<&'a str>,
    reason: &'a str,
    actor: &'a str,
}

async fn delete_record(
    store: &Store,
    target: &TargetArgs,
    deletion: &Deletion<'_>,
) -> anyhow::Result<Value> {
    let scope = target.scope()?;
    let (context, instance) = (target.context.trim(), target.instance.trim());
    let existing = store
        .runtime_environment(scope, context, instance)
        .await?
        .with_context(|| no_record(scope, context, instance))?;
    if let Some(expected) = deletion.expect_updated_at
        && expected != existing.record.updated_at
    {
        anyhow::bail!(
            "the {} record changed since it was reviewed (updated_at {}, expected {expected}); \
             run the dry run again",
            scope.as_str(),
            existing.record.updated_at
        );
    }
    let mut output = summary(&existing.record);
    output["status"] = json!("ok");
    output["mode"] = json!(if deletion.apply { "apply" } else { "dry-run" });
    if deletion.apply {
        let event = RuntimeEnvironmentDeleteEvent::for_record(
            &existing.record,
            deletion.actor.trim(),
            "cli",
            deletion.reason.trim(),
        );
        let mut row = StoredRecord::new(
            DELETE_EVENT_KIND,
            &event.event_id,
            OPERATOR_PRODUCT,
            serde_json::to_value(&event)?,
        );
        row.context = event.context.clone();
        row.instance = event.instance.clone();
        let writes = [
            existing.delete(),
            RecordWrite::Append {
                record: row,
                allow_transition: false,
            },
        ];
        store.write_records(&writes, &trace_id()).await?;
        output["event_id"] = json!(event.event_id);
    }
    Ok(output)
}

fn no_record(scope: EnvironmentScope, context: &str, instance: &str) -> String {
    match scope {
        EnvironmentScope::Global => "no global runtime environment record".to_string(),
        EnvironmentScope::Context => {
            format!("no runtime environment record for context `{context}`")
        }
        EnvironmentScope::Instance => {
            format!("no runtime environment record for instance `{context}/{instance}`")
        }
    }
}

fn trace_id() -> String {
    format!("cli-{}", uuid::Uuid::new_v4())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lane(context: &str, instance: &str) -> TargetArgs {
        TargetArgs {
            context: context.into(),
            instance: instance.into(),
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[tokio::test]
    async fn put_unset_resolve_and_delete_a_record() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("e.sqlite").display());
        let store = Store::open(&url).await.expect("store");

        let out = put(
            &store,
            &lane("", ""),
            &strings(&["REGION=eu", "WORKERS=2"]),
            "ops",
        )
        .await
        .expect("global");
        assert_eq!(out["action"], "created");
        let out = put(
            &store,
            &lane("opw", ""),
            &strings(&["WORKERS=4", "MODE=a=b"]),
            "ops",
        )
        .await
        .expect("context");
        assert_eq!(out["changed_keys"], json!(["MODE", "WORKERS"]));
        assert!(!out.to_string().contains("a=b"), "put never echoes a value");
        let again = put(&store, &lane("opw", ""), &strings(&["WORKERS=4"]), "ops")
            .await
            .expect("same");
        assert_eq!(again["action"], "unchanged");

        let resolved = resolve(&store, "opw", "prod").await.expect("resolve");
        assert_eq!(
            resolved["env"],
            json!({"MODE": "a=b", "REGION": "eu", "WORKERS": "4"})
        );
        assert_eq!(resolved["sources"]["WORKERS"], "context");
        assert_eq!(resolved["sources"]["REGION"], "global");
        assert!(
            resolve(&store, "opw", "").await.is_err(),
            "a lane needs both"
        );

        // Refusals name the rule and write nothing.
        for (target, entries) in [
            (lane("opw", ""), strings(&["GITHUB_TOKEN=x"])),
            (lane("opw", ""), strings(&["NOEQUALS"])),
            (lane("", "prod"), strings(&["A=1"])),
            (lane("o:w", ""), strings(&["A=1"])),
        ] {
            assert!(
                put(&store, &target, &entries, "ops").await.is_err(),
                "{entries:?}"
            );
        }
        assert_eq!(
            list(&store).await.expect("list").as_array().map(Vec::len),
            Some(2)
        );

        let out = unset(&store, &lane("opw", ""), &strings(&["MODE", "ABSENT"]))
            .await
            .expect("unset");
        assert_eq!(
            (out["removed_keys"].clone(), out["missing_keys"].clone()),
            (json!(["MODE"]), json!(["ABSENT"]))
        );
        let error = unset(&store, &lane("opw", ""), &strings(&["WORKERS"]))
            .await
            .expect_err("would be empty");
        assert!(error.to_string().contains("delete-record"), "{error}");

        // A dry run deletes nothing; a stale review is refused; then the
        // record goes and an event with key names (no values) stays.
        let dry = Deletion {
            apply: false,
            expect_updated_at: None,
            reason: "",
            actor: "ops",
        };
        let reviewed = delete_record(&store, &lane("opw", ""), &dry)
            .await
            .expect("dry");
        assert_eq!(reviewed["mode"], "dry-run");
        let stale = Deletion {
            apply: true,
            expect_updated_at: Some("2000-01-01T00:00:00Z"),
            reason: "",
            actor: "ops",
        };
        assert!(
            delete_record(&store, &lane("opw", ""), &stale)
                .await
                .is_err()
        );
        let updated_at = reviewed["updated_at"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let apply = Deletion {
            apply: true,
            expect_updated_at: Some(&updated_at),
            reason: "tenant retired",
            actor: "ops",
        };
        let done = delete_record(&store, &lane("opw", ""), &apply)
            .await
            .expect("apply");
        assert_eq!(done["mode"], "apply");
        let resolved = resolve(&store, "opw", "prod").await.expect("resolve");
        assert_eq!(resolved["env"], json!({"REGION": "eu", "WORKERS": "2"}));
        let events = store
            .list_records(DELETE_EVENT_KIND, &crate::records::RecordQuery::default())
            .await
            .expect("events");
        assert_eq!(events.len(), 1);
        let event = &events[0].document;
        assert_eq!(event["env_keys"], json!(["WORKERS"]));
        assert_eq!(event["detail"], "tenant retired");
        assert!(!event.to_string().contains("\"4\""));
        assert!(
            delete_record(&store, &lane("opw", ""), &dry).await.is_err(),
            "gone"
        );
    }

    #[tokio::test]
    async fn a_lane_environment_goes_to_its_target_with_secrets_but_shows_keys_only() {
        use crate::providers::SimulatedProvider;
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("l.sqlite").display());
        let store = Store::open(&url).await.expect("store");
        let key = MasterKey::from_text("live env key").map(Arc::new);
        let vault = Vault::new(store.clone(), key);
        let provider = SimulatedProvider::new(store.clone()).auto_targets(true);
        let prod = Lane {
            context: "opw".into(),
            instance: "prod".into(),
        };
        provider
            .update_env(
                &prod,
                &[
                    ("KEEP".into(), "mine".into()),
                    ("WORKERS".into(), "1".into()),
                ],
                &[],
            )
            .await
            .expect("seed target");
        put(
            &store,
            &lane("opw", ""),
            &strings(&["WORKERS=4", "REGION=eu"]),
            "ops",
        )
        .await
        .expect("records");
        let target = crate::secrets::SecretTarget {
            scope: crate::secrets::SecretScope::ContextInstance,
            integration: "runtime_environment".into(),
            name: "API_TOKEN".into(),
            context: "opw".into(),
            instance: "prod".into(),
        };
        let write = crate::secrets::WriteContext {
            actor: "ops",
            source: "cli",
            description: "",
            binding_key: "API_TOKEN",
        };
        vault
            .write(&target, "token-value-93ab", &write, "t")
            .await
            .expect("secret");

        let dry = apply_live_target(&store, &vault, &provider, &prod, false)
            .await
            .expect("plan");
        assert_eq!(
            dry["keys_to_set"],
            json!(["API_TOKEN", "REGION", "WORKERS"])
        );
        assert_eq!(dry["unmanaged_keys"], json!(["KEEP"]));
        assert_eq!(dry["secret_keys"], json!(["API_TOKEN"]));
        assert_eq!(provider.read_env(&prod).await.expect("env")["WORKERS"], "1");

        let applied = apply_live_target(&store, &vault, &provider, &prod, true)
            .await
            .expect("apply");
        for shown in [&dry, &applied] {
            let text = shown.to_string();
            assert!(
                !text.contains("token-value-93ab") && !text.contains("\"eu\""),
                "{text}"
            );
        }
        let env = provider.read_env(&prod).await.expect("env");
        assert_eq!(env["API_TOKEN"], "token-value-93ab");
        assert_eq!(
            (env["WORKERS"].as_str(), env["KEEP"].as_str()),
            ("4", "mine")
        );

        let again = apply_live_target(&store, &vault, &provider, &prod, false)
            .await
            .expect("plan");
        assert_eq!(again["change_count"], 0);

        // A secret the service cannot decrypt fails closed, naming no value.
        let stranger = Vault::new(store.clone(), MasterKey::from_text("other").map(Arc::new));
        let error = apply_live_target(&store, &stranger, &provider, &prod, true)
            .await
            .expect_err("undecryptable");
        assert!(error.to_string().contains("could not decrypt"), "{error}");
    }
}
