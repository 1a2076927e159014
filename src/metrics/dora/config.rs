//! The delivery settings as the figures use them: which environments are
//! production (`--production-environments`, globs) and the deployment
//! rules (`--deployment-rule`: "a successful run of workflow W on branch B
//! is a deployment to environment E").

use globset::{Glob, GlobBuilder, GlobMatcher};

fn glob(text: &str, what: &str) -> Result<GlobMatcher, String> {
    GlobBuilder::new(text)
        .literal_separator(false)
        .case_insensitive(true)
        .build()
        .map(|g: Glob| g.compile_matcher())
        .map_err(|e| format!("{what} {text:?}: {e}"))
}

/// Production environments: names matching any of the globs
/// (case-insensitive).
#[derive(Debug, Clone)]
pub struct Environments {
    globs: Vec<(String, GlobMatcher)>,
}

impl Environments {
    /// Parses `GLOB,GLOB` (default `production,prod`).
    ///
    /// Errors: an empty list or a bad glob, naming it.
    pub fn parse(text: &str) -> Result<Environments, String> {
        let globs = text
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| Ok((p.to_owned(), glob(p, "production environment")?)))
            .collect::<Result<Vec<_>, String>>()?;
        if globs.is_empty() {
            return Err("--production-environments needs at least one name or glob".into());
        }
        Ok(Environments { globs })
    }

    pub fn is_production(&self, environment: &str) -> bool {
        self.globs.iter().any(|(_, g)| g.is_match(environment))
    }

    /// Whether an incident about `incident` (`None`: every production
    /// environment) is about `environment`.
    pub fn incident_about(&self, incident: Option<&str>, environment: &str) -> bool {
        incident.map_or_else(|| self.is_production(environment), |e| e == environment)
    }

    /// The globs as given.
    pub fn names(&self) -> Vec<String> {
        self.globs.iter().map(|(name, _)| name.clone()).collect()
    }
}

impl Default for Environments {
    fn default() -> Self {
        Environments::parse("production,prod").unwrap_or(Environments { globs: Vec::new() })
    }
}

/// One `--deployment-rule`: `workflow=GLOB,branch=NAME,environment=NAME`.
#[derive(Debug, Clone)]
pub struct DeploymentRule {
    pub workflow: String,
    matcher: GlobMatcher,
    pub branch: String,
    pub environment: String,
}

impl DeploymentRule {
    /// Parses one rule.
    ///
    /// Errors: a missing or unknown key, a bad glob.
    pub fn parse(text: &str) -> Result<DeploymentRule, String> {
        let (mut workflow, mut branch, mut environment) = (None, None, None);
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once('=').ok_or_else(|| {
                format!(
                    "deployment rule {text:?}: {part:?} must be key=value (workflow, branch, environment)"
                )
            })?;
            let value = Some(value.trim().to_owned()).filter(|v| !v.is_empty());
            match key.trim() {
                "workflow" => workflow = value,
                "branch" => branch = value,
                "environment" => environment = value,
                other => return Err(format!("deployment rule {text:?}: unknown key {other:?}")),
            }
        }
        let missing = |what: &str| format!("deployment rule {text:?} needs {what}=…");
        let workflow = workflow.ok_or_else(|| missing("workflow"))?;
        Ok(DeploymentRule {
            matcher: glob(&workflow, "deployment rule workflow")?,
            workflow,
            branch: branch.ok_or_else(|| missing("branch"))?,
            environment: environment.ok_or_else(|| missing("environment"))?,
        })
    }

    /// Whether a run of `workflow` on `branch` is this rule's deployment.
    pub fn matches(&self, workflow: &str, branch: &str) -> bool {
        branch == self.branch && self.matcher.is_match(workflow)
    }
}

/// Every delivery setting the API needs.
#[derive(Debug, Clone, Default)]
pub struct DeliveryConfig {
    pub production: Environments,
    pub rules: Vec<DeploymentRule>,
}

impl DeliveryConfig {
    /// Parses the flags' values.
    ///
    /// Errors: the first bad value, named.
    pub fn parse(production: &str, rules: &[String]) -> Result<DeliveryConfig, String> {
        Ok(DeliveryConfig {
            production: Environments::parse(production)?,
            rules: rules.iter().map(|r| DeploymentRule::parse(r)).collect::<Result<_, _>>()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_incident_without_an_environment_is_about_production_ones_only() {
        let production = Environments::default();
        assert!(production.incident_about(None, "production"));
        assert!(production.incident_about(None, "prod"));
        assert!(!production.incident_about(None, "staging"));
        assert!(production.incident_about(Some("staging"), "staging"));
        assert!(!production.incident_about(Some("staging"), "production"));
    }

    #[test]
    fn environments_and_rules_parse() {
        let config = DeliveryConfig::parse(
            "production,prod,prod-*",
            &["workflow=Deploy*,branch=main,environment=production".to_owned()],
        )
        .expect("valid");
        assert!(config.production.is_production("Production"));
        assert!(config.production.is_production("prod-eu"));
        assert!(!config.production.is_production("staging"));
        assert!(config.rules[0].matches("Deploy web", "main"));
        assert!(!config.rules[0].matches("Deploy web", "dev"));
        assert!(!config.rules[0].matches("CI", "main"));
        assert!(DeploymentRule::parse("workflow=x,branch=main").is_err());
        assert!(DeploymentRule::parse("workflow=x,branch=main,environment=p,colour=red").is_err());
        assert!(Environments::parse(" , ").is_err());
    }
}
