//! The Delivery view in a real (headless) Chromium: the four DORA keys
//! with their levels, one timeline per environment (success circles,
//! failure crosses, an incident band), the deployments table and the
//! lead-time distribution; axe (light and dark), no console errors, no
//! sideways scrolling at 360 px; screenshots at 1440, 1280 and 390 px.
//!
//! Dataset (generic `deployment` events, jenkins, acme/web): production
//! deploys p1 success 3 h ago carrying c1 (committed 5 h ago: lead 2 h),
//! p2 failed 2 h ago, p3 success 1 h ago carrying c2 (committed 90 min
//! ago: lead 30 min); staging s1 success 4 h ago; an incident from 150 to
//! 100 minutes ago. Production: 2 successes + 1 failure; p2 failed and p1
//! is followed by the incident → CFR 2/3 = 66.7 %; lead times [1800,
//! 7200] → median 4500 s = 1 h 15 min.
//!
//! Live: with p1 (success, 3 h ago) and p2 (failed, 2 h ago) shown (CFR
//! 1/2 = 50.0 %), `POST /api/incidents` opened 150 minutes ago fails p1
//! (2/2 = 100.0 %), then a deployment event p3 (success, 1 h ago) makes it
//! 2/3 = 66.7 % with three rows, all without a reload.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::browser_harness::Browser;
use crate::build_events::post;
use crate::on_both_backends;
use crate::payloads::minutes_ago;

const SECOND: Duration = Duration::from_secs(1);

fn ts(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn deployment(
    id: &str,
    environment: &str,
    status: &str,
    minutes: i64,
    commit: Option<(&str, i64)>,
) -> serde_json::Value {
    let mut event = json!({
        "idempotency_key": format!("browser-{id}"), "type": "deployment", "provider": "jenkins",
        "repository": "acme/web", "deployment_id": id, "environment": environment, "status": status,
        "status_at": ts(minutes_ago(minutes)), "commit": format!("{id:0>40}"),
    });
    if let Some((sha, committed)) = commit {
        event["commit"] = json!(format!("{sha:0>40}"));
        event["commits"] =
            json!([{"sha": format!("{sha:0>40}"), "committed_at": ts(minutes_ago(committed))}]);
    }
    event
}

on_both_backends! {
    async fn the_delivery_view_shows_the_four_keys_and_the_timeline(app: TestApp) {
        let events = json!([
            deployment("p1", "production", "success", 180, Some(("c1", 300))),
            deployment("p2", "production", "failure", 120, None),
            deployment("p3", "production", "success", 60, Some(("c2", 90))),
            deployment("s1", "staging", "success", 240, None),
        ]);
        let (status, answer) = post(&app, &events).await;
        assert_eq!(status, 200, "{answer}");
        let incident = json!({"id": "INC-7", "repository": "acme/web", "opened_at": ts(minutes_ago(150)), "resolved_at": ts(minutes_ago(100))});
        let response = app.admin.post(app.url("/api/incidents")).json(&incident).send().await.expect("post");
        assert_eq!(response.status().as_u16(), 201);

        let Some(browser) = Browser::start("Europe/Berlin").await else { return };
        browser.client.set_window_size(1440, 900).await.expect("resize");
        browser.client.goto(&app.url("/?view=delivery&window=7")).await.expect("open delivery");
        browser.expect("document.querySelectorAll('#dora-kpis li').length === 4", 10 * SECOND,
            "document.getElementById('view-delivery').outerHTML").await;
        let cfr = browser.eval("document.querySelector('#dora-kpis li[data-key=cfr] .value').textContent").await;
        assert_eq!(cfr, "66.7 %");
        let level = browser.eval("document.querySelector('#dora-kpis li[data-key=cfr] .level').textContent").await;
        assert_eq!(level, "DORA level: Low");
        let lead = browser.eval("document.querySelector('#dora-kpis li[data-key=lead] .value').textContent").await;
        assert_eq!(lead, "1 h 15 min");
        let marks = browser.eval("[...document.querySelectorAll('#delivery-timeline figure')].map(f => f.dataset.environment + ':' + f.querySelectorAll('circle.deploy-ok').length + '/' + f.querySelectorAll('path.deploy-failed').length + '/' + f.querySelectorAll('rect.incident').length).join(',')").await;
        assert_eq!(marks, "production:2/1/1,staging:1/0/1");
        assert_eq!(browser.eval("document.querySelectorAll('#deployments tbody tr').length").await, 4);
        let bins = browser.eval("[...document.querySelectorAll('#lead-times tbody tr td.num')].map(td => td.textContent).join(',')").await;
        assert_eq!(bins, "1,1,0,0,0", "30 min under an hour, 2 h under a day");
        assert_eq!(browser.eval("document.querySelector('nav.views a[aria-current=page]').dataset.view").await, "delivery");

        if let Some(violations) = browser.axe_serious().await {
            assert!(violations.is_empty(), "axe: {}", serde_json::to_string_pretty(&violations).unwrap_or_default());
        }
        let backend = if app.database_url.starts_with("sqlite") { "sqlite" } else { "postgres" };
        browser.screenshot(&format!("delivery-1440x900-{backend}")).await;
        browser.client.set_window_size(1280, 800).await.expect("resize");
        browser.expect("window.innerWidth <= 1290", 5 * SECOND, "window.innerWidth").await;
        browser.screenshot(&format!("delivery-1280x800-{backend}")).await;
        browser.color_scheme("dark").await;
        browser.expect("matchMedia('(prefers-color-scheme: dark)').matches", 5 * SECOND, "1").await;
        if let Some(violations) = browser.axe_serious().await {
            assert!(violations.is_empty(), "axe (dark): {}", serde_json::to_string_pretty(&violations).unwrap_or_default());
        }
        browser.screenshot(&format!("delivery-dark-1280x800-{backend}")).await;
        browser.color_scheme("light").await;
        browser.client.set_window_size(390, 844).await.expect("resize");
        browser.expect("window.innerWidth <= 400", 5 * SECOND, "window.innerWidth").await;
        browser.screenshot(&format!("delivery-390x844-{backend}")).await;
        browser.client.execute("document.getElementById('timeline-title').scrollIntoView(); return true;", vec![]).await.expect("scroll");
        browser.screenshot(&format!("delivery-timeline-390x844-{backend}")).await;
        browser.client.set_window_size(360, 740).await.expect("resize");
        browser.expect("window.innerWidth <= 370", 5 * SECOND, "window.innerWidth").await;
        let overflow = browser.eval("document.documentElement.scrollWidth - window.innerWidth").await;
        assert!(overflow.as_i64().is_some_and(|px| px <= 0), "the Delivery view scrolls sideways at 360 px by {overflow}");
        assert_eq!(browser.console_errors().await, Vec::<String>::new());
        browser.close().await;
    }
}

on_both_backends! {
    async fn the_delivery_view_follows_incidents_and_deployments_live(app: TestApp) {
        let events = json!([
            deployment("p1", "production", "success", 180, None),
            deployment("p2", "production", "failure", 120, None),
        ]);
        let (status, answer) = post(&app, &events).await;
        assert_eq!(status, 200, "{answer}");
        let Some(browser) = Browser::start("UTC").await else { return };
        browser.client.goto(&app.url("/?view=delivery&window=7")).await.expect("open delivery");
        let cfr = "document.querySelector('#dora-kpis li[data-key=cfr] .value')?.textContent";
        browser.expect(&format!("{cfr} === '50.0 %'"), 10 * SECOND, cfr).await;
        browser.expect("document.getElementById('live').dataset.state === 'live'", 10 * SECOND,
            "document.getElementById('live').dataset.state").await;
        browser.client.execute("window.notReloaded = true; return true;", vec![]).await.expect("mark");

        let incident = json!({"id": "INC-9", "repository": "acme/web", "opened_at": ts(minutes_ago(150))});
        let response = app.admin.post(app.url("/api/incidents")).json(&incident).send().await.expect("post");
        assert_eq!(response.status().as_u16(), 201);
        browser.expect(&format!("{cfr} === '100.0 %'"), 10 * SECOND, cfr).await;
        browser.expect("document.querySelectorAll('#delivery-timeline rect.incident').length === 1", 5 * SECOND,
            "document.getElementById('delivery-timeline').outerHTML").await;

        let (status, answer) = post(&app, &deployment("p3", "production", "success", 60, None)).await;
        assert_eq!(status, 200, "{answer}");
        browser.expect(&format!("{cfr} === '66.7 %'"), 10 * SECOND, cfr).await;
        browser.expect("document.querySelectorAll('#deployments tbody tr').length === 3", 5 * SECOND,
            "document.querySelectorAll('#deployments tbody tr').length").await;
        assert_eq!(browser.eval("window.notReloaded === true").await, true, "the page was not reloaded");
        assert_eq!(browser.console_errors().await, Vec::<String>::new());
        browser.close().await;
    }
}
