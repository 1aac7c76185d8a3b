//! `launchplane lanes list | release`: the lane leases of in-request
//! mutations, at a terminal with the database. `release` is the repair for
//! a lane whose host died or hangs: it frees the lease at once (instead of
//! within one lease, 30 s by default) and writes an audit event with the
//! operator's reason. The same over HTTP is `POST /v1/lanes/release`.

use super::exit::outln;
use clap::Subcommand;

use super::secrets::DatabaseArgs;
use crate::records::AuditEvent;

#[derive(Debug, Clone, Subcommand)]
pub enum LanesCommand {
    /// Live leases in one context: which action holds which lane since when.
    List {
        /// Lane context (a context of the product profile).
        #[arg(long)]
        context: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Free one lane's lease now (audited).
    Release {
        /// Product id.
        #[arg(long)]
        product: String,
        /// Lane context (a context of the product profile).
        #[arg(long)]
        context: String,
        /// Lane instance (`testing`, `prod`, …).
        #[arg(long)]
        instance: String,
        /// Why (kept in the audit event).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

pub async fn run(command: LanesCommand) -> anyhow::Result<()> {
    match command {
        LanesCommand::List { context, database } => {
            let store = database.open().await?;
            let leases = store.live_lane_leases(context.trim()).await?;
            if leases.is_empty() {
                outln!("no lane of context `{}` is held", context.trim())?;
            }
            for lease in leases {
                outln!(
                    "{}/{}/{}  {}.{}  trace {}  since {}",
                    lease.product,
                    lease.context,
                    lease.instance,
                    lease.driver_id,
                    lease.action_id,
                    lease.trace_id,
                    lease.acquired_at
                )?;
            }
            Ok(())
        }
        LanesCommand::Release {
            product,
            context,
            instance,
            reason,
            database,
        } => {
            let (product, context, instance, reason) = (
                product.trim(),
                context.trim(),
                instance.trim(),
                reason.trim(),
            );
            if reason.is_empty() {
                anyhow::bail!("--reason must say why the lane is released");
            }
            let store = database.open().await?;
            let freed = store.force_release_lane(product, context, instance).await?;
            let trace_id = format!("launchplane_cli_{}", uuid::Uuid::new_v4().simple());
            let mut event = AuditEvent::new(
                &trace_id,
                "CLI",
                "launchplane lanes release",
                crate::ops::lanes::ACTION,
                "accepted",
                202,
            );
            event.caller_kind = "local_operator".to_string();
            event.caller_subject = std::env::var("USER").unwrap_or_default();
            event.product = product.to_string();
            event.context = context.to_string();
            event.instance = instance.to_string();
            event.record_ids = freed
                .iter()
                .map(|l| format!("lane_lease/{}", l.lease_id))
                .collect();
            event.detail = crate::ops::lanes::audit_detail(reason, freed.as_ref());
            store.append_audit_event(&event).await?;
            match freed {
                Some(lease) => outln!(
                    "released {product}/{context}/{instance}: held by {}.{} (trace {}) since {}",
                    lease.driver_id,
                    lease.action_id,
                    lease.trace_id,
                    lease.acquired_at
                )?,
                None => outln!("{product}/{context}/{instance} was not held")?,
            }
            Ok(())
        }
    }
}
