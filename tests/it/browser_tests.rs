//! Failed tests in a build's detail, in a real (headless) Chromium: listed
//! under their job with their message and details as text (markup in a
//! report stays text), accessible (axe), at 1 440, 1 280 and 390 px.
//! Screenshots in `target/screenshots/`.

use std::time::Duration;

use serde_json::json;

use crate::browser_harness::Browser;
use crate::on_both_backends;
use crate::payloads::{Run, minutes_ago};
use crate::test_results::{junit, upload};

const SECOND: Duration = Duration::from_secs(1);

on_both_backends! {
    async fn failed_tests_show_under_their_job_as_text(app: TestApp) {
        let run = Run::new(77, minutes_ago(30));
        app.deliver_json("workflow_run", &run.at("completed", Some("failure"), 120).payload(), "stored").await;
        // A report whose message carries markup: it must show as text, never run.
        let hostile = br#"<testsuite name="ui"><testcase classname="ui.Login" name="renders &lt;b&gt;" time="0.4"><failure message="&lt;img src=x onerror=&quot;window.pwned=1&quot;&gt; expected" type="AssertionError">line one
line two</failure></testcase><testcase classname="ui.Login" name="ok" time="0.1"/></testsuite>"#.to_vec();
        let (status, answer) = upload(&app, "repo=octo-org/app&run_id=77&job=ui%20tests", "application/xml", hostile).await;
        assert_eq!(status, 201, "{answer}");
        let (status, answer) = upload(&app, "repo=octo-org/app&run_id=77&job=unit", "application/xml", junit("jest-junit.failures.xml")).await;
        assert_eq!(status, 201, "{answer}");
        let id = answer["build_id"].clone();

        let Some(browser) = Browser::start("UTC").await else { return };
        browser.client.goto(&app.url(&format!("/?build={id}"))).await.expect("detail");
        browser.expect("document.querySelectorAll('#detail .failed-test').length === 5", 10 * SECOND,
            "document.getElementById('detail-body').innerText").await;
        let jobs = browser.eval("[...document.querySelectorAll('#detail .job-tests')].map(s => [s.querySelector('h4').textContent, \
            s.querySelector('.meta').textContent, s.querySelectorAll('.failed-test').length])").await;
        assert_eq!(jobs, json!([
            ["ui tests", "1 passed · 1 failed · 0 errored · 0 skipped", 1],
            ["unit", "1 passed · 4 failed · 0 errored · 1 skipped", 4],
        ]));
        let first = browser.eval("(() => { const t = document.querySelector('#detail .failed-test'); return [
            t.querySelector('.failed-test-name code').textContent, t.querySelector('.failed-test-message').textContent,
            t.querySelector('.failed-test-details').textContent, !!t.querySelector('img'), window.pwned === 1]; })()").await;
        assert_eq!(first, json!([
            "renders <b>",
            "AssertionError: <img src=x onerror=\"window.pwned=1\"> expected",
            "line one\nline two",
            false,
            false,
        ]));
        browser.client.execute("document.querySelector('#detail .failed-test details').open = true; return true;", vec![]).await.expect("open");
        if let Some(violations) = browser.axe_serious().await {
            assert!(violations.is_empty(), "axe: {}", serde_json::to_string_pretty(&violations).unwrap_or_default());
        }
        for (width, height) in [(1440, 900), (1280, 800), (390, 844)] {
            browser.client.set_window_size(width, height).await.expect("resize");
            browser.expect(&format!("Math.abs(window.innerWidth - {width}) <= 20"), 5 * SECOND, "window.innerWidth").await;
            browser.client.execute("document.querySelector('#detail .job-tests').scrollIntoView(); return true;", vec![]).await.expect("scroll");
            let overflow = browser.eval("[...document.querySelectorAll('#detail .failed-test')].some(t => t.getBoundingClientRect().right > window.innerWidth + 1)").await;
            assert_eq!(overflow, json!(false), "failed tests fit {width} px");
            let backend = if app.database_url.starts_with("sqlite") { "sqlite" } else { "postgres" };
            browser.screenshot(&format!("page-detail-failed-tests-{width}x{height}-{backend}")).await;
        }
        assert_eq!(browser.console_errors().await, Vec::<String>::new());
        browser.close().await;
    }
}
