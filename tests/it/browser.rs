//! The dashboard page in a real (headless) Chromium: seeded values, live
//! updates, filters/search/paging/export, escaping, console errors,
//! accessibility (axe-core) and screenshots in `target/screenshots/`.

use std::time::Duration;

use chrono::Duration as Span;
use serde_json::{Value, json};

use crate::browser_harness::Browser;
use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::payloads::{Run, job_payload, minutes_ago};

const XSS: &str = "<img src=x onerror=alert(1)>";
const SECOND: Duration = Duration::from_secs(1);

async fn run(
    app: &TestApp,
    id: i64,
    minutes: i64,
    branch: &str,
    end: (&str, Option<&str>, i64),
    queue: Option<i64>,
) {
    let mut run = Run::new(id, minutes_ago(minutes));
    run.branch = branch.into();
    app.deliver_json("workflow_run", &run.at(end.0, end.1, end.2).payload(), "stored").await;
    if let Some(queue) = queue {
        let started = run.started_at + Span::seconds(queue);
        let done = started + Span::seconds(end.2 - queue);
        let job =
            job_payload(id * 10, &run, "completed", Some("success"), run.started_at, started, Some(done));
        app.deliver_json("workflow_job", &job, "stored").await;
    }
}

fn kpi(name: &str) -> String {
    format!("document.querySelector('[data-kpi=\"{name}\"] .value').textContent")
}

on_both_backends! {
    async fn the_page_shows_the_data_updates_live_and_escapes_text(app: TestApp) {
        // 3 success (120 s with 30 s queue, 240 s, 60 s), 1 failure (600 s,
        // branch with markup), 1 running. By hand: success rate 3/4 = 75.0 %,
        // failure 25.0 %; durations [60, 120, 240, 600]: p50 = 180 s = 3 min 0 s,
        // p95 (h = 2.85) = 240 + 0.85·360 = 546 s = 9 min 6 s; median queue 30 s.
        run(&app, 1, 50, "main", ("completed", Some("success"), 120), Some(30)).await;
        run(&app, 2, 40, "main", ("completed", Some("success"), 240), None).await;
        run(&app, 3, 30, XSS, ("completed", Some("failure"), 600), None).await;
        run(&app, 4, 20, "main", ("completed", Some("success"), 60), None).await;
        run(&app, 5, 10, "main", ("in_progress", None, 5), None).await;
        // The previous 7 days: one success of 100 s (success rate 100 %).
        run(&app, 7, 8 * 24 * 60, "main", ("completed", Some("success"), 100), None).await;

        let Some(browser) = Browser::start("Europe/Berlin").await else { return };
        browser.client.goto(&app.url("/")).await.expect("open page");
        // The list follows the 7-day window, as the cards do: run 7 (8 days ago) is not listed.
        browser.expect("document.body.dataset.loaded && document.querySelectorAll('#builds tbody tr').length === 5",
            10 * SECOND, "document.body.innerText").await;
        assert_eq!(browser.eval(&kpi("success-rate")).await, "75.0 %");
        assert_eq!(browser.eval(&kpi("failure-rate")).await, "25.0 %");
        assert_eq!(browser.eval(&kpi("p50")).await, "3 min 0 s");
        assert_eq!(browser.eval(&kpi("p95")).await, "9 min 6 s");
        assert_eq!(browser.eval(&kpi("queue")).await, "30 s");
        assert_eq!(browser.eval(&kpi("total")).await, "5");
        assert_eq!(browser.eval(&kpi("now")).await, "1 / 0");
        let delta = browser.eval("document.querySelector('[data-kpi=\"success-rate\"] .delta').textContent").await;
        assert_eq!(delta, "▼ −25.0 pp (worse) vs previous 7 days");
        let delta = browser.eval("document.querySelector('[data-kpi=\"p50\"] .delta').textContent").await;
        assert_eq!(delta, "▲ +80 % (worse) vs previous 7 days", "180 s against 100 s");

        // Chart data: bars per outcome add up to the dataset (Berlin days), and every bar has a title.
        let sum = |series: &str| format!("[...document.querySelectorAll('#chart-outcomes rect[data-series=\"{series}\"]')]\
            .reduce((s, r) => s + Number(r.dataset.value), 0)");
        assert_eq!(browser.eval(&sum("success")).await, json!(3));
        assert_eq!(browser.eval(&sum("failed")).await, json!(1));
        assert_eq!(browser.eval(&sum("other")).await, json!(1));
        assert_eq!(browser.eval("[...document.querySelectorAll('#chart-outcomes rect')].every(r => r.querySelector('title'))").await, true);
        let rate_points = browser.eval("[...document.querySelectorAll('#chart-rate circle')].map(c => Number(c.dataset.value))").await;
        assert!(rate_points.as_array().is_some_and(|p| !p.is_empty()), "{rate_points}");
        assert_eq!(browser.eval("document.querySelector('#chart-duration svg').textContent.includes('duration (minutes)')").await, true);
        assert_eq!(browser.eval("document.querySelector('#chart-outcomes svg').textContent.includes('Europe/Berlin')").await, true);

        // Rows, and the markup branch shown as text: no <img>, no dialog.
        let first_row = browser.eval("[...document.querySelector('#builds tbody tr').cells].map(c => c.textContent)").await;
        assert_eq!(first_row[1], "octo-org/app on GitHub Actions");
        assert_eq!(first_row[3], "main");
        assert_eq!(browser.eval("[...document.querySelectorAll('#builds td.branch')].some(td => td.textContent === '<img src=x onerror=alert(1)>')").await, true);
        assert_eq!(browser.eval("document.querySelectorAll('img').length").await, json!(0));
        assert!(browser.client.get_alert_text().await.is_err(), "no alert dialog may open");
        assert_eq!(browser.eval("document.getElementById('live-text').textContent").await, "live");

        // A webhook while the page is open: row and KPIs change within 2 s, no reload.
        browser.client.execute("window.__sameDocument = true; return true;", vec![]).await.expect("mark");
        let response = app.deliver("workflow_run", &serde_json::to_vec(&Run::new(6, minutes_ago(1)).at("completed", Some("failure"), 90).payload()).expect("json")).await;
        assert_eq!(response.status().as_u16(), 202);
        browser.expect(&format!("document.querySelectorAll('#builds tbody tr').length === 6 && {} === '6' && {} === '40.0 %'",
            kpi("total"), kpi("failure-rate")), 2 * SECOND, "document.querySelector('#kpis').innerText").await;
        assert_eq!(browser.eval("window.__sameDocument === true").await, true, "no reload");

        // The detail dialog: attempts and jobs timeline.
        browser.client.execute("document.querySelector('tr[data-id] button.link').click(); return true;", vec![]).await.expect("click");
        browser.expect("document.getElementById('detail').open && document.querySelector('#detail table.attempts')", 5 * SECOND,
            "document.getElementById('detail-body').innerText").await;
        assert!(browser.eval("location.search").await.as_str().is_some_and(|s| s.contains("build=")));
        browser.client.execute("document.getElementById('detail-close').click(); return true;", vec![]).await.expect("close");

        let violations = browser.axe_serious().await;
        if let Some(violations) = violations {
            assert!(violations.is_empty(), "axe: {}", serde_json::to_string_pretty(&violations).unwrap_or_default());
        }
        assert_eq!(browser.console_errors().await, Vec::<String>::new());

        // The trend sparkline: the 6 latest statuses of octo-org/app CI, oldest first.
        let spark = browser.eval("[...document.querySelectorAll('#health .spark rect')].map(r => r.dataset.status)").await;
        assert_eq!(spark, json!(["success", "success", "failed", "success", "running", "failed"]));

        let backend = if app.database_url.starts_with("sqlite") { "sqlite" } else { "postgres" };
        // Dark: same checks for contrast.
        browser.color_scheme("dark").await;
        browser.expect("matchMedia('(prefers-color-scheme: dark)').matches", 5 * SECOND, "1").await;
        if let Some(violations) = browser.axe_serious().await {
            assert!(violations.is_empty(), "axe (dark): {}", serde_json::to_string_pretty(&violations).unwrap_or_default());
        }
        browser.screenshot(&format!("overview-dark-1280x800-{backend}")).await;
        browser.color_scheme("light").await;
        browser.screenshot(&format!("overview-1280x800-{backend}")).await;
        browser.client.execute("document.getElementById('health-title').scrollIntoView(); return true;", vec![]).await.expect("scroll");
        browser.screenshot(&format!("tables-1280x800-{backend}")).await;
        browser.client.execute("document.querySelector('tr[data-id=\"1\"] button.link').click(); return true;", vec![]).await.expect("click");
        browser.expect("document.querySelector('#detail table.jobs')", 5 * SECOND, "document.getElementById('detail-body').innerText").await;
        browser.screenshot(&format!("detail-1280x800-{backend}")).await;
        browser.client.execute("document.getElementById('detail-close').click(); window.scrollTo(0, 0); return true;", vec![]).await.expect("close");
        browser.client.set_window_size(390, 844).await.expect("resize");
        browser.expect("window.innerWidth <= 400", 5 * SECOND, "window.innerWidth").await;
        browser.screenshot(&format!("overview-390x844-{backend}")).await;
        let overflow = browser.eval("document.documentElement.scrollWidth - window.innerWidth").await;
        let wide = browser.eval("[document.body.scrollWidth, ...[...document.querySelectorAll('body > *, main > *, section > *')]\
            .filter(e => e.scrollWidth > window.innerWidth || e.getBoundingClientRect().right > window.innerWidth + 1)\
            .map(e => e.tagName + '#' + e.id + ' ' + e.scrollWidth + ' ' + Math.round(e.getBoundingClientRect().right))]").await;
        assert!(overflow.as_i64().is_some_and(|px| px <= 0), "the page scrolls sideways at 390 px by {overflow}: {wide}");
        browser.client.set_window_size(360, 740).await.expect("resize");
        browser.expect("window.innerWidth <= 370", 5 * SECOND, "window.innerWidth").await;
        let overflow = browser.eval("document.documentElement.scrollWidth - window.innerWidth").await;
        assert!(overflow.as_i64().is_some_and(|px| px <= 0), "the page scrolls sideways at 360 px by {overflow}");
        browser.client.set_window_size(390, 844).await.expect("resize");
        browser.client.execute("document.querySelector('tr[data-id] button.link').click(); return true;", vec![]).await.expect("click");
        browser.expect("document.querySelector('#detail .jobs, #detail table.attempts')", 5 * SECOND, "1").await;
        browser.screenshot(&format!("detail-390x844-{backend}")).await;
        browser.close().await;
    }

    async fn filters_search_paging_and_export_match(app: TestApp) {
        // 30 runs: ids 1..=30, one a minute; branch "feature" for ids divisible by 3 (10 runs).
        for id in 1..=30 {
            let branch = if id % 3 == 0 { "feature" } else { "main" };
            run(&app, id, 100 - id, branch, ("completed", Some("success"), 10 * id), None).await;
        }
        let Some(browser) = Browser::start("UTC").await else { return };
        browser.client.goto(&app.url("/")).await.expect("open page");
        browser.expect("document.body.dataset.loaded && document.querySelectorAll('#builds tbody tr').length === 25",
            10 * SECOND, "document.getElementById('builds-count').textContent").await;
        assert_eq!(browser.eval("document.getElementById('builds-count').textContent").await, "Showing 1–25 of 30 builds started in the last 7 days");
        // Page 2 holds the 5 oldest.
        browser.client.execute("document.getElementById('page-next').click(); return true;", vec![]).await.expect("next");
        browser.expect("document.querySelectorAll('#builds tbody tr').length === 5", 5 * SECOND, "1").await;
        assert!(browser.eval("location.search").await.as_str().is_some_and(|s| s.contains("page=2")));

        // Search "feature" with the form: 10 rows, kept in the URL.
        browser.client.execute("const q = document.getElementById('f-q'); q.value = 'feature';
            document.querySelector('#builds-form button[type=submit]').click(); return true;", vec![]).await.expect("search");
        browser.expect("document.querySelectorAll('#builds tbody tr').length === 10", 5 * SECOND,
            "document.getElementById('builds-count').textContent").await;
        let search = browser.eval("location.search").await;
        assert!(search.as_str().is_some_and(|s| s.contains("q=feature") && !s.contains("page=")), "{search}");
        // Sort by duration, longest first.
        browser.client.execute("document.querySelector('button.sort[data-key=duration]').click(); return true;", vec![]).await.expect("sort");
        browser.expect("document.querySelector('th[data-sort=duration]').getAttribute('aria-sort') === 'descending'", 5 * SECOND, "1").await;
        browser.expect("document.querySelector('#builds tbody tr').dataset.id && \
            document.querySelector('#builds tbody tr td:nth-child(8)').textContent === '5 min 0 s'", 5 * SECOND,
            "document.querySelector('#builds tbody tr').innerText").await;
        let shown: Vec<Value> = browser.eval("[...document.querySelectorAll('#builds tbody tr')].map(r => Number(r.dataset.id))")
            .await.as_array().cloned().unwrap_or_default();

        // The export links download exactly what the table shows.
        let csv_href = browser.eval("document.getElementById('export-csv').href").await;
        let csv_text = app.client.get(csv_href.as_str().expect("href")).send().await.expect("csv").text().await.expect("text");
        let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
        let ids: Vec<Value> = reader.records().map(|r| json!(r.expect("record")[0].parse::<i64>().expect("id"))).collect();
        assert_eq!(ids, shown);
        let json_href = browser.eval("document.getElementById('export-json').href").await;
        let exported: Value = app.client.get(json_href.as_str().expect("href")).send().await.expect("json").json().await.expect("json");
        let ids: Vec<Value> = exported["builds"].as_array().expect("builds").iter().map(|b| b["id"].clone()).collect();
        assert_eq!(ids, shown);

        // A shared URL restores the view.
        let url = browser.eval("location.href").await;
        browser.client.goto(url.as_str().expect("url")).await.expect("reload");
        browser.expect("document.body.dataset.loaded && document.querySelectorAll('#builds tbody tr').length === 10 \
            && document.getElementById('f-q').value === 'feature'", 10 * SECOND, "location.search").await;

        // A re-run: the detail shows both attempts side by side.
        let mut rerun = Run::new(30, minutes_ago(70));
        rerun.attempt = 2;
        rerun.started_at = minutes_ago(2);
        app.deliver_json("workflow_run", &rerun.at("completed", Some("failure"), 40).payload(), "stored").await;
        let (_, latest) = app.get("/api/builds?limit=1").await;
        browser.client.goto(&app.url(&format!("/?build={}", latest["builds"][0]["id"]))).await.expect("open detail");
        browser.expect("document.querySelectorAll('#detail table.attempts thead th').length === 2", 10 * SECOND,
            "document.getElementById('detail-body').innerText").await;
        let heads = browser.eval("[...document.querySelectorAll('#detail table.attempts thead th')].map(t => t.textContent)").await;
        assert_eq!(heads, json!(["Attempt 1", "Attempt 2 (shown)"]));
        browser.screenshot("detail-rerun-1280x800").await;
        if let Some(violations) = browser.axe_serious().await {
            assert!(violations.is_empty(), "axe with the dialog open: {}", serde_json::to_string_pretty(&violations).unwrap_or_default());
        }

        // The view's branch filter drives the charts, the health table and the builds.
        browser.client.goto(&app.url("/?branch=feature")).await.expect("open filtered");
        browser.expect("document.body.dataset.loaded && document.querySelectorAll('#builds tbody tr').length === 10 \
            && document.querySelectorAll('#health tbody tr').length === 1", 10 * SECOND, "document.body.innerText").await;
        let bars = browser.eval("[...document.querySelectorAll('#chart-outcomes rect')].reduce((s, r) => s + Number(r.dataset.value), 0)").await;
        assert_eq!(bars, json!(10));
        let health = browser.eval("[...document.querySelectorAll('#health tbody tr')].map(r => r.querySelector('[data-label=Builds]').textContent)").await;
        assert_eq!(health, json!(["10"]));
        assert_eq!(browser.eval("document.getElementById('f-branch').value").await, "feature");
        assert_eq!(browser.eval("document.getElementById('kpi-note').hidden").await, false);

        assert_eq!(browser.console_errors().await, Vec::<String>::new());
        browser.close().await;
    }

    async fn an_empty_store_says_how_to_start(app: TestApp) {
        let Some(browser) = Browser::start("UTC").await else { return };
        browser.client.goto(&app.url("/")).await.expect("open page");
        browser.expect("document.body.dataset.loaded && !document.getElementById('empty').hidden", 10 * SECOND,
            "document.body.innerText").await;
        let text = browser.eval("document.getElementById('empty').textContent").await;
        assert!(text.as_str().is_some_and(|t| t.contains("/api/webhook/github-actions")), "{text}");
        assert_eq!(browser.eval(&kpi("success-rate")).await, "–");
        // The console check sees errors (so an empty answer means none).
        browser.client.execute("console.error('probe'); return true;", vec![]).await.expect("probe");
        let probe = browser.console_errors().await;
        assert!(probe.iter().any(|m| m.contains("probe")), "{probe:?}");

        // When reads need a token: a 401 asks for one, and the token entered is
        // kept in sessionStorage and sent as a bearer token. (The server has no
        // read tokens yet, so the 401 comes from a stand-in for fetch.)
        browser.client.execute("window.__seen = [];
            const real = window.fetch;
            window.fetch = (url, options) => {
              const auth = (options && options.headers && options.headers.Authorization) || '';
              window.__seen.push(auth);
              return auth === 'Bearer cicd_test_admin_token_for_the_test_suite' ? real(url, options)
                : Promise.resolve(new Response(JSON.stringify({ status: 401, title: 'Unauthorized', detail: 'a token is required' }),
                    { status: 401, headers: { 'content-type': 'application/problem+json' } }));
            };
            document.querySelector('#view-form button[type=submit]').click(); return true;", vec![]).await.expect("stub fetch");
        browser.expect("!document.getElementById('token-form').hidden && document.getElementById('banner').textContent.includes('API answered 401 — enter a token')",
            5 * SECOND, "document.getElementById('banner').textContent").await;
        browser.client.execute("document.getElementById('token').value = 'cicd_test_admin_token_for_the_test_suite';
            document.querySelector('#token-form button[type=submit]').click(); return true;", vec![]).await.expect("token");
        browser.expect("document.getElementById('banner').hidden && window.__seen.includes('Bearer cicd_test_admin_token_for_the_test_suite')", 5 * SECOND,
            "[document.getElementById('banner').textContent, window.__seen]").await;
        assert_eq!(browser.eval("sessionStorage.getItem('cicd-dashboard-token')").await, "cicd_test_admin_token_for_the_test_suite");
        // EventSource cannot send the token: the page trades it for a stream ticket and is live.
        browser.expect("document.getElementById('live').dataset.state === 'live'", 5 * SECOND,
            "document.getElementById('live-text').textContent").await;
        let urls = browser.request_urls_until("/api/events?ticket=").await;
        assert!(urls.iter().any(|u| u.contains("/api/events?ticket=")), "{urls:#?}");
        assert!(urls.iter().all(|u| !u.contains("cicd_test_admin_token_for_the_test_suite")), "{urls:#?}");
        browser.client.execute("document.getElementById('token-clear').click(); return true;", vec![]).await.expect("forget");
        browser.expect("sessionStorage.getItem('cicd-dashboard-token') === null", 5 * SECOND, "1").await;
        let violations = browser.axe_serious().await;
        if let Some(violations) = violations {
            assert!(violations.is_empty(), "axe: {}", serde_json::to_string_pretty(&violations).unwrap_or_default());
        }
        assert_eq!(browser.console_errors().await, Vec::<String>::new());
        browser.close().await;
    }
}
