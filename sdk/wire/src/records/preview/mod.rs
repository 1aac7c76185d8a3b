//! Previews and preview generations (reference §4.1 preview payloads, §6.1
//! ids, §6.6 records and transitions, §8 rule 8), one noun per module:
//!
//! - ids: preview and generation ids, labels, routes and canonical URLs
//!   ([`preview_id`], [`generation_id`], …);
//! - the preview record ([`PreviewRecord`], [`PreviewState`]);
//! - the generation record ([`PreviewGenerationRecord`] and its source map
//!   and pull-request summaries);
//! - the evidence payloads ([`PreviewMutationRequest`],
//!   [`PreviewGenerationMutationRequest`], [`PreviewDestroyMutationRequest`]);
//! - the transitions ([`apply_generation`], [`apply_destroy`]).
//!
//! Everything is re-exported here, so `preview::PreviewRecord` and
//! `preview::apply_generation` are the paths to use.

mod generation;
mod ids;
mod mutation;
mod record;
mod transition;

pub use generation::{
    PreviewGenerationRecord, PreviewGenerationState, PreviewPullRequestSummary,
    PreviewSourceRecord, PreviewSourceSelection,
};
pub use ids::{
    generation_id, preview_canonical_url, preview_id, preview_label, preview_route_path,
};
pub use mutation::{
    PreviewDestroyMutationRequest, PreviewGenerationMutationRequest, PreviewMutationRequest,
    check_alignment,
};
pub use record::{PreviewRecord, PreviewState};
pub use transition::{
    apply_destroy, apply_generation, build_generation, transition_for_generation, upsert_preview,
};

use crate::validation::ValidationError;

/// Checks every item of a list, naming `field[index]` in the error.
fn validate_list<T>(
    items: &[T],
    field: &str,
    check: impl Fn(&T) -> Result<(), ValidationError>,
) -> Result<(), ValidationError> {
    for (index, item) in items.iter().enumerate() {
        check(item).map_err(|e| e.within(&format!("{field}[{index}]")))?;
    }
    Ok(())
}

/// The evidence payloads of the tests, parsed from the fixtures.
#[cfg(test)]
mod requests {
    use super::*;
    use crate::fixtures::*;

    pub fn preview_req() -> PreviewMutationRequest {
        parse(preview_request())
    }

    pub fn generation_req(state: &str) -> PreviewGenerationMutationRequest {
        parse(generation_request(state))
    }

    pub fn destroy_req() -> PreviewDestroyMutationRequest {
        parse(destroy_request())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn state_names() {
        assert_eq!(PreviewState::TeardownPending.as_str(), "teardown_pending");
        assert_eq!(
            serde_json::to_value(PreviewState::TeardownPending).unwrap(),
            json!("teardown_pending")
        );
        assert_eq!(PreviewGenerationState::Superseded.as_str(), "superseded");
        assert_eq!(
            serde_json::to_value(PreviewSourceSelection::Baseline).unwrap(),
            json!("baseline")
        );
    }
}
