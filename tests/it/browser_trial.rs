//! What a new user meets first, in a real (headless) Chromium with axe: the
//! Alerts view with no token in the browser explains calmly how to enable
//! alert management (no 401 banner).
//! Screenshots at 1 440, 1 280 and 390 px in `target/screenshots/`.

use std::time::Duration;

use crate::browser_harness::Browser;
use crate::helpers::TestApp;
use crate::on_both_backends;

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
        assert!(violations.is_empty(), "axe: {}", serde_json::to_string_pretty(&violations).unwrap_or_default());
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
}
