//! Hand-worked datasets for the four keys; the working is in each
//! comment. Times are seconds after 2026-03-01T00:00:00Z.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::history::{Deploy, IncidentSpan, Signal, counted, walk};
use super::levels::Level;
use super::lineage::{CommitIndex, PushedCommit};
use super::{DoraFigures, figures};
use crate::domain::deployment::{Deployment, DeploymentStatus};
use crate::domain::{ProviderKind, RepoName};

const T0: i64 = 1_772_323_200; // 2026-03-01T00:00:00Z

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(T0 + seconds, 0).expect("time")
}

fn deploy(id: i64, sha: &str, finished: i64, failed: bool) -> Deploy {
    Deploy {
        id,
        provider: "github",
        repo: "acme/app".into(),
        environment: "production".into(),
        sha: Some(sha.into()),
        finished_at: at(finished),
        failed,
    }
}

/// One push (nothing → c) of a@0, b@600, c@1200.
fn three_merges() -> HashMap<(&'static str, String), CommitIndex> {
    let commit = |sha: &str, time: i64, position: i64| PushedCommit {
        sha: sha.into(),
        time: Some(at(time)),
        push_head: "c".into(),
        push_before: None,
        position,
    };
    let index = CommitIndex::new(vec![commit("a", 0, 0), commit("b", 600, 1), commit("c", 1200, 2)]);
    HashMap::from([(("github", "acme/app".to_owned()), index)])
}

fn run(deploys: &[Deploy], incidents: &[IncidentSpan], days: i64) -> (DoraFigures, super::history::History) {
    let history = walk(deploys, &three_merges(), incidents, &Default::default());
    let figures = figures(deploys, &history, at(0), at(days * 86_400), chrono_tz::UTC);
    (figures, history)
}

/// Three merges a@0, b@600, c@1200 deployed together at 3600: leads 3600,
/// 3000, 2400 → sorted [2400, 3000, 3600]; median 3000; p90 at rank
/// 0.9 × 2 = 1.8 → 3000 + 0.8 × 600 = 3480. One deployment in a 1-day
/// window: 1/day (elite), 7/week, every day has one; CFR 0/1.
#[test]
fn several_merges_deployed_together_each_count() {
    let (f, _) = run(&[deploy(1, "c", 3600, false)], &[], 1);
    assert_eq!(f.lead_time.commits, 3);
    assert_eq!(f.lead_time.median_seconds, Some(3000.0));
    assert_eq!(f.lead_time.p90_seconds, Some(3480.0));
    assert_eq!(f.lead_time.level, Some(Level::Elite), "50 minutes is under an hour");
    assert_eq!((f.deployment_frequency.per_day, f.deployment_frequency.per_week), (1.0, 7.0));
    assert_eq!(f.deployment_frequency.days_with_deployment, 1.0);
    assert_eq!(f.deployment_frequency.level, Some(Level::Elite));
    assert_eq!(f.change_failure_rate.rate, Some(0.0));
}

/// c fails at 3600, is redeployed successfully at 5400: CFR 1/2 = 0.5
/// (low); one outage 3600 → 5400 = 1800 s (elite); the commits count at
/// the successful redeploy: c 5400 − 1200 = 4200, b 4800, a 5400 → median 4800.
#[test]
fn a_failed_deploy_then_a_successful_redeploy_of_the_same_sha() {
    let (f, history) = run(&[deploy(1, "c", 3600, true), deploy(2, "c", 5400, false)], &[], 1);
    assert_eq!((f.change_failure_rate.failed_changes, f.change_failure_rate.deployments), (1, 2));
    assert_eq!(f.change_failure_rate.rate, Some(0.5));
    assert_eq!(f.change_failure_rate.level, Some(Level::Low));
    assert_eq!(f.time_to_restore.median_seconds, Some(1800.0));
    assert_eq!(f.time_to_restore.level, Some(Level::Elite));
    assert_eq!(f.lead_time.median_seconds, Some(4800.0));
    assert!(!history.facts[&2].rollback, "the same SHA again is a redeploy, not a rollback");
    assert_eq!(f.deployment_frequency.deployments, 1);
}

/// b@1000 (carries a, b), c@2000 (carries c), b again @3000: a rollback,
/// so the deployment of c (id 2) is a failed change: CFR 1/3. The
/// rollback carries nothing new (a and b were deployed at 1000); c's lead
/// 2000 − 1200 = 800; a 1000, b 400 → sorted [400, 800, 1000], median 800.
#[test]
fn a_rollback_to_an_earlier_sha_marks_the_rolled_back_deployment() {
    let deploys = [deploy(1, "b", 1000, false), deploy(2, "c", 2000, false), deploy(3, "b", 3000, false)];
    let (f, history) = run(&deploys, &[], 1);
    assert_eq!(history.facts[&2].signal, Some(Signal::RolledBack));
    assert!(history.facts[&3].rollback);
    assert!(history.facts[&3].commits.is_empty());
    assert_eq!(f.change_failure_rate.failed_changes, 1);
    assert_eq!(f.change_failure_rate.deployments, 3);
    assert_eq!(f.lead_time.median_seconds, Some(800.0));
}

/// c@1000 succeeds; an incident opens at 2000 and resolves at 5000; the
/// next deployment at 6000 is fine. Deployment 1 is a failed change (CFR
/// 1/2), the incident's outage lasts 3000 s (elite: under an hour).
#[test]
fn an_incident_before_the_next_success_is_a_failure_signal() {
    let incident =
        IncidentSpan { repo: None, environment: None, opened_at: at(2000), resolved_at: Some(at(5000)) };
    let (f, history) = run(&[deploy(1, "b", 1000, false), deploy(2, "c", 6000, false)], &[incident], 1);
    assert_eq!(history.facts[&1].signal, Some(Signal::Incident));
    assert_eq!(history.facts[&2].signal, None);
    assert_eq!(f.change_failure_rate.rate, Some(0.5));
    assert_eq!(f.time_to_restore.median_seconds, Some(3000.0));
    assert_eq!(f.time_to_restore.level, Some(Level::Elite));
}

/// Two failures in a row (1000, 2000) then a success at 4000: one outage
/// of 3000 s, not two. An unrestored failure at 5000 is counted apart.
#[test]
fn consecutive_failures_are_one_outage() {
    let deploys = [
        deploy(1, "c", 1000, true),
        deploy(2, "c", 2000, true),
        deploy(3, "c", 4000, false),
        deploy(4, "d", 5000, true),
    ];
    let (f, _) = run(&deploys, &[], 1);
    assert_eq!((f.time_to_restore.restored, f.time_to_restore.unrestored), (1, 1));
    assert_eq!(f.time_to_restore.median_seconds, Some(3000.0));
    assert_eq!(f.change_failure_rate.rate, Some(0.75));
}

/// Deployments at 2026-03-10T03:00Z and 05:00Z fall on one UTC day but on
/// two days in New York (EDT from 8 March, UTC−4: 9 March 23:00 and 10
/// March 01:00). A 10-day window: 2 of 10 days there, 1 of 10 in UTC.
#[test]
fn days_with_a_deployment_are_local_days() {
    let nine_days = 9 * 86_400;
    let deploys = [deploy(1, "b", nine_days + 3 * 3600, false), deploy(2, "c", nine_days + 5 * 3600, false)];
    let history = walk(&deploys, &three_merges(), &[], &Default::default());
    let new_york = figures(&deploys, &history, at(0), at(10 * 86_400), chrono_tz::America::New_York);
    let utc = figures(&deploys, &history, at(0), at(10 * 86_400), chrono_tz::UTC);
    assert_eq!(new_york.deployment_frequency.days_with_deployment, 0.2);
    assert_eq!(utc.deployment_frequency.days_with_deployment, 0.1);
    assert_eq!(utc.deployment_frequency.per_day, 0.2);
}

/// Pending, skipped and allowed-to-fail deployments count nowhere; a
/// failure of a job not allowed to fail counts as failed.
#[test]
fn only_final_outcomes_count() {
    let with = |state: Option<&str>| Deployment {
        provider: ProviderKind::GitLab,
        repo: RepoName::from("acme/app".to_owned()),
        deployment_id: "1".into(),
        environment: "production".into(),
        sha: None,
        git_ref: None,
        job_id: Some("9".into()),
        url: None,
        created_at: None,
        status: state.map(|s| DeploymentStatus { state: s.into(), at: at(10) }),
    };
    assert_eq!(counted(1, &with(None), false), None);
    assert_eq!(counted(1, &with(Some("running")), false), None);
    assert_eq!(counted(1, &with(Some("skipped")), false), None);
    assert_eq!(counted(1, &with(Some("canceled")), false), None);
    assert_eq!(counted(1, &with(Some("failed")), true), None);
    assert!(counted(1, &with(Some("failed")), false).expect("counted").failed);
    assert!(!counted(1, &with(Some("success")), true).expect("counted").failed);
}
