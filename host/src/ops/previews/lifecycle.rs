//! Desired state, plan and cleanup: the records of §6.7 and how they are
//! derived (the original's rules: desired previews sorted by slug, plan
//! sets over the latest inventory scan, cleanup refusing to destroy what
//! has no stored preview record or no PR number in its slug).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::{CleanupRequest, DesiredPreview, DesiredStateRequest, PlanRequest, Scoped, record_id};
use crate::auth::CallerIdentity;
use crate::error::ApiError;
use crate::ops::driver::{ActionCall, OperationRequest};
use crate::ops::{Call, Service};
use crate::records::RecordQuery;
use crate::runtime::capabilities::github::GitHubError;

/// The message of a plan without any inventory scan (the original's).
const MISSING_INVENTORY: &str =
    "Launchplane has not recorded a preview inventory scan for this context.";

/// The desired state record: open labelled pull requests as previews, or
/// a `fail` record naming the GitHub error.
pub(super) async fn discover(github: Scoped, request: &DesiredStateRequest) -> Value {
    let discovered_at = crate::time::now_rfc3339_micros();
    let context = request.context.trim();
    let (capability, repo) = github;
    let found = match capability {
        None => Err(GitHubError::NotConfigured(
            "no GitHub API is configured on this host".to_string(),
        )),
        Some(github) => {
            github
                .client()
                .open_pull_requests(context, &repo, &request.label, request.max_pages)
                .await
        }
    };
    let prefix = request.preview_slug_prefix.trim();
    let (status, previews, error) = match found {
        Ok(pulls) => {
            let mut previews: Vec<DesiredPreview> = pulls
                .into_iter()
                .map(|p| DesiredPreview {
                    preview_slug: format!("{prefix}{}", p.number),
                    anchor_repo: request.anchor_repo.trim().to_string(),
                    anchor_pr_number: Some(p.number),
                    anchor_pr_url: p.html_url,
                    head_sha: p.head_sha,
                })
                .collect();
            previews.sort_by(|a, b| a.preview_slug.cmp(&b.preview_slug));
            ("pass", previews, String::new())
        }
        Err(e) => {
            tracing::warn!(error = %e, "preview desired state discovery failed");
            ("fail", Vec::new(), e.to_string())
        }
    };
    json!({
        "desired_state_id": record_id("preview-desired-state", context, &discovered_at),
        "product": request.product.trim(),
        "context": context,
        "source": request.source.trim(),
        "discovered_at": discovered_at,
        "repository": repo.full_name(),
        "label": request.label.trim(),
        "anchor_repo": request.anchor_repo.trim(),
        "preview_slug_prefix": prefix,
        "status": status,
        "desired_count": previews.len(),
        "desired_previews": previews,
        "error_message": error,
    })
}

fn strings(value: &Value, key: &str) -> Vec<String> {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

impl Service {
    /// The plan record: keep = desired ∩ actual, orphaned = actual −
    /// desired, missing = desired − actual, over the context's latest
    /// inventory scan.
    pub(super) async fn plan(&self, request: &PlanRequest) -> Result<Value, ApiError> {
        let planned_at = crate::time::now_rfc3339_micros();
        let context = request.context.trim();
        let mut desired: Vec<DesiredPreview> = request
            .desired_previews
            .iter()
            .map(|p| DesiredPreview {
                preview_slug: p.preview_slug.trim().to_string(),
                ..p.clone()
            })
            .collect();
        desired.sort_by(|a, b| a.preview_slug.cmp(&b.preview_slug));
        desired.dedup_by(|a, b| a.preview_slug == b.preview_slug);
        let desired_slugs: BTreeSet<String> =
            desired.iter().map(|p| p.preview_slug.clone()).collect();
        let scan = self
            .store
            .list_records(
                "preview_inventory_scan",
                &RecordQuery {
                    context: Some(context.to_string()),
                    limit: 1,
                    ..Default::default()
                },
            )
            .await
            .map_err(ApiError::internal)?
            .into_iter()
            .next()
            .map(|r| r.document);
        let mut plan = json!({
            "plan_id": record_id("preview-lifecycle-plan", context, &planned_at),
            "product": request.product.trim(),
            "context": context,
            "planned_at": planned_at,
            "source": request.source.trim(),
            "desired_state_id": request.desired_state_id.trim(),
            "inventory_scan_id": "",
            "desired_previews": desired,
            "desired_slugs": desired_slugs,
            "actual_slugs": [],
            "keep_slugs": [],
            "orphaned_slugs": [],
            "missing_slugs": [],
        });
        let Some(scan) = scan else {
            plan["status"] = json!("missing_inventory");
            plan["error_message"] = json!(MISSING_INVENTORY);
            return Ok(plan);
        };
        let actual: BTreeSet<String> = strings(&scan, "preview_slugs").into_iter().collect();
        plan["status"] = json!(if text(&scan, "status") == "pass" {
            "pass"
        } else {
            "fail"
        });
        plan["error_message"] = json!(text(&scan, "error_message"));
        plan["inventory_scan_id"] = json!(text(&scan, "scan_id"));
        plan["actual_slugs"] = json!(actual);
        plan["keep_slugs"] = json!(desired_slugs.intersection(&actual).collect::<Vec<_>>());
        plan["orphaned_slugs"] = json!(actual.difference(&desired_slugs).collect::<Vec<_>>());
        plan["missing_slugs"] = json!(desired_slugs.difference(&actual).collect::<Vec<_>>());
        Ok(plan)
    }

    /// The cleanup record of a plan: a report, or with `apply` each
    /// orphaned preview destroyed through the product driver (blocked as
    /// a whole when one cannot be matched to a stored preview record).
    pub(super) async fn cleanup(
        &self,
        call: &Call,
        request: &CleanupRequest,
    ) -> Result<Value, ApiError> {
        let context = request.context.trim();
        let plan = self
            .store
            .get_record("preview_lifecycle_plan", request.plan_id.trim())
            .await
            .map_err(ApiError::internal)?
            .map(|r| r.document)
            .filter(|p| text(p, "context") == context && text(p, "product") == request.product.trim())
            .ok_or_else(|| {
                ApiError::not_found(
                    "Preview lifecycle cleanup requires an existing plan for the requested product/context.",
                )
            })?;
        let requested_at = crate::time::now_rfc3339_micros();
        let orphaned = strings(&plan, "orphaned_slugs");
        let mut record = json!({
            "cleanup_id": record_id("preview-lifecycle-cleanup", context, &requested_at),
            "product": request.product.trim(),
            "context": context,
            "plan_id": text(&plan, "plan_id"),
            "inventory_scan_id": text(&plan, "inventory_scan_id"),
            "requested_at": requested_at,
            "source": request.source.trim(),
            "apply": request.apply,
            "planned_slugs": orphaned,
            "destroyed_slugs": [],
            "failed_slugs": [],
            "blocked_slugs": [],
            "error_message": "",
        });
        if !request.apply {
            record["status"] = json!("report_only");
            record["results"] = json!(
                orphaned
                    .iter()
                    .map(|slug| result_row(slug, "", 0, "planned", &Value::Null, ""))
                    .collect::<Vec<_>>()
            );
            return Ok(record);
        }
        match self.matched_orphans(request, &orphaned).await? {
            Err(message) => {
                record["status"] = json!("blocked");
                record["blocked_slugs"] = json!(orphaned);
                record["results"] = json!(
                    orphaned
                        .iter()
                        .map(|slug| result_row(slug, "", 0, "blocked", &Value::Null, &message))
                        .collect::<Vec<_>>()
                );
                record["error_message"] = json!(message);
            }
            Ok((anchor_repo, matched)) => {
                self.destroy_orphans(call, request, &anchor_repo, &matched, &mut record)
                    .await?;
            }
        }
        Ok(record)
    }

    /// Each orphaned slug with its PR number, once every one has a PR
    /// number under the profile's slug template and a stored preview
    /// record; else the reason the cleanup is blocked.
    async fn matched_orphans(
        &self,
        request: &CleanupRequest,
        orphaned: &[String],
    ) -> Result<Result<(String, Vec<(String, u64)>), String>, ApiError> {
        let profile = self.product_profile(request.product.trim()).await?;
        let Some(profile) = profile else {
            return Ok(Err(format!(
                "Preview cleanup needs the product profile of `{}` to pick its driver.",
                request.product.trim()
            )));
        };
        let template = profile.preview.slug_template.clone();
        let anchor_repo = match profile.repository.rsplit_once('/') {
            Some((_, name)) => name.to_string(),
            None => profile.product.clone(),
        };
        let anchor_repo = if anchor_repo.is_empty() {
            profile.product.clone()
        } else {
            anchor_repo
        };
        let mut matched = Vec::new();
        for slug in orphaned {
            let Some(number) = number_from_slug(&template, slug) else {
                return Ok(Err(format!(
                    "Preview cleanup could not derive a PR number from preview slug `{slug}` using template `{template}`."
                )));
            };
            let found = self.stored_preview(request.context.trim(), number).await?;
            if !found {
                return Ok(Err(format!(
                    "Launchplane will not destroy preview provider state without a matching stored preview record for {}/{slug}.",
                    request.context.trim()
                )));
            }
            matched.push((slug.clone(), number));
        }
        Ok(Ok((anchor_repo, matched)))
    }

    /// Whether a preview record of `context` anchors PR `number`.
    async fn stored_preview(&self, context: &str, number: u64) -> Result<bool, ApiError> {
        let previews = self
            .store
            .list_records(
                "preview",
                &RecordQuery {
                    context: Some(context.to_string()),
                    limit: 1000,
                    ..Default::default()
                },
            )
            .await
            .map_err(ApiError::internal)?;
        Ok(previews
            .iter()
            .any(|p| p.document.get("anchor_pr_number").and_then(Value::as_u64) == Some(number)))
    }

    /// Runs the product driver's `preview_destroy.execute` action for each
    /// matched orphan and fills in the record's results.
    async fn destroy_orphans(
        &self,
        call: &Call,
        request: &CleanupRequest,
        anchor_repo: &str,
        matched: &[(String, u64)],
        record: &mut Value,
    ) -> Result<(), ApiError> {
        let (mut results, mut destroyed, mut failed) = (Vec::new(), Vec::new(), Vec::new());
        for (slug, number) in matched {
            let outcome = self.run_destroy(call, request, slug).await;
            let (status, answer, error) = match outcome {
                Ok(answer) if text(&answer, "destroy_status") == "pass" => {
                    ("destroyed", answer, String::new())
                }
                Ok(answer) => {
                    let error = text(&answer, "error_message").to_string();
                    ("failed", answer, error)
                }
                Err(e) => ("failed", Value::Null, e.message.clone()),
            };
            if status == "destroyed" {
                destroyed.push(slug.clone());
            } else {
                failed.push(slug.clone());
            }
            results.push(result_row(
                slug,
                anchor_repo,
                *number,
                status,
                &answer,
                &error,
            ));
        }
        record["status"] = json!(if failed.is_empty() { "pass" } else { "fail" });
        record["destroyed_slugs"] = json!(destroyed);
        record["failed_slugs"] = json!(failed);
        record["results"] = json!(results);
        if !failed.is_empty() {
            record["error_message"] = json!("One or more preview cleanup actions failed.");
        }
        Ok(())
    }

    /// One preview destroyed by the product driver's action whose authz
    /// action is `preview_destroy.execute` (generic-web's
    /// `preview-destroy`, or an extension's that runs it); its result.
    async fn run_destroy(
        &self,
        call: &Call,
        request: &CleanupRequest,
        slug: &str,
    ) -> Result<Value, ApiError> {
        let product = request.product.trim();
        let profile = self.require_product_profile(product).await?;
        let registry = self.registry();
        let driver = registry
            .driver(&profile.driver_id)
            .cloned()
            .ok_or_else(|| {
                ApiError::not_found(format!("No loaded driver `{}`.", profile.driver_id))
            })?;
        let action = driver
            .descriptor
            .actions
            .iter()
            .find(|a| a.authz_action == "preview_destroy.execute")
            .cloned()
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "Driver `{}` declares no preview destroy action.",
                    profile.driver_id
                ))
            })?;
        let payload = json!({
            "product": product,
            "preview_slug": slug,
            "destroy_reason": request.destroy_reason.trim(),
            "timeout_seconds": request.timeout_seconds,
        });
        if let Some(validator) = driver.validator(&action.action_id) {
            crate::ops::driver::envelope::validate_payload(
                validator,
                &action.envelope_key,
                &payload,
            )?;
        }
        let action_call = ActionCall {
            trace_id: call.trace_id.to_string(),
            driver_id: profile.driver_id.clone(),
            action_id: action.action_id.clone(),
            product: product.to_string(),
            context: request.context.trim().to_string(),
            instance: String::new(),
            caller: CallerIdentity::clone(&call.caller.identity),
            idempotency_key: None,
            extension: None,
            request: OperationRequest {
                payload,
                dry_run: false,
                lanes: crate::ops::driver::profile_lanes(&profile),
            },
        };
        let invoked = self
            .run_action(&driver, &action, &action_call, None)
            .await
            .map_err(crate::ops::driver::invoke_error)?;
        let response = invoked
            .value
            .map_err(|e| crate::ops::driver::driver_error(&profile.driver_id, e))?;
        serde_json::from_str(&response.result).map_err(ApiError::internal)
    }
}

/// One row of the cleanup record's `results`.
fn result_row(
    slug: &str,
    anchor_repo: &str,
    number: u64,
    status: &str,
    answer: &Value,
    error: &str,
) -> Value {
    json!({
        "preview_slug": slug,
        "anchor_repo": anchor_repo,
        "anchor_pr_number": if number == 0 { Value::Null } else { json!(number) },
        "status": status,
        "application_name": text(answer, "application_name"),
        "application_id": text(answer, "application_id"),
        "preview_url": text(answer, "preview_url"),
        "error_message": error,
    })
}

/// The PR number `slug` names under `template` (`{number}` replaced):
/// digits only, above zero.
fn number_from_slug(template: &str, slug: &str) -> Option<u64> {
    let template = if template.trim().is_empty() {
        "pr-{number}"
    } else {
        template.trim()
    };
    let (prefix, suffix) = template.split_once("{number}")?;
    let digits = slug.strip_prefix(prefix)?.strip_suffix(suffix)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|n| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::number_from_slug;

    #[test]
    fn pr_numbers_come_from_the_slug_template() {
        assert_eq!(number_from_slug("pr-{number}", "pr-12"), Some(12));
        assert_eq!(number_from_slug("", "pr-3"), Some(3));
        assert_eq!(number_from_slug("{number}-web", "7-web"), Some(7));
        for bad in ["pr-0", "pr-", "pr-1a", "x-1", "pr--1"] {
            assert_eq!(number_from_slug("pr-{number}", bad), None, "{bad}");
        }
    }
}
