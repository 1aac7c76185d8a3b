//! `clock`: wall-clock time as the host sees it.

use super::super::bindings::launchplane::driver::clock;
use super::super::state::InvocationState;

impl clock::Host for InvocationState {
    async fn now(&mut self) -> wasmtime::Result<String> {
        // Microseconds: drivers derive record ids from this timestamp, and
        // two lifecycle steps within one second must not share an id.
        Ok(crate::time::now_rfc3339_micros())
    }
}
