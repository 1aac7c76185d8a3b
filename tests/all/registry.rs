//! Registry loading against real components: every refusal names the driver
//! and the reason, and a warm start does not recompile.

use launchplane::registry::Registry;
use launchplane::runtime::{CompileSource, DriverLimits, Runtime, RuntimeConfig};
use launchplane_tests::{RegistryFile, component, runtime};

async fn refusal(file: RegistryFile) -> String {
    match file.load().await {
        Ok(registry) => panic!("registry must be refused, loaded {registry:?}"),
        Err(error) => error.to_string(),
    }
}

#[tokio::test]
async fn loads_the_three_product_drivers_in_registry_order() {
    let registry = RegistryFile::new()
        .product_drivers()
        .load()
        .await
        .expect("loads");
    let ids: Vec<&str> = registry
        .descriptors()
        .iter()
        .map(|d| d.driver_id.as_str())
        .collect();
    assert_eq!(ids, ["generic-web", "odoo", "verireel"]);
    let odoo = registry.driver("odoo").expect("odoo");
    assert_eq!(odoo.descriptor.base_driver_id, "generic-web");
    assert!(odoo.descriptor.digest.starts_with("sha256:"));
    assert_eq!(
        registry
            .driver("verireel")
            .expect("verireel")
            .descriptor
            .base_driver_id,
        "generic-web"
    );
    assert!(registry.compatible("odoo", "generic-web"));
    assert!(registry.compatible("verireel", "verireel"));
    assert!(!registry.compatible("generic-web", "odoo"));
}

#[tokio::test]
async fn the_committed_registry_matches_the_built_components() {
    let path = launchplane_tests::root().join("drivers/registry.toml");
    let registry = Registry::load(&path, &runtime())
        .await
        .expect("drivers/registry.toml loads");
    assert_eq!(registry.descriptors().len(), 3);
}

#[tokio::test]
async fn a_missing_component_file_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let missing = dir.path().join("nope.wasm");
    let message = refusal(RegistryFile::new().pinned(
        "generic-web",
        &missing,
        &"0".repeat(64),
        DriverLimits::default(),
    ))
    .await;
    assert!(
        message.starts_with("driver `generic-web`: component file"),
        "{message}"
    );
    assert!(message.contains("missing"), "{message}");
}

#[tokio::test]
async fn one_changed_byte_is_a_digest_mismatch() {
    let dir = tempfile::tempdir().expect("dir");
    let original = component("generic_web");
    let pinned = launchplane::registry::sha256_hex(&std::fs::read(&original).expect("read"));
    let mut bytes = std::fs::read(&original).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    let tampered = dir.path().join("generic_web.wasm");
    std::fs::write(&tampered, bytes).expect("write");
    let message = refusal(RegistryFile::new().pinned(
        "generic-web",
        &tampered,
        &pinned,
        DriverLimits::default(),
    ))
    .await;
    assert!(
        message.starts_with("driver `generic-web`: sha256 mismatch"),
        "{message}"
    );
    assert!(message.contains(&pinned), "{message}");
}

#[tokio::test]
async fn a_described_id_that_differs_from_the_registry_is_refused() {
    let message = refusal(RegistryFile::new().driver("web", &component("generic_web"))).await;
    assert_eq!(
        message,
        "driver `web`: describe() reports driver_id `generic-web`, the registry lists it as `web`"
    );
}

#[tokio::test]
async fn a_component_built_for_another_wit_version_is_refused() {
    let message = refusal(RegistryFile::new().driver("future", &component("future_wit"))).await;
    assert!(message.starts_with("driver `future`:"), "{message}");
    assert!(
        message.contains("launchplane:driver/log@0.4.0"),
        "{message}"
    );
    assert!(message.contains("0.3.0"), "{message}");
}

#[tokio::test]
async fn a_component_that_imports_the_filesystem_is_refused() {
    let message = refusal(RegistryFile::new().driver("fs-probe", &component("fs_probe"))).await;
    assert!(message.starts_with("driver `fs-probe`:"), "{message}");
    assert!(message.contains("wasi:filesystem"), "{message}");
}

#[tokio::test]
async fn an_extension_without_its_base_is_refused() {
    let message = refusal(RegistryFile::new().driver("odoo", &component("odoo"))).await;
    assert_eq!(
        message,
        "driver `odoo`: base_driver_id `generic-web` is not loaded"
    );
}

#[tokio::test]
async fn a_driver_listed_twice_is_refused() {
    let path = component("generic_web");
    let message = refusal(
        RegistryFile::new()
            .driver("generic-web", &path)
            .driver("generic-web", &path),
    )
    .await;
    assert_eq!(
        message,
        "driver `generic-web`: listed more than once in the registry"
    );
}

#[tokio::test]
async fn malformed_registry_files_are_refused_with_the_path() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("registry.toml");
    std::fs::write(
        &path,
        "[[driver]]\nid = \"x\"\ncomponent = \"x.wasm\"\nsha256 = \"abc\"\n",
    )
    .expect("write");
    let error = Registry::load(&path, &runtime())
        .await
        .expect_err("short digest");
    assert!(
        error.to_string().contains("sha256 must be 64 hex digits"),
        "{error}"
    );
    std::fs::write(&path, "[[driver]]\nid = \"x\"\nbogus = 1\n").expect("write");
    let error = Registry::load(&path, &runtime())
        .await
        .expect_err("unknown key");
    assert!(error.to_string().contains("bogus"), "{error}");
    let error = Registry::load(&dir.path().join("absent.toml"), &runtime())
        .await
        .expect_err("absent");
    assert!(error.to_string().contains("cannot read"), "{error}");
}

#[tokio::test]
async fn a_warm_start_loads_precompiled_components() {
    let cache = tempfile::tempdir().expect("cache");
    let config = RuntimeConfig {
        cache_dir: Some(cache.path().to_path_buf()),
        ..Default::default()
    };
    let file = RegistryFile::new().driver("generic-web", &component("generic_web"));
    let path = file.write();

    let cold = Registry::load(&path, &Runtime::new(&config).expect("runtime"))
        .await
        .expect("cold");
    assert_eq!(
        cold.driver("generic-web").expect("driver").source,
        CompileSource::Compiled
    );
    // A new runtime (a restarted process) with the same cache folder.
    let warm = Registry::load(&path, &Runtime::new(&config).expect("runtime"))
        .await
        .expect("warm");
    assert_eq!(
        warm.driver("generic-web").expect("driver").source,
        CompileSource::Cached
    );
    assert_eq!(cold.descriptors(), warm.descriptors());
}
