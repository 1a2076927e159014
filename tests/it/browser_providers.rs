//! The page with three providers together (GitHub Actions from its webhook,
//! Buildkite and Jenkins from the generic build API): every build row names
//! its provider, and the view's provider filter narrows the cards, charts,
//! health table and builds; axe clean; screenshots at 1440, 1280 and 390 px.

use std::time::Duration;

use serde_json::json;

use crate::browser_harness::Browser;
use crate::on_both_backends;
use crate::provider_filter::seed_three_providers;

const SECOND: Duration = Duration::from_secs(1);

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
    async fn the_page_names_each_provider_and_filters_by_it(app: TestApp) {
        seed_three_providers(&app).await;
        let Some(browser) = Browser::start("UTC").await else { return };
        browser.client.set_window_size(1440, 900).await.expect("resize");
        browser.client.goto(&app.url("/")).await.expect("open page");
        browser.expect("document.body.dataset.loaded && document.querySelectorAll('#builds tbody tr').length === 6",
            10 * SECOND, "document.body.innerText").await;
        let providers = browser.eval("[...new Set([...document.querySelectorAll('#builds tbody .provider')]
            .map(span => span.textContent))].sort()").await;
        assert_eq!(providers, json!(["Buildkite", "GitHub Actions", "Jenkins"]));
        let fits = "(() => { const t = document.getElementById('builds'), wrap = t.closest('.table-wrap');
            return t.offsetWidth <= wrap.clientWidth + 1 && document.documentElement.scrollWidth <= window.innerWidth; })()";
        for (width, height) in [(1440, 900), (1280, 800)] {
            browser.client.set_window_size(width, height).await.expect("resize");
            browser.expect(&format!("Math.abs(window.innerWidth - {width}) <= 20"), 5 * SECOND, "window.innerWidth").await;
            assert_eq!(browser.eval(fits).await, true, "the builds table fits at {width} px");
            browser.client.execute("document.getElementById('builds-title').scrollIntoView(); return true;", vec![]).await.expect("scroll");
            browser.screenshot(&format!("providers-builds-{width}x{height}")).await;
        }
        axe_clean(&browser, "three providers, 1280").await;

        // Jenkins only (hand-worked in provider_filter.rs): 2 builds, 1 success
        // of 300 s and 1 failure of 100 s → 50.0 %, p50 = (100 + 300) / 2 = 200 s.
        browser.client.execute("document.getElementById('f-provider').value = 'jenkins';
            document.querySelector('#view-form button[type=submit]').click(); return true;", vec![]).await.expect("filter");
        browser.expect("document.querySelector('[data-kpi=\"total\"] .value').textContent === '2'
            && document.querySelectorAll('#builds tbody tr').length === 2", 5 * SECOND, "document.body.innerText").await;
        assert_eq!(browser.eval("[...document.querySelectorAll('#builds tbody .provider')].map(span => span.textContent)").await,
            json!(["Jenkins", "Jenkins"]));
        assert_eq!(browser.eval("document.querySelector('[data-kpi=\"success-rate\"] .value').textContent").await, "50.0 %");
        assert_eq!(browser.eval("document.querySelector('[data-kpi=\"p50\"] .value').textContent").await, "3 min 20 s");
        assert_eq!(browser.eval("document.getElementById('kpi-note').textContent").await,
            "Only provider Jenkins (cards, charts, health and builds).");
        assert!(browser.eval("location.search").await.as_str().is_some_and(|s| s.contains("provider=jenkins")));
        assert!(browser.eval("document.getElementById('export-csv').getAttribute('href')").await
            .as_str().is_some_and(|h| h.contains("provider=jenkins")));
        browser.screenshot("providers-jenkins-1280x800").await;

        // A shared URL with Buildkite: its running build counts as running now.
        browser.client.goto(&app.url("/?provider=buildkite")).await.expect("open filtered");
        browser.expect("document.body.dataset.loaded && document.querySelectorAll('#builds tbody tr').length === 2
            && document.getElementById('f-provider').value === 'buildkite'", 10 * SECOND, "document.body.innerText").await;
        assert_eq!(browser.eval("document.querySelector('[data-kpi=\"now\"] .value').textContent").await, "1 / 0");
        browser.client.set_window_size(390, 844).await.expect("resize");
        browser.expect("Math.abs(window.innerWidth - 390) <= 20", 5 * SECOND, "window.innerWidth").await;
        assert_eq!(browser.eval("document.documentElement.scrollWidth <= window.innerWidth").await, true);
        assert_eq!(browser.eval("document.querySelector('#builds tbody td[data-label=Repository]').textContent").await,
            "acme/app on Buildkite");
        assert_eq!(browser.eval("getComputedStyle(document.querySelector('#builds tbody .provider')).display").await, "block");
        axe_clean(&browser, "390").await;
        browser.screenshot("providers-overview-390x844").await;
        browser.client.execute("document.getElementById('builds-title').scrollIntoView(); return true;", vec![]).await.expect("scroll");
        browser.screenshot("providers-builds-390x844").await;
        assert_eq!(browser.console_errors().await, Vec::<String>::new());
        browser.close().await;
    }
}
