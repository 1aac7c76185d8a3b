//! The sandbox: deadlines, memory caps, traps, no environment, no files,
//! scoped host imports, and a host that keeps serving through all of it.

use std::time::{Duration, Instant};

use launchplane::runtime::{DriverLimits, HostServices, InvokeError};
use launchplane_tests::{RegistryFile, TestServer, component, demo_scope, invocation};
use serde_json::{Value, json};

async fn probe(limits: DriverLimits) -> launchplane::registry::Registry {
    RegistryFile::new()
        .driver_with_limits("sandbox-probe", &component("sandbox_probe"), limits)
        .load()
        .await
        .expect("sandbox probe loads")
}

async fn call(
    registry: &launchplane::registry::Registry,
    action: &str,
    request: Value,
) -> Result<
    launchplane::runtime::Invoked<
        Result<launchplane::runtime::Response, launchplane::runtime::DriverError>,
    >,
    InvokeError,
> {
    let driver = registry.driver("sandbox-probe").expect("driver");
    let writes: Vec<&str> = driver
        .descriptor
        .action(action)
        .map(|a| a.writes_records.iter().map(String::as_str).collect())
        .unwrap_or_default();
    driver
        .component
        .handle(
            invocation("sandbox-probe", action, request),
            demo_scope(&writes),
            HostServices::default(),
        )
        .await
}

/// The error a 300 ms deadline ends an invocation with, and its message.
fn assert_deadline_300(error: &InvokeError) {
    assert!(
        matches!(
            error,
            InvokeError::DeadlineExceeded {
                deadline_ms: 300,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "driver `sandbox-probe` exceeded its deadline of 300 ms"
    );
}

#[tokio::test]
async fn an_infinite_loop_is_stopped_at_its_deadline() {
    let registry = probe(DriverLimits {
        memory_mib: 16,
        deadline_ms: 300,
    })
    .await;
    let started = Instant::now();
    let error = call(&registry, "spin", json!({}))
        .await
        .expect_err("must be stopped");
    assert_deadline_300(&error);
    // Stopped, not merely abandoned: the call returned (generously bounded;
    // precise timing belongs to the benchmark).
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn a_guest_blocked_in_a_clock_wait_is_stopped_at_its_deadline() {
    // No Wasm code runs during the wait, so no epoch check can fire; the
    // host's own timer must stop it, not the end of the sleep.
    let registry = probe(DriverLimits {
        memory_mib: 16,
        deadline_ms: 300,
    })
    .await;
    let started = Instant::now();
    let error = call(&registry, "sleep", json!({"ms": 30_000}))
        .await
        .expect_err("must be stopped");
    assert_deadline_300(&error);
    // Far below the 30 s sleep (generously bounded; the benchmark times it).
    assert!(started.elapsed() < Duration::from_secs(10));
    // A sleep within the deadline completes normally.
    let ok = call(&registry, "sleep", json!({"ms": 10}))
        .await
        .expect("within the deadline");
    assert!(ok.value.is_ok());
}

#[tokio::test]
async fn allocation_past_the_memory_cap_is_stopped() {
    let registry = probe(DriverLimits {
        memory_mib: 16,
        deadline_ms: 10_000,
    })
    .await;
    let error = call(&registry, "allocate", json!({"mib": 64}))
        .await
        .expect_err("over the cap");
    assert!(
        matches!(error, InvokeError::MemoryExceeded { memory_mib: 16, .. }),
        "{error:?}"
    );
    // Under the cap the same action succeeds: the cap is the cause.
    let ok = call(&registry, "allocate", json!({"mib": 4}))
        .await
        .expect("under the cap");
    let response = ok.value.expect("driver ok");
    assert_eq!(
        serde_json::from_str::<Value>(&response.result).expect("json")["allocated_mib"],
        4
    );
}

#[tokio::test]
async fn a_panic_is_a_trap_and_the_next_invocation_is_clean() {
    let registry = probe(DriverLimits::default()).await;
    let error = call(&registry, "panic", json!({}))
        .await
        .expect_err("panic traps");
    assert!(matches!(error, InvokeError::Trap { .. }), "{error:?}");
    let ok = call(&registry, "echo", json!({}))
        .await
        .expect("fresh instance works");
    let response = ok.value.expect("driver ok");
    assert_eq!(
        response.records,
        vec![(
            "deployment_record_id".to_string(),
            "deployment-echo".to_string()
        )]
    );
    let result: Value = serde_json::from_str(&response.result).expect("json");
    assert_eq!(result["product"], "demo");
    assert!(
        result["now"].as_str().is_some_and(|n| n.ends_with('Z')),
        "{result}"
    );
}

#[tokio::test]
#[allow(unsafe_code, reason = "set_var: the canary the sandbox must hide")]
async fn a_component_sees_no_environment_variables() {
    // SAFETY: set before any component runs in this test; no other thread
    // reads this variable.
    unsafe { std::env::set_var("LAUNCHPLANE_SANDBOX_CANARY", "host-secret") };
    let registry = probe(DriverLimits::default()).await;
    let ok = call(
        &registry,
        "read_env",
        json!({"name": "LAUNCHPLANE_SANDBOX_CANARY"}),
    )
    .await
    .expect("runs");
    let result: Value = serde_json::from_str(&ok.value.expect("driver ok").result).expect("json");
    assert_eq!(result["value"], Value::Null);
    assert_eq!(result["visible"], json!([]));
}

#[tokio::test]
async fn host_imports_outside_the_scope_are_denied_and_transcribed() {
    let registry = probe(DriverLimits::default()).await;
    let invoked = call(
        &registry,
        "reach",
        json!({"kind": "promotion", "context": "other", "instance": "prod"}),
    )
    .await
    .expect("runs");
    let result: Value =
        serde_json::from_str(&invoked.value.expect("driver ok").result).expect("json");
    assert!(
        result["write"]
            .as_str()
            .is_some_and(|e| e.contains("Denied") && e.contains("promotion")),
        "{result}"
    );
    assert!(
        result["target"]
            .as_str()
            .is_some_and(|e| e.contains("Denied") && e.contains("other/prod")),
        "{result}"
    );
    let outcomes: Vec<(&str, &str)> = invoked
        .transcript
        .iter()
        .map(|c| (c.function.as_str(), c.outcome.as_str()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("records.put", "denied"),
            ("provider.resolve-target", "denied")
        ]
    );

    // Inside the scope the same calls reach the capability (here: none is
    // configured, so they are `unavailable`, never silently successful).
    let invoked = call(
        &registry,
        "reach",
        json!({"kind": "deployment", "context": "demo", "instance": "prod"}),
    )
    .await
    .expect("runs");
    let outcomes: Vec<&str> = invoked
        .transcript
        .iter()
        .map(|c| c.outcome.as_str())
        .collect();
    assert_eq!(outcomes, ["unavailable", "unavailable"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_while_runaway_components_spin() {
    let registry = probe(DriverLimits {
        memory_mib: 16,
        deadline_ms: 2_000,
    })
    .await;
    let server = TestServer::start(
        probe(DriverLimits {
            memory_mib: 16,
            deadline_ms: 2_000,
        })
        .await,
    )
    .await;
    let registry = std::sync::Arc::new(registry);
    let spinners: Vec<_> = (0..4)
        .map(|_| {
            let registry = registry.clone();
            tokio::spawn(async move { call(&registry, "spin", json!({})).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, body) = server.get("/v1/health").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");
    // /v1/health was answered while the four guests were still spinning on
    // two workers: it did not wait for their deadlines.
    assert!(
        spinners.iter().all(|s| !s.is_finished()),
        "health waited for the runaway guests"
    );
    for spinner in spinners {
        let finished = spinner.await.expect("task");
        assert!(
            matches!(finished, Err(InvokeError::DeadlineExceeded { .. })),
            "{finished:?}"
        );
    }
}
