//! What a new user meets first, in a real (headless) Chromium with axe: the
//! Alerts view with no token in the browser explains calmly how to enable
//! alert management (no 401 banner), and a run without a URL shows "–"
//! where its link would be (never link words that lead nowhere).
//! Screenshots at 1 440, 1 280 and 390 px in `target/screenshots/`.

use std::time::Duration;

use serde_json::Value;

use crate::browser_harness::Browser;
use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::payloads::{Run, minutes_ago};

const SECOND: Duration = Duration::from_secs(1);

async fn screenshots(browser: &Browser, app: &TestApp, name: &str) {
    let backend = if app.database_url.starts_with("sqlite") { "sqlite" } else { "postgres" };
    for width in [1440, 1280, 390] {
        browser.client.set_window_size(width, 900).await.expect("resize");
        tokio::time::sleep(Duration::from_millis(300)).await;
        browser.screenshot(&format!("{name}-{width}-{backend}")).await;
    }
    browser.client.set_window_size(1280, 800).await.expect("resize");
}

async fn axe_clean(browser: &Browser) {
    if let Some(violations) = browser.axe_serious().await {
        assert!(
            violations.is_empty(),
            "axe: {}",
            serde_json::to_string_pretty(&violations).unwrap_or_default()
        );
    }
}

on_both_backends! {
    async fn the_alerts_view_without_a_token_says_how_to_enable_alert_management(app: TestApp) {
        let Some(browser) = Browser::start("UTC").await else { return };
        browser.client.goto(&app.url("/?view=alerts")).await.expect("open alerts");
        browser.expect("document.body.dataset.loaded && !document.getElementById('settings-howto').hidden",
            10 * SECOND, "document.body.innerText").await;
        // No error banner, no error status: an explanation naming the command and the role.
        assert_eq!(browser.eval("document.getElementById('banner').hidden").await, true,
            "{}", browser.eval("document.getElementById('banner').textContent").await);
        assert_eq!(browser.eval("document.getElementById('settings-status').textContent").await, "");
        let howto = browser.eval("document.getElementById('settings-howto').textContent").await;
        let howto = howto.as_str().unwrap_or_default();
        assert!(howto.contains("cicd-dashboard token create --name admin --role admin"), "{howto}");
        assert!(howto.contains("admin role") && howto.contains("API token"), "{howto}");
        // The token field it points at is there; the settings form is not.
        assert_eq!(browser.eval("document.getElementById('token-form').hidden").await, false);
        assert_eq!(browser.eval("document.getElementById('settings-form').hidden").await, true);
        assert_eq!(browser.eval("document.getElementById('alerts-empty').hidden").await, false);
        axe_clean(&browser).await;
        screenshots(&browser, &app, "trial-alerts-no-token").await;

        // With the admin token the explanation goes and the settings show.
        browser.client.execute(&format!(
            "document.getElementById('token').value = '{}'; \
             document.querySelector('#token-form button[type=submit]').click(); return true;",
            crate::helpers::ADMIN_TOKEN), vec![]).await.expect("token");
        browser.expect("!document.getElementById('settings-form').hidden", 10 * SECOND,
            "document.getElementById('settings-status').textContent").await;
        assert_eq!(browser.eval("document.getElementById('settings-howto').hidden").await, true);
        browser.close().await;
    }

    async fn a_run_without_a_url_shows_a_dash_not_a_dead_link(app: TestApp) {
        let mut payload = Run::new(1, minutes_ago(10)).at("completed", Some("success"), 60).payload();
        payload["workflow_run"].as_object_mut().expect("run").remove("html_url");
        app.deliver_json("workflow_run", &payload, "stored").await;
        app.deliver_json("workflow_run", &Run::new(2, minutes_ago(5)).at("completed", Some("failure"), 30).payload(), "stored").await;
        assert_eq!(app.builds().await.iter().filter(|b| b["url"] == Value::Null).count(), 1);

        let Some(browser) = Browser::start("UTC").await else { return };
        browser.client.goto(&app.url("/")).await.expect("open page");
        browser.expect("document.body.dataset.loaded && document.querySelectorAll('#builds tbody tr').length === 2",
            10 * SECOND, "document.body.innerText").await;
        let links = browser.eval("[...document.querySelectorAll('#builds tbody tr')].map(r => { \
            const cell = r.querySelector('td[data-label=Links]'); \
            return { anchors: cell.querySelectorAll('a').length, text: cell.textContent }; })").await;
        // Newest first: run 2 has its link, run 1 a dash.
        assert_eq!(links[0]["anchors"], 1, "{links}");
        assert!(links[0]["text"].as_str().unwrap_or_default().contains("Open"), "{links}");
        assert_eq!(links[1]["anchors"], 0, "{links}");
        let text = links[1]["text"].as_str().unwrap_or_default();
        assert!(text.starts_with("Details") && text.ends_with(" –") && !text.contains("Open"), "{links}");
        axe_clean(&browser).await;
        browser.client.execute("document.getElementById('builds').scrollIntoView(); return true;", vec![]).await.expect("scroll");
        screenshots(&browser, &app, "trial-builds-no-url").await;

        // The detail: the attempt's link row and the header say "–" too.
        browser.client.execute("document.querySelectorAll('#builds tbody tr')[1].querySelector('button.link').click(); return true;",
            vec![]).await.expect("click");
        browser.expect("document.getElementById('detail').open && document.querySelector('#detail table.attempts')", 5 * SECOND,
            "document.getElementById('detail-body').innerText").await;
        let detail = browser.eval("({ anchors: [...document.querySelectorAll('#detail-body a')].map(a => a.textContent), \
            meta: document.querySelector('#detail-body p.meta').textContent })").await;
        assert_eq!(detail["anchors"], serde_json::json!([]), "{detail}");
        assert!(detail["meta"].as_str().unwrap_or_default().ends_with(" · –"), "{detail}");
        axe_clean(&browser).await;
        browser.close().await;
    }
}
