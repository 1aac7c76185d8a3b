//! `probe`: HTTP health and content probes of lane and preview URLs. The
//! binding needs an invocation; [`HttpProbe`] (`http.rs`) polls.

mod http;

pub use http::HttpProbe;

use super::super::bindings::launchplane::driver::probe;
use super::super::state::InvocationState;
use super::call::{HostResult, outcome};

impl probe::Host for InvocationState {
    async fn check(&mut self, check: probe::HealthCheck) -> HostResult<probe::HealthResult> {
        if let Err(e) = self.scope_for("probe.check") {
            return Ok(Err(e));
        }
        let Some(probe) = self.services.probe.clone() else {
            return Ok(Err(self.unavailable("probe.check", "probe")));
        };
        let summary = check.urls.join(" ");
        let result = self
            .call_site()?
            .run(async move { probe.check(&check).await })
            .await?;
        self.note("probe.check", summary, outcome(&result));
        Ok(result)
    }

    async fn check_content(
        &mut self,
        check: probe::ContentCheck,
    ) -> HostResult<probe::HealthResult> {
        if let Err(e) = self.scope_for("probe.check-content") {
            return Ok(Err(e));
        }
        let Some(probe) = self.services.probe.clone() else {
            return Ok(Err(self.unavailable("probe.check-content", "probe")));
        };
        let summary = check.urls.join(" ");
        let result = self
            .call_site()?
            .run(async move { probe.check_content(&check).await })
            .await?;
        self.note("probe.check-content", summary, outcome(&result));
        Ok(result)
    }
}
