//! Failure alerts name the failed tests of the build (from its uploaded
//! JUnit reports): the first five by class and name, "and N more", each
//! escaped for its format (email text and HTML, Slack mrkdwn, webhook JSON).

use serde_json::{Value, json};

use crate::alert_receivers::{FIVE_SECONDS, HttpSink, SmtpSink, configure_ok};
use crate::on_both_backends;
use crate::payloads::{Run, minutes_ago};
use crate::test_results::upload;

const SLACK_PATH: &str = "/services/T000/B000/slack";

/// Seven failed tests (one named with markup), one passed, one skipped.
fn report() -> Vec<u8> {
    let mut xml = String::from(r#"<testsuite name="S">"#);
    for name in ["t1", "t2", "t3", "t4", "t5", "t6", "&lt;x&gt;&amp;y"] {
        xml.push_str(&format!(r#"<testcase classname="A" name="{name}"><failure message="no"/></testcase>"#));
    }
    xml.push_str(
        r#"<testcase classname="A" name="ok"/><testcase classname="A" name="later"><skipped/></testcase>"#,
    );
    xml.push_str("</testsuite>");
    xml.into_bytes()
}

on_both_backends! {
    async fn failure_alerts_name_the_failed_tests(app: TestApp) {
        let (smtp, http) = (SmtpSink::start().await, HttpSink::start().await);
        configure_ok(&app, &json!({
            "smtp": {"host": "127.0.0.1", "port": smtp.port, "security": "none", "from": "ci@example.com"},
            "channels": [
                {"id": "mail", "type": "email", "to": ["dev@example.com"]},
                {"id": "slack", "type": "slack", "webhook_url": http.url(SLACK_PATH)},
                {"id": "hook", "type": "webhook", "url": http.url("/hook")}
            ],
            "rules": [{"id": "failures", "kind": "build_failed", "channels": ["mail", "slack", "hook"]}]
        })).await;
        // The job's reports arrive while the run is in progress, from two
        // jobs: a test failing in both counts once.
        let run = Run::new(6100, minutes_ago(10));
        app.deliver_json("workflow_run", &run.at("in_progress", None, 5).payload(), "stored").await;
        for job in ["unit", "e2e"] {
            let (status, answer) = upload(&app, &format!("repo=octo-org/app&run_id=6100&job={job}"), "application/xml", report()).await;
            assert_eq!(status, 201, "{answer}");
        }
        app.deliver_json("workflow_run", &run.at("completed", Some("failure"), 90).payload(), "stored").await;

        // Ordered by class then name ("<" sorts before letters): A.<x>&y,
        // A.t1 … A.t4 listed; t5 and t6 are the "2 more" (7 failed tests).
        let mails = smtp.wait_for(1, FIVE_SECONDS).await;
        let (_, text, html) = mails[0].parts();
        let text = text.replace("\r\n", "\n");
        assert!(text.contains("Failed tests:\n  - A.<x>&y\n  - A.t1\n  - A.t2\n  - A.t3\n  - A.t4\n  and 2 more\n"), "{text}");
        assert!(!text.contains("A.t5") && !text.contains("A.ok"), "{text}");
        assert!(html.contains("<li><code>A.&lt;x&gt;&amp;y</code></li>") && html.contains("<li>and 2 more</li>"), "{html}");
        assert!(!html.contains("<x>"), "markup in a test name is escaped: {html}");

        let slack = http.wait_for(SLACK_PATH, 1, FIVE_SECONDS).await;
        let message = slack[0].json();
        let blocks = message["attachments"][0]["blocks"].as_array().expect("blocks");
        let tests = blocks.iter().find_map(|b| b["text"]["text"].as_str().filter(|t| t.starts_with("*Failed tests*")));
        assert_eq!(tests, Some("*Failed tests*\nA.&lt;x&gt;&amp;y\nA.t1\nA.t2\nA.t3\nA.t4\nand 2 more"), "{message}");

        let hooks = http.wait_for("/hook", 1, FIVE_SECONDS).await;
        let alert = hooks[0].json();
        assert_eq!(alert["failed_tests"], json!(["A.<x>&y", "A.t1", "A.t2", "A.t3", "A.t4"]));
        assert_eq!(alert["failed_tests_total"], 7);
        assert_eq!(alert["kind"], Value::from("build_failed"));
    }
}
