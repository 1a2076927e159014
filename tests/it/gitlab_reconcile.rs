//! Stale-pipeline repair for a GitLab project that only sends webhooks
//! (no `--gitlab-projects`, a token configured): a pipeline whose final
//! Pipeline Hook was lost stays `running` until it has been unchanged for
//! 10 minutes, then one pass fetches it by id from the (fake) REST API and
//! stores its outcome; a project the poller watches is left to its own
//! watch list. Without a token, projects or groups there is no poller.

use chrono::{DateTime, Duration, Utc};
use cicd_dashboard::config::{GitLabApiSettings, GitLabPollSettings};
use cicd_dashboard::providers::gitlab::Poller;
use cicd_dashboard::providers::gitlab::poller::PollTiming;
use cicd_dashboard::secret::Secret;
use cicd_dashboard::store::Store;

use crate::fake_gitlab::{FakeGitLab, job_object, pipeline_object};
use crate::gitlab_payloads::{HookJob, Pipeline, attempts_of, deliver};
use crate::on_both_backends;

const TIMING: PollTiming = PollTiming { poll_interval: 300, discovery_interval: 3600, backfill_days: 3 };

fn settings(fake: &FakeGitLab, token: bool) -> GitLabPollSettings {
    GitLabPollSettings {
        api: GitLabApiSettings {
            gitlab_url: vec![fake.url()],
            gitlab_token: if token { vec![Secret::from("glpat-test-token")] } else { Vec::new() },
            gitlab_retry_base_ms: 20,
            ..GitLabApiSettings::default()
        },
        gitlab_projects: Vec::new(),
        gitlab_groups: Vec::new(),
    }
}

on_both_backends! {
    async fn a_webhook_only_pipeline_left_running_is_repaired_from_the_api(app: TestApp) {
        let t0 = DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("time") - Duration::minutes(40);
        let at = |s: i64| t0 + Duration::seconds(s);
        // Told by its webhook up to "running"; the `success` hook was lost.
        let hooked = Pipeline { id: 9_400, project: "grp/hooked", created: t0 };
        let job = HookJob { id: 94_001, name: "test", status: "running", created: t0, started: Some(at(10)), finished: None, retries_count: 0, allow_failure: false };
        deliver(&app, "Pipeline Hook", &hooked.hook("running", None, &[&job]), "stored").await;
        assert_eq!(attempts_of(&app, 9_400).await[0]["status"], "running");

        let fake = FakeGitLab::start().await;
        fake.add_project("grp/hooked", 88);
        let mut pipeline = pipeline_object("grp/hooked", 9_400, "success", t0, at(70));
        pipeline["name"] = serde_json::json!("Pipeline for branch: main");
        fake.put_pipeline(88, pipeline, vec![job_object("grp/hooked", 9_400, 94_001, "test", "success", t0)]);
        let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
        assert!(Poller::from_settings(&settings(&fake, false), TIMING, &store).expect("settings").is_none(),
            "no token, project or group: no poller");
        let poller = Poller::from_settings(&settings(&fake, true), TIMING, &store).expect("settings").expect("a token alone");

        // Changed just now: not stale yet, nothing is fetched.
        let early = poller.reconcile(Utc::now()).await.expect("pass");
        assert_eq!((early.watched, fake.requests("/api/v4").len()), (0, 0), "{early:?}");
        // Eleven minutes later it is: one pipeline fetched, now `success`.
        let late = poller.reconcile(Utc::now() + Duration::minutes(11)).await.expect("pass");
        assert_eq!((late.watched, late.failed), (1, 0), "{late:?}");
        assert!(late.rows_changed > 0, "{late:?}");
        let attempts = attempts_of(&app, 9_400).await;
        assert_eq!(attempts.len(), 1, "{attempts:?}");
        assert_eq!((attempts[0]["status"].as_str(), attempts[0]["repo"].as_str()), (Some("success"), Some("grp/hooked")));
        let detail = app.build(&attempts[0]["id"]).await;
        assert_eq!(detail["jobs"][0]["status"], "success");
        // Completed: the next pass has nothing to repair.
        let after = poller.reconcile(Utc::now() + Duration::minutes(22)).await.expect("pass");
        assert_eq!(after.watched, 0, "{after:?}");
    }
}
