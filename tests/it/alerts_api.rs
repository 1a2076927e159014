//! The alert API: configuration validation (422 with field errors, nothing
//! stored), redaction of secrets in every answer and log line, the
//! environment bootstrap (the database wins), history filters, ack and
//! resolve.

use std::time::Duration;

use serde_json::{Value, json};

use crate::alert_receivers::{
    FIVE_SECONDS, HttpSink, SmtpSink, alert_list, configure, configure_ok, dead_port,
};
use crate::helpers::{Backend, SECRET, TestApp};
use crate::on_both_backends;
use crate::payloads::{Run, minutes_ago};

const PASSWORD: &str = "smtp-password-SECRET-1";
const SLACK_TOKEN: &str = "slack-token-SECRET-2";
const HOOK_SECRET: &str = "hook-secret-SECRET-3";
const HOOK_TOKEN: &str = "hook-token-SECRET-4";

fn good(http: &HttpSink, smtp_port: u16) -> Value {
    json!({
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "none", "username": "ci", "password": PASSWORD, "from": "ci@example.com"},
        "channels": [
            {"id": "mail", "type": "email", "to": ["dev@example.com"]},
            {"id": "slack", "type": "slack", "webhook_url": http.url(&format!("/services/{SLACK_TOKEN}"))},
            {"id": "hook", "type": "webhook", "url": http.url(&format!("/hook?token={HOOK_TOKEN}")), "secret": HOOK_SECRET}
        ],
        "rules": [{"id": "failures", "kind": "build_failed", "channels": ["mail", "slack", "hook"]}]
    })
}

fn assert_no_secret(text: &str) {
    for secret in [PASSWORD, SLACK_TOKEN, HOOK_SECRET, HOOK_TOKEN] {
        assert!(!text.contains(secret), "{secret} leaked in: {text}");
    }
}

fn fields(answer: &Value) -> Vec<String> {
    answer["errors"]
        .as_array()
        .map_or_else(Vec::new, |e| e.iter().filter_map(|x| x["field"].as_str().map(Into::into)).collect())
}

on_both_backends! {
    async fn alerts_configure_rejects_bad_input_with_422_and_stores_nothing(app: TestApp) {
        let http = HttpSink::start().await;
        configure_ok(&app, &good(&http, 2525)).await;
        let (_, before) = app.get("/api/alerts/configure").await;
        let cases = [
            (json!({"channels": [{"id": "x", "type": "pager"}]}), "channels[0].type"),
            (json!({"smtp": {"host": "h", "from": "ci@example.com"}, "channels": [{"id": "m", "type": "email", "to": ["not an address"]}]}), "channels[0].to[0]"),
            (json!({"smtp": {"host": "h", "from": "nobody"}}), "smtp.from"),
            (json!({"channels": [{"id": "s", "type": "slack", "webhook_url": "http://hooks.slack.example.com/services/x"}]}), "channels[0].webhook_url"),
            (json!({"channels": [{"id": "w", "type": "webhook", "url": "ftp://example.com/x"}]}), "channels[0].url"),
            (json!({"channels": [{"id": "w", "type": "webhook", "url": "https://example.com/x"}], "rules": [{"id": "r", "kind": "whenever", "channels": ["w"]}]}), "rules[0].kind"),
            (json!({"channels": [{"id": "w", "type": "webhook", "url": "https://example.com/x"}], "rules": [{"id": "r", "kind": "build_failed", "channels": ["nope"]}]}), "rules[0].channels[0]"),
            (json!({"channels": [{"id": "w", "type": "webhook", "url": "https://example.com/x"}], "rules": [{"id": "r", "kind": "failure_rate", "threshold": 7, "channels": ["w"]}]}), "rules[0].threshold"),
            (json!({"channels": [{"id": "w", "type": "webhook", "url": "https://example.com/x"}], "rules": [{"id": "r", "kind": "build_failed", "repo": "a/[b", "channels": ["w"]}]}), "rules[0].repo"),
            (json!({"channels": [], "surprise": true}), "surprise"),
            (json!([1, 2]), ""),
        ];
        for (body, field) in cases {
            let (status, answer) = configure(&app, &body).await;
            assert_eq!(status, 422, "{body} → {answer}");
            assert_eq!(answer["status"], 422);
            assert_eq!(answer["type"], "urn:cicd-dashboard:problem:invalid-fields");
            assert!(fields(&answer).contains(&field.to_owned()), "{field} not in {answer}");
        }
        let response = app.admin.post(app.url("/api/alerts/configure")).header("content-type", "application/json").body("{not json").send().await.expect("sent");
        assert_eq!(response.status().as_u16(), 400);
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let (_, after) = app.get("/api/alerts/configure").await;
        assert_eq!(before, after, "nothing was stored");
    }

    async fn alerts_secrets_never_appear_in_any_answer(app: TestApp) {
        let (http, smtp) = (HttpSink::start().await, SmtpSink::start().await);
        let stored = configure_ok(&app, &good(&http, smtp.port)).await;
        assert_no_secret(&stored.to_string());
        assert_eq!(stored["smtp"]["password"], "***");
        assert_eq!(stored["channels"][1]["webhook_url"], format!("{}/***", http.base));
        assert_eq!(stored["channels"][2]["secret"], "***");
        assert_eq!(stored["source"], "api");
        let (_, got) = app.get("/api/alerts/configure").await;
        assert_no_secret(&got.to_string());
        // The redacted document posted back keeps the stored secrets.
        let mut edited = got.clone();
        for key in ["source", "updated_at"] {
            edited.as_object_mut().expect("object").remove(key);
        }
        edited["rules"][0]["channels"] = json!(["slack", "hook"]);
        configure_ok(&app, &edited).await;
        let response = app.admin.post(app.url("/api/alert/test")).json(&json!({})).send().await.expect("sent");
        let status = response.status().as_u16();
        let answer = response.text().await.expect("text");
        assert_eq!(status, 200, "{answer}");
        assert_no_secret(&answer);
        assert_eq!(http.hits(&format!("/services/{SLACK_TOKEN}")).len(), 1, "the kept Slack URL works");
        assert_eq!(smtp.mails().len(), 1);
        assert_eq!(smtp.mails()[0].auth.as_deref(), Some(format!("ci\0{PASSWORD}").as_str()), "the kept password is used");
        // A failing receiver's error is shown without its URL.
        http.answer(503);
        let response = app.admin.post(app.url("/api/alert/test")).json(&json!({"channel": "slack"})).send().await.expect("sent");
        assert_eq!(response.status().as_u16(), 502);
        assert_no_secret(&response.text().await.expect("text"));
        app.deliver_json("workflow_run", &Run::new(9, minutes_ago(5)).at("completed", Some("failure"), 60).payload(), "stored").await;
        tokio::time::sleep(Duration::from_millis(800)).await;
        let (_, history) = app.get("/api/alerts").await;
        assert_no_secret(&history.to_string());
    }

    async fn alerts_history_filters_and_ack_and_resolve(app: TestApp) {
        let http = HttpSink::start().await;
        configure_ok(&app, &json!({
            "channels": [{"id": "a", "type": "webhook", "url": http.url("/a")}, {"id": "b", "type": "webhook", "url": http.url("/b")}],
            "rules": [{"id": "failures", "kind": "build_failed", "channels": ["a", "b"]}]
        })).await;
        app.deliver_json("workflow_run", &Run::new(1, minutes_ago(5)).at("completed", Some("failure"), 60).payload(), "stored").await;
        http.wait_for("/b", 1, FIVE_SECONDS).await;
        let all = alert_list(&app, "").await;
        assert_eq!(all.len(), 2);
        assert!(all[0]["id"].as_i64() > all[1]["id"].as_i64(), "newest first");
        let only_b = alert_list(&app, "?channel=b&rule=failures&repo=octo-org/app&kind=build_failed").await;
        assert_eq!(only_b.len(), 1);
        assert_eq!((only_b[0]["channel"].as_str(), only_b[0]["channel_type"].as_str()), (Some("b"), Some("webhook")));
        let (_, page) = app.get("/api/alerts?limit=1&offset=1").await;
        assert_eq!((page["total"].as_i64(), page["has_more"].as_bool(), page["alerts"].as_array().map(Vec::len)), (Some(2), Some(false), Some(1)));
        for bad in ["?status=lost", "?limit=0", "?kind=sometimes", "?offset=-1"] {
            let (status, body) = app.get(&format!("/api/alerts{bad}")).await;
            assert_eq!(status, 422, "{bad}: {body}");
        }
        let id = only_b[0]["id"].as_i64().expect("id");
        let post = |path: String| {
            let request = app.admin.post(app.url(&path));
            async move {
                let response = request.send().await.expect("sent");
                (response.status().as_u16(), response.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        let (status, acked) = post(format!("/api/alerts/{id}/ack")).await;
        assert_eq!(status, 200, "{acked}");
        assert!(acked["acknowledged_at"].is_string() && acked["resolved_at"].is_null());
        let (_, again) = post(format!("/api/alerts/{id}/ack")).await;
        assert_eq!(again["acknowledged_at"], acked["acknowledged_at"], "the first acknowledgement stays");
        let (status, resolved) = post(format!("/api/alerts/{id}/resolve")).await;
        assert_eq!(status, 200);
        assert!(resolved["resolved_at"].is_string());
        assert_eq!(post("/api/alerts/999999/ack".into()).await.0, 404);
        assert_eq!(post("/api/alerts/abc/resolve".into()).await.0, 404);
        // `+id` is not the alert's id written plainly; a segment that is not
        // UTF-8 is a problem like any other 404.
        assert_eq!(post(format!("/api/alerts/+{id}/ack")).await.0, 404);
        let (status, problem) = post("/api/alerts/%FF/resolve".into()).await;
        assert_eq!((status, problem["status"].as_u64()), (404, Some(404)), "{problem}");
    }
}

on_both_backends! {
    async fn alert_changes_arrive_on_the_event_stream(app: TestApp) {
        let http = HttpSink::start().await;
        configure_ok(&app, &json!({
            "channels": [{"id": "hook", "type": "webhook", "url": http.url("/hook")}],
            "rules": [{"id": "failures", "kind": "build_failed", "channels": ["hook"]}]
        })).await;
        let mut stream = app.client.get(app.url("/api/events")).send().await.expect("events");
        app.deliver_json("workflow_run", &Run::new(4, minutes_ago(5)).at("completed", Some("failure"), 60).payload(), "stored").await;
        // Created (pending, or already sent), then its delivery recorded.
        let (_, created) = crate::helpers::wait_for_event(&mut stream, FIVE_SECONDS, |name, _| name == "alert")
            .await
            .expect("an alert event");
        assert_eq!((created["rule_id"].as_str(), created["channel"].as_str()), (Some("failures"), Some("hook")));
        assert_eq!(created["repo"], "octo-org/app");
        let id = created["id"].as_i64().expect("id");
        if created["status"] != "sent" {
            let sent = crate::helpers::wait_for_event(&mut stream, FIVE_SECONDS, |name, a| {
                name == "alert" && a["id"] == id && a["status"] == "sent"
            })
            .await;
            assert!(sent.is_some(), "the delivery outcome is announced");
        }
        // Acknowledged through the API: announced with its time.
        let response = app.admin.post(app.url(&format!("/api/alerts/{id}/ack"))).send().await.expect("ack");
        assert_eq!(response.status().as_u16(), 200);
        let (_, acked) = crate::helpers::wait_for_event(&mut stream, FIVE_SECONDS, |name, a| {
            name == "alert" && a["id"] == id && a["acknowledged_at"].is_string()
        })
        .await
        .expect("the acknowledgement is announced");
        assert_eq!(acked["status"], "sent");
    }
}

async fn environment_bootstrap(backend: Backend) {
    let http = HttpSink::start().await;
    let slack_url = http.url(&format!("/services/{SLACK_TOKEN}"));
    let env = |s: &mut cicd_dashboard::config::ServeSettings| {
        s.alerts.smtp_host = Some("127.0.0.1".into());
        s.alerts.smtp_port = Some(dead_port());
        s.alerts.smtp_security = Some("none".into());
        s.alerts.smtp_username = Some("ci".into());
        s.alerts.smtp_password = Some(PASSWORD.into());
        s.alerts.smtp_from = Some("ci@example.com".into());
        s.alerts.alert_email_to = vec!["dev@example.com".into()];
        s.alerts.slack_webhook_url = Some(slack_url.as_str().into());
    };
    let Some(app) = TestApp::spawn_with(backend, env).await else { return };
    let (_, config) = app.get("/api/alerts/configure").await;
    assert_eq!(config["source"], "environment");
    assert_no_secret(&config.to_string());
    let ids: Vec<&str> =
        config["channels"].as_array().expect("channels").iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(ids, ["email", "slack"]);
    let kinds: Vec<&str> =
        config["rules"].as_array().expect("rules").iter().filter_map(|r| r["kind"].as_str()).collect();
    assert_eq!(kinds, ["started_failing", "recovered"]);
    // It works: a breaking pipeline reaches Slack.
    app.deliver_json(
        "workflow_run",
        &Run::new(1, minutes_ago(5)).at("completed", Some("failure"), 60).payload(),
        "stored",
    )
    .await;
    assert_eq!(http.wait_for(&format!("/services/{SLACK_TOKEN}"), 1, FIVE_SECONDS).await.len(), 1);

    // What is stored wins over the environment at the next start.
    configure_ok(&app, &json!({"channels": [{"id": "only", "type": "webhook", "url": http.url("/x")}]}))
        .await;
    let url = app.database_url.clone();
    let again = TestApp::spawn_replica_with(&app, &url, env).await;
    let (_, config) = again.get("/api/alerts/configure").await;
    assert_eq!(config["source"], "api");
    assert_eq!(config["channels"].as_array().map(Vec::len), Some(1));
}

mod alerts_environment_bootstraps_the_configuration_and_the_database_wins {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        environment_bootstrap(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        environment_bootstrap(Backend::Postgres).await;
    }
}

async fn allowed_http(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| s.alerts.allow_http_alert_urls = true).await else {
        return;
    };
    let doc = json!({"channels": [{"id": "s", "type": "slack", "webhook_url": "http://hooks.slack.example.com/services/x"}]});
    configure_ok(&app, &doc).await;
}

mod alerts_http_urls_pass_when_allowed {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        allowed_http(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        allowed_http(Backend::Postgres).await;
    }
}

/// The real binary with its log captured: secrets appear in no log line,
/// even at `debug`, through configuration, test sends, failures and alerts.
async fn logs_without_secrets(backend: Backend) {
    // This process's own sender stays off: the binary under test sends.
    let Some(app) = TestApp::spawn_with(backend, |s| s.alerts.no_alert_sender = true).await else { return };
    let dir = tempfile::tempdir().expect("dir");
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cicd-dashboard"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--database-url", &app.database_url])
        .env("GITHUB_WEBHOOK_SECRET", SECRET)
        .env("CICD_SECRET_KEY", crate::helpers::SECRET_KEY)
        .env("RUST_LOG", "debug")
        .env("CICD_ALERT_POLL_MS", "100")
        .env("CICD_ALERT_RETRY_BASE_MS", "100")
        .env("CICD_ALERT_MAX_ATTEMPTS", "2")
        .env("SMTP_PASSWORD", "ignored-because-no-host")
        .env("CICD_ALERT_ALLOW_PRIVATE_ADDRESSES", "true")
        .stdout(log.try_clone().expect("clone"))
        .stderr(log)
        .spawn()
        .expect("start the binary");
    let base = format!("http://127.0.0.1:{port}");
    let client = crate::helpers::admin_client();
    let mut up = false;
    for _ in 0..100 {
        if client.get(format!("{base}/health")).send().await.is_ok_and(|r| r.status().is_success()) {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "the server started");
    let http = HttpSink::start().await;
    http.answer(500);
    let doc = good(&http, dead_port());
    let answer = client.post(format!("{base}/api/alerts/configure")).json(&doc).send().await.expect("sent");
    assert_eq!(answer.status().as_u16(), 200);
    let _ = client.post(format!("{base}/api/alert/test")).json(&json!({})).send().await.expect("sent");
    let body =
        serde_json::to_vec(&Run::new(3, minutes_ago(5)).at("completed", Some("failure"), 60).payload())
            .expect("json");
    let status =
        crate::helpers::deliver_to(&client, &base, "workflow_run", &uuid::Uuid::new_v4().to_string(), &body)
            .await;
    assert_eq!(status, 202);
    // Wait for the retries to end in `failed`.
    for _ in 0..100 {
        let list: Value = client
            .get(format!("{base}/api/alerts?status=failed"))
            .send()
            .await
            .expect("sent")
            .json()
            .await
            .expect("json");
        if list["total"] == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log_path).expect("log");
    assert!(text.contains("alert failed"), "the failures were logged: {text}");
    assert_no_secret(&text);
}

mod alerts_secrets_never_appear_in_log_lines {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        logs_without_secrets(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        logs_without_secrets(Backend::Postgres).await;
    }
}
