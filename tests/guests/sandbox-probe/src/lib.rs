//! A driver that tests the sandbox: it spins, sleeps, allocates, reads the
//! environment, panics, and calls host imports out of scope on request.
use launchplane_sdk::prelude::*;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Allocate {
    pub mib: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sleep {
    pub ms: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadEnv {
    pub name: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reach {
    pub kind: String,
    pub context: String,
    pub instance: String,
}

fn spin(_ctx: &Ctx<'_>, _req: Empty) -> Result<Reply<Value>, DriverError> {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

/// Blocks in a WASI clock wait, where no Wasm code runs and so no epoch
/// check can fire.
fn sleep(_ctx: &Ctx<'_>, req: Sleep) -> Result<Reply<Value>, DriverError> {
    std::thread::sleep(std::time::Duration::from_millis(u64::from(req.ms)));
    Ok(Reply::new(json!({"slept_ms": req.ms})))
}

fn allocate(_ctx: &Ctx<'_>, req: Allocate) -> Result<Reply<Value>, DriverError> {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    for _ in 0..req.mib {
        chunks.push(std::hint::black_box(vec![1u8; 1024 * 1024]));
    }
    Ok(Reply::new(json!({"allocated_mib": chunks.len()})))
}

fn read_env(_ctx: &Ctx<'_>, req: ReadEnv) -> Result<Reply<Value>, DriverError> {
    let vars: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
    Ok(Reply::new(
        json!({"value": std::env::var(&req.name).ok(), "visible": vars}),
    ))
}

fn panic(_ctx: &Ctx<'_>, _req: Empty) -> Result<Reply<Value>, DriverError> {
    panic!("the sandbox probe panics on request");
}

fn echo(ctx: &Ctx<'_>, _req: Empty) -> Result<Reply<Value>, DriverError> {
    println!("sandbox-probe says hello on stdout");
    let inv = ctx.invocation();
    Ok(Reply::new(json!({
        "product": inv.product, "context": inv.context, "instance": inv.instance, "now": ctx.host().now(),
    }))
    .record("deployment_record_id", "deployment-echo"))
}

/// Writes a record of `kind` and resolves the target of a lane: the host must
/// refuse both when they are outside the invocation's scope.
fn reach(ctx: &Ctx<'_>, req: Reach) -> Result<Reply<Value>, DriverError> {
    let write = ctx
        .host()
        .record_put(&req.kind, &json!({"record_id": "probe-1"}));
    let target = ctx.host().resolve_target(&req.context, &req.instance);
    Ok(Reply::new(json!({
        "write": write.map_err(|e| format!("{e:?}")).err(),
        "target": target.map_err(|e| format!("{e:?}")).err(),
    })))
}

pub fn driver() -> Driver {
    let action = |id: &str, path: &str| {
        Action::post(id, path)
            .authz(&format!("sandbox_probe_{id}.execute"))
            .envelope("probe")
    };
    Driver::new("sandbox-probe", "Sandbox probe")
        .action(action("spin", "spin").handler(spin))
        .action(action("sleep", "sleep").handler(sleep))
        .action(action("allocate", "allocate").handler(allocate))
        .action(action("read_env", "read-env").handler(read_env))
        .action(action("panic", "panic").handler(panic))
        .action(action("echo", "echo").handler(echo))
        .action(
            action("reach", "reach")
                .writes(&["deployment"])
                .handler(reach),
        )
}

launchplane_sdk::export_driver!(driver);
