//! Failure reasons in a real (headless) Chromium, on the hand-worked
//! dataset of `failure_insights` plus a build whose error line is hostile
//! markup: the Failures view (signatures, the infrastructure/code filter,
//! a signature's builds), the build detail's "Why it failed" (failed job →
//! failed step → error lines as text, "same error in N other builds" with
//! links), the hostile line shown as text and never run, axe (light and
//! dark), no sideways scrolling at 360 px; screenshots at 1440, 1280 and
//! 390 px in `target/screenshots/`.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use cicd_dashboard::config::FailureSettings;
use cicd_dashboard::domain::failure::Classifier;
use cicd_dashboard::providers::failure_fetch::FailureFetch;
use cicd_dashboard::store::Store;
use serde_json::json;

use crate::browser_harness::Browser;
use crate::build_events::post;
use crate::failure_fetch::HOSTILE;
use crate::failure_insights::seed;
use crate::on_both_backends;

const SECOND: Duration = Duration::from_secs(1);

on_both_backends! {
    async fn the_failures_view_and_the_build_detail_show_reasons_as_text(app: TestApp) {
        seed(&app).await;
        // One more failed build whose error line is markup (a log can say anything).
        let at = (Utc::now() - chrono::Duration::minutes(30)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let (status, body) = post(&app, &json!({"events": [
            {"idempotency_key": "h1-run", "type": "run", "provider": "jenkins", "repository": "acme/app", "workflow": "pipeline",
             "run_id": "h1", "status": "completed", "conclusion": "failure", "branch": "main", "started_at": at, "completed_at": at},
            {"idempotency_key": "h1-job", "type": "job", "provider": "jenkins", "repository": "acme/app", "run_id": "h1",
             "job_id": "h1-e2e", "name": "e2e", "status": "completed", "conclusion": "failure", "started_at": at, "completed_at": at}]})).await;
        assert_eq!(status, 200, "{body}");
        let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
        let fetch = FailureFetch { store: store.clone(), classifier: Arc::new(Classifier::new(&[]).expect("classifier")),
            settings: FailureSettings::default() };
        for job in store.failures().pending(0, 10).await.expect("pending") {
            fetch.save(&job, &[HOSTILE.to_owned()], None, Utc::now().timestamp()).await.expect("save");
        }

        let Some(browser) = Browser::start("UTC").await else { return };
        browser.client.set_window_size(1440, 900).await.expect("resize");
        browser.client.goto(&app.url("/?view=failures&window=7")).await.expect("open failures");
        browser.expect("document.querySelectorAll('#failures tbody tr').length === 3", 10 * SECOND,
            "document.querySelector('#failures').outerHTML").await;
        let first = browser.eval("document.querySelector('#failures tbody tr .signature-text').textContent").await;
        assert_eq!(first, "assertion failed at <path>:<n>");
        assert_eq!(browser.eval("document.querySelector('nav.views a[aria-current=page]').dataset.view").await, "failures");
        // The hostile signature is text: no element was made of it.
        assert_eq!(browser.eval("document.querySelectorAll('#failures img, #failures script').length").await, 0);
        assert_eq!(browser.eval("window.__pwned === undefined").await, true);

        // Infrastructure only: the ECONNRESET signature.
        browser.client.execute("const s = document.getElementById('failures-class'); s.value = 'infrastructure'; s.dispatchEvent(new Event('change')); return true;", vec![]).await.expect("filter");
        browser.expect("document.querySelectorAll('#failures tbody tr').length === 1", 10 * SECOND,
            "document.querySelector('#failures').outerHTML").await;
        assert_eq!(browser.eval("document.querySelector('#failures tbody tr .signature-text').textContent").await, "npm ERR! code ECONNRESET");
        browser.client.execute("const s = document.getElementById('failures-class'); s.value = ''; s.dispatchEvent(new Event('change')); return true;", vec![]).await.expect("filter");
        browser.expect("document.querySelectorAll('#failures tbody tr').length === 3", 10 * SECOND, "1").await;

        // A signature's builds, then one build's detail.
        browser.client.execute("document.querySelector('#failures tbody tr td:last-child button:last-child').click(); return true;", vec![]).await.expect("builds");
        browser.expect("document.querySelectorAll('#failure-detail tbody tr').length === 3", 10 * SECOND,
            "document.getElementById('failure-detail').outerHTML").await;
        if let Some(violations) = browser.axe_serious().await {
            assert!(violations.is_empty(), "axe: {}", serde_json::to_string_pretty(&violations).unwrap_or_default());
        }
        let backend = if app.database_url.starts_with("sqlite") { "sqlite" } else { "postgres" };
        browser.screenshot(&format!("failures-1440x900-{backend}")).await;
        browser.client.set_window_size(1280, 800).await.expect("resize");
        browser.expect("window.innerWidth <= 1290", 5 * SECOND, "window.innerWidth").await;
        browser.screenshot(&format!("failures-1280x800-{backend}")).await;
        browser.client.set_window_size(390, 844).await.expect("resize");
        browser.expect("window.innerWidth <= 400", 5 * SECOND, "window.innerWidth").await;
        browser.screenshot(&format!("failures-390x844-{backend}")).await;
        browser.client.set_window_size(360, 740).await.expect("resize");
        browser.expect("window.innerWidth <= 370", 5 * SECOND, "window.innerWidth").await;
        let overflow = browser.eval("document.documentElement.scrollWidth - window.innerWidth").await;
        assert!(overflow.as_i64().is_some_and(|px| px <= 0), "the Failures view scrolls sideways at 360 px by {overflow}");

        // The hostile build's detail: failed job → error line as text.
        browser.client.set_window_size(1440, 900).await.expect("resize");
        let hostile = app.builds().await.into_iter().find(|b| b["external_id"] == "h1").expect("h1")["id"].clone();
        browser.client.goto(&app.url(&format!("/?build={hostile}"))).await.expect("open build");
        browser.expect("document.querySelectorAll('#detail .job-failure').length === 1", 10 * SECOND,
            "document.getElementById('detail').outerHTML").await;
        assert_eq!(browser.eval("document.querySelector('#detail .error-lines code').textContent").await, HOSTILE);
        assert_eq!(browser.eval("document.querySelectorAll('#detail-body img, #detail-body script').length").await, 0);
        browser.client.execute("document.querySelector('#detail .job-failure').scrollIntoView(); return true;", vec![]).await.expect("scroll");
        browser.screenshot(&format!("failure-detail-hostile-1440x900-{backend}")).await;

        // a1's detail: same error in 3 other builds, the links open them.
        let a1 = app.builds().await.into_iter().find(|b| b["external_id"] == "a1").expect("a1")["id"].clone();
        browser.client.goto(&app.url(&format!("/?build={a1}"))).await.expect("open build");
        browser.expect("document.querySelector('#detail .same-error') !== null", 10 * SECOND,
            "document.getElementById('detail').outerHTML").await;
        let same = browser.eval("document.querySelector('#detail .same-error p').textContent").await;
        assert_eq!(same, "Same error in 3 other builds:");
        let step = browser.eval("document.querySelector('#detail .job-failure h4').textContent").await;
        assert!(step.as_str().is_some_and(|s| s.starts_with("test → no failed step reported")), "{step}");
        if let Some(violations) = browser.axe_serious().await {
            assert!(violations.is_empty(), "axe (detail): {}", serde_json::to_string_pretty(&violations).unwrap_or_default());
        }
        browser.client.execute("document.querySelector('#detail .job-failure').scrollIntoView(); return true;", vec![]).await.expect("scroll");
        browser.screenshot(&format!("failure-detail-1440x900-{backend}")).await;
        browser.client.set_window_size(390, 844).await.expect("resize");
        browser.expect("window.innerWidth <= 400", 5 * SECOND, "window.innerWidth").await;
        browser.client.execute("document.querySelector('#detail .job-failure').scrollIntoView(); return true;", vec![]).await.expect("scroll");
        browser.screenshot(&format!("failure-detail-390x844-{backend}")).await;
        browser.client.execute("document.querySelector('#detail .same-error a').click(); return true;", vec![]).await.expect("other build");
        browser.expect("document.getElementById('detail-title').textContent.startsWith('acme/web')", 10 * SECOND,
            "document.getElementById('detail-title').textContent").await;
        browser.color_scheme("dark").await;
        browser.expect("matchMedia('(prefers-color-scheme: dark)').matches", 5 * SECOND, "1").await;
        if let Some(violations) = browser.axe_serious().await {
            assert!(violations.is_empty(), "axe (dark): {}", serde_json::to_string_pretty(&violations).unwrap_or_default());
        }
        assert_eq!(browser.console_errors().await, Vec::<String>::new());
        browser.close().await;
    }
}
