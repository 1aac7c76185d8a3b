//! Section 2, end-to-end evidence ingest, and a driver action that writes
//! records: throughput, latency, and every accepted request's record
//! counted.

use anyhow::bail;
use launchplane::records::Store;
use launchplane_tests::statements::{StatementLog, Tally};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Ctx, errors_figure};
use crate::load::{self, Sample};
use crate::report::{Figure, Op};
use crate::service::InProcess;

/// Microseconds as milliseconds.
fn ms(us: f64) -> f64 {
    us / 1000.0
}

/// Rows counted in the in-process service's database.
async fn count_records(ctx: &Ctx, store: &Store, kind: &'static str) -> anyhow::Result<i64> {
    let store = store.clone();
    ctx.server
        .spawn(async move {
            let Store::Postgres(pool) = &store else {
                bail!("the in-process service runs on PostgreSQL");
            };
            let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM lp_records WHERE kind = $1")
                .bind(kind)
                .fetch_one(pool)
                .await?;
            Ok(n)
        })
        .await?
}

/// A deployment evidence body for `record_id`.
fn deployment_evidence(record_id: &str) -> Value {
    json!({
        "product": "demo",
        "deployment": {
            "record_id": record_id,
            "artifact_identity": {"artifact_id": "artifact-bench-1"},
            "context": "demo",
            "instance": "testing",
            "source_git_ref": "refs/heads/main",
            "deploy": {"target_name": "demo-testing", "target_type": "application", "deploy_mode": "image", "status": "pass"},
        }
    })
}

/// The figures of one ingest phase; an accepted request that wrote no
/// record counts as an error.
fn ingest_figures(
    figures: &mut Vec<Figure>,
    prefix: &str,
    what: &str,
    sample: &Sample,
    written: i64,
) {
    let section = "2 ingest";
    figures.push(
        Figure::new(
            section,
            format!("{prefix}.throughput"),
            format!("{what}: requests per second"),
            sample.throughput(),
            "req/s",
        )
        .detail(json!({
            "requests": sample.requests(),
            "seconds": sample.elapsed.as_secs_f64(),
            "deployment_records_written": written,
        })),
    );
    figures.push(Figure::new(
        section,
        format!("{prefix}.p50"),
        format!("{what}: median latency"),
        ms(sample.percentile_us(50.0)),
        "ms",
    ));
    figures.push(Figure::new(
        section,
        format!("{prefix}.p99"),
        format!("{what}: 99th percentile latency"),
        ms(sample.percentile_us(99.0)),
        "ms",
    ));
    // A 202 without its record is an error too.
    let mut counted = sample.clone();
    let missing = (sample.ok as i64 - written).max(0) as u64;
    counted.errors += missing;
    counted.ok -= missing.min(counted.ok);
    if missing > 0 && counted.first_error.is_none() {
        counted.first_error = Some(format!(
            "{missing} accepted requests wrote no deployment record"
        ));
    }
    figures.push(errors_figure(
        section,
        format!("{prefix}.errors"),
        what,
        &counted,
    ));
}

/// Requests of the statement count.
const COUNTED: usize = 50;

/// Statements and commits per evidence request (with an
/// `Idempotency-Key`), counted from the statements the in-process host's
/// sqlx sends, over [`COUNTED`] requests one after another. The
/// authorization policy cache's refresh (one read every few seconds,
/// shared by all requests) is left out and reported beside.
async fn statement_figures(ctx: &Ctx, service: &InProcess) -> anyhow::Result<Vec<Figure>> {
    let url = service.target.url("/v1/evidence/deployments");
    let post = |n: usize| {
        let id = format!("{}-counted-{n}", ctx.run_id);
        ctx.client
            .post(&url)
            .bearer_auth(&ctx.tokens[0])
            .header("Idempotency-Key", id.clone())
            .json(&deployment_evidence(&format!("deployment-{id}")))
            .send()
    };
    // Warm: signing keys, the policy cache, prepared statements.
    post(COUNTED).await?.error_for_status()?;
    ctx.statements.take();
    ctx.statements.set_on(true);
    let mut per_request = Vec::with_capacity(COUNTED);
    for n in 0..COUNTED {
        let status = post(n).await?.status();
        if status != StatusCode::ACCEPTED {
            ctx.statements.set_on(false);
            bail!("counted evidence request answered {status}");
        }
        per_request.push(ctx.statements.take());
    }
    ctx.statements.set_on(false);
    let policy_reads: usize = per_request
        .iter()
        .flatten()
        .filter(|s| s.contains("FROM lp_authz_policies"))
        .count();
    let mut total = Tally::default();
    for statements in &mut per_request {
        statements.retain(|s| !s.contains("FROM lp_authz_policies"));
        let tally = StatementLog::tally(statements);
        total.statements += tally.statements;
        total.commits += tally.commits;
    }
    let section = "2 ingest";
    let what = "POST /v1/evidence/deployments with Idempotency-Key";
    let statements = total.statements as f64 / COUNTED as f64;
    let commits = total.commits as f64 / COUNTED as f64;
    let detail = json!({
        "requests": COUNTED,
        "statements": total.statements,
        "commits": total.commits,
        "policy_cache_reads": policy_reads,
        "one_request": per_request.first(),
    });
    Ok(vec![
        Figure::new(
            section,
            "evidence.statements_per_request",
            format!("{what}: SQL statements per request (BEGIN and COMMIT included)"),
            statements,
            "statements",
        )
        .target("statements per request", statements, Op::AtMost, 6.0)
        .detail(detail.clone()),
        Figure::new(
            section,
            "evidence.commits_per_request",
            format!("{what}: transactions committed per request"),
            commits,
            "commits",
        )
        .target("commits per request", commits, Op::AtMost, 1.0)
        .detail(detail),
    ])
}

/// The ingest figures: evidence at concurrency 1, 16 and 64, then
/// generic-web `deploy` on the simulated provider.
pub async fn ingest(ctx: &Ctx, service: &InProcess) -> anyhow::Result<Vec<Figure>> {
    let mut figures = statement_figures(ctx, service).await?;
    for concurrency in [1usize, 16, 64] {
        let before = count_records(ctx, &service.db.store, "deployment").await?;
        let prefix = format!("{}-evidence-c{concurrency}", ctx.run_id);
        let record_prefix = prefix.clone();
        let sample = load::run(
            &ctx.client,
            ctx.spec(concurrency, ctx.plan.evidence_phase),
            StatusCode::ACCEPTED,
            ctx.poster(
                service.target,
                "/v1/evidence/deployments",
                Some(prefix),
                move |seq, _| deployment_evidence(&format!("deployment-{record_prefix}-{seq}")),
            ),
        )
        .await;
        let written = count_records(ctx, &service.db.store, "deployment").await? - before;
        ingest_figures(
            &mut figures,
            &format!("evidence.c{concurrency}"),
            &format!("POST /v1/evidence/deployments, concurrency {concurrency}"),
            &sample,
            written,
        );
    }

    // generic-web `deploy` on the simulated provider: the driver writes the
    // deployment record through the host. A lane runs one mutation at a
    // time (a second is refused with 409 `lane_busy`), so each client task
    // deploys its own product's testing lane.
    let concurrency = crate::service::DEPLOY_PRODUCTS;
    let before = count_records(ctx, &service.db.store, "deployment").await?;
    let sample = load::run(
        &ctx.client,
        ctx.spec(concurrency, ctx.plan.deploy_phase),
        StatusCode::ACCEPTED,
        ctx.poster(
            service.target,
            "/v1/drivers/generic-web/deploy",
            Some(format!("{}-deploy", ctx.run_id)),
            |seq, worker| {
                let product = crate::service::deploy_product(worker);
                json!({"product": product, "deploy": {
                    "product": product, "instance": "testing",
                    "artifact_id": format!("ghcr.io/launchplane/{product}@sha256:{seq:064x}"),
                    "source_git_ref": "refs/heads/main", "verify_health": false
                }})
            },
        ),
    )
    .await;
    let written = count_records(ctx, &service.db.store, "deployment").await? - before;
    ingest_figures(
        &mut figures,
        "driver_deploy.c16",
        "generic-web deploy (driver writes records, simulated provider), 16 products' testing lanes, concurrency 16",
        &sample,
        written,
    );
    Ok(figures)
}
