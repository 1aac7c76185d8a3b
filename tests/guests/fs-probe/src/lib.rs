//! A driver that reaches for the filesystem. The host provides no
//! filesystem interface, so this component must be refused at load.
use launchplane_sdk::prelude::*;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

fn read_passwd(_ctx: &Ctx<'_>, _req: Empty) -> Result<Reply<Value>, DriverError> {
    let text =
        std::fs::read_to_string("/etc/passwd").map_err(|e| DriverError::Internal(e.to_string()))?;
    Ok(Reply::new(json!({"bytes": text.len()})))
}

pub fn driver() -> Driver {
    Driver::new("fs-probe", "Filesystem probe").action(
        Action::post("read_passwd", "read-passwd")
            .authz("fs_probe.execute")
            .envelope("probe")
            .handler(read_passwd),
    )
}

launchplane_sdk::export_driver!(driver);
