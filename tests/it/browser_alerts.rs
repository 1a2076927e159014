//! The Alerts view in a real (headless) Chromium: a real alert (a failing
//! run, a build_failed rule, a Slack channel pointing at a local receiver)
//! in the history; Acknowledge through the page; the settings form with the
//! secret redacted, a saved change and a 422 field error; "Send test" with
//! its per-channel result; which role each part needs; axe, console and
//! screenshots in `target/screenshots/`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::alert_receivers::{FIVE_SECONDS, HttpSink, alert_list, configure_ok, wait_for_alerts};
use crate::auth::create_token;
use crate::browser_harness::Browser;
use crate::helpers::{ADMIN_TOKEN, TestApp};
use crate::on_both_backends;
use crate::payloads::{Run, minutes_ago};

const SECOND: Duration = Duration::from_secs(1);
const SLACK_PATH: &str = "/services/T000/B000/SLACKSECRET";

/// Enters `token` in the page's token prompt.
async fn use_token(browser: &Browser, token: &str) {
    browser
        .client
        .execute(
            &format!(
                "document.getElementById('token').value = '{token}';
        document.querySelector('#token-form button[type=submit]').click(); return true;"
            ),
            vec![],
        )
        .await
        .expect("token");
}

async fn click(browser: &Browser, selector: &str) {
    let script = format!("document.querySelector({}).click(); return true;", json!(selector));
    browser.client.execute(&script, vec![]).await.expect("click");
}

/// Sets an input's value in the settings form.
async fn set(browser: &Browser, selector: &str, value: &str) {
    let script = format!(
        "const i = document.querySelector({}); i.value = {}; return true;",
        json!(selector),
        json!(value)
    );
    browser.client.execute(&script, vec![]).await.expect("set");
}

fn field_error(selector: &str) -> String {
    format!(
        "document.querySelector('{selector}').closest('.field').querySelector('.field-error').textContent"
    )
}

async fn stored_config(app: &TestApp) -> Value {
    let (status, config) = app.get("/api/alerts/configure").await;
    assert_eq!(status, 200, "{config}");
    config
}

on_both_backends! {
    async fn the_alerts_view_lists_acknowledges_configures_and_tests(app: TestApp) {
        let http = HttpSink::start().await;
        configure_ok(&app, &json!({
            "channels": [{"id": "team-slack", "type": "slack", "webhook_url": http.url(SLACK_PATH)}],
            "rules": [{"id": "main-failures", "kind": "build_failed", "channels": ["team-slack"]}]
        })).await;
        app.deliver_json("workflow_run", &Run::new(1, minutes_ago(5)).at("completed", Some("failure"), 60).payload(), "stored").await;
        assert_eq!(http.wait_for(SLACK_PATH, 1, FIVE_SECONDS).await.len(), 1, "the alert reached the receiver");
        let alerts = wait_for_alerts(&app, "", FIVE_SECONDS, |a| a.len() == 1 && a[0]["status"] == "sent").await;
        let id = alerts[0]["id"].as_i64().expect("alert id");
        let read = create_token(&app.database_url, "viewer", "read");

        let Some(browser) = Browser::start("UTC").await else { return };
        browser.client.goto(&app.url("/?view=alerts")).await.expect("open alerts");
        // Reads are public here: the history shows; the settings need an admin token and say how to get one.
        browser.expect("document.querySelectorAll('#alerts tbody tr').length === 1 \
            && !document.getElementById('settings-howto').hidden", 10 * SECOND, "document.body.innerText").await;
        assert_eq!(browser.eval("document.getElementById('settings-status').textContent").await, "");
        assert_eq!(browser.eval("document.getElementById('banner').hidden").await, true);
        assert_eq!(browser.eval("document.getElementById('token-form').hidden").await, false);
        assert_eq!(browser.eval("document.getElementById('view-dashboard').hidden").await, true);
        assert_eq!(browser.eval("document.querySelector('nav.views a[aria-current=page]').textContent").await, "Alerts");

        // The row: rule, kind, pipeline, channel, delivery outcome and state, as text.
        let cells = browser.eval("(() => { const r = document.querySelector('#alerts tbody tr'); return {
            id: r.dataset.id, rule: r.cells[1].textContent, kind: r.cells[2].textContent,
            repo: r.cells[3].firstChild.textContent, pipeline: r.cells[3].querySelector('.sub').textContent,
            channel: r.cells[4].textContent, delivery: r.cells[5].textContent, state: r.cells[6].textContent,
            time: r.cells[0].querySelector('time').getAttribute('datetime') }; })()").await;
        assert_eq!(cells, json!({
            "id": id.to_string(), "rule": "main-failures", "kind": "build failed", "repo": "octo-org/app",
            "pipeline": "CI · main", "channel": "team-slack (slack)", "delivery": "✓ sent", "state": "! open",
            "time": alerts[0]["created_at"],
        }));

        // A read token: acknowledging needs write, settings need admin; the page says which.
        use_token(&browser, &read).await;
        browser.expect("document.getElementById('settings-status').textContent.includes('403')", 10 * SECOND,
            "document.getElementById('settings-status').textContent").await;
        assert_eq!(browser.eval("document.getElementById('settings-status').textContent").await,
            "Settings are not shown: API answered 403 — this needs an admin token.");
        // The table may be drawn again (the token changed) while the click
        // lands on the old row: click until the refusal is shown.
        let refused_shown = "document.getElementById('alerts-status').textContent.includes('403')";
        for _ in 0..5 {
            click(&browser, "#alerts tbody tr button[data-action=ack]").await;
            if browser.wait_for(refused_shown, 3 * SECOND).await {
                break;
            }
        }
        browser.expect(refused_shown, 5 * SECOND, "document.getElementById('alerts-status').textContent").await;
        assert_eq!(browser.eval("document.getElementById('alerts-status').textContent").await,
            format!("Could not acknowledge alert {id}: API answered 403 — this needs a write token."));
        let refused = browser.console_errors().await;
        assert!(refused.iter().all(|m| m.contains("401") || m.contains("403")), "{refused:#?}");

        // The admin token: Acknowledge changes the row and the API.
        use_token(&browser, ADMIN_TOKEN).await;
        browser.expect("!document.getElementById('settings-form').hidden", 10 * SECOND,
            "document.getElementById('settings-status').textContent").await;
        click(&browser, "#alerts tbody tr button[data-action=ack]").await;
        browser.expect("document.querySelector('#alerts tbody tr').cells[6].textContent.startsWith('acknowledged ')",
            5 * SECOND, "document.querySelector('#alerts tbody tr').innerText").await;
        assert_eq!(browser.eval("document.querySelector('#alerts tbody tr button[data-action=ack]').disabled").await, true);
        assert_eq!(browser.eval("document.querySelector('#alerts tbody tr button[data-action=resolve]').disabled").await, false);
        assert_eq!(browser.eval("document.activeElement.dataset.action").await, "resolve", "the keyboard stays in the row");
        let listed = alert_list(&app, "").await;
        assert!(listed[0]["acknowledged_at"].is_string() && listed[0]["resolved_at"].is_null(), "{listed:?}");

        // A new failure while the view is open: its alert shows without a reload (the
        // stream's build event makes the page read the history again).
        browser.client.execute("window.__sameDocument = true; return true;", vec![]).await.expect("mark");
        app.deliver_json("workflow_run", &Run::new(2, minutes_ago(1)).at("completed", Some("failure"), 30).payload(), "stored").await;
        browser.expect("document.querySelectorAll('#alerts tbody tr').length === 2 \
            && document.querySelector('#alerts tbody tr').cells[6].textContent === '! open'", 3 * SECOND,
            "document.getElementById('alerts').innerText").await;
        assert_eq!(browser.eval("window.__sameDocument === true").await, true, "no reload");
        assert_eq!(browser.eval("document.getElementById('alerts-count').textContent").await, "Showing 1–2 of 2 alerts");

        // Settings: the channel and rule as stored, the secret never shown.
        assert_eq!(browser.eval("document.querySelectorAll('#channel-list fieldset').length").await, json!(1));
        assert_eq!(browser.eval("document.querySelector('#channel-list [data-key=id]').value").await, "team-slack");
        assert_eq!(browser.eval("document.querySelector('#channel-list [data-key=type]').value").await, "slack");
        assert_eq!(browser.eval("document.querySelector('#channel-list [data-key=webhook_url]').value").await, "");
        let hint = browser.eval("document.querySelector('#channel-list [data-key=webhook_url]').closest('.field').querySelector('.hint').textContent").await;
        assert_eq!(hint, format!("Stored: {}/*** (the rest is hidden). Leave blank to keep it.", http.base));
        let leaked = browser.eval("document.documentElement.outerHTML.includes('SLACKSECRET') \
            || [...document.querySelectorAll('input')].some(i => i.value.includes('SLACKSECRET'))").await;
        assert_eq!(leaked, false, "the Slack URL's secret path is never in the page");
        assert_eq!(browser.eval("document.querySelector('#rule-list [data-key=id]').value").await, "main-failures");
        assert_eq!(browser.eval("document.querySelector('#rule-list [data-key=kind]').value").await, "build_failed");
        assert_eq!(browser.eval("document.querySelector('#rule-list [data-key=channels]').value").await, "team-slack");

        // Change the rule (branch glob, cancelled too) and save: the API stores it, the secret is kept.
        set(&browser, "#rule-list [data-key=branch]", "release/*").await;
        click(&browser, "#rule-list [data-key=include_cancelled]").await;
        click(&browser, "#settings-form button[type=submit]").await;
        browser.expect("document.getElementById('settings-status').textContent.startsWith('Saved')", 5 * SECOND,
            "document.getElementById('settings-status').textContent").await;
        assert_eq!(browser.eval("document.getElementById('settings-status').textContent").await, "Saved: 1 channel(s), 1 rule(s).");
        let config = stored_config(&app).await;
        assert_eq!(config["rules"][0]["branch"], "release/*", "{config}");
        assert_eq!(config["rules"][0]["include_cancelled"], true, "{config}");
        assert_eq!(config["channels"][0]["webhook_url"], format!("{}/***", http.base), "{config}");
        assert_eq!(browser.eval("document.querySelector('#rule-list [data-key=branch]').value").await, "release/*");

        // An invalid value: the 422's field error next to the field, nothing stored.
        set(&browser, "#rule-list [data-key=id]", "bad id!").await;
        click(&browser, "#settings-form button[type=submit]").await;
        browser.expect("!document.getElementById('settings-errors').hidden", 5 * SECOND,
            "document.getElementById('settings-status').textContent").await;
        assert_eq!(browser.eval(&field_error("#rule-list [data-key=id]")).await,
            "must be 1–64 characters of A–Z, a–z, 0–9, '_', '.', '-'");
        assert_eq!(browser.eval("document.querySelector('#rule-list [data-key=id]').getAttribute('aria-invalid')").await, "true");
        assert_eq!(browser.eval("document.activeElement.dataset.key").await, "id", "focus moves to the first invalid field");
        let summary = browser.eval("document.getElementById('settings-errors').textContent").await;
        assert!(summary.as_str().is_some_and(|s| s.contains("rules[0].id: must be 1–64 characters")), "{summary}");
        assert_eq!(browser.eval("document.getElementById('settings-status').textContent").await, "Not saved: 1 field(s) need attention.");
        assert_eq!(stored_config(&app).await["rules"][0]["id"], "main-failures", "nothing was stored");
        browser.client.execute("document.getElementById('settings-form').scrollIntoView(); return true;", vec![]).await.expect("scroll");
        browser.screenshot("alerts-settings-error-1280x800").await;
        let refused = browser.console_errors().await;
        assert!(refused.iter().all(|m| m.contains("422")), "{refused:#?}");
        click(&browser, "#settings-reload").await;
        browser.expect("document.querySelector('#rule-list [data-key=id]').value === 'main-failures' \
            && document.getElementById('settings-errors').hidden", 5 * SECOND, "1").await;

        // Send test: the receiver gets it (through the kept secret URL) and the page says so per channel.
        assert_eq!(browser.eval("[...document.getElementById('test-channel').options].map(o => o.textContent)").await,
            json!(["every channel", "team-slack (slack)"]));
        click(&browser, "#test-submit").await;
        assert_eq!(http.wait_for(SLACK_PATH, 3, FIVE_SECONDS).await.len(), 3, "two alerts, then the test message");
        browser.expect("document.querySelector('#test-results li[data-channel]')", 5 * SECOND,
            "document.getElementById('test-results').textContent").await;
        assert_eq!(browser.eval("document.getElementById('test-results').textContent").await, "✓ team-slack: delivered");
        http.answer(503);
        click(&browser, "#test-submit").await;
        browser.expect("document.querySelector('#test-results li.bad')", 5 * SECOND,
            "document.getElementById('test-results').textContent").await;
        assert_eq!(browser.eval("document.getElementById('test-results').textContent").await,
            "✗ team-slack: not delivered — the receiver answered HTTP 503: receiver_says_no");
        http.answer(200);
        let refused = browser.console_errors().await;
        assert!(refused.iter().all(|m| m.contains("502")), "{refused:#?}");

        // Accessibility, light and dark; no console errors; screenshots.
        browser.client.execute("window.scrollTo(0, 0); return true;", vec![]).await.expect("scroll");
        if let Some(violations) = browser.axe_serious().await {
            assert!(violations.is_empty(), "axe: {}", serde_json::to_string_pretty(&violations).unwrap_or_default());
        }
        let backend = if app.database_url.starts_with("sqlite") { "sqlite" } else { "postgres" };
        browser.screenshot(&format!("alerts-1280x800-{backend}")).await;
        browser.color_scheme("dark").await;
        browser.expect("matchMedia('(prefers-color-scheme: dark)').matches", 5 * SECOND, "1").await;
        if let Some(violations) = browser.axe_serious().await {
            assert!(violations.is_empty(), "axe (dark): {}", serde_json::to_string_pretty(&violations).unwrap_or_default());
        }
        browser.screenshot(&format!("alerts-dark-1280x800-{backend}")).await;
        browser.client.execute("document.getElementById('settings-title').scrollIntoView(); return true;", vec![]).await.expect("scroll");
        browser.screenshot(&format!("alerts-settings-dark-1280x800-{backend}")).await;
        browser.color_scheme("light").await;
        browser.client.execute("window.scrollTo(0, 0); return true;", vec![]).await.expect("scroll");
        browser.client.set_window_size(390, 844).await.expect("resize");
        browser.expect("window.innerWidth <= 400", 5 * SECOND, "window.innerWidth").await;
        browser.screenshot(&format!("alerts-390x844-{backend}")).await;
        browser.client.execute("document.getElementById('settings-title').scrollIntoView(); return true;", vec![]).await.expect("scroll");
        browser.screenshot(&format!("alerts-settings-390x844-{backend}")).await;
        browser.client.set_window_size(360, 740).await.expect("resize");
        browser.expect("window.innerWidth <= 370", 5 * SECOND, "window.innerWidth").await;
        let overflow = browser.eval("document.documentElement.scrollWidth - window.innerWidth").await;
        let wide = browser.eval("[...document.querySelectorAll('#view-alerts *')]\
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-wrap'))\
            .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))").await;
        assert!(overflow.as_i64().is_some_and(|px| px <= 0), "the Alerts view scrolls sideways at 360 px by {overflow}: {wide}");
        assert_eq!(browser.console_errors().await, Vec::<String>::new());
        browser.close().await;
    }
}
