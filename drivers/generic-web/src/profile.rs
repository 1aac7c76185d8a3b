//! The product profile as this driver reads it: lanes, health paths and the
//! preview contract.
//!
//! The host stores one `product_profile` record per product, keyed by the
//! product name, and has already resolved the invocation's lane from it.
//! Parsing is lenient (every field defaults) so a profile written by a newer
//! host still reads.

use std::collections::BTreeMap;

use launchplane_sdk::prelude::*;

use crate::checks::url_host;
use crate::models::DataTransportMode;

/// The health path used when neither the profile nor the target names one.
pub const DEFAULT_HEALTH_PATH: &str = "/api/health";

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct ImageProfile {
    pub repository: String,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct LaneProfile {
    pub instance: String,
    pub context: String,
    pub base_url: String,
    pub health_url: String,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(default)]
pub struct PreviewProfile {
    pub enabled: bool,
    pub context: String,
    pub slug_template: String,
    pub app_name_prefix: String,
    pub template_instance: String,
    pub required_template_env_keys: Vec<String>,
    pub copied_env_keys: Vec<String>,
    pub omitted_env_keys: Vec<String>,
    pub override_env: BTreeMap<String, String>,
    pub preview_url_env_keys: Vec<String>,
    pub preview_domain_env_keys: Vec<String>,
    pub required_provider_fields: Vec<String>,
    pub data_transport_mode: DataTransportMode,
    pub migration_command: String,
    pub seed_command: String,
}

impl Default for PreviewProfile {
    fn default() -> Self {
        PreviewProfile {
            enabled: false,
            context: String::new(),
            slug_template: "pr-{number}".to_string(),
            app_name_prefix: String::new(),
            template_instance: "testing".to_string(),
            required_template_env_keys: Vec::new(),
            copied_env_keys: Vec::new(),
            omitted_env_keys: Vec::new(),
            override_env: BTreeMap::new(),
            preview_url_env_keys: Vec::new(),
            preview_domain_env_keys: Vec::new(),
            required_provider_fields: Vec::new(),
            data_transport_mode: DataTransportMode::None,
            migration_command: String::new(),
            seed_command: String::new(),
        }
    }
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct Profile {
    pub product: String,
    pub repository: String,
    pub image: ImageProfile,
    pub health_path: String,
    pub lanes: Vec<LaneProfile>,
    pub preview: PreviewProfile,
}

impl Profile {
    /// The invocation product's profile, if the host stores one.
    pub fn load(ctx: &Ctx<'_>) -> Result<Option<Profile>, DriverError> {
        crate::records::read(ctx, "product_profile", ctx.product())
    }

    pub fn lane(&self, instance: &str) -> Option<&LaneProfile> {
        self.lanes
            .iter()
            .find(|l| l.instance.trim().eq_ignore_ascii_case(instance.trim()))
    }

    /// `<prefix>` of preview application names: the profile's, else
    /// `<product>-preview`.
    pub fn app_name_prefix(&self, product: &str) -> String {
        match self.preview.app_name_prefix.trim() {
            "" => format!("{product}-preview"),
            prefix => prefix.trim_end_matches('-').to_string(),
        }
    }

    /// The preview slug of PR `number`: the slug template with `{number}`
    /// replaced.
    pub fn slug_for(&self, number: u64) -> String {
        self.slug_template()
            .replace("{number}", &number.to_string())
    }

    /// The PR number a slug names: the template's prefix and suffix stripped,
    /// digits only, greater than zero.
    pub fn number_from_slug(&self, slug: &str) -> Option<u64> {
        let template = self.slug_template();
        let (prefix, suffix) = template.split_once("{number}")?;
        let digits = slug.trim().strip_prefix(prefix)?.strip_suffix(suffix)?;
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().filter(|n| *n > 0)
    }

    fn slug_template(&self) -> &str {
        match self.preview.slug_template.trim() {
            "" => "pr-{number}",
            template => template,
        }
    }

    /// The short repository name previews are anchored at: the last segment
    /// of the profile's repository, else the product.
    pub fn anchor_repo(&self, product: &str) -> String {
        let repository = self.repository.trim().trim_end_matches('/');
        let name = repository.rsplit('/').next().unwrap_or_default();
        let name = name.strip_suffix(".git").unwrap_or(name);
        if name.is_empty() {
            product.to_string()
        } else {
            name.to_string()
        }
    }

    /// The pull-request URL of PR `number` of the profile's repository.
    pub fn pr_url(&self, product: &str, number: u64) -> String {
        let repository = self.repository.trim().trim_end_matches('/');
        let repository = repository
            .strip_prefix("https://github.com/")
            .unwrap_or(repository);
        let repository = if repository.is_empty() {
            product
        } else {
            repository
        };
        format!("https://github.com/{repository}/pull/{number}")
    }
}

/// `path` with a leading `/`.
fn rooted(path: &str) -> String {
    let path = path.trim();
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    }
}

/// The origin of a domain or URL: `https://<domain>` unless it names its
/// own scheme; no trailing `/`.
pub fn origin_of(domain: &str) -> String {
    let domain = domain.trim().trim_end_matches('/');
    if domain.contains("://") {
        domain.to_string()
    } else {
        format!("https://{domain}")
    }
}

/// The health URLs of a lane, tried in order (the first 2xx wins): the
/// profile lane's `health_url`; its `base_url` + the profile's health path;
/// then each of the target's domains + the target's health path (else the
/// profile's, else `/api/health`). Duplicates are dropped. Empty means there
/// is nothing to check (health `skipped`).
pub fn lane_health_urls(
    profile: Option<&Profile>,
    instance: &str,
    target: Option<&Target>,
) -> Vec<String> {
    let mut urls: Vec<String> = Vec::new();
    let profile_path = profile
        .map(|p| p.health_path.trim())
        .filter(|p| !p.is_empty())
        .map(rooted);
    if let Some(lane) = profile.and_then(|p| p.lane(instance)) {
        if url_host(&lane.health_url).is_some() {
            urls.push(lane.health_url.trim().to_string());
        }
        if url_host(&lane.base_url).is_some() {
            let path = profile_path
                .clone()
                .unwrap_or_else(|| DEFAULT_HEALTH_PATH.to_string());
            urls.push(format!(
                "{}{path}",
                lane.base_url.trim().trim_end_matches('/')
            ));
        }
    }
    if let Some(target) = target {
        let path = match target.healthcheck_path.trim() {
            "" => profile_path.unwrap_or_else(|| DEFAULT_HEALTH_PATH.to_string()),
            path => rooted(path),
        };
        for domain in target.domains.iter().filter(|d| !d.trim().is_empty()) {
            urls.push(format!("{}{path}", origin_of(domain)));
        }
    }
    let mut seen = Vec::new();
    urls.retain(|u| {
        let fresh = !seen.contains(u);
        if fresh {
            seen.push(u.clone());
        }
        fresh
    });
    urls
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> Profile {
        serde_json::from_value(json!({
            "product": "shop",
            "repository": "acme/shop-web",
            "health_path": "healthz",
            "lanes": [{"instance": "prod", "context": "shop-prod", "base_url": "https://shop.example/", "health_url": ""}],
            "preview": {"slug_template": "preview-{number}-x", "unknown": true},
            "extra": 1
        }))
        .expect("lenient")
    }

    #[test]
    fn slugs_follow_the_template() {
        let p = profile();
        assert_eq!(p.slug_for(7), "preview-7-x");
        assert_eq!(p.number_from_slug("preview-7-x"), Some(7));
        for bad in ["preview-0-x", "preview--x", "pr-7", "preview-7a-x"] {
            assert_eq!(p.number_from_slug(bad), None, "{bad}");
        }
        let default = Profile::default();
        assert_eq!(default.slug_for(12), "pr-12");
        assert_eq!(default.number_from_slug("pr-12"), Some(12));
        assert_eq!(default.app_name_prefix("shop"), "shop-preview");
        assert_eq!(p.anchor_repo("shop"), "shop-web");
        assert_eq!(
            p.pr_url("shop", 3),
            "https://github.com/acme/shop-web/pull/3"
        );
        assert_eq!(default.anchor_repo("shop"), "shop");
    }

    #[test]
    fn health_urls_prefer_the_profile_then_the_target() {
        let p = profile();
        let target = Target {
            context: "shop-prod".into(),
            instance: "prod".into(),
            target_type: "application".into(),
            target_name: "shop-prod".into(),
            domains: vec!["shop.example".into(), "http://alt.example/".into()],
            healthcheck_path: String::new(),
        };
        assert_eq!(
            lane_health_urls(Some(&p), "prod", Some(&target)),
            ["https://shop.example/healthz", "http://alt.example/healthz"]
        );
        assert_eq!(
            lane_health_urls(None, "prod", Some(&target)),
            [
                "https://shop.example/api/health",
                "http://alt.example/api/health"
            ]
        );
        assert!(lane_health_urls(None, "prod", None).is_empty());
    }
}
