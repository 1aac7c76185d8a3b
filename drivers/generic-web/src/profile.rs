//! The product profile as this driver uses it: lanes, health paths and the
//! preview contract.
//!
//! The host stores one `product_profile` record per product, keyed by the
//! product name, and has already resolved the invocation's lane from it.
//! The shape is the shared one (`ProductProfile`, the host's own model),
//! read leniently so a profile written by a newer host still reads;
//! [`ProfileExt`] adds what this driver derives from it.

use launchplane_sdk::prelude::*;

use crate::checks::url_host;
use crate::records::ProductProfile;

/// The health path used when neither the profile nor the target names one.
pub const DEFAULT_HEALTH_PATH: &str = "/api/health";

/// The invocation product's profile, if the host stores one.
pub fn load_profile(ctx: &Ctx<'_>) -> Result<Option<ProductProfile>, DriverError> {
    crate::records::read(ctx, "product_profile", ctx.product())
}

/// What this driver derives from a product profile: preview slugs and app
/// names, the anchor repository and pull-request URLs. (The lane of an
/// instance is the profile's own `lane`.)
pub trait ProfileExt {
    /// `<prefix>` of preview application names: the profile's, else
    /// `<product>-preview`.
    fn app_name_prefix(&self, product: &str) -> String;

    /// The preview slug of PR `number`: the slug template with `{number}`
    /// replaced.
    fn slug_for(&self, number: u64) -> String;

    /// The PR number a slug names: the template's prefix and suffix
    /// stripped, digits only, greater than zero.
    fn number_from_slug(&self, slug: &str) -> Option<u64>;

    /// The short repository name previews are anchored at: the last segment
    /// of the profile's repository, else the product.
    fn anchor_repo(&self, product: &str) -> String;

    /// The pull-request URL of PR `number` of the profile's repository.
    fn pr_url(&self, product: &str, number: u64) -> String;
}

/// The profile's slug template, `pr-{number}` when blank.
fn slug_template(profile: &ProductProfile) -> &str {
    match profile.preview.slug_template.trim() {
        "" => "pr-{number}",
        template => template,
    }
}

impl ProfileExt for ProductProfile {
    fn app_name_prefix(&self, product: &str) -> String {
        match self.preview.app_name_prefix.trim() {
            "" => format!("{product}-preview"),
            prefix => prefix.trim_end_matches('-').to_string(),
        }
    }

    fn slug_for(&self, number: u64) -> String {
        slug_template(self).replace("{number}", &number.to_string())
    }

    fn number_from_slug(&self, slug: &str) -> Option<u64> {
        let template = slug_template(self);
        let (prefix, suffix) = template.split_once("{number}")?;
        let digits = slug.trim().strip_prefix(prefix)?.strip_suffix(suffix)?;
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().filter(|n| *n > 0)
    }

    fn anchor_repo(&self, product: &str) -> String {
        let repository = self.repository.trim().trim_end_matches('/');
        let name = repository.rsplit('/').next().unwrap_or_default();
        let name = name.strip_suffix(".git").unwrap_or(name);
        if name.is_empty() {
            product.to_string()
        } else {
            name.to_string()
        }
    }

    fn pr_url(&self, product: &str, number: u64) -> String {
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
    profile: Option<&ProductProfile>,
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

    fn profile() -> ProductProfile {
        crate::records::parse(
            "product_profile",
            json!({
                "product": "shop",
                "display_name": "Shop",
                "repository": "acme/shop-web",
                "driver_id": "generic-web",
                "image": {"repository": "ghcr.io/acme/shop-web"},
                "health_path": "healthz",
                "lanes": [{"instance": "prod", "context": "shop-prod", "base_url": "https://shop.example/", "health_url": ""}],
                "preview": {"slug_template": "preview-{number}-x", "unknown": true},
                "updated_at": "2026-01-01T00:00:00Z",
                "source": "test",
                "extra": 1
            }),
        )
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
        let default = ProductProfile::default();
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
