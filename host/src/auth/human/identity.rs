//! The identity a human signs in with, derived from GitHub's answers.

use serde::{Deserialize, Serialize};

use crate::auth::policy::HumanPrincipal;

/// A signed-in human, as `GET /v1/auth/session` shows them (reference
/// §3.1) and the session stores them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HumanIdentity {
    /// Always `github`.
    pub provider: String,
    pub login: String,
    pub github_id: u64,
    pub name: String,
    pub email: String,
    /// Organization logins.
    pub organizations: Vec<String>,
    /// Team slugs, both `<slug>` and `<org>/<slug>`.
    pub teams: Vec<String>,
    /// `admin` or `read_only`.
    pub role: String,
}

impl HumanIdentity {
    /// The idempotency and audit scope (reference §2.4):
    /// `github-human|<login>|<github_id>`.
    pub fn subject(&self) -> String {
        format!("github-human|{}|{}", self.login, self.github_id)
    }

    /// The claims an audit row keeps: login, id and role.
    pub fn claims(&self) -> Vec<(String, String)> {
        vec![
            ("login".to_string(), self.login.clone()),
            ("github_id".to_string(), self.github_id.to_string()),
            ("role".to_string(), self.role.clone()),
        ]
    }
}

/// What GitHub says about a human, before a role is decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubProfile {
    /// The identity with an empty `role`.
    pub identity: HumanIdentity,
    /// The public email and every verified one, lower-cased: what
    /// bootstrap admin emails are compared with.
    pub known_emails: Vec<String>,
    /// `github_id` as text, for policy matching.
    github_id_text: String,
}

/// One entry of `GET /user/emails`.
#[derive(Debug, Clone, Deserialize)]
pub struct EmailEntry {
    pub email: String,
    #[serde(default)]
    pub primary: bool,
    #[serde(default)]
    pub verified: bool,
}

/// One entry of `GET /user/teams`.
#[derive(Debug, Clone, Deserialize)]
pub struct TeamEntry {
    pub slug: String,
    pub organization: OrgEntry,
}

/// One entry of `GET /user/orgs` (and a team's organization).
#[derive(Debug, Clone, Deserialize)]
pub struct OrgEntry {
    pub login: String,
}

/// `GET /user`.
#[derive(Debug, Clone, Deserialize)]
pub struct UserEntry {
    pub login: String,
    pub id: u64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

impl GithubProfile {
    /// The profile GitHub's four answers describe. The email is the primary
    /// verified one, else the public one, else the first verified one.
    pub fn from_parts(
        user: UserEntry,
        emails: &[EmailEntry],
        orgs: &[OrgEntry],
        teams: &[TeamEntry],
    ) -> Self {
        let public = user.email.clone().filter(|e| !e.trim().is_empty());
        let email = emails
            .iter()
            .find(|e| e.primary && e.verified)
            .map(|e| e.email.clone())
            .or_else(|| public.clone())
            .or_else(|| emails.iter().find(|e| e.verified).map(|e| e.email.clone()))
            .unwrap_or_default();
        let mut known_emails: Vec<String> = emails
            .iter()
            .filter(|e| e.verified)
            .map(|e| e.email.trim().to_ascii_lowercase())
            .chain(public.map(|e| e.trim().to_ascii_lowercase()))
            .collect();
        known_emails.sort();
        known_emails.dedup();
        let mut organizations: Vec<String> = orgs.iter().map(|o| o.login.clone()).collect();
        organizations.sort();
        organizations.dedup();
        let mut team_names: Vec<String> = teams
            .iter()
            .flat_map(|t| {
                [
                    t.slug.clone(),
                    format!("{}/{}", t.organization.login, t.slug),
                ]
            })
            .collect();
        team_names.sort();
        team_names.dedup();
        GithubProfile {
            github_id_text: user.id.to_string(),
            identity: HumanIdentity {
                provider: "github".to_string(),
                login: user.login,
                github_id: user.id,
                name: user.name.unwrap_or_default(),
                email,
                organizations,
                teams: team_names,
                role: String::new(),
            },
            known_emails,
        }
    }

    /// The human as policy rules match them.
    pub fn principal(&self) -> HumanPrincipal<'_> {
        HumanPrincipal {
            login: &self.identity.login,
            github_id: &self.github_id_text,
            organizations: &self.identity.organizations,
            teams: &self.identity.teams,
        }
    }

    /// Whether any of the human's emails is a bootstrap admin email
    /// (`admins` lower-cased).
    pub fn is_bootstrap_admin(&self, admins: &[String]) -> bool {
        self.known_emails.iter().any(|e| admins.contains(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(address: &str, primary: bool, verified: bool) -> EmailEntry {
        EmailEntry {
            email: address.to_string(),
            primary,
            verified,
        }
    }

    fn user(public: Option<&str>) -> UserEntry {
        UserEntry {
            login: "octo".into(),
            id: 7,
            name: Some("Octo Cat".into()),
            email: public.map(str::to_string),
        }
    }

    #[test]
    fn email_prefers_primary_verified_then_public_then_first_verified() {
        let emails = [
            email("unverified@x.io", true, false),
            email("first@x.io", false, true),
            email("primary@x.io", true, true),
        ];
        let p = GithubProfile::from_parts(user(Some("pub@x.io")), &emails, &[], &[]);
        assert_eq!(p.identity.email, "primary@x.io");
        let p = GithubProfile::from_parts(user(Some("pub@x.io")), &emails[..2], &[], &[]);
        assert_eq!(p.identity.email, "pub@x.io");
        let p = GithubProfile::from_parts(user(None), &emails[..2], &[], &[]);
        assert_eq!(p.identity.email, "first@x.io");
        assert!(p.is_bootstrap_admin(&["first@x.io".to_string()]));
        assert!(!p.is_bootstrap_admin(&["unverified@x.io".to_string()]));
    }

    #[test]
    fn teams_are_listed_with_and_without_their_organization() {
        let teams = [TeamEntry {
            slug: "ops".into(),
            organization: OrgEntry {
                login: "acme".into(),
            },
        }];
        let orgs = [OrgEntry {
            login: "acme".into(),
        }];
        let p = GithubProfile::from_parts(user(None), &[], &orgs, &teams);
        assert_eq!(p.identity.teams, vec!["acme/ops", "ops"]);
        assert_eq!(p.identity.organizations, vec!["acme"]);
        assert_eq!(p.identity.subject(), "github-human|octo|7");
    }
}
