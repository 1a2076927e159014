//! The DORA facts derived at write time do not depend on the order
//! deliveries arrive in, on both back ends: one stream (generic API,
//! `jenkins`, `acme/svc`, `production`) delivered in order and scrambled
//! — later deployments before earlier ones, a status flipping to failure
//! after success, a rollback — answers the same hand-worked figures.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::build_events::post;
use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::payloads::minutes_ago;

fn ts(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn sha(name: &str) -> String {
    format!("{name:0>40}")
}

/// The deliveries, in order (minutes before `base`):
/// 0. D1 deploys s1 (committed 600) — success at 500;
/// 1. D2 deploys s2 (committed 450) — success at 400;
/// 2. D3 deploys s3 (committed 350) — success at 300;
/// 3. D3 flips to failure at 290;
/// 4. D4 redeploys s1 (no commits listed) — success at 200: s1 was
///    deployed before and is not D2's SHA, so a rollback;
/// 5. D5 deploys s5 (committed 150) — success at 100.
fn deliveries(base: DateTime<Utc>) -> Vec<Value> {
    let ago = |minutes: i64| ts(base - Duration::minutes(minutes));
    let event = |key: &str, id: u64, commit: &str, status: &str, at: i64, committed: Option<i64>| {
        let mut event = json!({
            "idempotency_key": key, "type": "deployment", "provider": "jenkins", "repository": "acme/svc",
            "deployment_id": id, "environment": "production", "status": status, "status_at": ago(at),
            "commit": sha(commit),
        });
        if let Some(committed) = committed {
            event["commits"] = json!([{"sha": sha(commit), "committed_at": ago(committed)}]);
        }
        event
    };
    vec![
        event("d1", 1, "s1", "success", 500, Some(600)),
        event("d2", 2, "s2", "success", 400, Some(450)),
        event("d3-ok", 3, "s3", "success", 300, Some(350)),
        event("d3-failed", 3, "s3", "failure", 290, Some(350)),
        event("d4", 4, "s1", "success", 200, None),
        event("d5", 5, "s5", "success", 100, Some(150)),
    ]
}

async fn deliver(app: &TestApp, order: &[usize]) {
    let events = deliveries(minutes_ago(0));
    for &i in order {
        let (status, answer) = post(app, &events[i]).await;
        assert_eq!(status, 200, "{answer}");
    }
}

/// Counted: D1, D2, D4, D5 succeeded, D3 failed (its failure at 290
/// replaced the success at 300) → frequency 4. Failed changes: D3
/// (failed) and D2 (rolled back by D4) → CFR 2/5 = 0.4 (low). Lead times:
/// s1 at D1 500 − 600 → 6000 s, s2 3000 s, s5 3000 s (D4 carries nothing:
/// s1 counts at its first deployment) → [3000, 3000, 6000]: median 3000,
/// p90 at rank 1.8 → 3000 + 0.8 × 3000 = 5400. Time to restore: D3's
/// outage from 290 to D4 at 200 → 5400 s, one restored (high).
async fn check(app: &TestApp) {
    let (status, body) = app.get("/api/dora?window_days=7").await;
    assert_eq!(status, 200, "{body}");
    let current = &body["current"];
    assert_eq!(current["deployment_frequency"]["deployments"], 4, "{body}");
    assert_eq!(current["change_failure_rate"]["deployments"], 5, "{body}");
    assert_eq!(current["change_failure_rate"]["failed_changes"], 2, "{body}");
    assert_eq!(current["change_failure_rate"]["rate"], 0.4);
    assert_eq!(current["change_failure_rate"]["level"], "low");
    assert_eq!(current["lead_time"]["commits"], 3, "{body}");
    assert_eq!(current["lead_time"]["median_seconds"], 3000.0);
    assert_eq!(current["lead_time"]["p90_seconds"], 5400.0);
    assert_eq!(current["time_to_restore"]["restored"], 1, "{body}");
    assert_eq!(current["time_to_restore"]["unrestored"], 0);
    assert_eq!(current["time_to_restore"]["median_seconds"], 5400.0);
    assert_eq!(current["time_to_restore"]["level"], "high");

    let (status, list) = app.get("/api/deployments?window_days=7").await;
    assert_eq!(status, 200, "{list}");
    let items = list["deployments"].as_array().expect("array");
    let by_id = |id: &str| items.iter().find(|d| d["deployment_id"] == id).cloned().unwrap_or(Value::Null);
    let leads = |d: &Value| -> Vec<i64> {
        d["commits"]
            .as_array()
            .expect("commits")
            .iter()
            .map(|c| c["lead_time_seconds"].as_i64().expect("lead"))
            .collect()
    };
    assert_eq!(leads(&by_id("1")), [6000], "{list}");
    assert_eq!(by_id("2")["failure_signal"], "rolled_back", "{list}");
    assert_eq!(by_id("3")["failure_signal"], "failed", "{list}");
    assert_eq!(by_id("3")["outcome"], "failed");
    assert_eq!(by_id("4")["rollback"], true, "{list}");
    assert_eq!(leads(&by_id("4")), Vec::<i64>::new());
    assert_eq!(by_id("5")["failure_signal"], Value::Null, "{list}");
    assert_eq!(leads(&by_id("5")), [3000]);
}

on_both_backends! {
    async fn delivered_in_order(app: TestApp) {
        deliver(&app, &[0, 1, 2, 3, 4, 5]).await;
        check(&app).await;
    }

    // D5 first, then D3's success (D5's facts derived again), the
    // rollback D4 before its predecessors, D1 (every later one derived
    // again), D3's failure after its success, D2 last (between D1 and D3:
    // D4 becomes a rollback of D2's successor).
    async fn delivered_out_of_order(app: TestApp) {
        deliver(&app, &[5, 2, 4, 0, 3, 1]).await;
        check(&app).await;
    }
}
