//! `cicd-dashboard poll --repo owner/name --since 90d` (GitHub; GitLab's
//! `--provider gitlab --project group/app` is `poll_gitlab`): a backfill of one
//! repository run now, in the foreground, with a progress bar on a terminal
//! (hidden otherwise), resuming from the stored checkpoint when an earlier
//! backfill was interrupted; then one incremental sync. It works on an
//! existing database only and fails at once when the API cannot be reached.

use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::PollArgs;
use crate::config::GitHubPollSettings;
use crate::domain::ProviderKind;
use crate::domain::time::{format_timestamp, parse_timestamp};
use crate::domain::words::count;
use crate::providers::github::Poller;

/// `since` → the instant it names: a duration back from `now` (`90d`,
/// `12h`, `1w`) or an RFC 3339 instant.
///
/// Errors: neither form.
pub fn since_instant(since: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if let Ok(back) = humantime::parse_duration(since) {
        let back = chrono::Duration::from_std(back).map_err(|err| format!("--since {since:?}: {err}"))?;
        return Ok(now - back);
    }
    parse_timestamp(since)
        .map_err(|_| format!("--since {since:?} is neither a duration (90d) nor an RFC 3339 time"))
}

/// Runs the command; prints one summary line.
pub async fn run(args: PollArgs) -> anyhow::Result<()> {
    let now = Utc::now();
    let since = since_instant(&args.since, now).map_err(anyhow::Error::msg)?;
    match ProviderKind::from_kind(&args.provider) {
        Some(ProviderKind::GitHub) => {}
        Some(ProviderKind::GitLab) => return super::poll_gitlab::run(args, since, now).await,
        Some(_) | None => anyhow::bail!(
            "--provider must be github or gitlab (other CIs report through POST /api/builds/events), got {:?}",
            args.provider
        ),
    }
    let Some(repo_name) = args.repo.clone().filter(|r| r.contains('/')) else {
        anyhow::bail!(
            "--repo must be owner/name, got {:?} (GitLab: --provider gitlab --project …)",
            args.repo.unwrap_or_default()
        );
    };
    let store = super::open_store(&args.database, &args.secrets, super::Open::Existing).await?;
    let github =
        GitHubPollSettings { api: args.github.clone(), repos: vec![repo_name.clone()], ..Default::default() };
    let poller = Poller::from_settings(&github, &store)
        .map_err(anyhow::Error::msg)?
        .ok_or_else(|| anyhow::anyhow!("nothing to poll"))?;
    eprintln!("polling {} since {} from {}", repo_name, format_timestamp(since), github.api.github_api_url);
    super::reachable(&github.api.github_api_url, "GitHub API", "--github-api-url (GITHUB_API_URL)").await?;
    poller.register(&repo_name, since, now).await?;
    let repo = store
        .poll_state()
        .poll_repo(ProviderKind::GitHub, &repo_name)
        .await?
        .ok_or_else(|| anyhow::anyhow!("{} vanished from poll_repos", repo_name))?;
    if let Some(done) = repo.backfill_done_until.filter(|_| repo.backfill_finished_at.is_none()) {
        eprintln!("resuming the backfill of {} from {}", repo_name, format_timestamp(done));
    }
    let bar = ProgressBar::new((now - since).num_seconds().max(1) as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:40}] {percent:>3}% {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let shown = bar.clone();
    let stats = poller
        .poll_repo(&repo, now, &move |p| {
            shown.set_length((p.until - p.from).max(1) as u64);
            shown.set_position((p.done_until - p.from).max(0) as u64);
            let until =
                DateTime::<Utc>::from_timestamp(p.done_until, 0).map(format_timestamp).unwrap_or_default();
            shown.set_message(format!("{}, done until {until}", count(p.runs, "run", "runs")));
        })
        .await?;
    bar.finish_and_clear();
    let after = store.poll_state().poll_repo(ProviderKind::GitHub, &repo_name).await?;
    let requests = count(poller.client().request_count(), "request", "requests");
    println!("{}: {} ({requests})", repo_name, stats.summary());
    if let Some(error) = after.filter(|r| r.last_error_at.is_some() && r.last_error_at >= r.last_success_at) {
        anyhow::bail!("the poll of {} failed: {}", repo_name, error.last_error.unwrap_or_default());
    }
    store.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_durations_and_instants() {
        let now = parse_timestamp("2026-11-29T12:00:00Z").expect("test value");
        assert_eq!(format_timestamp(since_instant("90d", now).expect("test value")), "2026-08-31T12:00:00Z");
        assert_eq!(format_timestamp(since_instant("12h", now).expect("test value")), "2026-11-29T00:00:00Z");
        assert_eq!(
            format_timestamp(since_instant("2026-11-01T00:00:00Z", now).expect("test value")),
            "2026-11-01T00:00:00Z"
        );
        assert!(since_instant("yesterday", now).is_err());
    }
}
