//! `/api/builds` filters added for the page (event, actor, time range, text
//! search, sort) and `/api/builds/export` downloading what a filter shows.

use serde_json::Value;

use crate::on_both_backends;
use crate::payloads::{Run, iso, minutes_ago};

/// Five runs: ids 1–5 started 50, 40, …, 10 minutes ago; branch, event and
/// actor vary; run 4 has a branch a spreadsheet would run as a formula.
async fn seed(app: &crate::helpers::TestApp) {
    let rows = [
        (1, "main", "push", "alice", 100),
        (2, "feature/Search-Me", "pull_request", "bob", 300),
        (3, "main", "push", "bob", 200),
        (4, "=HYPERLINK(\"x\")", "push", "alice", 50),
        (5, "main", "schedule", "carol", 400),
    ];
    for (id, branch, event, actor, secs) in rows {
        let mut run = Run::new(id, minutes_ago(60 - 10 * id));
        run.branch = branch.into();
        let mut payload = run.at("completed", Some("success"), secs).payload();
        payload["workflow_run"]["event"] = event.into();
        payload["workflow_run"]["triggering_actor"]["login"] = actor.into();
        app.deliver_json("workflow_run", &payload, "stored").await;
    }
}

fn ids(page: &Value) -> Vec<String> {
    page["builds"]
        .as_array()
        .expect("builds")
        .iter()
        .map(|b| b["external_id"].as_str().expect("id").to_owned())
        .collect()
}

on_both_backends! {
    async fn builds_filter_by_event_actor_time_and_text(app: TestApp) {
        seed(&app).await;
        let (_, page) = app.get("/api/builds?event=push&actor=alice").await;
        assert_eq!(ids(&page), ["4", "1"]);
        let (_, page) = app.get("/api/builds?q=search-me").await;
        assert_eq!(ids(&page), ["2"], "case-insensitive substring of the branch");
        let (_, page) = app.get("/api/builds?q=CAROL").await;
        assert_eq!(ids(&page), ["5"]);
        let (_, page) = app.get("/api/builds?q=%25").await;
        assert_eq!(page["total"], 0, "% is a literal, not a wildcard");
        let since = iso(minutes_ago(35));
        let until = iso(minutes_ago(15));
        let (_, page) = app.get(&format!("/api/builds?since={since}&until={until}")).await;
        assert_eq!(ids(&page), ["4", "3"]);
        // A fraction of a second (as JavaScript's toISOString writes) rounds
        // up: run 4 started at a whole second, before since + 0.5 s.
        let (_, four) = app.get("/api/builds?run=4").await;
        let start_4 = four["builds"][0]["started_at"].as_str().expect("started").to_owned();
        let half = |at: &str| at.replace('Z', ".500Z");
        let (_, page) = app.get(&format!("/api/builds?since={}", half(&start_4))).await;
        assert_eq!(ids(&page), ["5"], "since just after run 4's start");
        let (_, page) = app.get(&format!("/api/builds?until={}&since={since}", half(&start_4))).await;
        assert_eq!(ids(&page), ["4", "3"], "until just after run 4's start");
        let (_, page) = app.get("/api/builds?sort=-duration").await;
        assert_eq!(ids(&page), ["5", "2", "3", "1", "4"]);
        let (_, page) = app.get("/api/builds?sort=started&limit=2").await;
        assert_eq!(ids(&page), ["1", "2"]);
        assert_eq!(page["next_cursor"], Value::Null, "cursors only in the default order");
        for bad in ["sort=name", "since=yesterday", "until=2026-13-01T00:00:00Z"] {
            let (status, body) = app.get(&format!("/api/builds?{bad}")).await;
            assert_eq!(status, 422, "{bad}: {body}");
        }
    }

    async fn export_downloads_what_the_filter_shows(app: TestApp) {
        seed(&app).await;
        let filter = "event=push&sort=-duration";
        let (_, shown) = app.get(&format!("/api/builds?{filter}")).await;

        let response = app.client.get(app.url(&format!("/api/builds/export?format=csv&{filter}"))).send().await.expect("sent");
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
        let disposition = response.headers()["content-disposition"].to_str().expect("ascii").to_owned();
        assert!(disposition.starts_with("attachment; filename=\"builds-") && disposition.ends_with(".csv\""), "{disposition}");
        let body = response.text().await.expect("text");
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        let headers = reader.headers().expect("headers").clone();
        assert_eq!(&headers[3], "repo");
        let column = |name: &str| headers.iter().position(|h| h == name).expect("column");
        let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("records");
        let csv_ids: Vec<&str> = rows.iter().map(|r| &r[column("external_id")]).collect();
        assert_eq!(csv_ids, ids(&shown));
        assert_eq!(csv_ids, ["3", "1", "4"]);
        assert_eq!(&rows[2][column("branch")], "'=HYPERLINK(\"x\")", "formula defused");
        assert_eq!(&rows[0][column("duration_seconds")], "200");
        assert_eq!(&rows[0][column("triggered_by")], "bob");

        let response = app.client.get(app.url(&format!("/api/builds/export?format=json&{filter}"))).send().await.expect("sent");
        assert!(response.headers()["content-disposition"].to_str().expect("ascii").ends_with(".json\""));
        let json: Value = response.json().await.expect("json");
        assert_eq!(json["truncated"], false);
        assert_eq!(json["builds"], shown["builds"]);

        let (status, body) = app.get("/api/builds/export?format=xml").await;
        assert_eq!(status, 422, "{body}");
        let (status, _) = app.get("/api/builds/export?status=nope").await;
        assert_eq!(status, 422);
    }
}
