//! The product-neutral preview lifecycle routes (reference §3.5, §4.3,
//! §6.7): which pull requests want a preview (`desired-state`), what to
//! keep and destroy (`lifecycle-plan`), applying a plan (`lifecycle-cleanup`,
//! the janitor: previews whose pull request closed or lost its label are
//! destroyed through the product driver's `preview_destroy` action, which
//! records the destroyed transition), and the one PR comment per preview
//! (`pr-feedback`).
//!
//! Order, as the original: body (400 naming the field), authorization of
//! the route's action on (product, context) (403; PR feedback also accepts
//! the lifecycle grant its status implies), idempotency, execution. Each
//! route writes its record and answers its id under `records` and the
//! record as `result`. GitHub failures are part of the record (`status:
//! fail`, `delivery_status: failed`) with a named `error_message`
//! (`github_unauthorized`, `github_not_found`, `github_rate_limited`, …),
//! as the original answered 202 with a failed record.
//!
//! Stricter than the original: `repository` must be the product profile's
//! (a product's workflow reaches only its own repository, as drivers do).

mod feedback;
mod lifecycle;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::mutation::Mutation;
use super::{Accepted, Call, Reply, Service};
use crate::error::ApiError;
use crate::records::{RecordWrite, StoredRecord};
use crate::runtime::capabilities::GitHubCapability;
use crate::runtime::capabilities::github::Repository;

/// The GitHub capability (`None`: not configured on this host) and the
/// product's repository.
type Scoped = (Option<GitHubCapability>, Repository);

pub use feedback::render_comment;

/// `POST /v1/previews/desired-state`.
pub const DESIRED_STATE_ROUTE: &str = "/v1/previews/desired-state";
/// `POST /v1/previews/lifecycle-plan`.
pub const PLAN_ROUTE: &str = "/v1/previews/lifecycle-plan";
/// `POST /v1/previews/lifecycle-cleanup`.
pub const CLEANUP_ROUTE: &str = "/v1/previews/lifecycle-cleanup";
/// `POST /v1/previews/pr-feedback`.
pub const FEEDBACK_ROUTE: &str = "/v1/previews/pr-feedback";

fn schema_version() -> u32 {
    1
}
fn workflow() -> String {
    "workflow".to_string()
}
fn preview_label() -> String {
    "preview".to_string()
}
fn slug_prefix() -> String {
    "pr-".to_string()
}
fn max_pages() -> u32 {
    10
}

/// `POST /v1/previews/desired-state`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesiredStateRequest {
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    pub product: String,
    pub context: String,
    #[serde(default = "workflow")]
    pub source: String,
    pub repository: String,
    #[serde(default = "preview_label")]
    pub label: String,
    pub anchor_repo: String,
    #[serde(default = "slug_prefix")]
    pub preview_slug_prefix: String,
    #[serde(default = "max_pages")]
    pub max_pages: u32,
}

/// One preview a plan wants (`PreviewLifecycleDesiredPreview`).
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DesiredPreview {
    pub preview_slug: String,
    #[serde(default)]
    pub anchor_repo: String,
    #[serde(default)]
    pub anchor_pr_number: Option<u64>,
    #[serde(default)]
    pub anchor_pr_url: String,
    #[serde(default)]
    pub head_sha: String,
}

/// `POST /v1/previews/lifecycle-plan`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    pub product: String,
    pub context: String,
    #[serde(default)]
    pub desired_previews: Vec<DesiredPreview>,
    #[serde(default)]
    pub desired_state_id: String,
    #[serde(default = "workflow")]
    pub source: String,
}

fn cleanup_reason() -> String {
    "preview_lifecycle_cleanup".to_string()
}
fn three_hundred() -> u32 {
    300
}

/// `POST /v1/previews/lifecycle-cleanup`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CleanupRequest {
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    pub product: String,
    pub context: String,
    pub plan_id: String,
    #[serde(default = "workflow")]
    pub source: String,
    #[serde(default)]
    pub apply: bool,
    #[serde(default = "cleanup_reason")]
    pub destroy_reason: String,
    #[serde(default = "three_hundred")]
    pub timeout_seconds: u32,
}

/// The statuses of a PR feedback comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackStatus {
    Pending,
    Ready,
    Destroyed,
    Failed,
    CleanupFailed,
    Unsupported,
    Cleared,
}

impl FeedbackStatus {
    /// The lifecycle grants that also allow writing this status (§3.5).
    fn fallback_actions(self) -> &'static [&'static str] {
        match self {
            FeedbackStatus::Pending | FeedbackStatus::Ready | FeedbackStatus::Failed => {
                &["preview_refresh.execute"]
            }
            FeedbackStatus::Destroyed | FeedbackStatus::CleanupFailed => {
                &["preview_destroy.execute"]
            }
            FeedbackStatus::Cleared => &["preview_refresh.execute", "preview_destroy.execute"],
            FeedbackStatus::Unsupported => &[],
        }
    }
}

fn default_marker() -> String {
    feedback::DEFAULT_MARKER.to_string()
}

/// `POST /v1/previews/pr-feedback`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    pub product: String,
    pub context: String,
    #[serde(default = "workflow")]
    pub source: String,
    pub repository: String,
    pub anchor_repo: String,
    pub anchor_pr_number: u64,
    pub anchor_pr_url: String,
    pub status: FeedbackStatus,
    #[serde(default = "default_marker")]
    pub marker: String,
    #[serde(default)]
    pub preview_url: String,
    #[serde(default)]
    pub immutable_image_reference: String,
    #[serde(default)]
    pub refresh_image_reference: String,
    #[serde(default)]
    pub revision: String,
    #[serde(default)]
    pub run_url: String,
    #[serde(default)]
    pub failure_summary: String,
    /// [L]: render and record, deliver nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// The fixed facts of one preview route.
struct Spec {
    /// The route path, as 400 messages name it.
    route: &'static str,
    /// The authz action, also the mutation's action.
    action: &'static str,
    /// The record kind written (its `records` key is `<kind>_id`).
    kind: &'static str,
    /// The document field holding the record id.
    id_field: &'static str,
}

/// What the shared admission and execution of a preview route need to
/// know of its request body.
trait PreviewRoute: DeserializeOwned {
    const SPEC: Spec;

    /// `schema_version`, `product` and `context` as sent.
    fn header(&self) -> (u32, &str, &str);

    /// The fields that must not be blank, in the order they are checked.
    fn required(&self) -> Vec<(&'static str, &str)>;

    /// The route's other rules, after the required fields.
    fn check(&self) -> Result<(), String> {
        Ok(())
    }

    /// Grants accepted in place of the route's action.
    fn also_allowed(&self) -> &'static [&'static str] {
        &[]
    }

    /// Whether the answer is stored for replay under its key.
    fn replayable(&self) -> bool {
        true
    }
}

impl PreviewRoute for DesiredStateRequest {
    const SPEC: Spec = Spec {
        route: DESIRED_STATE_ROUTE,
        action: "preview_desired_state.discover",
        kind: "preview_desired_state",
        id_field: "desired_state_id",
    };

    fn header(&self) -> (u32, &str, &str) {
        (self.schema_version, &self.product, &self.context)
    }

    fn required(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("product", &self.product),
            ("context", &self.context),
            ("source", &self.source),
            ("repository", &self.repository),
            ("label", &self.label),
            ("anchor_repo", &self.anchor_repo),
            ("preview_slug_prefix", &self.preview_slug_prefix),
        ]
    }

    fn check(&self) -> Result<(), String> {
        if !(1..=20).contains(&self.max_pages) {
            return Err("max_pages: must be between 1 and 20".to_string());
        }
        Ok(())
    }
}

impl PreviewRoute for PlanRequest {
    const SPEC: Spec = Spec {
        route: PLAN_ROUTE,
        action: "preview_lifecycle.plan",
        kind: "preview_lifecycle_plan",
        id_field: "plan_id",
    };

    fn header(&self) -> (u32, &str, &str) {
        (self.schema_version, &self.product, &self.context)
    }

    fn required(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("product", &self.product),
            ("context", &self.context),
            ("source", &self.source),
        ]
    }

    fn check(&self) -> Result<(), String> {
        match self
            .desired_previews
            .iter()
            .position(|p| p.preview_slug.trim().is_empty() || p.anchor_pr_number == Some(0))
        {
            Some(i) => Err(format!(
                "desired_previews[{i}]: preview_slug must not be blank and anchor_pr_number must be at least 1"
            )),
            None => Ok(()),
        }
    }
}

impl PreviewRoute for CleanupRequest {
    const SPEC: Spec = Spec {
        route: CLEANUP_ROUTE,
        action: "preview_lifecycle.cleanup",
        kind: "preview_lifecycle_cleanup",
        id_field: "cleanup_id",
    };

    fn header(&self) -> (u32, &str, &str) {
        (self.schema_version, &self.product, &self.context)
    }

    fn required(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("product", &self.product),
            ("context", &self.context),
            ("plan_id", &self.plan_id),
            ("source", &self.source),
            ("destroy_reason", &self.destroy_reason),
        ]
    }

    fn check(&self) -> Result<(), String> {
        at_least_one("timeout_seconds", self.timeout_seconds.into())
    }
}

impl PreviewRoute for FeedbackRequest {
    const SPEC: Spec = Spec {
        route: FEEDBACK_ROUTE,
        action: "preview_pr_feedback.write",
        kind: "preview_pr_feedback",
        id_field: "feedback_id",
    };

    fn header(&self) -> (u32, &str, &str) {
        (self.schema_version, &self.product, &self.context)
    }

    fn required(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("product", &self.product),
            ("context", &self.context),
            ("source", &self.source),
            ("repository", &self.repository),
            ("anchor_repo", &self.anchor_repo),
            ("anchor_pr_url", &self.anchor_pr_url),
            ("marker", &self.marker),
        ]
    }

    fn check(&self) -> Result<(), String> {
        at_least_one("anchor_pr_number", self.anchor_pr_number)
    }

    fn also_allowed(&self) -> &'static [&'static str] {
        self.status.fallback_actions()
    }

    /// A dry run is not stored: a retry delivers.
    fn replayable(&self) -> bool {
        !self.dry_run
    }
}

/// `field` must be at least 1.
fn at_least_one(field: &str, value: u64) -> Result<(), String> {
    if value < 1 {
        return Err(format!("{field}: must be at least 1"));
    }
    Ok(())
}

/// 400 naming the field or rule.
fn invalid(route: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::invalid_request(format!(
        "Request payload failed validation: {route}: {message}"
    ))
}

/// The body as `T`, after the input hygiene every route applies.
fn parse<T: DeserializeOwned>(route: &str, map: &Map<String, Value>) -> Result<T, ApiError> {
    let body = Value::Object(map.clone());
    super::input::check_body(&body)?;
    serde_json::from_value(body).map_err(|e| invalid(route, e))
}

/// Every named field must be non-blank; `schema_version` at least 1.
fn require(route: &str, schema_version: u32, fields: &[(&str, &str)]) -> Result<(), ApiError> {
    if schema_version < 1 {
        return Err(invalid(route, "schema_version: must be at least 1"));
    }
    match fields.iter().find(|(_, v)| v.trim().is_empty()) {
        Some((name, _)) => Err(invalid(route, format!("{name}: must not be blank"))),
        None => Ok(()),
    }
}

/// `<prefix>-<context>-<ts>` with `:` `-` `.` `+` removed from `ts`.
fn record_id(prefix: &str, context: &str, at: &str) -> String {
    let ts: String = at
        .trim()
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.' | '+'))
        .collect();
    format!("{prefix}-{context}-{ts}")
}

impl Service {
    /// The GitHub capability, and `repository` checked against the
    /// product profile's (403 `repository_not_in_product_boundary`).
    async fn github_for(&self, product: &str, repository: &str) -> Result<Scoped, ApiError> {
        let profile = self.require_product_profile(product).await?;
        let repo = Repository::parse(repository).map_err(|e| invalid("repository", e))?;
        if !profile
            .repository
            .trim()
            .eq_ignore_ascii_case(&repo.full_name())
        {
            return Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "repository_not_in_product_boundary",
                format!(
                    "Repository `{}` is not the repository of product `{product}`.",
                    repo.full_name()
                ),
            ));
        }
        Ok((self.services.github.clone(), repo))
    }

    /// The admission every preview route shares, in the original's
    /// order: the body as `R` (400 naming the field), its required fields
    /// and rules, then `R::SPEC.action` (or one of the grants `R` also accepts)
    /// on (product, context).
    async fn admit_preview<R: PreviewRoute>(
        &self,
        call: &Call,
        map: &Map<String, Value>,
    ) -> Result<R, ApiError> {
        let request: R = parse(R::SPEC.route, map)?;
        let (schema_version, product, context) = request.header();
        require(R::SPEC.route, schema_version, &request.required())?;
        request
            .check()
            .map_err(|message| invalid(R::SPEC.route, message))?;
        let mut actions = vec![R::SPEC.action];
        actions.extend(request.also_allowed());
        self.authorize_any(call, &actions, product.trim(), context.trim(), "")
            .await?;
        Ok(request)
    }

    /// The execution every preview route shares: `R::SPEC.action` run as a
    /// host mutation of `body` (idempotency, completion), `work` producing
    /// the document written as a record of `R::SPEC.kind` and answered.
    async fn record_preview<R, W>(
        &self,
        call: &Call,
        request: &R,
        body: Map<String, Value>,
        work: W,
    ) -> Result<Reply, ApiError>
    where
        R: PreviewRoute,
        W: Future<Output = Result<Value, ApiError>>,
    {
        let (_, product, context) = request.header();
        let (product, context) = (product.trim(), context.trim());
        let body = Value::Object(body);
        let mutation = Mutation::host(call, R::SPEC.action, product, context, &body);
        self.run_mutation(mutation, || async {
            let document = work.await?;
            let mut accepted = self.land_preview::<R>(product, document).await?;
            accepted.store_for_replay = request.replayable();
            Ok(accepted)
        })
        .await
    }

    /// Writes `document` as a record of `R::SPEC.kind` and answers it.
    async fn land_preview<R: PreviewRoute>(
        &self,
        product: &str,
        document: Value,
    ) -> Result<Accepted, ApiError> {
        let id = document[R::SPEC.id_field]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let row = StoredRecord::new(R::SPEC.kind, &id, product, document.clone());
        self.store
            .write_records(
                &[RecordWrite::Append {
                    record: row,
                    allow_transition: false,
                }],
                "launchplane",
            )
            .await
            .map_err(super::input::store_error)?;
        let mut accepted = Accepted::new().record(&format!("{}_id", R::SPEC.kind), id.as_str());
        accepted.written = vec![format!("{}/{id}", R::SPEC.kind)];
        accepted.result = Some(document);
        Ok(accepted)
    }

    /// `POST /v1/previews/desired-state`: open pull requests labelled
    /// `label` become desired previews (`<prefix><number>`).
    pub async fn preview_desired_state(
        &self,
        call: &Call,
        map: Map<String, Value>,
    ) -> Result<Reply, ApiError> {
        let request: DesiredStateRequest = self.admit_preview(call, &map).await?;
        let github = self
            .github_for(request.product.trim(), &request.repository)
            .await?;
        let work = async { Ok(lifecycle::discover(github, &request).await) };
        self.record_preview(call, &request, map, work).await
    }

    /// `POST /v1/previews/lifecycle-plan`: desired against the context's
    /// latest inventory scan.
    pub async fn preview_lifecycle_plan(
        &self,
        call: &Call,
        map: Map<String, Value>,
    ) -> Result<Reply, ApiError> {
        let request: PlanRequest = self.admit_preview(call, &map).await?;
        self.record_preview(call, &request, map, self.plan(&request))
            .await
    }

    /// `POST /v1/previews/lifecycle-cleanup`: the plan's orphaned previews
    /// reported, or with `apply` destroyed (404 when the plan is not the
    /// product's in this context).
    pub async fn preview_lifecycle_cleanup(
        &self,
        call: &Call,
        map: Map<String, Value>,
    ) -> Result<Reply, ApiError> {
        let request: CleanupRequest = self.admit_preview(call, &map).await?;
        self.record_preview(call, &request, map, self.cleanup(call, &request))
            .await
    }

    /// `POST /v1/previews/pr-feedback`: the one marker comment of the pull
    /// request created, updated or (status `cleared`) deleted.
    pub async fn preview_pr_feedback(
        &self,
        call: &Call,
        map: Map<String, Value>,
    ) -> Result<Reply, ApiError> {
        let request: FeedbackRequest = self.admit_preview(call, &map).await?;
        let github = self
            .github_for(request.product.trim(), &request.repository)
            .await?;
        let work = async { Ok(feedback::deliver(github, &request).await) };
        self.record_preview(call, &request, map, work).await
    }
}
