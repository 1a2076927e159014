//! The Runners view in a real (headless) Chromium, on the hand-worked
//! dataset of `insights_runners`: one row per runner label set with the
//! live queue, the longest wait opening the build, the two charts, a live
//! update when a job is queued, axe (light and dark), no console errors,
//! no sideways scrolling at 360 px; screenshots at 1440, 1280 and 390 px
//! in `target/screenshots/`.

use std::time::Duration;

use chrono::Utc;

use crate::browser_harness::Browser;
use crate::insights_runners::{J, job, seed};
use crate::on_both_backends;

const SECOND: Duration = Duration::from_secs(1);

on_both_backends! {
    async fn the_runners_view_shows_queues_per_label_set_and_updates_live(app: TestApp) {
        seed(&app).await;
        let Some(browser) = Browser::start("UTC").await else { return };
        browser.client.set_window_size(1440, 900).await.expect("resize");
        browser.client.goto(&app.url("/?view=runners&window=7")).await.expect("open runners");
        browser.expect("document.querySelectorAll('#runners tbody tr').length === 4", 10 * SECOND,
            "document.querySelector('#runners').outerHTML").await;
        let first = browser.eval("document.querySelector('#runners tbody tr').dataset.labels").await;
        assert_eq!(first, "ubuntu-latest", "most queued now first");
        let queued = browser.eval("document.querySelector('#runners tbody tr td.queued').textContent").await;
        assert_eq!(queued, "2");
        let now = browser.eval("document.getElementById('runners-now').textContent").await;
        assert_eq!(now, "2 jobs waiting for a runner, 1 running");
        // The window is whole UTC days: the label says where it starts.
        let label = browser.eval("document.getElementById('runners-window').textContent").await;
        let label = label.as_str().unwrap_or_default();
        let from = (Utc::now() - chrono::Duration::days(6)).format("%b %-d, %Y, 12:00").to_string();
        assert!(label.starts_with(&format!("· since {from}")) && label.ends_with("(7 UTC days)"), "{label}");
        // Both charts drew one line per label set (three busiest).
        let series = browser.eval("document.querySelectorAll('#chart-queue g.series').length + ',' + document.querySelectorAll('#chart-concurrency g.series').length").await;
        assert_eq!(series, "3,3");
        assert_eq!(browser.eval("document.querySelector('nav.views a[aria-current=page]').dataset.view").await, "runners");

        // Live: a job queued now shows without a reload.
        let now_ts = Utc::now();
        job(&app, J { id: 99, run: 99, attempt: 1, repo: "octo-org/app", labels: &["ubuntu-latest"], group: None,
            status: "queued", conclusion: None, created: now_ts, started: now_ts, completed: None }).await;
        browser.expect("document.querySelector('#runners tbody tr td.queued').textContent === '3'", 10 * SECOND,
            "document.querySelector('#runners tbody tr').outerHTML").await;

        // The longest wait opens the build's detail.
        browser.client.execute("document.querySelector('#runners tbody tr button.link').click(); return true;", vec![]).await.expect("click");
        browser.expect("document.getElementById('detail').open", 5 * SECOND, "document.getElementById('detail').outerHTML").await;
        browser.client.execute("document.getElementById('detail-close').click(); return true;", vec![]).await.expect("close");

        if let Some(violations) = browser.axe_serious().await {
            assert!(violations.is_empty(), "axe: {}", serde_json::to_string_pretty(&violations).unwrap_or_default());
        }
        let backend = if app.database_url.starts_with("sqlite") { "sqlite" } else { "postgres" };
        browser.screenshot(&format!("runners-1440x900-{backend}")).await;
        browser.client.set_window_size(1280, 800).await.expect("resize");
        browser.expect("window.innerWidth <= 1290", 5 * SECOND, "window.innerWidth").await;
        browser.screenshot(&format!("runners-1280x800-{backend}")).await;
        browser.color_scheme("dark").await;
        browser.expect("matchMedia('(prefers-color-scheme: dark)').matches", 5 * SECOND, "1").await;
        if let Some(violations) = browser.axe_serious().await {
            assert!(violations.is_empty(), "axe (dark): {}", serde_json::to_string_pretty(&violations).unwrap_or_default());
        }
        browser.screenshot(&format!("runners-dark-1280x800-{backend}")).await;
        browser.color_scheme("light").await;
        browser.client.set_window_size(390, 844).await.expect("resize");
        browser.expect("window.innerWidth <= 400", 5 * SECOND, "window.innerWidth").await;
        browser.screenshot(&format!("runners-390x844-{backend}")).await;
        browser.client.execute("document.getElementById('runner-charts-title').scrollIntoView(); return true;", vec![]).await.expect("scroll");
        browser.screenshot(&format!("runners-charts-390x844-{backend}")).await;
        browser.client.set_window_size(360, 740).await.expect("resize");
        browser.expect("window.innerWidth <= 370", 5 * SECOND, "window.innerWidth").await;
        let overflow = browser.eval("document.documentElement.scrollWidth - window.innerWidth").await;
        assert!(overflow.as_i64().is_some_and(|px| px <= 0), "the Runners view scrolls sideways at 360 px by {overflow}");
        assert_eq!(browser.console_errors().await, Vec::<String>::new());
        browser.close().await;
    }
}
