//! `cicd-dashboard poll --provider gitlab --project group/app --since 90d`:
//! a backfill of one GitLab project run now, in the foreground, with a
//! progress bar on a terminal (hidden otherwise), resuming from the stored
//! checkpoint when an earlier backfill was interrupted; then the watch
//! list once. It works on an existing database only and fails at once when
//! the instance cannot be reached or the project is not found.

use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::PollArgs;
use crate::config::{GitLabPollSettings, target};
use crate::domain::ProviderKind;
use crate::domain::time::format_timestamp;
use crate::domain::words::count;
use crate::providers::gitlab::Poller;
use crate::providers::gitlab::poller::PollTiming;

/// Runs the command for GitLab; prints one summary line.
pub async fn run(args: PollArgs, since: DateTime<Utc>, now: DateTime<Utc>) -> anyhow::Result<()> {
    let Some(entry) = args.project.clone().filter(|p| !p.trim().is_empty()) else {
        anyhow::bail!("--provider gitlab needs --project (an id, group/app, or https://host/group/app)");
    };
    let settings = GitLabPollSettings { api: args.gitlab.clone(), ..Default::default() };
    let instances = settings.api.instances().map_err(anyhow::Error::msg)?;
    let project = target(&entry, &instances).map_err(anyhow::Error::msg)?;
    let store = super::open_store(&args.database, &args.secrets, super::Open::Existing).await?;
    let timing = PollTiming { poll_interval: 300, discovery_interval: 3600, backfill_days: 30 };
    let poller = Poller::new(&settings, vec![project.clone()], Vec::new(), timing, &store)
        .map_err(anyhow::Error::msg)?;
    eprintln!("polling {} since {} from {}", project.key, format_timestamp(since), project.instance);
    super::reachable(&project.instance, "GitLab instance", "--gitlab-url (GITLAB_URL)").await?;
    let path = poller.register(&project, "cli", since, now).await?;
    let polls = store.poll_state();
    let repo = polls
        .poll_repo(ProviderKind::GitLab, &path)
        .await?
        .ok_or_else(|| anyhow::anyhow!("{path} vanished from poll_repos"))?;
    if repo.state != "active" {
        anyhow::bail!("{path} is not polled ({}): {}", repo.state, repo.state_reason.unwrap_or_default());
    }
    if let Some(done) = repo.backfill_done_until.filter(|_| repo.backfill_finished_at.is_none()) {
        eprintln!("resuming the backfill of {path} from {}", format_timestamp(done));
    }
    let bar = ProgressBar::new((now - since).num_seconds().max(1) as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:40}] {percent:>3}% {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let shown = bar.clone();
    let stats = poller
        .poll_project(&repo, now, &move |p| {
            shown.set_length((p.until - p.from).max(1) as u64);
            shown.set_position((p.done_until - p.from).max(0) as u64);
            let until =
                DateTime::<Utc>::from_timestamp(p.done_until, 0).map(format_timestamp).unwrap_or_default();
            shown.set_message(format!("{}, done until {until}", count(p.pipelines, "pipeline", "pipelines")));
        })
        .await?;
    bar.finish_and_clear();
    let after = polls.poll_repo(ProviderKind::GitLab, &path).await?;
    let requests: u64 = poller.clients().iter().map(|c| c.request_count()).sum();
    println!("{path}: {} ({})", stats.summary(), count(requests, "request", "requests"));
    if let Some(error) = after.filter(|r| r.last_error_at.is_some() && r.last_error_at >= r.last_success_at) {
        anyhow::bail!("the poll of {path} failed: {}", error.last_error.unwrap_or_default());
    }
    store.close().await;
    Ok(())
}
