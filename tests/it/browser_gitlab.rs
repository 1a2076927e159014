//! The page with GitHub Actions (its webhook), GitLab CI (its webhook, a
//! pipeline that failed and passed on retry, told final hook first) and
//! Jenkins (the generic build API) together, with one repository name on
//! both GitHub and GitLab: every build row and health line names its
//! provider, the GitLab retry shows as two attempts, the provider filter
//! narrows to GitLab; axe clean; screenshots at 1440, 1280 and 390 px.

use std::time::Duration;

use chrono::Utc;
use serde_json::json;

use crate::browser_harness::Browser;
use crate::build_events::{post, run_event};
use crate::gitlab_payloads::{HookJob, Pipeline, deliver};
use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::payloads::{Run, minutes_ago};

const SECOND: Duration = Duration::from_secs(1);

fn ts(at: chrono::DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// GitHub `octo-org/app` CI: success 120 s (50 min ago), failure 60 s (40
/// min ago). GitLab `octo-org/app`: pipeline created 35 min ago, `test`
/// failed (attempt 1 failed, 300 s), retried 10 min later and passed
/// (attempt 2 success, 120 s). Jenkins `acme/app`: success 300 s (25 min ago).
async fn seed(app: &TestApp) {
    for (id, minutes, seconds, conclusion) in [(1, 50, 120, "success"), (2, 40, 60, "failure")] {
        let run = Run::new(id, minutes_ago(minutes)).at("completed", Some(conclusion), seconds);
        app.deliver_json("workflow_run", &run.payload(), "stored").await;
    }
    let t0 = minutes_ago(35);
    let at = |s: i64| t0 + chrono::Duration::seconds(s);
    let pipeline = Pipeline { id: 6_100, project: "octo-org/app", created: t0 };
    let a = HookJob {
        id: 61_001,
        name: "test",
        status: "failed",
        created: t0,
        started: Some(at(60)),
        finished: Some(at(240)),
        retries_count: 0,
        allow_failure: false,
    };
    let b = HookJob {
        id: 61_002,
        name: "lint",
        status: "success",
        started: Some(at(30)),
        finished: Some(at(120)),
        ..a.clone()
    };
    let retry = HookJob {
        id: 61_003,
        status: "success",
        created: at(600),
        started: Some(at(620)),
        finished: Some(at(720)),
        retries_count: 1,
        ..a.clone()
    };
    deliver(app, "Pipeline Hook", &pipeline.hook("success", Some(at(720)), &[&retry, &b]), "stored").await;
    deliver(app, "Job Hook", &pipeline.job_hook(&a), "stored").await;
    deliver(app, "Job Hook", &pipeline.job_hook(&retry), "stored").await;
    deliver(app, "Pipeline Hook", &pipeline.hook("failed", Some(at(300)), &[&a, &b]), "stored").await;
    let start = minutes_ago(25);
    let events = json!([
        run_event("jenkins", "j1", "j1-s", "in_progress", json!({"started_at": ts(start)})),
        run_event(
            "jenkins",
            "j1",
            "j1-f",
            "completed",
            json!({"conclusion": "success", "completed_at": ts(start + chrono::Duration::seconds(300))})
        ),
    ]);
    let (status, answer) = post(app, &events).await;
    assert_eq!((status, answer["applied"].as_i64()), (200, Some(2)), "{answer}");
}

async fn axe_clean(browser: &Browser, what: &str) {
    if let Some(violations) = browser.axe_serious().await {
        assert!(
            violations.is_empty(),
            "axe ({what}): {}",
            serde_json::to_string_pretty(&violations).unwrap_or_default()
        );
    }
}

on_both_backends! {
    async fn github_gitlab_and_jenkins_on_one_page(app: TestApp) {
        seed(&app).await;
        let Some(browser) = Browser::start("UTC").await else { return };
        browser.client.set_window_size(1440, 900).await.expect("resize");
        browser.client.goto(&app.url("/")).await.expect("open page");
        browser.expect("document.body.dataset.loaded && document.querySelectorAll('#builds tbody tr').length === 5
            && document.querySelectorAll('#health tbody tr').length === 3", 10 * SECOND, "document.body.innerText").await;
        let providers = browser.eval("[...new Set([...document.querySelectorAll('#builds tbody .provider')]
            .map(span => span.textContent))].sort()").await;
        assert_eq!(providers, json!(["GitHub Actions", "GitLab CI", "Jenkins"]));
        // Health: one line per provider, octo-org/app twice (GitHub and GitLab).
        let health = browser.eval("[...document.querySelectorAll('#health tbody th')].map(th => th.textContent)").await;
        assert_eq!(health, json!(["acme/app on Jenkins", "octo-org/app on GitHub Actions", "octo-org/app on GitLab CI"]));
        for (width, height) in [(1440, 900), (1280, 800)] {
            browser.client.set_window_size(width, height).await.expect("resize");
            browser.expect(&format!("Math.abs(window.innerWidth - {width}) <= 20"), 5 * SECOND, "window.innerWidth").await;
            assert_eq!(browser.eval("document.documentElement.scrollWidth <= window.innerWidth").await, true, "{width} px");
            browser.client.execute("document.getElementById('health-title').scrollIntoView(); return true;", vec![]).await.expect("scroll");
            browser.screenshot(&format!("gitlab-health-{width}x{height}")).await;
            browser.client.execute("document.getElementById('builds-title').scrollIntoView(); return true;", vec![]).await.expect("scroll");
            browser.screenshot(&format!("gitlab-builds-{width}x{height}")).await;
        }
        axe_clean(&browser, "three providers with GitLab, 1280").await;

        // GitLab only: its two attempts (by hand: 1 failed of 300 s, 1
        // success of 120 s → 50.0 %), one health line.
        browser.client.execute("document.getElementById('f-provider').value = 'gitlab';
            document.querySelector('#view-form button[type=submit]').click(); return true;", vec![]).await.expect("filter");
        browser.expect("document.querySelector('[data-kpi=\"total\"] .value').textContent === '2'
            && document.querySelectorAll('#builds tbody tr').length === 2
            && document.querySelectorAll('#health tbody tr').length === 1", 5 * SECOND, "document.body.innerText").await;
        assert_eq!(browser.eval("[...document.querySelectorAll('#builds tbody .provider')].map(span => span.textContent)").await,
            json!(["GitLab CI", "GitLab CI"]));
        assert_eq!(browser.eval("document.querySelector('[data-kpi=\"success-rate\"] .value').textContent").await, "50.0 %");
        assert_eq!(browser.eval("document.querySelector('#health tbody th').textContent").await, "octo-org/app on GitLab CI");

        browser.client.set_window_size(390, 844).await.expect("resize");
        browser.expect("Math.abs(window.innerWidth - 390) <= 20", 5 * SECOND, "window.innerWidth").await;
        assert_eq!(browser.eval("document.documentElement.scrollWidth <= window.innerWidth").await, true);
        axe_clean(&browser, "GitLab only, 390").await;
        browser.client.execute("document.getElementById('health-title').scrollIntoView(); return true;", vec![]).await.expect("scroll");
        browser.screenshot("gitlab-health-390x844").await;
        browser.client.execute("document.getElementById('builds-title').scrollIntoView(); return true;", vec![]).await.expect("scroll");
        browser.screenshot("gitlab-builds-390x844").await;
        assert_eq!(browser.console_errors().await, Vec::<String>::new());
        browser.close().await;
    }
}
