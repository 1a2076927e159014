//! Alert delivery end to end: webhook in → outbox → real SMTP and HTTP
//! receivers; no duplicates, retries with backoff, nothing lost across a
//! restart, ingest unaffected by a dead receiver, `/api/alert/test`.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::time::Instant;

use crate::alert_receivers::{
    FIVE_SECONDS, HttpSink, QUIET, SmtpSink, alert_list, configure_ok, dead_port, wait_for_alerts,
};
use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::payloads::{Run, minutes_ago};

const SLACK_PATH: &str = "/services/T000/B000/slack-token-SECRET";
const HOOK_SECRET: &str = "hook-signing-SECRET";

/// Email, Slack and a signed webhook, and one `build_failed` rule over all.
fn config(smtp_port: u16, http: &HttpSink) -> Value {
    json!({
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "none", "from": "CI <ci@example.com>"},
        "channels": [
            {"id": "team-mail", "type": "email", "to": ["dev@example.com", "ops@example.com"]},
            {"id": "team-slack", "type": "slack", "webhook_url": http.url(SLACK_PATH)},
            {"id": "hook", "type": "webhook", "url": http.url("/hook"), "secret": HOOK_SECRET}
        ],
        "rules": [{"id": "failures", "kind": "build_failed", "channels": ["team-mail", "team-slack", "hook"]}]
    })
}

fn failed_run(id: i64, minutes: i64) -> Run {
    Run::new(id, minutes_ago(minutes)).at("completed", Some("failure"), 95)
}

on_both_backends! {
    async fn alerts_a_failed_attempt_sends_one_email_one_slack_post_and_one_webhook(app: TestApp) {
        let (smtp, http) = (SmtpSink::start().await, HttpSink::start().await);
        configure_ok(&app, &config(smtp.port, &http)).await;
        let run = failed_run(4242, 10);
        app.deliver_json("workflow_run", &run.at("in_progress", None, 5).payload(), "stored").await;
        let body = serde_json::to_vec(&run.payload()).expect("json");
        let guid = uuid::Uuid::new_v4().to_string();
        let sent_at = Instant::now();
        assert_eq!(app.deliver_as("workflow_run", &guid, &body).await.status(), 202);

        let mails = smtp.wait_for(1, FIVE_SECONDS).await;
        let slack = http.wait_for(SLACK_PATH, 1, FIVE_SECONDS).await;
        let hooks = http.wait_for("/hook", 1, FIVE_SECONDS).await;
        assert_eq!((mails.len(), slack.len(), hooks.len()), (1, 1, 1));
        let latest = [mails[0].at, slack[0].at, hooks[0].at].into_iter().max().expect("times");
        let latency = latest - sent_at;
        eprintln!("alert latency (delivery accepted → last of 3 receivers): {latency:?}");
        assert!(latency < FIVE_SECONDS, "{latency:?}");

        // Email: envelope, subject, both parts, the link.
        let mail = &mails[0];
        assert_eq!(mail.from, "ci@example.com");
        assert_eq!(mail.to, ["dev@example.com", "ops@example.com"]);
        let (subject, text, html) = mail.parts();
        // minijinja's HTML escaping also writes `/` as `&#x2f;` (valid HTML).
        let html = html.replace("&#x2f;", "/");
        assert_eq!(subject, "[cicd-dashboard] Build failed: octo-org/app · CI on main #242");
        let link = "https://github.com/octo-org/app/actions/runs/4242";
        assert!(text.contains(link) && text.contains("Triggered by: hubot") && text.contains("1m 35s"), "{text}");
        assert!(html.contains(&format!("<a href=\"{link}\">")) && html.contains("<td>octo-org/app</td>"), "{html}");

        // Slack: Block Kit with colour, fields and the link.
        let message = slack[0].json();
        assert_eq!(message["attachments"][0]["color"], "#E01E5A");
        let blocks = message["attachments"][0]["blocks"].as_array().expect("blocks");
        let fields: Vec<&str> = blocks[1]["fields"].as_array().expect("fields").iter().filter_map(|f| f["text"].as_str()).collect();
        assert!(fields.contains(&"*Repository*\nocto-org/app") && fields.contains(&"*Branch*\nmain"), "{fields:?}");
        assert!(fields.contains(&"*Commit*\n0000000") && fields.contains(&"*Triggered by*\nhubot"), "{fields:?}");
        assert_eq!(blocks[2]["elements"][0]["url"], link);

        // Webhook: the alert as JSON, HMAC-signed.
        let hook = &hooks[0];
        let mut mac = Hmac::<Sha256>::new_from_slice(HOOK_SECRET.as_bytes()).expect("key");
        mac.update(&hook.body);
        let want = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(hook.headers["x-cicd-signature-256"].to_str().expect("ascii"), want);
        let alert = hook.json();
        assert_eq!((alert["kind"].as_str(), alert["build"]["conclusion"].as_str()), (Some("build_failed"), Some("failure")));
        assert_eq!(alert["build"]["duration_seconds"], 95);

        // The same delivery again (same GUID), and the same state under a new GUID: nothing more.
        let again = app.deliver_as("workflow_run", &guid, &body).await.json::<Value>().await.expect("json");
        assert_eq!(again["outcome"], "duplicate");
        app.deliver_json("workflow_run", &run.payload(), "stored").await;
        tokio::time::sleep(QUIET).await;
        assert_eq!((smtp.mails().len(), http.hits(SLACK_PATH).len(), http.hits("/hook").len()), (1, 1, 1));
        let alerts = alert_list(&app, "").await;
        assert_eq!(alerts.len(), 3, "{alerts:?}");
        for alert in &alerts {
            assert_eq!((alert["status"].as_str(), alert["attempts"].as_i64()), (Some("sent"), Some(1)), "{alert}");
            assert_eq!(alert["kind"], "build_failed");
            assert!(alert["sent_at"].is_string() && alert["build_id"].is_i64());
        }
        // A re-run that fails again is a new attempt: alerted again.
        let rerun = Run { attempt: 2, ..failed_run(4242, 5) };
        app.deliver_json("workflow_run", &rerun.payload(), "stored").await;
        assert_eq!(smtp.wait_for(2, FIVE_SECONDS).await.len(), 2);
        assert!(smtp.mails()[1].parts().0.ends_with("#242 (attempt 2)"));
    }

    async fn alerts_smtp_down_retries_then_fails_while_webhooks_stay_fast(app: TestApp) {
        let http = HttpSink::start().await;
        let down = dead_port();
        configure_ok(&app, &config(down, &http)).await;
        app.deliver_json("workflow_run", &failed_run(5001, 10).payload(), "stored").await;

        // Ingest does not wait for the dead SMTP server.
        let mut slowest = Duration::ZERO;
        for i in 0..10 {
            let run = Run::new(6000 + i, minutes_ago(9)).at("completed", Some("success"), 30);
            let started = Instant::now();
            app.deliver_json("workflow_run", &run.payload(), "stored").await;
            slowest = slowest.max(started.elapsed());
        }
        assert!(slowest < Duration::from_millis(500), "a delivery took {slowest:?}");

        // Three attempts (the test setting) with backoff, then failed with the error.
        let mail_alert = |list: &[Value]| list.iter().any(|a| a["status"] == "failed");
        let alerts = wait_for_alerts(&app, "?channel=team-mail", Duration::from_secs(10), mail_alert).await;
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        let failed = &alerts[0];
        assert_eq!((failed["status"].as_str(), failed["attempts"].as_i64()), (Some("failed"), Some(3)), "{failed}");
        let error = failed["error"].as_str().expect("error");
        assert!(error.contains(&format!("127.0.0.1:{down}")) && error.contains("gave up after 3 attempts"), "{error}");
        assert!(failed["sent_at"].is_null());
        // The other channels were not held up.
        let slack = alert_list(&app, "?channel=team-slack").await;
        assert_eq!(slack[0]["status"], "sent");
        assert_eq!(http.hits(SLACK_PATH).len(), 1);

        // SMTP back (and configured): later alerts send.
        let smtp = SmtpSink::start().await;
        configure_ok(&app, &config(smtp.port, &http)).await;
        app.deliver_json("workflow_run", &failed_run(5002, 8).payload(), "stored").await;
        let mails = smtp.wait_for(1, FIVE_SECONDS).await;
        assert_eq!(mails.len(), 1);
        assert!(mails[0].parts().0.contains("#2"), "the new failure");
        assert_eq!(alert_list(&app, "?channel=team-mail&status=failed").await.len(), 1, "the failed one stays failed");
    }

    async fn alerts_a_hanging_smtp_server_delays_only_its_own_alerts(app: TestApp) {
        // Accepts connections and never says a word (the test send timeout is 3 s).
        let blackhole = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = blackhole.local_addr().expect("addr").port();
        let held = tokio::spawn(async move {
            let mut sockets = Vec::new();
            while let Ok((socket, _)) = blackhole.accept().await {
                sockets.push(socket);
            }
        });
        let http = HttpSink::start().await;
        configure_ok(&app, &config(port, &http)).await;
        for (i, id) in [8001, 8002].into_iter().enumerate() {
            let started = Instant::now();
            app.deliver_json("workflow_run", &failed_run(id, 10 - i as i64).payload(), "stored").await;
            let slack = http.wait_for(SLACK_PATH, i + 1, FIVE_SECONDS).await;
            let took = slack[i].at - started;
            assert!(took < Duration::from_secs(1), "Slack alert {i} took {took:?} behind a hanging SMTP server");
        }
        let mail = wait_for_alerts(&app, "?channel=team-mail", Duration::from_secs(15), |l| {
            l.iter().all(|a| a["attempts"].as_i64() >= Some(1))
        })
        .await;
        assert!(mail.iter().all(|a| a["error"].as_str().is_some_and(|e| e.contains("127.0.0.1"))), "{mail:?}");
        held.abort();
    }

    async fn alerts_test_endpoint_reports_each_channel(app: TestApp) {
        let (smtp, http, broken) = (SmtpSink::start().await, HttpSink::start().await, HttpSink::start().await);
        broken.answer(500);
        let mut doc = config(smtp.port, &http);
        doc["channels"][2]["url"] = json!(broken.url("/hook"));
        configure_ok(&app, &doc).await;

        let post = |body: Value| {
            let request = app.admin.post(app.url("/api/alert/test")).json(&body);
            async move {
                let response = request.send().await.expect("sent");
                (response.status().as_u16(), response.json::<Value>().await.expect("json"))
            }
        };
        let (status, answer) = post(json!({"message": "hello <team> & friends"})).await;
        assert_eq!(status, 502, "{answer}");
        let results = answer["results"].as_array().expect("results");
        let by_id = |id: &str| results.iter().find(|r| r["channel"] == id).expect("channel").clone();
        assert_eq!((by_id("team-mail")["ok"].as_bool(), by_id("team-slack")["ok"].as_bool()), (Some(true), Some(true)));
        let hook = by_id("hook");
        assert_eq!(hook["ok"], false);
        assert!(hook["error"].as_str().expect("error").contains("HTTP 500"), "{hook}");
        let (subject, text, _) = smtp.mails()[0].parts();
        assert_eq!(subject, "[cicd-dashboard] Test alert from cicd-dashboard");
        assert!(text.contains("hello <team> & friends"));
        let slack = http.hits(SLACK_PATH)[0].json();
        let headline = slack["attachments"][0]["blocks"][0]["text"]["text"].as_str().expect("text");
        assert!(headline.contains("hello &lt;team&gt; &amp; friends"), "{headline}");

        let (status, answer) = post(json!({"channel": "team-slack"})).await;
        assert_eq!((status, answer["results"].as_array().map(Vec::len)), (200, Some(1)), "{answer}");
        let (status, answer) = post(json!({"channel": "email"})).await;
        assert_eq!((status, answer["results"][0]["channel"].as_str()), (200, Some("team-mail")), "{answer}");
        let (status, answer) = post(json!({"channel": "hook"})).await;
        assert_eq!(status, 502, "{answer}");
        let (status, answer) = post(json!({"channel": "nope"})).await;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["errors"][0]["field"], "channel");
        let (status, _) = post(json!({"channel": 5})).await;
        assert_eq!(status, 422);
        // Test alerts are not history.
        assert!(alert_list(&app, "").await.is_empty());
    }
}

async fn pending_alerts_survive_a_restart(backend: Backend) {
    let Some(mut app) = TestApp::spawn_with(backend, |s| s.alerts.no_alert_sender = true).await else {
        return;
    };
    let (smtp, http) = (SmtpSink::start().await, HttpSink::start().await);
    configure_ok(&app, &config(smtp.port, &http)).await;
    app.deliver_json("workflow_run", &failed_run(7001, 10).payload(), "stored").await;
    app.deliver_json("workflow_run", &failed_run(7002, 9).payload(), "stored").await;
    let pending = alert_list(&app, "?status=pending").await;
    assert_eq!(pending.len(), 6, "{pending:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(smtp.mails().is_empty() && http.hits(SLACK_PATH).is_empty());

    app.stop().await;
    let url = app.database_url.clone();
    let restarted = TestApp::spawn_replica_with(&app, &url, |_| {}).await;
    assert_eq!(smtp.wait_for(2, FIVE_SECONDS).await.len(), 2);
    assert_eq!(http.wait_for(SLACK_PATH, 2, FIVE_SECONDS).await.len(), 2);
    tokio::time::sleep(QUIET).await;
    assert_eq!((smtp.mails().len(), http.hits(SLACK_PATH).len(), http.hits("/hook").len()), (2, 2, 2));
    let alerts = alert_list(&restarted, "").await;
    assert!(alerts.iter().all(|a| a["status"] == "sent" && a["attempts"] == 1), "{alerts:?}");
}

mod alerts_pending_alerts_survive_a_restart_and_send_once {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        pending_alerts_survive_a_restart(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        pending_alerts_survive_a_restart(Backend::Postgres).await;
    }
}
