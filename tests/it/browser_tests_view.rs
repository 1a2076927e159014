//! The Tests view in a real (headless) Chromium, on a small dataset
//! uploaded through `POST /api/test-results` and worked out by hand: the
//! four lists, the search by name, a test's history (outcome strip with
//! durations, symbols and words), a report's markup shown as text, axe
//! (light and dark), no console errors, no sideways scrolling at 360 px;
//! a stale answer said so and replaced once recomputed;
//! screenshots at 1440, 1280 and 390 px in `target/screenshots/`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::browser_harness::Browser;
use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::payloads::{Run, minutes_ago};
use crate::test_results::upload;

const SECOND: Duration = Duration::from_secs(1);

/// A report of class `A` in suite `S`: (name, seconds, child element).
fn report(cases: &[(&str, &str, &str)]) -> Vec<u8> {
    let mut xml = String::from(r#"<testsuite name="S">"#);
    for (name, time, child) in cases {
        xml.push_str(&format!(r#"<testcase classname="A" name="{name}" time="{time}">{child}</testcase>"#));
    }
    xml.push_str("</testsuite>");
    xml.into_bytes()
}

/// One test case: name, seconds, child element.
pub type Case<'a> = (&'a str, &'a str, &'a str);

const FAIL: &str = r#"<failure message="expected 1" type="AssertionError">at A.beta(A.java:3)</failure>"#;
const FLAKY: &str = r#"<flakyFailure message="timing" type="AssertionError"/>"#;

/// Three run attempts on `main`, job "unit" (run 100's two attempts share
/// a commit; run 101 has its own):
///
/// | test  | 100 #1           | 100 #2        | 101 #1        |
/// |-------|------------------|---------------|---------------|
/// | alpha | passed 0.1 s     | passed 0.3 s  | failed 1.5 s  |
/// | beta  | failed 0.2 s     | passed 0.4 s  | passed 0.2 s  |
/// | gamma | passed after a flakyFailure 0.3 s | passed 0.1 s | passed 0.2 s |
/// | delta | skipped 0 s      | failed 0.05 s | passed 0.1 s  |
/// | `renders <b>` |          |               | passed 0.01 s |
///
/// Most failing (one failure each; ties: more executions, then first seen):
/// alpha 1 of 3 (33.3 %), beta 1 of 3, delta 1 of 2 (the skip is no
/// execution for the rate: 50.0 %).
/// Slowest by total: alpha 100 + 300 + 1500 = 1 900 ms (p50 300 ms; p95,
/// type 7 on [100, 300, 1500]: h = 2 × 0.95 = 1.9, 300 + 0.9 × 1200 =
/// 1 380 ms), beta 800, gamma 600, delta 150, `renders <b>` 10.
/// Flaky: beta (attempt flip 100 #1 → #2 and commit flip on run 100's
/// commit: 2), gamma (a rerun pass: 1). delta failed in run 100 and passed
/// in run 101: another run and another commit, not flaky.
/// Newly failing on main: alpha (passed in run 100, failed in run 101).
pub async fn seed(app: &TestApp) {
    for (run_id, attempt, ago, tests) in uploads() {
        let mut run = Run::new(run_id, minutes_ago(ago));
        run.attempt = attempt;
        let conclusion = if tests.iter().any(|t| t.2 == FAIL) { "failure" } else { "success" };
        app.deliver_json("workflow_run", &run.at("completed", Some(conclusion), 60).payload(), "stored")
            .await;
        let (status, answer) = upload_report(app, run_id, attempt, &tests).await;
        assert_eq!(status, 201, "{answer}");
    }
}

/// Uploads one report of the seed for job "unit" of `run_id` #`attempt`.
pub async fn upload_report(app: &TestApp, run_id: i64, attempt: i64, tests: &[Case<'_>]) -> (u16, Value) {
    let query = format!("repo=octo-org/app&run_id={run_id}&attempt={attempt}&job=unit");
    upload(app, &query, "application/xml", report(tests)).await
}

/// The seed's reports: run id, attempt, minutes ago, test cases.
pub fn uploads() -> [(i64, i64, i64, Vec<Case<'static>>); 3] {
    [
        (
            100,
            1,
            30,
            vec![
                ("alpha", "0.1", ""),
                ("beta", "0.2", FAIL),
                ("gamma", "0.3", FLAKY),
                ("delta", "0", "<skipped/>"),
            ],
        ),
        (
            100,
            2,
            20,
            vec![("alpha", "0.3", ""), ("beta", "0.4", ""), ("gamma", "0.1", ""), ("delta", "0.05", FAIL)],
        ),
        (
            101,
            1,
            10,
            vec![
                ("alpha", "1.5", FAIL),
                ("beta", "0.2", ""),
                ("gamma", "0.2", ""),
                ("delta", "0.1", ""),
                ("renders &lt;b&gt;", "0.01", ""),
            ],
        ),
    ]
}

/// Each row of a list: [test name, cell texts…].
async fn rows(browser: &Browser, table: &str) -> Value {
    browser.eval(&format!("[...document.querySelectorAll('#{table} tbody tr')].filter((r) => !r.hidden)\
        .map((r) => [r.querySelector('.test-name').textContent, ...[...r.cells].slice(1).map((c) => c.textContent)])")).await
}

on_both_backends! {
    async fn the_tests_view_lists_searches_and_shows_a_history(app: TestApp) {
        let Some(browser) = Browser::start("UTC").await else { return };
        browser.client.set_window_size(1440, 900).await.expect("resize");
        // Nothing uploaded yet: each list says so.
        browser.client.goto(&app.url("/?view=tests&window=7")).await.expect("open tests");
        browser.expect("document.getElementById('tests-count').textContent === '0 rows in the four lists'", 10 * SECOND,
            "document.getElementById('view-tests').outerHTML").await;
        let empty = browser.eval("[...document.querySelectorAll('#tests-lists p.note')].filter((p) => !p.hidden).map((p) => p.textContent)").await;
        assert_eq!(empty, json!(vec!["No tests in this list for the window."; 4]));
        seed(&app).await;
        browser.client.goto(&app.url("/?view=tests&window=7")).await.expect("open tests");
        browser.expect("document.querySelectorAll('#tests-slowest tbody tr').length === 5", 10 * SECOND,
            "document.getElementById('view-tests').outerHTML").await;
        assert_eq!(browser.eval("document.querySelector('nav.views a[aria-current=page]').dataset.view").await, "tests");
        assert_eq!(browser.eval("document.title").await, "Tests · CI/CD dashboard");
        assert_eq!(rows(&browser, "tests-failing").await, json!([
            ["alpha", "1", "3", "33.3 %"], ["beta", "1", "3", "33.3 %"], ["delta", "1", "2", "50.0 %"]]));
        assert_eq!(rows(&browser, "tests-slowest").await, json!([
            ["alpha", "1.9 s", "300 ms", "1.4 s", "3"], ["beta", "800 ms", "200 ms", "380 ms", "3"],
            ["gamma", "600 ms", "200 ms", "290 ms", "3"], ["delta", "150 ms", "50 ms", "95 ms", "3"],
            ["renders <b>", "10 ms", "10 ms", "10 ms", "1"]]));
        assert_eq!(rows(&browser, "tests-flaky").await, json!([["beta", "2", "0", "1", "1"], ["gamma", "1", "1", "0", "0"]]));
        let newly = rows(&browser, "tests-newly").await;
        assert_eq!(newly[0][0], "alpha", "{newly}");
        assert_eq!((&newly[0][2], newly.as_array().map(Vec::len)), (&json!("1"), Some(1)), "{newly}");
        assert_eq!(browser.eval("document.querySelector('#tests-failing tbody th .sub').textContent").await, "A · octo-org/app");
        // The report's markup is a test name, shown as text.
        assert_eq!(browser.eval("document.querySelector('#view-tests img, #view-tests b') === null").await, true);
        assert_eq!(browser.eval("document.getElementById('tests-count').textContent").await, "11 rows in the four lists");
        // When the lists were computed (exact here: computed by this request).
        let computed = browser.eval("document.getElementById('tests-computed').textContent").await;
        let computed = computed.as_str().unwrap_or_default();
        assert!(computed.starts_with("Lists computed ") && computed.ends_with('.'), "{computed}");
        assert!(!computed.contains('–') && !computed.contains("newer uploads"), "{computed}");

        // Search: "alp" keeps alpha's rows only; a miss says so per list.
        browser.client.execute("const s = document.getElementById('tests-search'); s.value = 'alp'; \
            s.dispatchEvent(new Event('input')); return true;", vec![]).await.expect("search");
        assert_eq!(browser.eval("document.getElementById('tests-count').textContent").await, "3 of 11 rows match “alp”");
        assert_eq!(rows(&browser, "tests-failing").await, json!([["alpha", "1", "3", "33.3 %"]]));
        assert_eq!(browser.eval("document.getElementById('tests-flaky-empty').hidden").await, false);
        assert_eq!(browser.eval("document.getElementById('tests-flaky-empty').textContent").await, "No test here matches the search.");

        // History of alpha: newest first in the table, oldest first in the strip.
        browser.client.execute("document.querySelector('#tests-failing .test-name').click(); return true;", vec![]).await.expect("click");
        browser.expect("document.querySelectorAll('#test-executions tbody tr').length === 3", 5 * SECOND,
            "document.getElementById('test-history').outerHTML").await;
        assert_eq!(browser.eval("document.activeElement.id").await, "test-history-title");
        assert_eq!(browser.eval("document.getElementById('test-history-counts').textContent").await,
            "Latest 3 executions: 2 passed · 1 failed · 0 errored · 0 skipped");
        let strip = browser.eval("[...document.querySelectorAll('.test-strip li')].map((li) => li.textContent)").await;
        assert_eq!(strip, json!(["✓passed, 100 ms", "✓passed, 300 ms", "✗failed, 1.5 s"]));
        let table = browser.eval("[...document.querySelectorAll('#test-executions tbody tr')].map((r) => [r.cells[1].textContent, r.cells[2].textContent, r.cells[4].textContent, r.cells[5].textContent])").await;
        assert_eq!(table, json!([["✗ failed", "1.5 s", "unit", "main"], ["✓ passed", "300 ms", "unit", "main"], ["✓ passed", "100 ms", "unit", "main"]]));

        if let Some(violations) = browser.axe_serious().await {
            assert!(violations.is_empty(), "axe: {}", serde_json::to_string_pretty(&violations).unwrap_or_default());
        }
        let backend = if app.database_url.starts_with("sqlite") { "sqlite" } else { "postgres" };
        // Clear the search for the screenshots, keeping the history open.
        browser.client.execute("const s = document.getElementById('tests-search'); s.value = ''; \
            s.dispatchEvent(new Event('input')); window.scrollTo(0, 0); return true;", vec![]).await.expect("clear");
        browser.screenshot(&format!("tests-1440x900-{backend}")).await;
        browser.client.set_window_size(1280, 800).await.expect("resize");
        browser.expect("window.innerWidth <= 1290", 5 * SECOND, "window.innerWidth").await;
        browser.screenshot(&format!("tests-1280x800-{backend}")).await;
        browser.client.execute("document.getElementById('test-history').scrollIntoView(); return true;", vec![]).await.expect("scroll");
        browser.screenshot(&format!("tests-history-1280x800-{backend}")).await;
        browser.color_scheme("dark").await;
        browser.expect("matchMedia('(prefers-color-scheme: dark)').matches", 5 * SECOND, "1").await;
        if let Some(violations) = browser.axe_serious().await {
            assert!(violations.is_empty(), "axe (dark): {}", serde_json::to_string_pretty(&violations).unwrap_or_default());
        }
        browser.color_scheme("light").await;
        browser.client.set_window_size(390, 844).await.expect("resize");
        browser.expect("window.innerWidth <= 400", 5 * SECOND, "window.innerWidth").await;
        browser.client.execute("window.scrollTo(0, 0); return true;", vec![]).await.expect("top");
        browser.screenshot(&format!("tests-390x844-{backend}")).await;
        browser.client.execute("document.getElementById('test-history').scrollIntoView(); return true;", vec![]).await.expect("scroll");
        browser.screenshot(&format!("tests-history-390x844-{backend}")).await;
        browser.client.set_window_size(360, 740).await.expect("resize");
        browser.expect("window.innerWidth <= 370", 5 * SECOND, "window.innerWidth").await;
        let overflow = browser.eval("document.documentElement.scrollWidth - window.innerWidth").await;
        assert!(overflow.as_i64().is_some_and(|px| px <= 0), "the Tests view scrolls sideways at 360 px by {overflow}");
        assert_eq!(browser.eval("window.pwned === undefined").await, true);
        assert_eq!(browser.console_errors().await, Vec::<String>::new());
        browser.close().await;
    }
}

/// A stale answer (its last computation slower than the budget, 100 ms
/// here; the data changed since) says so under the lists, and the view
/// asks again until the background pass has recomputed them.
async fn stale_lists_say_so_then_update(app: TestApp) {
    let Some(browser) = Browser::start("UTC").await else { return };
    seed(&app).await;
    browser.client.set_window_size(390, 844).await.expect("resize");
    browser.client.goto(&app.url("/?view=tests&window=7")).await.expect("open tests");
    browser
        .expect(
            "document.getElementById('tests-count').textContent === '11 rows in the four lists'",
            10 * SECOND,
            "document.getElementById('view-tests').outerHTML",
        )
        .await;
    sqlx::any::install_default_drivers();
    let mut db =
        <sqlx::AnyConnection as sqlx::Connection>::connect(&app.database_url).await.expect("connect");
    for _ in 0..200 {
        // Settled: an answer stored at the current version (a store still
        // under way from the page's earlier reads would undo the change below).
        let current: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM test_insight_cache c \
             WHERE c.versions = (SELECT CAST(SUM(version) AS BIGINT) FROM test_day_versions)",
        )
        .fetch_one(&mut db)
        .await
        .expect("count");
        if current > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Its computation "took 5 s", and the data changed since (as another
    // replica's upload would change it).
    sqlx::query("UPDATE test_insight_cache SET compute_ms = 5000").execute(&mut db).await.expect("slow");
    sqlx::query("UPDATE test_day_versions SET version = version + 1").execute(&mut db).await.expect("bump");
    // Every text the line shows is recorded (the stale one lasts about 2 s,
    // which a busy machine's polling may miss); then the view is asked again.
    browser
        .client
        .execute(
            "window.seenComputed = []; const line = document.getElementById('tests-computed'); \
             new MutationObserver(() => window.seenComputed.push(line.textContent)).observe(line, \
             {childList: true, characterData: true, subtree: true}); \
             document.getElementById('tests-form').requestSubmit(); return true;",
            vec![],
        )
        .await
        .expect("ask again");
    let computed = "document.getElementById('tests-computed').textContent";
    browser
        .expect(
            "window.seenComputed.some((t) => t.includes('newer uploads are being added'))",
            15 * SECOND,
            "window.seenComputed",
        )
        .await;
    assert_eq!(
        browser.eval("document.getElementById('tests-count').textContent").await,
        "11 rows in the four lists"
    );
    let backend = if app.database_url.starts_with("sqlite") { "sqlite" } else { "postgres" };
    browser.screenshot(&format!("tests-stale-390x844-{backend}")).await;
    // The view asks again (every 2 s while stale) and gets the recomputed lists.
    browser
        .expect(
            &format!("!{computed}.includes('newer uploads') && {computed}.startsWith('Lists computed ')"),
            15 * SECOND,
            computed,
        )
        .await;
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
    browser.close().await;
}

fn slow_budget(settings: &mut cicd_dashboard::config::ServeSettings) {
    settings.limits.test_insights_recompute_budget_ms = 100;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_lists_say_so_then_update_sqlite() {
    let app = TestApp::spawn_with(crate::helpers::Backend::Sqlite, slow_budget).await.expect("sqlite");
    stale_lists_say_so_then_update(app).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_lists_say_so_then_update_postgres() {
    if let Some(app) = TestApp::spawn_with(crate::helpers::Backend::Postgres, slow_budget).await {
        stale_lists_say_so_then_update(app).await
    }
}
