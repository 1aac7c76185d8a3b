//! Discovery: what a driver's actions are, read from the service's
//! catalogue, and which one the caller means.

use serde::Deserialize;
use serde_json::Value;

use super::transport::Reply;
use super::{ClientError, Console, Exit, Remote};
use crate::registry::{DriverDescriptor, Execution, Idempotency, Method};

/// The parts of an action descriptor the client needs. Unknown fields are
/// ignored so an older client keeps working against a newer service.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RemoteAction {
    pub action_id: String,
    #[serde(default)]
    pub label: String,
    pub method: Method,
    pub route_path: String,
    pub envelope_key: String,
    #[serde(default)]
    pub input_schema: Value,
    #[serde(default = "sync")]
    pub execution: Execution,
    #[serde(default = "optional")]
    pub idempotency: Idempotency,
}

fn sync() -> Execution {
    Execution::Sync
}

fn optional() -> Idempotency {
    Idempotency::Optional
}

impl RemoteAction {
    /// The last segment of the route (`deploy` for
    /// `/v1/drivers/generic-web/deploy`).
    pub fn route_name(&self) -> &str {
        self.route_path.rsplit('/').next().unwrap_or_default()
    }
}

/// A driver as the catalogue publishes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RemoteDriver {
    pub driver_id: String,
    #[serde(default)]
    pub base_driver_id: String,
    pub actions: Vec<RemoteAction>,
}

fn normalize(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace('-', "_")
}

/// The action `name` names: its `action_id` or its route's last segment
/// (`stable_deploy` or `deploy`), dashes and underscores alike. An unknown
/// name is a configuration error listing every callable action.
pub fn resolve_action<'a>(
    driver: &'a RemoteDriver,
    name: &str,
) -> Result<&'a RemoteAction, ClientError> {
    let wanted = normalize(name);
    let found = driver
        .actions
        .iter()
        .find(|a| normalize(&a.action_id) == wanted)
        .or_else(|| {
            driver
                .actions
                .iter()
                .find(|a| normalize(a.route_name()) == wanted)
        });
    match found {
        Some(action) if action.method == Method::Post => Ok(action),
        Some(action) => Err(ClientError::config(format!(
            "Action `{}` of driver `{}` is a {} route; `launchplane call` sends POST actions only.",
            action.action_id,
            driver.driver_id,
            action.method.as_str()
        ))),
        None => {
            let listed: Vec<String> = driver
                .actions
                .iter()
                .filter(|a| a.method == Method::Post)
                .map(|a| format!("  {:<28} {}", a.action_id, a.route_name()))
                .collect();
            Err(ClientError::config(format!(
                "Driver `{}` has no action `{name}`. Its actions (action id, route name; either works):\n{}",
                driver.driver_id,
                if listed.is_empty() {
                    "  (none)".to_string()
                } else {
                    listed.join("\n")
                }
            )))
        }
    }
}

/// Driver ids are path segments: refuse anything else before it reaches a
/// URL.
pub(crate) fn check_driver_id(driver_id: &str) -> Result<(), ClientError> {
    let ok = !driver_id.is_empty()
        && driver_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !driver_id.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(ClientError::config(format!(
            "`{driver_id}` is not a driver id (letters, digits, `-`, `_`, `.`)."
        )))
    }
}

const CATALOGUE_HINT: &str = " The caller needs `driver.read` on product `launchplane`, context `launchplane` to read the catalogue.";

/// Maps a refused catalogue read to the client's classes.
/// `denied_hint` explains an `authorization_denied` 403.
pub(crate) fn refused_read(what: &str, reply: &Reply, denied_hint: &str) -> ClientError {
    let exit = match reply.status {
        401 => Exit::Config,
        500..=599 => Exit::Failed,
        _ => Exit::Refused,
    };
    let hint = match reply.status {
        401 => {
            " The service did not accept the token: check the audience (`--audience`, LAUNCHPLANE_SERVICE_AUDIENCE) and that the token is current."
        }
        403 if reply.error_code() == "authorization_denied" => denied_hint,
        _ => "",
    };
    ClientError::new(
        exit,
        format!("{what} was refused: {}.{hint}", reply.describe()),
    )
    .with_response(reply.body.clone())
}

/// `GET /v1/drivers/{driver_id}`: the driver and its raw JSON.
pub async fn fetch_driver(
    remote: &Remote,
    driver_id: &str,
    console: &Console,
) -> Result<(RemoteDriver, Value), ClientError> {
    check_driver_id(driver_id)?;
    let reply = remote
        .get(&format!("/v1/drivers/{driver_id}"), console)
        .await?;
    if reply.status == 404 {
        let known = fetch_all(remote, console)
            .await
            .map(|(_, raw)| {
                raw.as_array()
                    .map(|drivers| {
                        drivers
                            .iter()
                            .filter_map(|d| d["driver_id"].as_str().map(String::from))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        return Err(ClientError::config(format!(
            "The service has no driver `{driver_id}`{}.",
            if known.is_empty() {
                String::new()
            } else {
                format!("; its drivers: {known}")
            }
        ))
        .with_response(reply.body));
    }
    if !reply.is_success() {
        return Err(refused_read(
            &format!("Reading driver `{driver_id}`"),
            &reply,
            CATALOGUE_HINT,
        ));
    }
    let raw = reply.body["driver"].clone();
    let driver: RemoteDriver = serde_json::from_value(raw.clone()).map_err(|e| {
        ClientError::failed(format!(
            "The service's descriptor for `{driver_id}` is not understood: {e}."
        ))
    })?;
    Ok((driver, raw))
}

/// `GET /v1/drivers`: typed descriptors (for the operator table) and the
/// raw JSON array (for `--json`).
pub async fn fetch_all(
    remote: &Remote,
    console: &Console,
) -> Result<(Vec<DriverDescriptor>, Value), ClientError> {
    let reply = remote.get("/v1/drivers", console).await?;
    if !reply.is_success() {
        return Err(refused_read(
            "Reading the driver catalogue",
            &reply,
            CATALOGUE_HINT,
        ));
    }
    let raw = reply.body["drivers"].clone();
    let drivers: Vec<DriverDescriptor> = serde_json::from_value(raw.clone()).map_err(|e| {
        ClientError::failed(format!(
            "The service's driver catalogue is not understood: {e}."
        ))
    })?;
    Ok((drivers, raw))
}

/// `GET /v1/drivers/{driver_id}` as a full descriptor (for the table).
pub async fn fetch_descriptor(
    remote: &Remote,
    driver_id: &str,
    console: &Console,
) -> Result<(DriverDescriptor, Value), ClientError> {
    let (_, raw) = fetch_driver(remote, driver_id, console).await?;
    let descriptor: DriverDescriptor = serde_json::from_value(raw.clone()).map_err(|e| {
        ClientError::failed(format!(
            "The service's descriptor for `{driver_id}` is not understood: {e}."
        ))
    })?;
    Ok((descriptor, raw))
}
