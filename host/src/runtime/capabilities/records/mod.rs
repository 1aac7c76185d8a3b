//! `records`: the invocation's product's records. The binding checks the
//! scope (a write must be of a kind the action declares); [`StoreRecords`]
//! (`store.rs`) does the work against the store.

mod store;

pub use store::{DeferredWrites, StoreRecords};

use super::super::bindings::HostError;
use super::super::bindings::launchplane::driver::records;
use super::super::state::InvocationState;
use super::call::{HostResult, fenced, outcome};

impl records::Host for InvocationState {
    async fn get(&mut self, kind: String, record_id: String) -> HostResult<Option<String>> {
        let scope = match self.scope_for("records.get") {
            Ok(scope) => scope,
            Err(e) => return Ok(Err(e)),
        };
        let Some(records) = self.services.records.clone() else {
            return Ok(Err(self.unavailable("records.get", "records")));
        };
        let (k, id) = (kind.clone(), record_id.clone());
        let result = self
            .call_site()?
            .run(async move { records.get(&scope, &k, &id).await })
            .await?;
        self.note(
            "records.get",
            format!("{kind} {record_id}"),
            outcome(&result),
        );
        Ok(result)
    }

    async fn list(&mut self, kind: String, query: records::RecordQuery) -> HostResult<Vec<String>> {
        let scope = match self.scope_for("records.list") {
            Ok(scope) => scope,
            Err(e) => return Ok(Err(e)),
        };
        if let Some(context) = &query.context
            && let Err(e) = self.context_for("records.list", context)
        {
            return Ok(Err(e));
        }
        let Some(records) = self.services.records.clone() else {
            return Ok(Err(self.unavailable("records.list", "records")));
        };
        let k = kind.clone();
        let result = self
            .call_site()?
            .run(async move { records.list(&scope, &k, &query).await })
            .await?;
        self.note("records.list", kind, outcome(&result));
        Ok(result)
    }

    async fn put(&mut self, kind: String, document: String) -> HostResult<String> {
        let scope = match self.scope_for("records.put") {
            Ok(scope) => scope,
            Err(e) => return Ok(Err(e)),
        };
        if !scope.allows_write(&kind) {
            self.note("records.put", kind.clone(), "denied");
            tracing::warn!(driver_id = %self.driver_id, trace_id = %self.trace_id, kind,
                "driver tried to write a record kind its action does not declare");
            return Ok(Err(HostError::Denied(format!(
                "this action does not declare `{kind}` in writes_records"
            ))));
        }
        let Some(records) = self.services.records.clone() else {
            return Ok(Err(self.unavailable("records.put", "records")));
        };
        let k = kind.clone();
        // A held-back write is no effect until the request commits it
        // with its answer, so it does not pass the fence.
        let fence = if records.defers() {
            None
        } else {
            self.services.effects.clone()
        };
        let result = self
            .call_site()?
            .run(async move {
                fenced(fence).await?;
                records.put(&scope, &k, &document).await
            })
            .await?;
        self.note("records.put", kind, outcome(&result));
        Ok(result)
    }
}
