//! `cicd-dashboard db copy`: SQLite with the bundled deliveries → PostgreSQL
//! → identical API answers, ids included; a re-run changes nothing; new rows
//! continue after the copied ids.

use std::process::Command;

use crate::helpers::{Backend, TestApp, fixture_path, snapshot};
use crate::on_postgres;
use crate::payloads::{Run, minutes_ago};

fn copy(from: &str, to: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_cicd-dashboard"))
        .args(["db", "copy", "--from", from, "--to", to])
        .output()
        .expect("run db copy");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stderr).contains("copying builds:"), "progress is shown");
    stdout
}

on_postgres! {
    async fn sqlite_to_postgres_keeps_every_answer(postgres: TestApp) {
        let sqlite = TestApp::spawn(Backend::Sqlite).await.expect("sqlite");
        let client = reqwest::Client::new();
        for dir in ["github/webhooks", "github/recorded/webhooks"] {
            let mut files: Vec<_> = std::fs::read_dir(fixture_path(dir)).expect("dir").map(|e| e.expect("entry").path()).collect();
            files.sort();
            for file in files {
                let body = std::fs::read(&file).expect("fixture");
                let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
                let event = name.split('.').next().unwrap_or_default().to_owned();
                let guid = format!("copy-{dir}-{name}");
                crate::helpers::deliver_to(&client, &sqlite.base, &event, &guid, &body).await;
            }
        }
        // Failure reasons, a signature and a log excerpt go along.
        let store = cicd_dashboard::store::Store::connect(&sqlite.database_url, &Default::default()).await.expect("store");
        let fetch = cicd_dashboard::providers::failure_fetch::FailureFetch {
            store: store.clone(),
            classifier: std::sync::Arc::new(cicd_dashboard::domain::failure::Classifier::new(&[]).expect("classifier")),
            settings: Default::default(),
        };
        let log = cicd_dashboard::providers::log_tail::LogTail { text: "step 1\nerror: copy me\n".into(), truncated: false };
        for job in store.failures().pending(0, 100).await.expect("pending") {
            fetch.save(&job, &["error: copy me 42".into()], Some(&log), chrono::Utc::now().timestamp()).await.expect("save");
        }
        let before = snapshot(&sqlite, true).await;
        assert_eq!(before.len(), 8);
        assert!(before.iter().any(|b| b["failures"][0]["log_excerpt"] == log.text), "a failure with its excerpt to copy");
        let (_, mut summary_before) = sqlite.get("/api/metrics/summary?window_days=365").await;

        let out = tokio::task::block_in_place(|| copy(&sqlite.database_url, &postgres.database_url));
        assert!(out.contains("builds: 8 rows in the source, 8 written"), "{out}");
        assert_eq!(snapshot(&postgres, true).await, before);
        let (_, mut summary_after) = postgres.get("/api/metrics/summary?window_days=365").await;
        // The window bounds follow the clock, not the data.
        for summary in [&mut summary_before, &mut summary_after] {
            summary["window_start"] = serde_json::Value::Null;
            summary["previous"]["window_start"] = serde_json::Value::Null;
            summary["previous"]["window_end"] = serde_json::Value::Null;
        }
        assert_eq!(summary_after, summary_before);

        // Re-running converges: same answers, nothing duplicated.
        tokio::task::block_in_place(|| copy(&sqlite.database_url, &postgres.database_url));
        assert_eq!(snapshot(&postgres, true).await, before);
        let tally = crate::flaky_tally::kept(&postgres.database_url).await;
        assert!(!tally.is_empty());
        assert_eq!(tally, crate::flaky_tally::kept(&sqlite.database_url).await);
        // So do the jobs' kept run starts (migration 0037).
        let starts = crate::job_run_starts::kept(&postgres.database_url).await;
        assert!(!starts.is_empty());
        assert_eq!(starts, crate::job_run_starts::kept(&sqlite.database_url).await);

        // New rows get ids after the copied ones.
        let max_id = before.iter().filter_map(|b| b["id"].as_i64()).max().expect("ids");
        postgres.deliver_json("workflow_run", &Run::new(9901, minutes_ago(1)).payload(), "stored").await;
        let new = postgres.builds().await.into_iter().find(|b| b["external_id"] == "9901").expect("new build");
        assert!(new["id"].as_i64().expect("id") > max_id);
    }
}
