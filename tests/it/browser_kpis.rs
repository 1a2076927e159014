//! The overview's KPI cards follow the view's repository filter: the same
//! page shows the figures of every repository, then of one (worked out by
//! hand below).

use std::time::Duration;

use crate::browser_harness::Browser;
use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::payloads::{Run, minutes_ago};

const SECOND: Duration = Duration::from_secs(1);

async fn run(app: &TestApp, id: i64, repo: &str, end: (&str, Option<&str>, i64)) {
    let mut run = Run::new(id, minutes_ago(60 - id));
    run.repo = repo.into();
    app.deliver_json("workflow_run", &run.at(end.0, end.1, end.2).payload(), "stored").await;
}

fn kpi(name: &str) -> String {
    format!("document.querySelector('[data-kpi=\"{name}\"] .value').textContent")
}

/// The cards' values: success rate, failure rate, p50, p95, total, now.
async fn cards(browser: &Browser) -> Vec<serde_json::Value> {
    let mut values = Vec::new();
    for name in ["success-rate", "failure-rate", "p50", "p95", "total", "now"] {
        values.push(browser.eval(&kpi(name)).await);
    }
    values
}

on_both_backends! {
    async fn the_kpi_cards_follow_the_repository_filter(app: TestApp) {
        // octo-org/app: successes of 60 s and 120 s, a failure of 300 s.
        // octo-org/api: a success of 600 s and one running.
        run(&app, 1, "octo-org/app", ("completed", Some("success"), 60)).await;
        run(&app, 2, "octo-org/app", ("completed", Some("success"), 120)).await;
        run(&app, 3, "octo-org/app", ("completed", Some("failure"), 300)).await;
        run(&app, 4, "octo-org/api", ("completed", Some("success"), 600)).await;
        run(&app, 5, "octo-org/api", ("in_progress", None, 5)).await;

        let Some(browser) = Browser::start("UTC").await else { return };
        browser.client.goto(&app.url("/")).await.expect("open page");
        browser.expect("document.body.dataset.loaded && document.querySelectorAll('#builds tbody tr').length === 5",
            10 * SECOND, "document.body.innerText").await;
        // Everything: 3 successes, 1 failure → 75.0 % / 25.0 %; durations
        // [60, 120, 300, 600]: p50 = (120 + 300) / 2 = 210 s, p95 (h = 3 · 0.95
        // = 2.85) = 300 + 0.85 · 300 = 555 s; 5 builds, 1 running.
        assert_eq!(cards(&browser).await, ["75.0 %", "25.0 %", "3 min 30 s", "9 min 15 s", "5", "1 / 0"]);
        assert_eq!(browser.eval("document.getElementById('kpi-note').hidden").await, true);

        // The filter form: octo-org/app only: 2 successes, 1 failure → 66.7 % /
        // 33.3 %; durations [60, 120, 300]: p50 = 120 s, p95 (h = 1.9) =
        // 120 + 0.9 · 180 = 282 s; 3 builds, none running.
        browser.client.execute("document.getElementById('f-repo').value = 'octo-org/app';
            document.querySelector('#view-form button[type=submit]').click(); return true;", vec![]).await.expect("filter");
        browser.expect(&format!("{} === '3'", kpi("total")), 5 * SECOND, "document.getElementById('kpis').innerText").await;
        assert_eq!(cards(&browser).await, ["66.7 %", "33.3 %", "2 min 0 s", "4 min 42 s", "3", "0 / 0"]);
        assert_eq!(browser.eval("document.querySelector('[data-kpi=\"now\"] .delta').textContent").await,
            "repository octo-org/app, any age");
        assert_eq!(browser.eval("document.getElementById('kpi-note').textContent").await,
            "Only repository octo-org/app (cards, charts, health and builds).");
        assert!(browser.eval("location.search").await.as_str().is_some_and(|s| s.contains("repo=octo-org%2Fapp")));

        // The other repository, from a shared URL: 1 success of 600 s, 1 running.
        browser.client.goto(&app.url("/?repo=octo-org/api")).await.expect("open filtered");
        browser.expect(&format!("document.body.dataset.loaded && {} === '2'", kpi("total")), 10 * SECOND,
            "document.getElementById('kpis').innerText").await;
        assert_eq!(cards(&browser).await, ["100.0 %", "0.0 %", "10 min 0 s", "10 min 0 s", "2", "1 / 0"]);
        assert_eq!(browser.console_errors().await, Vec::<String>::new());
        browser.close().await;
    }
}
