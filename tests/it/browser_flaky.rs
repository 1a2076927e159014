//! The Flaky view and the flaky badges in a real (headless) Chromium, on
//! the hand-worked dataset of `crate::flaky`: workflows and job keys
//! ranked by wasted runner time, examples opening the build detail, the
//! badge (icon and word) on build rows and on the flaky job in the detail,
//! axe (light and dark), no console errors, no sideways scrolling at 360
//! px; screenshots at 1440, 1280 and 390 px in `target/screenshots/`.

use std::time::Duration;

use crate::browser_harness::Browser;
use crate::flaky::seed;
use crate::on_both_backends;

const SECOND: Duration = Duration::from_secs(1);

on_both_backends! {
    async fn the_flaky_view_ranks_by_wasted_time_and_badges_show(app: TestApp) {
        seed(&app).await;
        let Some(browser) = Browser::start("UTC").await else { return };
        browser.client.set_window_size(1440, 900).await.expect("resize");
        browser.client.goto(&app.url("/?view=flaky&window=7")).await.expect("open flaky");
        browser.expect("document.querySelectorAll('#flaky-workflows tbody tr').length === 2 \
            && document.querySelectorAll('#flaky-jobs tbody tr').length === 2", 10 * SECOND,
            "document.getElementById('view-flaky').outerHTML").await;
        // Most wasted first: GitHub CI (700 s = 11m 40s) before the GitLab pipeline (3m 00s).
        let first = browser.eval("[...document.querySelector('#flaky-workflows tbody tr').cells].map((c) => c.textContent).slice(0, 4)").await;
        assert_eq!(first[0].as_str().map(|t| t.starts_with("CI")), Some(true), "{first}");
        assert_eq!(first[2], "21 passed on retry1 flaky job");
        assert_eq!(first[3].as_str().map(|t| t.contains("40.0 %") && t.contains("(2 of 5)")), Some(true), "{first}");
        let wasted = browser.eval("[...document.querySelectorAll('#flaky-workflows tbody tr')].map((r) => r.cells[1].textContent)").await;
        let wasted: Vec<String> = serde_json::from_value(wasted).expect("texts");
        assert_eq!(wasted.len(), 2);
        assert_ne!(wasted[0], wasted[1]);
        let job = browser.eval("document.querySelector('#flaky-jobs tbody tr th').textContent").await;
        assert!(job.as_str().is_some_and(|t| t.starts_with("test")), "{job}");
        assert_eq!(browser.eval("document.querySelector('nav.views a[aria-current=page]').dataset.view").await, "flaky");

        // An example opens the build's detail, where the flaky job carries the badge as text.
        browser.client.execute("document.querySelector('#flaky-jobs .examples button.link').click(); return true;", vec![]).await.expect("click");
        browser.expect("document.getElementById('detail').open && document.querySelector('#detail table.jobs .flaky') !== null", 5 * SECOND,
            "document.getElementById('detail').outerHTML").await;
        let badge = browser.eval("document.querySelector('#detail table.jobs .flaky').textContent").await;
        assert_eq!(badge, "↻ flaky");
        let backend = if app.database_url.starts_with("sqlite") { "sqlite" } else { "postgres" };
        browser.screenshot(&format!("flaky-detail-1440x900-{backend}")).await;
        browser.client.execute("document.getElementById('detail-close').click(); return true;", vec![]).await.expect("close");

        if let Some(violations) = browser.axe_serious().await {
            assert!(violations.is_empty(), "axe: {}", serde_json::to_string_pretty(&violations).unwrap_or_default());
        }
        browser.screenshot(&format!("flaky-1440x900-{backend}")).await;
        browser.client.set_window_size(1280, 800).await.expect("resize");
        browser.expect("window.innerWidth <= 1290", 5 * SECOND, "window.innerWidth").await;
        browser.screenshot(&format!("flaky-1280x800-{backend}")).await;
        browser.color_scheme("dark").await;
        browser.expect("matchMedia('(prefers-color-scheme: dark)').matches", 5 * SECOND, "1").await;
        if let Some(violations) = browser.axe_serious().await {
            assert!(violations.is_empty(), "axe (dark): {}", serde_json::to_string_pretty(&violations).unwrap_or_default());
        }
        browser.color_scheme("light").await;
        browser.client.set_window_size(390, 844).await.expect("resize");
        browser.expect("window.innerWidth <= 400", 5 * SECOND, "window.innerWidth").await;
        browser.screenshot(&format!("flaky-390x844-{backend}")).await;
        browser.client.set_window_size(360, 740).await.expect("resize");
        browser.expect("window.innerWidth <= 370", 5 * SECOND, "window.innerWidth").await;
        let overflow = browser.eval("document.documentElement.scrollWidth - window.innerWidth").await;
        assert!(overflow.as_i64().is_some_and(|px| px <= 0), "the Flaky view scrolls sideways at 360 px by {overflow}");

        // The builds list: the badge on the flaky attempts' rows.
        browser.client.set_window_size(1280, 800).await.expect("resize");
        browser.client.goto(&app.url("/?window=7")).await.expect("open dashboard");
        browser.expect("document.querySelectorAll('#builds tbody tr').length === 8", 10 * SECOND,
            "document.querySelector('#builds').outerHTML").await;
        let badges = browser.eval("document.querySelectorAll('#builds tbody tr .flaky').length").await;
        assert_eq!(badges, 6, "501 ×2, 601, 602 and the pipeline's two attempts");
        if let Some(violations) = browser.axe_serious().await {
            assert!(violations.is_empty(), "axe (builds): {}", serde_json::to_string_pretty(&violations).unwrap_or_default());
        }
        browser.client.execute("document.getElementById('builds').scrollIntoView(); return true;", vec![]).await.expect("scroll");
        browser.screenshot(&format!("flaky-builds-1280x800-{backend}")).await;
        assert_eq!(browser.console_errors().await, Vec::<String>::new());
        browser.close().await;
    }
}
