//! Texts the databases cannot both store (NUL, longer than an index row)
//! get the same answer on SQLite and PostgreSQL: 400 naming the field, the
//! delivery kept as `rejected`; polled ones are skipped; `db copy` reports a
//! row its target refuses and goes on.

use std::process::Command;

use cicd_dashboard::domain::{Change, Conclusion, ProviderKind, RunAttempt, RunStatus};
use cicd_dashboard::store::Store;
use serde_json::Value;
use sqlx::Row;

use crate::helpers::{Backend, TestApp};
use crate::payloads::{Run, minutes_ago};
use crate::{on_both_backends, on_postgres};

/// The stored outcome and error of the delivery `guid`, read from the database.
async fn delivery(app: &TestApp, guid: &str) -> (String, String) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.expect("connect");
    let row = sqlx::query("SELECT outcome, error FROM webhook_deliveries WHERE guid = $1")
        .bind(guid)
        .fetch_one(&pool)
        .await
        .expect("the delivery is recorded");
    let answer = (row.get::<String, _>("outcome"), row.get::<Option<String>, _>("error").unwrap_or_default());
    pool.close().await;
    answer
}

fn run_payload(edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut payload = Run::new(4242, minutes_ago(5)).payload();
    edit(&mut payload);
    serde_json::to_vec(&payload).expect("json")
}

on_both_backends! {
    async fn texts_over_their_limits_are_400_naming_the_field_and_kept_as_rejected(app: TestApp) {
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("nul-action", run_payload(|p| p["action"] = "comp\u{0}leted".into()), "action"),
            ("long-status", run_payload(|p| p["workflow_run"]["status"] = "s".repeat(3000).into()), "status"),
            ("huge-status", run_payload(|p| p["workflow_run"]["status"] = "s".repeat(1 << 20).into()), "status"),
            ("long-repo", run_payload(|p| p["repository"]["full_name"] = format!("o/{}", "r".repeat(3000)).into()), "repository"),
            ("huge-repo", run_payload(|p| p["repository"]["full_name"] = format!("o/{}", "r".repeat(1 << 20)).into()), "repository"),
            ("long-branch", run_payload(|p| p["workflow_run"]["head_branch"] = "b".repeat(256).into()), "branch"),
        ];
        for (guid, body, field) in cases {
            let response = app.deliver_as("workflow_run", guid, &body).await;
            assert_eq!(response.status().as_u16(), 400, "{guid}");
            assert_eq!(response.headers()["content-type"], "application/problem+json");
            let problem: Value = response.json().await.expect("json");
            let detail = problem["detail"].as_str().unwrap_or_default().to_owned();
            assert!(detail.contains(&format!("the {field} ")), "{guid}: {detail}");
            let (outcome, error) = delivery(&app, guid).await;
            assert_eq!(outcome, "rejected", "{guid}");
            assert_eq!(error, detail, "{guid}: the stored error is the answer's");
        }
        // An ignored event's action is stored too: the same rule.
        let response = app.deliver_as("check_suite", "nul-push", br#"{"action":"a\u0000b"}"#).await;
        assert_eq!(response.status().as_u16(), 400);
        assert!(app.builds().await.is_empty());

        // At the limit is fine: a 255-byte branch and a 201-byte repository.
        let name = format!("{}/{}", "o".repeat(100), "r".repeat(100));
        let body = run_payload(|p| {
            p["workflow_run"]["head_branch"] = "b".repeat(255).into();
            p["repository"]["full_name"] = name.clone().into();
        });
        assert_eq!(app.deliver("workflow_run", &body).await.status().as_u16(), 202);
        let builds = app.builds().await;
        assert_eq!(builds.len(), 1);
        assert_eq!(builds[0]["repo"], name.as_str());
    }

    async fn a_polled_change_over_a_limit_is_skipped_and_the_rest_stored(app: TestApp) {
        let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
        let run = |repo: String, id: &str| RunAttempt {
            provider: ProviderKind::GitHub,
            repo: repo.into(),
            run_id: id.into(),
            run_attempt: 1,
            workflow: Some("CI".into()),
            workflow_id: None,
            run_number: None,
            event: None,
            branch: None,
            commit_sha: None,
            triggered_by: None,
            url: None,
            provider_status: RunStatus::Completed,
            conclusion: Some(Conclusion::Success),
            created_at: Some(minutes_ago(3)),
            started_at: Some(minutes_ago(3)),
            updated_at: Some(minutes_ago(1)),
            first_job_started_at: None,
        };
        let changes =
            [Change::Run(run(format!("o/{}", "r".repeat(3000)), "1")), Change::Run(run("o/fine".into(), "2"))];
        store.deliveries().apply_polled(&changes).await.expect("the good change is stored");
        store.close().await;
        let builds = app.builds().await;
        assert_eq!(builds.len(), 1, "{builds:?}");
        assert_eq!(builds[0]["repo"], "o/fine");
    }
}

on_postgres! {
    async fn db_copy_reports_a_row_postgresql_refuses_and_copies_the_rest(postgres: TestApp) {
        let sqlite = TestApp::spawn(Backend::Sqlite).await.expect("sqlite");
        for id in [1, 2] {
            sqlite.deliver_json("workflow_run", &Run::new(id, minutes_ago(10)).payload(), "stored").await;
        }
        // Rows stored before the limits existed: a 3 000-byte status that
        // does not compress (over PostgreSQL's index row limit) and a NUL in
        // an action.
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&sqlite.database_url).await.expect("connect");
        sqlx::query("UPDATE builds SET provider_status = $1 WHERE external_id = '2'")
            .bind((0..84).map(|_| uuid::Uuid::new_v4().to_string()).collect::<String>())
            .execute(&pool)
            .await
            .expect("update");
        sqlx::query("UPDATE webhook_deliveries SET action = $1 WHERE id = 1")
            .bind("a\u{0}b")
            .execute(&pool)
            .await
            .expect("update");
        let bad_build: i64 = sqlx::query("SELECT id FROM builds WHERE external_id = '2'")
            .fetch_one(&pool)
            .await
            .expect("id")
            .get("id");
        pool.close().await;

        let output = tokio::task::block_in_place(|| {
            Command::new(env!("CARGO_BIN_EXE_cicd-dashboard"))
                .args(["db", "copy", "--from", &sqlite.database_url, "--to", &postgres.database_url])
                .output()
                .expect("run db copy")
        });
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(!output.status.success(), "refused rows make the exit status non-zero");
        assert!(stdout.contains(&format!("not copied: builds id {bad_build}: index row size")), "{stdout}");
        assert!(stdout.contains("not copied: webhook_deliveries id 1:"), "{stdout}");
        assert!(stdout.contains("builds: 2 rows in the source, 1 written"), "{stdout}");
        assert!(stdout.contains("webhook_deliveries: 2 rows in the source, 1 written"), "{stdout}");
        assert!(stderr.contains("2 rows could not be copied"), "{stderr}");
        let builds = postgres.builds().await;
        assert_eq!(builds.len(), 1, "{builds:?}");
        assert_eq!(builds[0]["external_id"], "1");
    }
}
