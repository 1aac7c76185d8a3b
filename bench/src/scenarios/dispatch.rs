//! Section 1, dispatch overhead: the Wasm no-op driver action against a
//! native no-op handler (ABBA-interleaved rounds at concurrency 1 and 16),
//! and the component step alone.

use std::time::Instant;

use anyhow::{Context as _, bail};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Ctx, errors_figure};
use crate::load::{self, Sample};
use crate::report::{Figure, Op};
use crate::service::InProcess;

/// The Wasm no-op driver action.
pub const WASM_NOOP: &str = "/v1/drivers/bench-noop/noop";
/// The native no-op handler.
pub const NATIVE_NOOP: &str = "/v1/bench/native/bench-noop/noop";

/// The dispatch figures: latency and throughput of each route, their
/// ratios, and the component step alone.
pub async fn dispatch(ctx: &Ctx, service: &InProcess) -> anyhow::Result<Vec<Figure>> {
    let body = json!({"product": "bench", "noop": {"instance": "testing"}});
    check_routes(ctx, service, &body).await?;

    let mut figures = Vec::new();
    for concurrency in [1usize, 16] {
        let samples = measure(ctx, service, &body, concurrency).await;
        let [wasm, native] = &samples;
        let c = format!("c{concurrency}");
        let section = "1 dispatch";
        for (name, s) in [("wasm", wasm), ("native", native)] {
            let route = if name == "wasm" {
                "Wasm no-op driver action"
            } else {
                "native no-op handler"
            };
            figures.push(Figure::new(
                section,
                format!("dispatch.{c}.{name}.p50"),
                format!("{route}, concurrency {concurrency}: median latency"),
                s.percentile_us(50.0),
                "µs",
            ));
            figures.push(Figure::new(
                section,
                format!("dispatch.{c}.{name}.p99"),
                format!("{route}, concurrency {concurrency}: 99th percentile latency"),
                s.percentile_us(99.0),
                "µs",
            ));
            figures.push(
                Figure::new(
                    section,
                    format!("dispatch.{c}.{name}.throughput"),
                    format!("{route}, concurrency {concurrency}: requests per second"),
                    s.throughput(),
                    "req/s",
                )
                .detail(json!({"requests": s.requests(), "seconds": s.elapsed.as_secs_f64()})),
            );
        }
        figures.extend(comparison_figures(section, &c, concurrency, wasm, native));
    }
    figures.extend(invoke_only(ctx, service).await?);
    Ok(figures)
}

/// Both routes answer 202 before anything is measured.
async fn check_routes(ctx: &Ctx, service: &InProcess, body: &Value) -> anyhow::Result<()> {
    for path in [WASM_NOOP, NATIVE_NOOP] {
        let response = ctx
            .client
            .post(service.target.url(path))
            .bearer_auth(&ctx.tokens[0])
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status != StatusCode::ACCEPTED {
            bail!("{path} answered {status}: {text}");
        }
    }
    Ok(())
}

/// A warm-up of each route, then ABBA rounds at `concurrency`: the
/// [wasm, native] samples.
async fn measure(ctx: &Ctx, service: &InProcess, body: &Value, concurrency: usize) -> [Sample; 2] {
    let variants = [("wasm", WASM_NOOP), ("native", NATIVE_NOOP)];
    let request = |variant: usize, phase: &str| {
        let body = body.clone();
        ctx.poster(
            service.target,
            variants[variant].1,
            Some(format!(
                "{}-dispatch-{}-c{concurrency}-{phase}",
                ctx.run_id, variants[variant].0
            )),
            move |_, _| body.clone(),
        )
    };
    for variant in 0..2 {
        load::run(
            &ctx.client,
            ctx.spec(concurrency, ctx.plan.warmup),
            StatusCode::ACCEPTED,
            request(variant, "warmup"),
        )
        .await;
    }
    let mut samples = [Sample::default(), Sample::default()];
    for round in 0..ctx.plan.dispatch_rounds {
        // ABBA: each variant goes first in half the rounds.
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for variant in order {
            let sample = load::run(
                &ctx.client,
                ctx.spec(concurrency, ctx.plan.dispatch_phase),
                StatusCode::ACCEPTED,
                request(variant, &format!("r{round}")),
            )
            .await;
            samples[variant].merge(sample);
        }
    }
    samples
}

/// The Wasm-over-native figures at one concurrency (p50 with its target,
/// p99, throughput with its target, the p50 difference) and both routes'
/// errors.
fn comparison_figures(
    section: &'static str,
    c: &str,
    concurrency: usize,
    wasm: &Sample,
    native: &Sample,
) -> Vec<Figure> {
    let mut figures = Vec::new();
    let p50 = wasm.percentile_us(50.0) / native.percentile_us(50.0);
    figures.push(
        Figure::new(
            section,
            format!("dispatch.{c}.p50_ratio"),
            format!("concurrency {concurrency}: Wasm p50 over native p50"),
            p50,
            "×",
        )
        .target("wasm p50 / native p50", p50, Op::AtMost, 1.3),
    );
    let p99 = wasm.percentile_us(99.0) / native.percentile_us(99.0);
    figures.push(Figure::new(
        section,
        format!("dispatch.{c}.p99_ratio"),
        format!("concurrency {concurrency}: Wasm p99 over native p99 (no target)"),
        p99,
        "×",
    ));
    let throughput = wasm.throughput() / native.throughput();
    figures.push(
        Figure::new(
            section,
            format!("dispatch.{c}.throughput_ratio"),
            format!("concurrency {concurrency}: Wasm throughput over native throughput"),
            throughput,
            "×",
        )
        .target("wasm rps / native rps", throughput, Op::AtLeast, 0.75),
    );
    figures.push(Figure::new(
        section,
        format!("dispatch.{c}.p50_delta"),
        format!(
            "concurrency {concurrency}: Wasm p50 minus native p50 (what the component step adds)"
        ),
        wasm.percentile_us(50.0) - native.percentile_us(50.0),
        "µs",
    ));
    let mut both = wasm.clone();
    both.merge(native.clone());
    figures.push(errors_figure(
        section,
        format!("dispatch.{c}.errors"),
        &format!("dispatch, concurrency {concurrency}, both variants"),
        &both,
    ));
    figures
}

/// The component step alone, without HTTP or the layers around it: one
/// `handle` call of the no-op (fresh store, instantiation, call, result)
/// after another, on the service runtime.
async fn invoke_only(ctx: &Ctx, service: &InProcess) -> anyhow::Result<Vec<Figure>> {
    let count = if ctx.plan.quick { 1_000 } else { 5_000 };
    let registry = service.state.registry();
    let latencies = ctx
        .server
        .spawn(async move {
            let driver = registry
                .driver("bench-noop")
                .cloned()
                .context("bench-noop is not loaded")?;
            let mut latencies = Vec::with_capacity(count);
            for i in 0..(count + count / 10) {
                let invocation = launchplane_tests::invocation(
                    "bench-noop",
                    "noop",
                    json!({"instance": "testing"}),
                );
                let started = Instant::now();
                let invoked = driver
                    .component
                    .handle(
                        invocation,
                        launchplane_tests::demo_scope(&[]),
                        launchplane::runtime::HostServices::default(),
                    )
                    .await;
                let elapsed = started.elapsed().as_micros() as u64;
                match invoked {
                    Ok(invoked) if invoked.value.is_ok() => {}
                    other => bail!("the no-op invocation failed: {other:?}"),
                }
                // The first tenth warms up.
                if i >= count / 10 {
                    latencies.push(elapsed);
                }
            }
            anyhow::Ok(latencies)
        })
        .await??;
    let section = "1 dispatch";
    Ok(vec![
        Figure::new(
            section,
            "dispatch.invoke_only.p50",
            format!(
                "the no-op's component step alone (store, instantiate, call, result), {count} calls in sequence: median"
            ),
            load::percentile(&latencies, 50.0),
            "µs",
        ),
        Figure::new(
            section,
            "dispatch.invoke_only.p99",
            "the same: 99th percentile",
            load::percentile(&latencies, 99.0),
            "µs",
        ),
    ])
}
