//! The preview transitions (reference §6.6, §8 rule 8): how generation
//! evidence upserts a preview, builds its generation and moves the
//! preview's state, and how destroyed evidence retires it.

use super::generation::{
    PreviewGenerationRecord, PreviewGenerationState, PreviewPullRequestSummary,
};
use super::ids::{generation_id, preview_canonical_url, preview_label};
use super::mutation::{
    PreviewDestroyMutationRequest, PreviewGenerationMutationRequest, PreviewMutationRequest,
    check_alignment,
};
use super::record::{PreviewRecord, PreviewState};
use crate::validation::ValidationError;

fn first_non_empty<'a>(candidates: &[&'a str]) -> &'a str {
    candidates
        .iter()
        .copied()
        .find(|s| !s.is_empty())
        .unwrap_or_default()
}

fn trimmed_or(value: &str, fallback: &str) -> String {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        fallback.to_string()
    } else {
        trimmed.to_string()
    }
}

fn or_existing(value: &str, existing: &str) -> String {
    if value.is_empty() {
        existing.to_string()
    } else {
        value.to_string()
    }
}

/// The preview as upserted by a mutation request, before any generation
/// transition: an existing preview only refreshes `anchor_pr_url`,
/// `canonical_url` (when given), `updated_at`, `eligible_at`, `paused_at`
/// and `destroy_after`; a new one needs a `created_at` (falling back to
/// `updated_at`, then `eligible_at`) and a canonical URL (the request's, else
/// derived from `base_url` = `LAUNCHPLANE_PREVIEW_BASE_URL`). Errors name
/// `preview.*` fields.
pub fn upsert_preview(
    existing: Option<PreviewRecord>,
    request: &PreviewMutationRequest,
    base_url: Option<&str>,
) -> Result<PreviewRecord, ValidationError> {
    request.validate().map_err(|e| e.within("preview"))?;
    let record = match existing {
        Some(mut preview) => {
            if !preview.is_anchored_at(
                &request.context,
                &request.anchor_repo,
                request.anchor_pr_number,
            ) {
                return Err(ValidationError::new(
                    "preview",
                    format!(
                        "stored preview `{}` is not the preview of {}",
                        preview.preview_id,
                        preview_label(
                            &request.context,
                            &request.anchor_repo,
                            request.anchor_pr_number
                        )
                    ),
                ));
            }
            preview.anchor_pr_url = request.anchor_pr_url.clone();
            preview.canonical_url = trimmed_or(&request.canonical_url, &preview.canonical_url);
            preview.updated_at = trimmed_or(&request.updated_at, &preview.updated_at);
            preview.eligible_at = trimmed_or(&request.eligible_at, &preview.eligible_at);
            preview.paused_at = or_existing(&request.paused_at, &preview.paused_at);
            preview.destroy_after = or_existing(&request.destroy_after, &preview.destroy_after);
            preview
        }
        None => {
            let created_at = first_non_empty(&[
                request.created_at.trim(),
                request.updated_at.trim(),
                request.eligible_at.trim(),
            ]);
            if created_at.is_empty() {
                return Err(ValidationError::new(
                    "preview.created_at",
                    "preview mutation requires created_at when no existing Launchplane preview \
                     is stored",
                ));
            }
            let canonical_url = match request.canonical_url.trim() {
                "" => preview_canonical_url(
                    base_url.unwrap_or_default(),
                    &request.context,
                    &request.anchor_repo,
                    request.anchor_pr_number,
                )
                .ok_or_else(|| {
                    ValidationError::new(
                        "preview.canonical_url",
                        format!(
                            "no canonical_url given and LAUNCHPLANE_PREVIEW_BASE_URL is not \
                             configured for context `{}`",
                            request.context
                        ),
                    )
                })?,
                given => given.to_string(),
            };
            PreviewRecord {
                schema_version: 1,
                preview_id: request.preview_id(),
                context: request.context.clone(),
                anchor_repo: request.anchor_repo.clone(),
                anchor_pr_number: request.anchor_pr_number,
                anchor_pr_url: request.anchor_pr_url.clone(),
                preview_label: preview_label(
                    &request.context,
                    &request.anchor_repo,
                    request.anchor_pr_number,
                ),
                canonical_url,
                state: request.state,
                created_at: created_at.to_string(),
                updated_at: trimmed_or(&request.updated_at, created_at),
                eligible_at: trimmed_or(&request.eligible_at, created_at),
                paused_at: request.paused_at.clone(),
                destroy_after: request.destroy_after.clone(),
                destroyed_at: request.destroyed_at.clone(),
                destroy_reason: request.destroy_reason.clone(),
                active_generation_id: request.active_generation_id.clone(),
                serving_generation_id: request.serving_generation_id.clone(),
                latest_generation_id: request.latest_generation_id.clone(),
                latest_manifest_fingerprint: request.latest_manifest_fingerprint.clone(),
            }
        }
    };
    record.validate().map_err(|e| e.within("preview"))?;
    Ok(record)
}

/// The generation record for `request` under `preview_id`: the request's
/// `sequence`, else `next_sequence`; the request's `generation_id`
/// (trimmed), else `<preview_id>-generation-<sequence>`; the anchor summary
/// from the request's anchor fields. Errors name `generation.*` fields.
pub fn build_generation(
    preview_id: &str,
    request: &PreviewGenerationMutationRequest,
    next_sequence: u32,
) -> Result<PreviewGenerationRecord, ValidationError> {
    request.validate().map_err(|e| e.within("generation"))?;
    let sequence = request.sequence.unwrap_or(next_sequence);
    let generation_id = match request.generation_id.trim() {
        "" => generation_id(preview_id, sequence),
        given => given.to_string(),
    };
    let record = PreviewGenerationRecord {
        schema_version: 1,
        generation_id,
        preview_id: preview_id.to_string(),
        sequence,
        state: request.state,
        requested_reason: request.requested_reason.clone(),
        requested_at: request.requested_at.clone(),
        started_at: request.started_at.clone(),
        ready_at: request.ready_at.clone(),
        finished_at: request.finished_at.clone(),
        superseded_at: request.superseded_at.clone(),
        failed_at: request.failed_at.clone(),
        expires_at: request.expires_at.clone(),
        resolved_manifest_fingerprint: request.resolved_manifest_fingerprint.clone(),
        artifact_id: request.artifact_id.clone(),
        baseline_release_tuple_id: request.baseline_release_tuple_id.clone(),
        source_map: request.source_map.clone(),
        anchor_summary: PreviewPullRequestSummary {
            repo: request.anchor_repo.clone(),
            pr_number: request.anchor_pr_number,
            head_sha: request.anchor_head_sha.clone(),
            pr_url: request.anchor_pr_url.clone(),
        },
        companion_summaries: request.companion_summaries.clone(),
        deploy_status: request.deploy_status,
        verify_status: request.verify_status,
        overall_health_status: request.overall_health_status,
        failure_stage: request.failure_stage.clone(),
        failure_summary: request.failure_summary.clone(),
    };
    record.validate().map_err(|e| e.within("generation"))?;
    Ok(record)
}

/// The preview after `generation` lands (§6.6):
/// * `ready` → `active`; `updated_at` = ready_at | finished_at |
///   requested_at; destroyed fields cleared; active, serving and latest
///   generation ids and the latest fingerprint set;
/// * `failed` → `failed`; `updated_at` = failed_at | finished_at |
///   requested_at; active and latest ids and the latest fingerprint set
///   (serving kept; destroyed fields kept);
/// * any other state → `active` if the preview already has a serving
///   generation, else `pending`; `updated_at` = requested_at; destroyed
///   fields cleared; active and latest ids and the latest fingerprint set.
pub fn transition_for_generation(
    mut preview: PreviewRecord,
    generation: &PreviewGenerationRecord,
) -> PreviewRecord {
    let id = generation.generation_id.clone();
    match generation.state {
        PreviewGenerationState::Ready => {
            preview.state = PreviewState::Active;
            preview.updated_at = first_non_empty(&[
                &generation.ready_at,
                &generation.finished_at,
                &generation.requested_at,
            ])
            .to_string();
            preview.destroyed_at.clear();
            preview.destroy_reason.clear();
            preview.serving_generation_id = id.clone();
        }
        PreviewGenerationState::Failed => {
            preview.state = PreviewState::Failed;
            preview.updated_at = first_non_empty(&[
                &generation.failed_at,
                &generation.finished_at,
                &generation.requested_at,
            ])
            .to_string();
        }
        _ => {
            preview.state = if preview.serving_generation_id.is_empty() {
                PreviewState::Pending
            } else {
                PreviewState::Active
            };
            preview.updated_at = generation.requested_at.clone();
            preview.destroyed_at.clear();
            preview.destroy_reason.clear();
        }
    }
    preview.active_generation_id = id.clone();
    preview.latest_generation_id = id;
    preview.latest_manifest_fingerprint = generation.resolved_manifest_fingerprint.clone();
    preview
}

/// Reference §8 rule 8 / §3.3 generation evidence: upserts the preview
/// (`existing` = the stored preview of the request's context, anchor repo
/// and PR, if any), builds the generation and applies the transition of its
/// state. Returns the preview and the generation to store.
///
/// `next_sequence` is used when the request has no `sequence`: the stored
/// generations' highest sequence + 1 (1 when none) — or, when the request
/// names the `generation_id` of a stored generation, that generation's
/// sequence. `base_url` is the context's `LAUNCHPLANE_PREVIEW_BASE_URL`,
/// needed only to create a preview whose request has no `canonical_url`.
/// Errors name `preview.*` / `generation.*` fields.
pub fn apply_generation(
    existing: Option<PreviewRecord>,
    preview_req: &PreviewMutationRequest,
    generation_req: &PreviewGenerationMutationRequest,
    next_sequence: u32,
    base_url: Option<&str>,
) -> Result<(PreviewRecord, PreviewGenerationRecord), ValidationError> {
    preview_req.validate().map_err(|e| e.within("preview"))?;
    generation_req
        .validate()
        .map_err(|e| e.within("generation"))?;
    check_alignment(preview_req, generation_req)?;
    let preview = upsert_preview(existing, preview_req, base_url)?;
    let generation = build_generation(&preview.preview_id, generation_req, next_sequence)?;
    let preview = transition_for_generation(preview, &generation);
    preview.validate().map_err(|e| e.within("preview"))?;
    Ok((preview, generation))
}

/// Reference §6.6 destroy: `destroyed`; `updated_at` = `destroyed_at`;
/// `destroyed_at` and `destroy_reason` set; active and serving generation
/// ids cleared (latest kept, so the record stays readable with its
/// history). `existing` is the stored preview the request addresses (a
/// missing preview is the caller's 400); `request` must be valid.
pub fn apply_destroy(
    mut existing: PreviewRecord,
    request: &PreviewDestroyMutationRequest,
) -> PreviewRecord {
    existing.state = PreviewState::Destroyed;
    existing.updated_at = request.destroyed_at.clone();
    existing.destroyed_at = request.destroyed_at.clone();
    existing.destroy_reason = request.destroy_reason.clone();
    existing.active_generation_id.clear();
    existing.serving_generation_id.clear();
    existing
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::requests::*;
    use super::*;
    use crate::fixtures::*;

    const BASE: Option<&str> = Some("https://previews.example.com/");

    /// Generation evidence applied to `existing` with the next sequence.
    fn apply(
        existing: Option<PreviewRecord>,
        generation: PreviewGenerationMutationRequest,
        next_sequence: u32,
    ) -> (PreviewRecord, PreviewGenerationRecord) {
        apply_generation(existing, &preview_req(), &generation, next_sequence, BASE)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn records_round_trip_and_validate() {
        let (preview, generation) = apply(None, generation_req("ready"), 1);
        let preview_value = round_trip(&preview);
        let generation_value = round_trip(&generation);
        parse::<PreviewRecord>(preview_value.clone());
        parse::<PreviewGenerationRecord>(generation_value.clone());

        for field in [
            "preview_id",
            "context",
            "anchor_repo",
            "anchor_pr_url",
            "preview_label",
            "canonical_url",
            "created_at",
            "updated_at",
            "eligible_at",
        ] {
            let value = set(preview_value.clone(), &format!("/{field}"), json!(""));
            assert_rejected_at::<PreviewRecord>(value, field);
        }
        let value = set(preview_value.clone(), "/anchor_pr_number", json!(0));
        assert_rejected_at::<PreviewRecord>(value, "anchor_pr_number");
        let value = remove(preview_value, "", "state");
        assert_rejected_at::<PreviewRecord>(value, "state");

        for field in [
            "generation_id",
            "preview_id",
            "requested_reason",
            "requested_at",
            "resolved_manifest_fingerprint",
        ] {
            let value = set(generation_value.clone(), &format!("/{field}"), json!(""));
            assert_rejected_at::<PreviewGenerationRecord>(value, field);
        }
        let value = set(generation_value.clone(), "/sequence", json!(0));
        assert_rejected_at::<PreviewGenerationRecord>(value, "sequence");
        let value = set(
            generation_value.clone(),
            "/anchor_summary/head_sha",
            json!(""),
        );
        assert_rejected_at::<PreviewGenerationRecord>(value, "anchor_summary.head_sha");
        let value = set(generation_value, "/state", json!("destroyed"));
        assert_rejected_at::<PreviewGenerationRecord>(value, "state");
    }

    #[test]
    fn first_requested_generation_creates_a_pending_preview() {
        let (preview, generation) = apply(None, generation_req("building"), 1);
        assert_eq!(preview.preview_id, "preview-cm-acme-tenant-cm-pr-42");
        assert_eq!(preview.preview_label, "cm/acme/tenant-cm/pr-42");
        assert_eq!(
            preview.canonical_url,
            "https://previews.example.com/previews/cm/acme/tenant-cm/pr-42"
        );
        assert_eq!(preview.state, PreviewState::Pending);
        assert_eq!(preview.created_at, "2026-04-29T19:00:00Z");
        assert_eq!(preview.eligible_at, "2026-04-29T19:00:00Z");
        assert_eq!(preview.updated_at, "2026-04-29T19:10:00Z");
        assert_eq!(preview.active_generation_id, generation.generation_id);
        assert_eq!(preview.latest_generation_id, generation.generation_id);
        assert_eq!(preview.serving_generation_id, "");
        assert_eq!(
            preview.latest_manifest_fingerprint,
            "launchplane-manifest-0123456789abcdef"
        );

        assert_eq!(
            generation.generation_id,
            "preview-cm-acme-tenant-cm-pr-42-generation-0001"
        );
        assert_eq!(generation.preview_id, preview.preview_id);
        assert_eq!(generation.sequence, 1);
        assert_eq!(generation.state, PreviewGenerationState::Building);
        assert_eq!(
            generation.anchor_summary,
            PreviewPullRequestSummary {
                repo: "acme/tenant-cm".into(),
                pr_number: 42,
                head_sha: "abcdef1234567".into(),
                pr_url: "https://github.com/acme/tenant-cm/pull/42".into(),
            }
        );
        assert_eq!(generation.source_map.len(), 1);
        assert_eq!(generation.companion_summaries.len(), 1);
    }

    #[test]
    fn ready_generation_cuts_over() {
        let (pending, _) = apply(None, generation_req("building"), 1);
        let mut ready = generation_req("ready");
        ready.ready_at = "2026-04-29T19:20:00Z".into();
        ready.finished_at = "2026-04-29T19:21:00Z".into();
        let (preview, generation) = apply(Some(pending), ready, 2);
        assert_eq!(generation.sequence, 2);
        assert_eq!(preview.state, PreviewState::Active);
        assert_eq!(preview.updated_at, "2026-04-29T19:20:00Z");
        assert_eq!(preview.serving_generation_id, generation.generation_id);
        assert_eq!(preview.active_generation_id, generation.generation_id);
        assert_eq!(preview.latest_generation_id, generation.generation_id);
        assert!(generation.generation_id.ends_with("-generation-0002"));

        // updated_at falls back to finished_at, then requested_at.
        let mut ready = generation_req("ready");
        ready.finished_at = "2026-04-29T19:21:00Z".into();
        assert_eq!(apply(None, ready, 1).0.updated_at, "2026-04-29T19:21:00Z");
        assert_eq!(
            apply(None, generation_req("ready"), 1).0.updated_at,
            "2026-04-29T19:10:00Z"
        );
    }

    #[test]
    fn failed_generation_keeps_the_serving_generation() {
        let (serving, ready) = apply(None, generation_req("ready"), 1);
        let mut failed = generation_req("failed");
        failed.failed_at = "2026-04-29T19:30:00Z".into();
        failed.finished_at = "2026-04-29T19:31:00Z".into();
        failed.resolved_manifest_fingerprint = "launchplane-manifest-ffff".into();
        let (preview, generation) = apply(Some(serving), failed, 2);
        assert_eq!(preview.state, PreviewState::Failed);
        assert_eq!(preview.updated_at, "2026-04-29T19:30:00Z");
        assert_eq!(preview.serving_generation_id, ready.generation_id);
        assert_eq!(preview.active_generation_id, generation.generation_id);
        assert_eq!(preview.latest_generation_id, generation.generation_id);
        assert_eq!(
            preview.latest_manifest_fingerprint,
            "launchplane-manifest-ffff"
        );

        let mut failed = generation_req("failed");
        failed.finished_at = "2026-04-29T19:31:00Z".into();
        assert_eq!(apply(None, failed, 1).0.updated_at, "2026-04-29T19:31:00Z");
        assert_eq!(
            apply(None, generation_req("failed"), 1).0.updated_at,
            "2026-04-29T19:10:00Z"
        );
    }

    #[test]
    fn other_states_keep_serving_and_choose_active_or_pending() {
        let (serving, ready) = apply(None, generation_req("ready"), 1);
        for state in [
            "resolving",
            "building",
            "deploying",
            "verifying",
            "superseded",
        ] {
            let (preview, generation) = apply(Some(serving.clone()), generation_req(state), 2);
            assert_eq!(preview.state, PreviewState::Active, "{state}");
            assert_eq!(preview.serving_generation_id, ready.generation_id);
            assert_eq!(preview.active_generation_id, generation.generation_id);
            assert_eq!(preview.latest_generation_id, generation.generation_id);
            assert_eq!(preview.updated_at, "2026-04-29T19:10:00Z");

            let (fresh, _) = apply(None, generation_req(state), 1);
            assert_eq!(fresh.state, PreviewState::Pending, "{state}");
        }
    }

    #[test]
    fn destroy_clears_runtime_links_but_keeps_evidence() {
        let (serving, ready) = apply(None, generation_req("ready"), 1);
        let destroyed = apply_destroy(serving.clone(), &destroy_req());
        assert_eq!(destroyed.state, PreviewState::Destroyed);
        assert_eq!(destroyed.updated_at, "2026-04-30T08:00:00Z");
        assert_eq!(destroyed.destroyed_at, "2026-04-30T08:00:00Z");
        assert_eq!(destroyed.destroy_reason, "pull_request_closed");
        assert_eq!(destroyed.active_generation_id, "");
        assert_eq!(destroyed.serving_generation_id, "");
        assert_eq!(destroyed.latest_generation_id, ready.generation_id);
        assert_eq!(destroyed.preview_id, serving.preview_id);
        destroyed.validate().unwrap();

        // A later requested generation revives it and clears the destroyed fields.
        let (revived, _) = apply(Some(destroyed.clone()), generation_req("building"), 2);
        assert_eq!(revived.state, PreviewState::Pending);
        assert_eq!(revived.destroyed_at, "");
        assert_eq!(revived.destroy_reason, "");

        // A failed one does not clear them.
        let (failed, _) = apply(Some(destroyed), generation_req("failed"), 2);
        assert_eq!(failed.state, PreviewState::Failed);
        assert_eq!(failed.destroy_reason, "pull_request_closed");
    }

    #[test]
    fn existing_previews_only_refresh_some_fields() {
        let (existing, _) = apply(None, generation_req("ready"), 1);
        let mut request = preview_req();
        request.anchor_pr_url = "https://github.com/acme/tenant-cm/pull/42#new".into();
        request.canonical_url = " https://custom.example.com/pr-42 ".into();
        request.created_at = "2030-01-01T00:00:00Z".into();
        request.updated_at = "2026-04-29T19:40:00Z".into();
        request.eligible_at = "2026-04-29T19:41:00Z".into();
        request.paused_at = "2026-04-29T19:42:00Z".into();
        request.destroy_after = "2026-05-29T00:00:00Z".into();
        request.state = PreviewState::Paused;
        request.serving_generation_id = "ignored".into();
        let upserted = upsert_preview(Some(existing.clone()), &request, None).unwrap();
        assert_eq!(upserted.anchor_pr_url, request.anchor_pr_url);
        assert_eq!(upserted.canonical_url, "https://custom.example.com/pr-42");
        assert_eq!(upserted.updated_at, "2026-04-29T19:40:00Z");
        assert_eq!(upserted.eligible_at, "2026-04-29T19:41:00Z");
        assert_eq!(upserted.paused_at, "2026-04-29T19:42:00Z");
        assert_eq!(upserted.destroy_after, "2026-05-29T00:00:00Z");
        assert_eq!(upserted.created_at, existing.created_at);
        assert_eq!(upserted.state, existing.state);
        assert_eq!(
            upserted.serving_generation_id,
            existing.serving_generation_id
        );

        // Blank values keep the stored ones.
        let mut blank = preview_req();
        blank.created_at.clear();
        let kept = upsert_preview(Some(existing.clone()), &blank, None).unwrap();
        assert_eq!(kept.canonical_url, existing.canonical_url);
        assert_eq!(kept.updated_at, existing.updated_at);
        assert_eq!(kept.eligible_at, existing.eligible_at);
    }

    #[test]
    fn new_previews_derive_created_at_and_canonical_url() {
        let mut request = preview_req();
        request.created_at.clear();
        request.updated_at = "2026-04-29T18:00:00Z".into();
        request.eligible_at = "2026-04-29T17:00:00Z".into();
        request.canonical_url = "https://explicit.example.com/x".into();
        let preview = upsert_preview(None, &request, None).unwrap();
        assert_eq!(preview.created_at, "2026-04-29T18:00:00Z");
        assert_eq!(preview.updated_at, "2026-04-29T18:00:00Z");
        assert_eq!(preview.eligible_at, "2026-04-29T17:00:00Z");
        assert_eq!(preview.canonical_url, "https://explicit.example.com/x");

        request.updated_at.clear();
        let preview = upsert_preview(None, &request, None).unwrap();
        assert_eq!(preview.created_at, "2026-04-29T17:00:00Z");
        assert_eq!(preview.updated_at, "2026-04-29T17:00:00Z");

        request.eligible_at.clear();
        let error = upsert_preview(None, &request, None).unwrap_err();
        assert_eq!(error.field, "preview.created_at");

        let error = upsert_preview(None, &preview_req(), None).unwrap_err();
        assert_eq!(error.field, "preview.canonical_url");
        let error = upsert_preview(None, &preview_req(), Some(" ")).unwrap_err();
        assert_eq!(error.field, "preview.canonical_url");
    }

    #[test]
    fn sequence_and_generation_id_from_the_request_win() {
        let mut request = generation_req("building");
        request.sequence = Some(7);
        let (_, generation) = apply(None, request, 3);
        assert_eq!(generation.sequence, 7);
        assert!(generation.generation_id.ends_with("-generation-0007"));

        let mut request = generation_req("building");
        request.generation_id = " custom-generation ".into();
        let (_, generation) = apply(None, request, 3);
        assert_eq!(generation.sequence, 3);
        assert_eq!(generation.generation_id, "custom-generation");

        let error = apply_generation(None, &preview_req(), &generation_req("building"), 0, BASE)
            .unwrap_err();
        assert_eq!(error.field, "generation.sequence");
    }

    #[test]
    fn preview_and_generation_must_name_the_same_anchor() {
        type Change = fn(&mut PreviewGenerationMutationRequest);
        let cases: [(&str, Change); 4] = [
            ("context", |g| g.context = "opw".into()),
            ("anchor_repo", |g| g.anchor_repo = "acme/other".into()),
            ("anchor_pr_number", |g| g.anchor_pr_number = 43),
            ("anchor_pr_url", |g| g.anchor_pr_url = "https://x/43".into()),
        ];
        for (field, change) in cases {
            let mut generation = generation_req("building");
            change(&mut generation);
            let error = apply_generation(None, &preview_req(), &generation, 1, BASE).unwrap_err();
            assert_eq!(error.field, format!("generation.{field}"));
            assert_eq!(
                check_alignment(&preview_req(), &generation).unwrap_err(),
                error
            );
        }
    }

    #[test]
    fn stored_preview_must_be_the_requests_preview() {
        let (mut other, _) = apply(None, generation_req("building"), 1);
        other.anchor_pr_number = 41;
        let error = apply_generation(
            Some(other),
            &preview_req(),
            &generation_req("building"),
            1,
            BASE,
        )
        .unwrap_err();
        assert_eq!(error.field, "preview");
    }

    #[test]
    fn invalid_requests_are_refused_with_prefixed_paths() {
        let mut preview = preview_req();
        preview.anchor_pr_url = " ".into();
        let mut generation = generation_req("building");
        generation.anchor_pr_url = " ".into();
        let error = apply_generation(None, &preview, &generation, 1, BASE).unwrap_err();
        assert_eq!(error.field, "preview.anchor_pr_url");

        let mut generation = generation_req("building");
        generation.requested_reason = "".into();
        let error = apply_generation(None, &preview_req(), &generation, 1, BASE).unwrap_err();
        assert_eq!(error.field, "generation.requested_reason");
    }
}
