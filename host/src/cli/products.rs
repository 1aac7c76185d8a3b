//! `launchplane products list | show | activity | environments |
//! environment | config-status`: the product read models of a running
//! service, as JSON (the service's answer, unchanged) or, with
//! `--output table`, as readable tables.

use std::time::{Duration, Instant};

use anyhow::anyhow;
use clap::{Args, Subcommand, ValueEnum};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde_json::Value;

use super::drivers::RemoteArgs;
use super::exit::{out, outln};
use crate::client::{self, Console, Env, RetryPolicy, ServiceUrl};

/// How a read is printed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// The service's JSON answer, pretty-printed.
    #[default]
    Json,
    /// A readable table.
    Table,
}

/// Where to read and how to print.
#[derive(Debug, Clone, Args)]
pub struct ReadArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// `json` (default) or `table`.
    #[arg(long, value_enum, default_value_t = Output::Json)]
    pub output: Output,
}

#[derive(Debug, Subcommand)]
pub enum ProductsCommand {
    /// Every product with its lanes (`GET /v1/products`).
    List(ReadArgs),
    /// One product's overview (`GET /v1/products/{product}`).
    Show {
        /// The product.
        product: String,
        #[command(flatten)]
        args: ReadArgs,
    },
    /// A product's recent activity (`GET /v1/products/{product}/activity`).
    Activity {
        /// The product.
        product: String,
        /// At most this many events (1-500; the service's default is 50).
        #[arg(long)]
        limit: Option<u32>,
        #[command(flatten)]
        args: ReadArgs,
    },
    /// A product's lanes (`GET /v1/products/{product}/environments`).
    Environments {
        /// The product.
        product: String,
        #[command(flatten)]
        args: ReadArgs,
    },
    /// One lane, values redacted
    /// (`GET /v1/products/{product}/environments/{environment}`).
    Environment {
        /// The product.
        product: String,
        /// The lane's instance (`testing`, `prod`).
        environment: String,
        #[command(flatten)]
        args: ReadArgs,
    },
    /// A lane's expected configuration: configured, missing or disabled
    /// (`…/environments/{environment}/config-status`).
    ConfigStatus {
        /// The product.
        product: String,
        /// The lane's instance (`testing`, `prod`).
        environment: String,
        #[command(flatten)]
        args: ReadArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ArtifactsCommand {
    /// The artifacts a registry cleanup must keep, as a deny list
    /// (`GET /v1/artifacts/protected`).
    Protected {
        /// The product.
        #[arg(long)]
        product: String,
        /// Only this context of the product (else the whole product, which
        /// needs a grant on context `*`).
        #[arg(long)]
        context: Option<String>,
        /// Days of history kept protected (service default 30).
        #[arg(long)]
        retention_days: Option<u32>,
        #[command(flatten)]
        args: ReadArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// The service's policy digests, audience, storage backend, image and
    /// loaded drivers (`GET /v1/service/runtime`).
    Runtime(ReadArgs),
}

/// How long one read may take.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// GET `path` on the service of `args`; the JSON answer, or the service's
/// refusal as the error.
pub async fn read(args: &ReadArgs, path: &str) -> anyhow::Result<Value> {
    let url = args
        .remote
        .service_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| anyhow!("--service-url (or LAUNCHPLANE_SERVICE_URL) is required"))?;
    let console = Console::stdio();
    let service = ServiceUrl::parse(url).map_err(|e| anyhow!(e.message))?;
    let remote = client::connect(
        service,
        None,
        args.remote.token_file.clone(),
        &Env::process(),
        &console,
        RetryPolicy::default(),
        Some(Instant::now() + READ_TIMEOUT),
    )
    .await
    .map_err(|e| anyhow!(e.message))?;
    let reply = remote
        .get(path, &console)
        .await
        .map_err(|e| anyhow!(e.message))?;
    if !reply.is_success() {
        return Err(anyhow!("GET {path}: {}", reply.describe()));
    }
    Ok(reply.body)
}

/// Prints `body` as JSON, or `table(body)` for `--output table`.
pub fn print(output: Output, body: &Value, table: impl Fn(&Value) -> String) -> anyhow::Result<()> {
    match output {
        Output::Json => outln!("{}", serde_json::to_string_pretty(body)?)?,
        Output::Table => out!("{}", table(body))?,
    }
    Ok(())
}

/// A table with `header` and `rows`, ending with a newline.
pub fn table(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED);
    table.set_header(header.to_vec());
    for row in rows {
        table.add_row(row);
    }
    format!("{table}\n")
}

/// `value[key]` as text (strings as is, anything else as JSON).
pub fn cell(value: &Value, key: &str) -> String {
    match &value[key] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn rows<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    value[key].as_array().into_iter().flatten()
}

fn environments_table(product: &Value) -> String {
    table(
        &["ENVIRONMENT", "CONTEXT", "BASE URL", "TRUST", "SOURCE"],
        rows(product, "environments").map(|e| {
            vec![
                cell(e, "environment"),
                cell(e, "context"),
                cell(e, "base_url"),
                cell(e, "trust_state"),
                cell(&e["provenance"], "source_record_id"),
            ]
        }),
    )
}

fn actions_table(view: &Value) -> String {
    table(
        &["ACTION", "SAFETY", "ENABLED", "WHY NOT"],
        rows(view, "available_actions").map(|a| {
            let reasons: Vec<&str> = rows(a, "disabled_reasons")
                .filter_map(Value::as_str)
                .collect();
            vec![
                cell(a, "action_id"),
                cell(a, "safety"),
                cell(a, "enabled"),
                reasons.join(" "),
            ]
        }),
    )
}

fn products_table(body: &Value) -> String {
    table(
        &[
            "PRODUCT",
            "DRIVER",
            "REPOSITORY",
            "LANES",
            "PREVIEWS",
            "TRUST",
        ],
        rows(body, "products").map(|p| {
            let lanes: Vec<String> = rows(p, "environments")
                .map(|e| format!("{}@{}", cell(e, "environment"), cell(e, "context")))
                .collect();
            vec![
                cell(p, "product"),
                cell(p, "driver_id"),
                cell(p, "repository"),
                lanes.join(", "),
                cell(&p["preview"], "active_count"),
                cell(p, "trust_state"),
            ]
        }),
    )
}

fn product_table(body: &Value) -> String {
    let product = &body["product"];
    format!("{}{}", environments_table(product), actions_table(product))
}

fn activity_table(body: &Value) -> String {
    table(
        &[
            "WHEN",
            "EVENT",
            "CONTEXT",
            "ENVIRONMENT",
            "STATUS",
            "RECORD",
        ],
        rows(&body["activity"], "events").map(|e| {
            vec![
                cell(e, "occurred_at"),
                cell(e, "event_type"),
                cell(e, "context"),
                cell(e, "environment"),
                cell(e, "status"),
                rows(e, "records")
                    .next()
                    .map(|r| cell(r, "record_id"))
                    .unwrap_or_default(),
            ]
        }),
    )
}

fn environment_table(body: &Value) -> String {
    let env = &body["environment"];
    let settings = table(
        &["SCOPE", "CONTEXT", "INSTANCE", "KEYS", "UPDATED"],
        rows(env, "runtime_settings").map(|s| {
            let keys: Vec<&str> = rows(s, "env_keys").filter_map(Value::as_str).collect();
            vec![
                cell(s, "scope"),
                cell(s, "context"),
                cell(s, "instance"),
                keys.join(", "),
                cell(s, "updated_at"),
            ]
        }),
    );
    let secrets = table(
        &[
            "BINDING KEY",
            "INTEGRATION",
            "CONTEXT",
            "INSTANCE",
            "STATUS",
        ],
        rows(env, "managed_secrets").map(|s| {
            vec![
                cell(s, "binding_key"),
                cell(s, "integration"),
                cell(s, "context"),
                cell(s, "instance"),
                cell(s, "status"),
            ]
        }),
    );
    format!(
        "{} {} ({}), trust {}\n{settings}{secrets}{}",
        cell(env, "product"),
        cell(env, "environment"),
        cell(env, "context"),
        cell(env, "trust_state"),
        actions_table(env)
    )
}

fn config_status_table(body: &Value) -> String {
    let status = &body["config_status"];
    let runtime = rows(status, "runtime_settings").map(|s| {
        vec![
            "runtime key".to_string(),
            cell(s, "key"),
            cell(s, "status"),
            cell(s, "context"),
            cell(s, "instance"),
        ]
    });
    let secrets = rows(status, "managed_secrets").map(|s| {
        vec![
            "managed secret".to_string(),
            cell(s, "binding_key"),
            cell(s, "status"),
            cell(s, "context"),
            cell(s, "instance"),
        ]
    });
    table(
        &["KIND", "KEY", "STATUS", "CONTEXT", "INSTANCE"],
        runtime.chain(secrets),
    )
}

/// `value` as a path segment: an id (`A-Z a-z 0-9 . _ -`), so nothing
/// needs escaping and a slash cannot reach another route.
pub fn segment<'a>(field: &str, value: &'a str) -> anyhow::Result<&'a str> {
    crate::records::hygiene::check_id(field, value).map_err(|e| anyhow!("{e}"))?;
    Ok(value)
}

/// Runs a `products` command.
pub async fn run(command: ProductsCommand) -> anyhow::Result<()> {
    match command {
        ProductsCommand::List(args) => {
            let body = read(&args, "/v1/products").await?;
            print(args.output, &body, products_table)
        }
        ProductsCommand::Show { product, args } => {
            let body = read(
                &args,
                &format!("/v1/products/{}", segment("product", &product)?),
            )
            .await?;
            print(args.output, &body, product_table)
        }
        ProductsCommand::Activity {
            product,
            limit,
            args,
        } => {
            let mut path = format!("/v1/products/{}/activity", segment("product", &product)?);
            if let Some(limit) = limit {
                path.push_str(&format!("?limit={limit}"));
            }
            let body = read(&args, &path).await?;
            print(args.output, &body, activity_table)
        }
        ProductsCommand::Environments { product, args } => {
            let path = format!(
                "/v1/products/{}/environments",
                segment("product", &product)?
            );
            let body = read(&args, &path).await?;
            print(args.output, &body, environments_table)
        }
        ProductsCommand::Environment {
            product,
            environment,
            args,
        } => {
            let path = format!(
                "/v1/products/{}/environments/{}",
                segment("product", &product)?,
                segment("environment", &environment)?
            );
            let body = read(&args, &path).await?;
            print(args.output, &body, environment_table)
        }
        ProductsCommand::ConfigStatus {
            product,
            environment,
            args,
        } => {
            let path = format!(
                "/v1/products/{}/environments/{}/config-status",
                segment("product", &product)?,
                segment("environment", &environment)?
            );
            let body = read(&args, &path).await?;
            print(args.output, &body, config_status_table)
        }
    }
}

fn protected_table(body: &Value) -> String {
    let set = &body["protected_artifacts"];
    let mut text = table(
        &[
            "REASON", "CONTEXT", "INSTANCE", "ARTIFACT", "IMAGES", "SOURCE",
        ],
        rows(set, "entries").map(|e| {
            let images: Vec<&str> = rows(e, "image_references")
                .filter_map(Value::as_str)
                .collect();
            vec![
                cell(e, "reason"),
                cell(e, "context"),
                cell(e, "instance"),
                cell(e, "artifact_id"),
                images.join("\n"),
                format!(
                    "{} {}",
                    cell(e, "source_record_type"),
                    cell(e, "source_record_id")
                ),
            ]
        }),
    );
    for warning in rows(set, "warnings").filter_map(Value::as_str) {
        text.push_str(&format!("warning: {warning}\n"));
    }
    text
}

fn runtime_table(body: &Value) -> String {
    let runtime = &body["runtime"];
    let facts = table(
        &["FIELD", "VALUE"],
        [
            "storage_backend",
            "provider_id",
            "service_audience",
            "docker_image_reference",
            "authz_policy_source",
            "authz_policy_sha256",
            "bootstrap_authz_policy_sha256",
        ]
        .iter()
        .map(|k| vec![k.to_string(), cell(runtime, k)]),
    );
    let drivers = table(
        &["DRIVER", "BASE", "API", "DIGEST"],
        rows(runtime, "drivers").map(|d| {
            vec![
                cell(d, "driver_id"),
                cell(d, "base_driver_id"),
                cell(d, "api_version"),
                cell(d, "digest"),
            ]
        }),
    );
    format!("{facts}{drivers}")
}

/// Runs a `service` command.
pub async fn run_service(command: ServiceCommand) -> anyhow::Result<()> {
    let ServiceCommand::Runtime(args) = command;
    let body = read(&args, "/v1/service/runtime").await?;
    print(args.output, &body, runtime_table)
}

/// Runs an `artifacts` command.
pub async fn run_artifacts(command: ArtifactsCommand) -> anyhow::Result<()> {
    let ArtifactsCommand::Protected {
        product,
        context,
        retention_days,
        args,
    } = command;
    let mut path = format!(
        "/v1/artifacts/protected?product={}",
        segment("product", &product)?
    );
    if let Some(context) = context {
        path.push_str(&format!("&context={}", segment("context", &context)?));
    }
    if let Some(days) = retention_days {
        path.push_str(&format!("&retention_days={days}"));
    }
    let body = read(&args, &path).await?;
    print(args.output, &body, protected_table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_products_table_names_each_lane_and_its_trust() {
        let body = json!({"products": [{
            "product": "demo", "driver_id": "generic-web", "repository": "o/demo",
            "environments": [{"environment": "testing", "context": "demo"}, {"environment": "prod", "context": "demo"}],
            "preview": {"active_count": 2}, "trust_state": "missing"
        }]});
        let text = products_table(&body);
        assert!(text.contains("testing@demo, prod@demo"), "{text}");
        assert!(text.contains("missing"));
        assert!(text.contains("PRODUCT"));
    }

    #[test]
    fn the_config_status_table_lists_runtime_keys_then_secrets() {
        let body = json!({"config_status": {
            "runtime_settings": [{"key": "PUBLIC_URL", "status": "configured", "context": "demo", "instance": ""}],
            "managed_secrets": [{"binding_key": "API_TOKEN", "status": "missing", "context": "demo", "instance": "prod"}]
        }});
        let text = config_status_table(&body);
        let runtime = text.find("PUBLIC_URL").expect("runtime row");
        let secret = text.find("API_TOKEN").expect("secret row");
        assert!(runtime < secret, "{text}");
        assert!(text.contains("managed secret"));
    }
}
