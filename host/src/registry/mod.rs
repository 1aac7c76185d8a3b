//! The descriptor registry: which drivers are loaded, what they declare,
//! and the route table derived from that and nothing else.
//!
//! Loading is all-or-nothing. Any refusal (a missing file, a digest that
//! does not match its pin, a descriptor that breaks a rule) stops the load
//! with one line naming the driver and the reason; the host never serves a
//! partial registry.

mod descriptor;
mod error;
mod extension;
mod manifest;
mod validate;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};

pub use descriptor::{
    ActionDescriptor, CapabilityDescriptor, DriverDescriptor, Execution, Idempotency, LanePolicy,
    Method, OperationRoute, PanelKind, RecordKindDeclaration, RecordMode, RecordsKey, Safety,
    Scope, SettingGroupDescriptor,
};
pub use error::RegistryError;
pub use manifest::{DriverEntry, RegistryManifest};
pub use validate::{SHARED_AUTHZ_ACTIONS, validate_descriptor, validate_together};

use crate::runtime::{CompileSource, DriverComponent, Runtime};

/// A loaded driver: its validated descriptor, its component and the
/// compiled request validators of its actions.
pub struct LoadedDriver {
    pub descriptor: DriverDescriptor,
    pub component: DriverComponent,
    pub source: CompileSource,
    validators: HashMap<String, Arc<jsonschema::Validator>>,
}

impl LoadedDriver {
    /// The compiled input-schema validator of an action.
    pub fn validator(&self, action_id: &str) -> Option<&Arc<jsonschema::Validator>> {
        self.validators.get(action_id)
    }
}

/// Where a driver route leads.
#[derive(Debug, Clone)]
pub struct RouteTarget {
    pub driver_id: String,
    pub action_id: String,
}

/// How a request path and method matched the route table.
#[derive(Debug)]
pub enum RouteMatch<'a> {
    Found(&'a RouteTarget),
    /// The path exists with other methods.
    WrongMethod,
    NotFound,
}

/// The loaded drivers, in registry order, and their routes.
pub struct Registry {
    drivers: Vec<Arc<LoadedDriver>>,
    routes: HashMap<String, Vec<(Method, RouteTarget)>>,
    /// Record kinds the drivers declare, and how each is kept.
    declared_kinds: Arc<HashMap<String, RecordMode>>,
    /// `records` keys the drivers declare (`true`: an object).
    declared_keys: HashMap<String, bool>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field(
                "drivers",
                &self
                    .drivers
                    .iter()
                    .map(|d| &d.descriptor.driver_id)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Registry {
    /// Reads the registry file, verifies and loads every component, and
    /// validates the descriptors alone and together.
    pub async fn load(path: &Path, runtime: &Runtime) -> Result<Registry, RegistryError> {
        let manifest = RegistryManifest::read(path)?;
        let mut loaded: Vec<Arc<LoadedDriver>> = Vec::with_capacity(manifest.drivers.len());
        for entry in &manifest.drivers {
            if loaded.iter().any(|d| d.descriptor.driver_id == entry.id) {
                return Err(RegistryError::DuplicateEntry {
                    driver: entry.id.clone(),
                });
            }
            loaded.push(Arc::new(load_driver(&manifest, entry, runtime).await?));
        }
        Registry::from_loaded(loaded)
    }

    fn from_loaded(drivers: Vec<Arc<LoadedDriver>>) -> Result<Registry, RegistryError> {
        let descriptors: Vec<&DriverDescriptor> = drivers.iter().map(|d| &d.descriptor).collect();
        validate_together(&descriptors)?;
        let mut routes: HashMap<String, Vec<(Method, RouteTarget)>> = HashMap::new();
        for d in &descriptors {
            for a in &d.actions {
                routes.entry(a.route_path.clone()).or_default().push((
                    a.method,
                    RouteTarget {
                        driver_id: d.driver_id.clone(),
                        action_id: a.action_id.clone(),
                    },
                ));
            }
        }
        let declared_kinds = Arc::new(
            descriptors
                .iter()
                .flat_map(|d| d.record_kinds.iter())
                .map(|k| (k.kind.clone(), k.mode))
                .collect(),
        );
        let declared_keys = descriptors
            .iter()
            .flat_map(|d| d.records_keys.iter())
            .map(|k| (k.key.clone(), k.object))
            .collect();
        Ok(Registry {
            drivers,
            routes,
            declared_kinds,
            declared_keys,
        })
    }

    /// How records of `kind` are kept: the host's table, else a driver's
    /// declaration. `None` for a kind nobody declared.
    pub fn record_mode(&self, kind: &str) -> Option<RecordMode> {
        crate::records::kinds::rule_of(kind)
            .map(|rule| rule.mode)
            .or_else(|| self.declared_kinds.get(kind).copied())
    }

    /// The record kinds the drivers declare, for the records capability.
    pub fn declared_kinds(&self) -> Arc<HashMap<String, RecordMode>> {
        self.declared_kinds.clone()
    }

    /// Whether `key` may reach a client in `records`, and whether its value
    /// is an object: the host's keys are strings; a driver's declared
    /// keys say. `None` for a key nobody knows (it is dropped).
    pub fn records_key(&self, key: &str) -> Option<bool> {
        if crate::records::kinds::is_host_records_key(key) {
            return Some(false);
        }
        self.declared_keys.get(key).copied()
    }

    pub fn drivers(&self) -> impl Iterator<Item = &Arc<LoadedDriver>> {
        self.drivers.iter()
    }

    pub fn driver(&self, driver_id: &str) -> Option<&Arc<LoadedDriver>> {
        self.drivers
            .iter()
            .find(|d| d.descriptor.driver_id == driver_id.trim())
    }

    pub fn descriptors(&self) -> Vec<&DriverDescriptor> {
        self.drivers.iter().map(|d| &d.descriptor).collect()
    }

    /// Matches a request against the descriptor-derived route table.
    pub fn route(&self, method: Method, path: &str) -> RouteMatch<'_> {
        match self.routes.get(path) {
            None => RouteMatch::NotFound,
            Some(targets) => match targets.iter().find(|(m, _)| *m == method) {
                Some((_, target)) => RouteMatch::Found(target),
                None => RouteMatch::WrongMethod,
            },
        }
    }

    /// Every route, as `(method, path, target)`, sorted by path.
    pub fn routes(&self) -> Vec<(Method, &str, &RouteTarget)> {
        let mut all: Vec<_> = self
            .routes
            .iter()
            .flat_map(|(path, targets)| targets.iter().map(move |(m, t)| (*m, path.as_str(), t)))
            .collect();
        all.sort_by(|a, b| (a.1, a.0.as_str()).cmp(&(b.1, b.0.as_str())));
        all
    }

    /// The action whose declared operation poll path matches `path`, and
    /// the operation id the path names.
    pub fn poll_route(&self, path: &str) -> Option<(RouteTarget, String)> {
        self.drivers.iter().find_map(|d| {
            d.descriptor.actions.iter().find_map(|a| {
                let stem = a
                    .operation
                    .as_ref()?
                    .poll_path
                    .strip_suffix("{operation_id}")?;
                let id = path.strip_prefix(stem)?;
                (!id.is_empty() && !id.contains('/')).then(|| {
                    (
                        RouteTarget {
                            driver_id: d.descriptor.driver_id.clone(),
                            action_id: a.action_id.clone(),
                        },
                        id.to_string(),
                    )
                })
            })
        })
    }

    /// The lane policies a product on `driver_id` may carry: its own and
    /// its bases', nearest first.
    pub fn lane_policies(&self, driver_id: &str) -> Vec<&LanePolicy> {
        let mut policies = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        let mut current = self.driver(driver_id);
        while let Some(d) = current {
            if seen.contains(&d.descriptor.driver_id.as_str()) {
                break;
            }
            seen.push(&d.descriptor.driver_id);
            policies.extend(d.descriptor.lane_policies.iter());
            current = d.descriptor.base().and_then(|id| self.driver(id));
        }
        policies
    }

    /// Whether a product whose profile names `product_driver` may call the
    /// routes of `route_driver`: the same driver, or a driver it extends.
    pub fn compatible(&self, product_driver: &str, route_driver: &str) -> bool {
        let mut current = Some(product_driver);
        while let Some(id) = current {
            if id == route_driver {
                return true;
            }
            current = self.driver(id).and_then(|d| d.descriptor.base());
        }
        false
    }
}

/// The sha256 of `bytes` as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

async fn load_driver(
    manifest: &RegistryManifest,
    entry: &DriverEntry,
    runtime: &Runtime,
) -> Result<LoadedDriver, RegistryError> {
    let driver = entry.id.as_str();
    let path = manifest.component_path(entry);
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| RegistryError::ComponentMissing {
            driver: driver.to_string(),
            path: path.clone(),
            reason: e.to_string(),
        })?;
    let actual = sha256_hex(&bytes);
    let expected = entry.digest_hex();
    if actual != expected {
        return Err(RegistryError::DigestMismatch {
            driver: driver.to_string(),
            path,
            expected,
            actual,
        });
    }

    let started = Instant::now();
    let prepare_runtime = runtime.clone();
    let (id, digest, limits) = (driver.to_string(), actual.clone(), entry.limits);
    // Compilation is CPU-bound; keep it off the async workers.
    let (component, source) =
        tokio::task::spawn_blocking(move || prepare_runtime.prepare(&id, &digest, &bytes, limits))
            .await
            .map_err(|e| RegistryError::Load {
                driver: driver.to_string(),
                reason: e.to_string(),
            })?
            .map_err(|e| RegistryError::Load {
                driver: driver.to_string(),
                reason: e.to_string(),
            })?;
    let load_ms = started.elapsed().as_secs_f64() * 1000.0;

    let described = component
        .describe()
        .await
        .map_err(|e| RegistryError::Describe {
            driver: driver.to_string(),
            reason: e.to_string(),
        })?;
    let descriptor = DriverDescriptor::from_component(driver, described, &actual)?;
    validate_descriptor(driver, &descriptor)?;
    let mut validators = HashMap::new();
    for action in &descriptor.actions {
        let validator = jsonschema::validator_for(&action.input_schema).map_err(|e| {
            RegistryError::invalid(
                driver,
                format!("action `{}`.input_schema", action.action_id),
                e.to_string(),
            )
        })?;
        validators.insert(action.action_id.clone(), Arc::new(validator));
    }
    tracing::info!(
        driver_id = driver,
        digest = %format!("sha256:{}", &actual[..12]),
        source = match source { CompileSource::Compiled => "compiled", CompileSource::Cached => "cache" },
        load_ms = format!("{load_ms:.1}"),
        actions = descriptor.actions.len(),
        "driver loaded"
    );
    Ok(LoadedDriver {
        descriptor,
        component,
        source,
        validators,
    })
}

#[cfg(test)]
mod tests;

impl crate::runtime::capabilities::HookDrivers for Registry {
    fn implementer(
        &self,
        driver_id: &str,
        hook: &str,
    ) -> Result<Option<crate::runtime::DriverComponent>, String> {
        let driver = self
            .driver(driver_id)
            .ok_or_else(|| format!("names driver `{driver_id}`, which is not loaded"))?;
        Ok(driver
            .descriptor
            .hooks_implemented
            .iter()
            .any(|h| h == hook)
            .then(|| driver.component.clone()))
    }
}
