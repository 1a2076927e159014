//! What the CI a `report` step runs in says about its run and job, from
//! the CI's documented environment variables. Pure: reads through a lookup
//! function, so every CI's mapping is unit-tested.
//!
//! Sources: Jenkins' "env-vars.html" (`BUILD_ID`, `BUILD_NUMBER`,
//! `JOB_NAME`, `BUILD_URL`, `BRANCH_NAME`, `GIT_BRANCH`, `GIT_COMMIT`,
//! `NODE_NAME`, `NODE_LABELS`, `CHANGE_AUTHOR`); Buildkite's
//! <https://buildkite.com/docs/pipelines/environment_variables>; CircleCI's
//! <https://circleci.com/docs/reference/variables/>; GitLab's
//! <https://docs.gitlab.com/ci/variables/predefined_variables>; Azure
//! Pipelines' predefined variables (`Build.BuildId` → `BUILD_BUILDID`, …).

/// What the environment tells, every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Detected {
    /// The provider kind, when a CI is recognised.
    pub provider: Option<&'static str>,
    pub repository: Option<String>,
    pub workflow: Option<String>,
    pub run_id: Option<String>,
    pub attempt: Option<i64>,
    pub number: Option<i64>,
    pub branch: Option<String>,
    pub commit: Option<String>,
    pub actor: Option<String>,
    /// The run's link.
    pub url: Option<String>,
    pub event: Option<String>,
    pub job_id: Option<String>,
    pub job_name: Option<String>,
    /// The job's link.
    pub job_url: Option<String>,
    pub runner_name: Option<String>,
    pub labels: Vec<String>,
}

/// Reads the CI's variables through `var` (a non-empty value or `None`).
pub fn detect(var: &dyn Fn(&str) -> Option<String>) -> Detected {
    let v = |name: &str| var(name).filter(|value| !value.trim().is_empty());
    let int = |name: &str| v(name).and_then(|value| value.trim().parse::<i64>().ok());
    if v("GITLAB_CI").is_some() {
        Detected {
            provider: Some("gitlab"),
            repository: v("CI_PROJECT_PATH"),
            workflow: v("CI_PIPELINE_NAME"),
            run_id: v("CI_PIPELINE_ID"),
            number: int("CI_PIPELINE_IID"),
            branch: v("CI_COMMIT_REF_NAME"),
            commit: v("CI_COMMIT_SHA"),
            actor: v("GITLAB_USER_LOGIN"),
            url: v("CI_PIPELINE_URL"),
            event: v("CI_PIPELINE_SOURCE"),
            job_id: v("CI_JOB_ID"),
            job_name: v("CI_JOB_NAME"),
            job_url: v("CI_JOB_URL"),
            runner_name: v("CI_RUNNER_DESCRIPTION"),
            labels: v("CI_RUNNER_TAGS").map(|tags| list(&tags)).unwrap_or_default(),
            ..Detected::default()
        }
    } else if v("BUILDKITE").is_some() {
        let repository = match (v("BUILDKITE_ORGANIZATION_SLUG"), v("BUILDKITE_PIPELINE_SLUG")) {
            (Some(org), Some(pipeline)) => Some(format!("{org}/{pipeline}")),
            (None, pipeline) => pipeline,
            (org, None) => org,
        };
        Detected {
            provider: Some("buildkite"),
            repository,
            workflow: v("BUILDKITE_PIPELINE_NAME").or_else(|| v("BUILDKITE_PIPELINE_SLUG")),
            run_id: v("BUILDKITE_BUILD_ID"),
            number: int("BUILDKITE_BUILD_NUMBER"),
            branch: v("BUILDKITE_BRANCH"),
            commit: v("BUILDKITE_COMMIT"),
            actor: v("BUILDKITE_BUILD_CREATOR"),
            url: v("BUILDKITE_BUILD_URL"),
            event: v("BUILDKITE_SOURCE"),
            job_id: v("BUILDKITE_JOB_ID"),
            job_name: v("BUILDKITE_LABEL"),
            runner_name: v("BUILDKITE_AGENT_NAME"),
            ..Detected::default()
        }
    } else if v("CIRCLECI").is_some() {
        let repository = match (v("CIRCLE_PROJECT_USERNAME"), v("CIRCLE_PROJECT_REPONAME")) {
            (Some(owner), Some(name)) => Some(format!("{owner}/{name}")),
            (_, name) => name,
        };
        Detected {
            provider: Some("circleci"),
            repository,
            run_id: v("CIRCLE_WORKFLOW_ID"),
            branch: v("CIRCLE_BRANCH"),
            commit: v("CIRCLE_SHA1"),
            actor: v("CIRCLE_USERNAME"),
            job_id: v("CIRCLE_WORKFLOW_JOB_ID"),
            job_name: v("CIRCLE_JOB"),
            job_url: v("CIRCLE_BUILD_URL"),
            ..Detected::default()
        }
    } else if v("TF_BUILD").is_some() {
        let url = match (v("SYSTEM_COLLECTIONURI"), v("SYSTEM_TEAMPROJECT"), v("BUILD_BUILDID")) {
            (Some(collection), Some(project), Some(id)) => {
                Some(format!("{}/{project}/_build/results?buildId={id}", collection.trim_end_matches('/')))
            }
            _ => None,
        };
        Detected {
            provider: Some("azure-pipelines"),
            repository: v("BUILD_REPOSITORY_NAME"),
            workflow: v("BUILD_DEFINITIONNAME"),
            run_id: v("BUILD_BUILDID"),
            number: int("BUILD_BUILDNUMBER"),
            branch: v("BUILD_SOURCEBRANCH").map(|b| strip_ref(&b)),
            commit: v("BUILD_SOURCEVERSION"),
            actor: v("BUILD_REQUESTEDFOR"),
            url,
            event: v("BUILD_REASON"),
            job_id: v("SYSTEM_JOBID"),
            job_name: v("SYSTEM_JOBDISPLAYNAME"),
            runner_name: v("AGENT_NAME"),
            ..Detected::default()
        }
    } else if v("JENKINS_URL").is_some() || v("JENKINS_HOME").is_some() {
        let branch = v("BRANCH_NAME");
        // A multibranch pipeline's JOB_NAME is `project/branch`.
        let repository = v("JOB_NAME").map(|job| match &branch {
            Some(b) => job.strip_suffix(&format!("/{b}")).map(str::to_owned).unwrap_or(job),
            None => job,
        });
        Detected {
            provider: Some("jenkins"),
            repository,
            run_id: v("BUILD_ID").or_else(|| v("BUILD_NUMBER")),
            number: int("BUILD_NUMBER"),
            branch: branch.or_else(|| {
                v("GIT_BRANCH").map(|b| b.strip_prefix("origin/").map(str::to_owned).unwrap_or(b))
            }),
            commit: v("GIT_COMMIT"),
            actor: v("CHANGE_AUTHOR"),
            url: v("BUILD_URL"),
            runner_name: v("NODE_NAME"),
            labels: v("NODE_LABELS")
                .map(|l| l.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default(),
            ..Detected::default()
        }
    } else {
        Detected::default()
    }
}

/// `refs/heads/main` → `main` (Azure's `Build.SourceBranch`); other refs
/// stay whole.
fn strip_ref(reference: &str) -> String {
    reference.strip_prefix("refs/heads/").unwrap_or(reference).to_owned()
}

/// GitLab's `CI_RUNNER_TAGS`: a JSON array (current GitLab) or a comma
/// list (older runners).
fn list(tags: &str) -> Vec<String> {
    serde_json::from_str::<Vec<String>>(tags).unwrap_or_else(|_| {
        tags.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect()
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn with(vars: &[(&str, &str)]) -> Detected {
        let map: HashMap<String, String> =
            vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        detect(&|name: &str| map.get(name).cloned())
    }

    #[test]
    fn jenkins_multibranch() {
        let d = with(&[
            ("JENKINS_URL", "https://ci.example.com/"),
            ("JOB_NAME", "shop/api/main"),
            ("BRANCH_NAME", "main"),
            ("BUILD_ID", "153"),
            ("BUILD_NUMBER", "153"),
            ("GIT_BRANCH", "origin/main"),
            ("GIT_COMMIT", "ce9a3c1404e8c91be604088670e93434c4253f03"),
            ("BUILD_URL", "https://ci.example.com/job/shop/job/api/job/main/153/"),
            ("NODE_NAME", "agent-1"),
            ("NODE_LABELS", "linux docker"),
        ]);
        assert_eq!(d.provider, Some("jenkins"));
        assert_eq!(d.repository.as_deref(), Some("shop/api"));
        assert_eq!((d.run_id.as_deref(), d.number), (Some("153"), Some(153)));
        assert_eq!(d.branch.as_deref(), Some("main"));
        assert_eq!(d.labels, ["linux", "docker"]);
    }

    #[test]
    fn jenkins_freestyle_takes_git_branch_without_its_remote() {
        let d = with(&[
            ("JENKINS_HOME", "/var/jenkins"),
            ("JOB_NAME", "nightly"),
            ("GIT_BRANCH", "origin/release/2"),
        ]);
        assert_eq!((d.repository.as_deref(), d.branch.as_deref()), (Some("nightly"), Some("release/2")));
    }

    #[test]
    fn buildkite_circleci_gitlab_and_azure() {
        let bk = with(&[
            ("BUILDKITE", "true"),
            ("BUILDKITE_ORGANIZATION_SLUG", "acme"),
            ("BUILDKITE_PIPELINE_SLUG", "web"),
            ("BUILDKITE_BUILD_ID", "b81ed283-58b7-4925-aa4a-d3da0eafcf2b"),
            ("BUILDKITE_BUILD_NUMBER", "59034"),
            ("BUILDKITE_JOB_ID", "d593f546-8c9a-45f8-8701-a2b92fbea9a7"),
            ("BUILDKITE_LABEL", "rake test"),
        ]);
        assert_eq!(
            (bk.provider, bk.repository.as_deref(), bk.number),
            (Some("buildkite"), Some("acme/web"), Some(59034))
        );
        assert_eq!(bk.job_name.as_deref(), Some("rake test"));
        let circle = with(&[
            ("CIRCLECI", "true"),
            ("CIRCLE_PROJECT_USERNAME", "acme"),
            ("CIRCLE_PROJECT_REPONAME", "app"),
            ("CIRCLE_WORKFLOW_ID", "6f0a"),
            ("CIRCLE_WORKFLOW_JOB_ID", "77aa"),
            ("CIRCLE_SHA1", "abc"),
        ]);
        assert_eq!((circle.provider, circle.repository.as_deref()), (Some("circleci"), Some("acme/app")));
        assert_eq!((circle.run_id.as_deref(), circle.job_id.as_deref()), (Some("6f0a"), Some("77aa")));
        let gitlab = with(&[
            ("GITLAB_CI", "true"),
            ("CI_PROJECT_PATH", "group/sub/app"),
            ("CI_RUNNER_TAGS", "[\"docker\", \"linux\"]"),
        ]);
        assert_eq!((gitlab.provider, gitlab.labels.len()), (Some("gitlab"), 2));
        assert_eq!(list("docker, linux"), ["docker", "linux"]);
        let azure = with(&[
            ("TF_BUILD", "True"),
            ("BUILD_BUILDID", "812"),
            ("BUILD_BUILDNUMBER", "20261201.3"),
            ("BUILD_SOURCEBRANCH", "refs/heads/feature/login"),
            ("SYSTEM_COLLECTIONURI", "https://dev.azure.com/acme/"),
            ("SYSTEM_TEAMPROJECT", "shop"),
        ]);
        assert_eq!(azure.provider, Some("azure-pipelines"));
        assert_eq!((azure.number, azure.branch.as_deref()), (None, Some("feature/login")));
        assert_eq!(azure.url.as_deref(), Some("https://dev.azure.com/acme/shop/_build/results?buildId=812"));
        assert_eq!(with(&[("PATH", "/usr/bin")]), Detected::default());
    }
}
