//! The Jobs view and the build detail's waterfall in a real (headless)
//! Chromium: the hand-worked dataset of `job_insights` as a sortable table
//! with a sparkline per job, a job's step breakdown and duration trend,
//! and a build's jobs with their steps on one time axis; accessibility
//! (axe) and screenshots at 1 440, 1 280 and 390 px (in
//! `target/screenshots/`).

use std::time::Duration;

use serde_json::json;

use crate::browser_harness::Browser;
use crate::helpers::TestApp;
use crate::job_insights::seed;
use crate::on_both_backends;

const SECOND: Duration = Duration::from_secs(1);

async fn click(browser: &Browser, selector: &str) {
    let script = format!("document.querySelector({}).click(); return true;", json!(selector));
    browser.client.execute(&script, vec![]).await.expect("click");
}

async fn resize(browser: &Browser, width: u32, height: u32) {
    browser.client.set_window_size(width, height).await.expect("resize");
    browser
        .expect(&format!("Math.abs(window.innerWidth - {width}) <= 20"), 5 * SECOND, "window.innerWidth")
        .await;
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

fn backend(app: &TestApp) -> &'static str {
    if app.database_url.starts_with("sqlite") { "sqlite" } else { "postgres" }
}

const NAMES: &str =
    "[...document.querySelectorAll('#jobs tbody tr')].map(r => r.cells[0].textContent.split(' — ')[0])";

on_both_backends! {
    async fn the_jobs_view_sorts_draws_trends_and_shows_steps(app: TestApp) {
        seed(&app).await;
        let Some(browser) = Browser::start("UTC").await else { return };
        browser.client.goto(&app.url("/?view=jobs")).await.expect("open");
        browser.expect("document.body.dataset.loaded && document.querySelectorAll('#jobs tbody tr').length === 2",
            10 * SECOND, "document.body.innerText").await;
        // Runner time, most first (test 420 s, lint 33 s): the figures of the hand-worked dataset.
        assert_eq!(browser.eval(NAMES).await, json!(["test", "lint"]));
        let cells = browser.eval("Object.fromEntries([...document.querySelectorAll('#jobs tbody tr')[0].cells].map(c => [c.dataset.label || 'Job', c.textContent]))").await;
        assert_eq!(cells["Runs"], "5");
        assert_eq!(cells["Failure rate"], "25.0 %");
        assert_eq!(cells["p50"], "1 min 30 s");
        assert_eq!(cells["Queue p95"], "39 s", "38.5 s, rounded for display");
        assert_eq!(cells["Slowest step"], "Run tests (1 min 40 s)");
        // A sparkline per job, one point per day with a finished job.
        browser.expect("document.querySelectorAll('#jobs tbody tr svg.spark').length === 2", 10 * SECOND,
            "document.getElementById('jobs').innerText").await;
        let label = browser.eval("document.querySelector('#jobs tbody tr svg.spark').getAttribute('aria-label')").await;
        assert!(label.as_str().is_some_and(|l| l.starts_with("test: p50 duration per day")), "{label}");
        // Sorting by a header: lowest failure rate first after two clicks (desc, then asc).
        click(&browser, "#jobs th[data-sort=failure_rate] button").await;
        browser.expect("document.querySelector('#jobs th[data-sort=failure_rate]').getAttribute('aria-sort') === 'descending'",
            5 * SECOND, "location.search").await;
        browser.expect(&format!("JSON.stringify({NAMES}) === '[\"test\",\"lint\"]'"), 5 * SECOND, NAMES).await;
        click(&browser, "#jobs th[data-sort=failure_rate] button").await;
        browser.expect(&format!("JSON.stringify({NAMES}) === '[\"lint\",\"test\"]'"), 5 * SECOND, NAMES).await;
        assert!(browser.eval("location.search").await.as_str().is_some_and(|s| s.contains("jsort=failure_rate") && s.contains("jorder=asc")));
        axe_clean(&browser, "jobs").await;
        // A job's detail: step breakdown and duration trend.
        browser.client.execute("[...document.querySelectorAll('#jobs tbody tr')].find(r => r.cells[0].textContent.startsWith('test')).querySelector('button.link').click(); return true;", vec![]).await.expect("click");
        browser.expect("!document.getElementById('job-detail').hidden && document.querySelectorAll('#job-detail table.steps tbody tr').length === 2",
            10 * SECOND, "document.getElementById('job-detail').innerText").await;
        let steps = browser.eval("[...document.querySelectorAll('#job-detail table.steps tbody tr')].map(r => [r.cells[0].textContent, r.cells[3].textContent])").await;
        assert_eq!(steps, json!([["Set up job", "4 s"], ["Run tests", "1 min 40 s"]]));
        assert_eq!(browser.eval("document.querySelectorAll('#job-detail .chart svg circle').length > 0").await, true);
        axe_clean(&browser, "job detail").await;
        for (width, height) in [(1440, 900), (1280, 800), (390, 844)] {
            resize(&browser, width, height).await;
            browser.client.execute("window.scrollTo(0, 0); return true;", vec![]).await.expect("scroll");
            browser.screenshot(&format!("jobs-view-{width}x{height}-{}", backend(&app))).await;
            browser.client.execute("document.getElementById('job-detail').scrollIntoView(); return true;", vec![]).await.expect("scroll");
            browser.screenshot(&format!("jobs-detail-{width}x{height}-{}", backend(&app))).await;
        }
        assert_eq!(browser.eval("document.documentElement.scrollWidth <= window.innerWidth + 1").await, true, "no sideways scroll at 390 px");
        resize(&browser, 1440, 900).await;
        let wrap = "(() => { const w = document.querySelector('#jobs').closest('.table-wrap'); return w.scrollWidth <= w.clientWidth + 1; })()";
        assert_eq!(browser.eval(wrap).await, true, "the jobs table fits 1 440 px");

        // A build's waterfall: jobs and their steps on one time axis
        // (every stored step, the skipped deploy job's too: 3 + 2 + 1).
        let run1 = app.builds().await.into_iter().find(|b| b["external_id"] == "1").expect("run 1");
        resize(&browser, 1440, 900).await;
        browser.client.goto(&app.url(&format!("/?build={}", run1["id"]))).await.expect("detail");
        browser.expect("document.querySelectorAll('#detail table.jobs tbody tr.step-row').length === 6", 10 * SECOND,
            "document.getElementById('detail-body').innerText").await;
        let rows = browser.eval("[...document.querySelectorAll('#detail table.jobs tbody tr')].map(r => r.cells[0].textContent)").await;
        let rows: Vec<&str> = rows.as_array().expect("rows").iter().filter_map(|r| r.as_str()).collect();
        let job = rows.iter().position(|r| *r == "test (ubuntu-latest, 3.11)").expect("the job's row");
        assert_eq!(rows[job + 1..job + 4], [
            "test (ubuntu-latest, 3.11), step 1. Set up job",
            "test (ubuntu-latest, 3.11), step 2. Run tests",
            "test (ubuntu-latest, 3.11), step 3. Upload",
        ], "steps under their job: {rows:?}");
        let bars = browser.eval("[...document.querySelectorAll('#detail tr.step-row svg')].map(s => s.getAttribute('aria-label'))").await;
        // Job 11's steps (+20 → +22, +22 → +72, skipped) then job 12's (+10 → +16, +16 → +116), by job start.
        assert!(bars.as_array().expect("bars").contains(&json!("step 1 Set up job: success, 2 s")), "{bars}");
        assert!(bars.as_array().expect("bars").contains(&json!("step 2 Run tests: failed, 1 min 40 s")), "{bars}");
        assert!(bars.as_array().expect("bars").contains(&json!("step 1 Deploy: success, 5 s")), "{bars}");
        axe_clean(&browser, "waterfall").await;
        for (width, height) in [(1440, 900), (1280, 800), (390, 844)] {
            resize(&browser, width, height).await;
            browser.client.execute("document.querySelector('#detail table.jobs').scrollIntoView(); return true;", vec![]).await.expect("scroll");
            browser.screenshot(&format!("build-waterfall-{width}x{height}-{}", backend(&app))).await;
        }
        assert_eq!(browser.console_errors().await, Vec::<String>::new());
        browser.close().await;
    }
}
