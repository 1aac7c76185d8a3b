//! `github`: the product's own GitHub repository, for drivers and host
//! routes. The binding checks the context (one of the product's) and the
//! repository (the product profile's `repository`, nothing else);
//! [`GitHubClient`] (`client.rs`) calls the REST API with a managed token
//! read per call, which never reaches a driver.

mod client;

pub use client::{
    CommentOutcome, DEFAULT_API_BASE, GitHubClient, GitHubCredentials, GitHubError, GitHubToken,
    INTEGRATION, PullRequest, Repository, TOKEN_KEY,
};

use super::super::bindings::HostError;
use super::super::bindings::launchplane::driver::github;
use super::super::state::InvocationState;
use super::call::{HostResult, outcome};
use crate::records::Store;

/// Most inputs a workflow dispatch may carry (GitHub's own limit).
const MAX_INPUTS: usize = 25;

/// The GitHub capability: the API client and the store the product
/// profiles (and so the allowed repositories) are read from.
#[derive(Clone, Debug)]
pub struct GitHubCapability {
    client: GitHubClient,
    store: Store,
}

impl GitHubCapability {
    pub fn new(client: GitHubClient, store: Store) -> Self {
        GitHubCapability { client, store }
    }

    /// The client, for host routes that have already checked their scope.
    pub fn client(&self) -> &GitHubClient {
        &self.client
    }

    /// The repository of `product`'s profile, if the profile names one.
    async fn product_repository(&self, product: &str) -> Result<String, HostError> {
        let stored = self
            .store
            .get_record("product_profile", product)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "github capability cannot read the product profile");
                HostError::Unavailable("the record store failed; see service logs".to_string())
            })?;
        Ok(stored
            .and_then(|r| {
                r.document
                    .get("repository")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_default())
    }
}

/// The scope check: `requested` must be `allowed`, the product profile's
/// repository (compared without case, as GitHub does).
pub fn check_repository(
    product: &str,
    allowed: &str,
    requested: &str,
) -> Result<Repository, HostError> {
    let repo = Repository::parse(requested).map_err(|e| HostError::Invalid(e.to_string()))?;
    let allowed = allowed.trim();
    if allowed.is_empty() || !allowed.eq_ignore_ascii_case(&repo.full_name()) {
        return Err(HostError::Denied(format!(
            "repository `{}` is not the repository of product `{product}`",
            repo.full_name()
        )));
    }
    Ok(repo)
}

/// A GitHub error in the WIT's words; the message keeps its code.
pub fn host_error(error: GitHubError) -> HostError {
    let message = error.to_string();
    match error {
        GitHubError::NotFound(_) => HostError::NotFound(message),
        GitHubError::Unprocessable { .. } => HostError::Invalid(message),
        GitHubError::Denied(_) => HostError::Denied(message),
        GitHubError::NotConfigured(_) | GitHubError::RateLimited { .. } => {
            HostError::Unavailable(message)
        }
        GitHubError::Unauthorized(_) | GitHubError::Forbidden(_) | GitHubError::Failed(_) => {
            HostError::ProviderFailed(message)
        }
    }
}

impl InvocationState {
    /// The context and repository checks of every GitHub call; answers
    /// the capability and the parsed repository.
    async fn github_scope(
        &mut self,
        function: &str,
        context: &str,
        repository: &str,
    ) -> Result<(GitHubCapability, Repository), HostError> {
        self.context_for(function, context)?;
        let scope = self.scope_for(function)?;
        let Some(github) = self.services.github.clone() else {
            return Err(self.unavailable(function, "github"));
        };
        let allowed = github.product_repository(&scope.product).await?;
        match check_repository(&scope.product, &allowed, repository) {
            Ok(repo) => Ok((github, repo)),
            Err(e) => {
                self.note(
                    function,
                    repository.to_string(),
                    outcome::<()>(&Err(e.clone())),
                );
                tracing::warn!(driver_id = %self.driver_id, trace_id = %self.trace_id, function, repository,
                    "driver reached for a repository outside its product");
                Err(e)
            }
        }
    }
}

impl github::Host for InvocationState {
    async fn open_pull_requests(
        &mut self,
        context: String,
        repository: String,
        label: String,
        max_pages: u32,
    ) -> HostResult<Vec<github::PullRequest>> {
        const FUNCTION: &str = "github.open-pull-requests";
        let (github, repo) = match self.github_scope(FUNCTION, &context, &repository).await {
            Ok(scoped) => scoped,
            Err(e) => return Ok(Err(e)),
        };
        let summary = format!("{} label={label}", repo.full_name());
        let result = self
            .call_site()?
            .run(async move {
                github
                    .client
                    .open_pull_requests(&context, &repo, &label, max_pages)
                    .await
                    .map(|pulls| {
                        pulls
                            .into_iter()
                            .map(|p| github::PullRequest {
                                number: p.number,
                                html_url: p.html_url,
                                head_sha: p.head_sha,
                                labels: p.labels,
                            })
                            .collect()
                    })
                    .map_err(host_error)
            })
            .await?;
        self.note(FUNCTION, summary, outcome(&result));
        Ok(result)
    }

    async fn upsert_comment(
        &mut self,
        context: String,
        repository: String,
        number: u64,
        marker: String,
        body: String,
        delete: bool,
    ) -> HostResult<github::Comment> {
        const FUNCTION: &str = "github.upsert-comment";
        let (github, repo) = match self.github_scope(FUNCTION, &context, &repository).await {
            Ok(scoped) => scoped,
            Err(e) => return Ok(Err(e)),
        };
        let summary = format!("{}#{number}", repo.full_name());
        let fence = self.services.effects.clone();
        let result = self
            .call_site()?
            .run(async move {
                super::call::fenced(fence).await?;
                github
                    .client
                    .upsert_comment(&context, &repo, number, &marker, &body, delete)
                    .await
                    .map(|c| github::Comment {
                        action: c.action.to_string(),
                        comment_id: c.comment_id,
                        html_url: c.html_url,
                    })
                    .map_err(host_error)
            })
            .await?;
        self.note(FUNCTION, summary, outcome(&result));
        Ok(result)
    }

    async fn dispatch_workflow(
        &mut self,
        context: String,
        repository: String,
        workflow_id: String,
        git_ref: String,
        inputs: Vec<(String, String)>,
    ) -> HostResult<()> {
        const FUNCTION: &str = "github.dispatch-workflow";
        let (github, repo) = match self.github_scope(FUNCTION, &context, &repository).await {
            Ok(scoped) => scoped,
            Err(e) => return Ok(Err(e)),
        };
        if inputs.len() > MAX_INPUTS {
            self.note(FUNCTION, repo.full_name(), "invalid");
            return Ok(Err(HostError::Invalid(format!(
                "at most {MAX_INPUTS} workflow inputs"
            ))));
        }
        let summary = format!("{} {workflow_id}@{git_ref}", repo.full_name());
        let fence = self.services.effects.clone();
        let result = self
            .call_site()?
            .run(async move {
                super::call::fenced(fence).await?;
                github
                    .client
                    .dispatch_workflow(&context, &repo, &workflow_id, &git_ref, &inputs)
                    .await
                    .map_err(host_error)
            })
            .await?;
        self.note(FUNCTION, summary, outcome(&result));
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_driver_reaches_only_its_products_repository() {
        let repo = check_repository("demo", "launchplane/demo", "Launchplane/Demo").expect("own");
        assert_eq!(repo.full_name(), "Launchplane/Demo");
        let other = check_repository("demo", "launchplane/demo", "launchplane/other")
            .expect_err("another repository");
        assert!(
            matches!(&other, HostError::Denied(m) if m.contains("launchplane/other") && m.contains("`demo`")),
            "{other:?}"
        );
        assert!(matches!(
            check_repository("demo", "", "launchplane/demo"),
            Err(HostError::Denied(_))
        ));
        assert!(matches!(
            check_repository("demo", "launchplane/demo", "launchplane/demo/../x"),
            Err(HostError::Invalid(_))
        ));
        assert!(matches!(
            check_repository("demo", "launchplane/demo", "launchplane"),
            Err(HostError::Invalid(_))
        ));
    }

    #[test]
    fn github_errors_keep_their_code_in_the_wit_case() {
        let cases = [
            (GitHubError::NotFound("x".into()), "not-found"),
            (
                GitHubError::Unprocessable {
                    what: "x".into(),
                    message: "m".into(),
                },
                "invalid",
            ),
            (GitHubError::RateLimited { retry_after: 9 }, "unavailable"),
            (GitHubError::NotConfigured("x".into()), "unavailable"),
            (GitHubError::Unauthorized("x".into()), "provider-failed"),
        ];
        for (error, case) in cases {
            let code = error.to_string();
            let code = code.split(':').next().unwrap_or_default().to_string();
            let mapped = host_error(error);
            assert_eq!(outcome::<()>(&Err(mapped.clone())), case);
            let text = format!("{mapped:?}");
            assert!(text.contains(&code), "{text}");
        }
    }
}
