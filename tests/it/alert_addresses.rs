//! Alert URLs cannot reach the server's own network (SSRF): link-local and
//! metadata addresses never, loopback and private ones only with
//! `--alert-allow-private-addresses` — refused when configured (422 naming
//! the field) and again when sent, after the host name is resolved.

use serde_json::{Value, json};

use crate::alert_receivers::{HttpSink, configure, configure_ok};
use crate::helpers::TestApp;
use crate::on_both_backends;

fn webhook(url: &str) -> Value {
    json!({"channels": [{"id": "w", "type": "webhook", "url": url}]})
}

fn slack(url: &str) -> Value {
    json!({"channels": [{"id": "s", "type": "slack", "webhook_url": url}]})
}

async fn test_send(app: &TestApp) -> (u16, Value) {
    let response = app.admin.post(app.url("/api/alert/test")).json(&json!({})).send().await.expect("sent");
    (response.status().as_u16(), response.json().await.expect("json"))
}

on_both_backends! {
    async fn link_local_metadata_and_private_alert_urls_are_refused_at_configuration(app: TestApp) {
        // The test servers allow private addresses (their receivers are on
        // loopback); link-local and metadata stay refused even so.
        for (doc, field) in [
            (webhook("https://169.254.169.254/latest/meta-data/"), "channels[0].url"),
            (webhook("https://[fe80::1]/hook"), "channels[0].url"),
            (webhook("https://metadata.google.internal/computeMetadata/v1/"), "channels[0].url"),
            (slack("https://[::ffff:169.254.169.254]/services/x"), "channels[0].webhook_url"),
        ] {
            let (status, answer) = configure(&app, &doc).await;
            assert_eq!(status, 422, "{doc} → {answer}");
            let fields: Vec<&str> = answer["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
            assert_eq!(fields, [field], "{answer}");
        }
        configure_ok(&app, &webhook("https://10.0.0.1/hook")).await;

        // Without the setting, private and loopback addresses are refused too.
        let strict = TestApp::spawn_replica_with(&app, &app.database_url, |s| {
            s.limits.alert_allow_private_addresses = false;
        })
        .await;
        for url in ["https://10.0.0.1/hook", "https://192.168.1.10/hook", "http://127.0.0.1:9/hook", "http://localhost:9/hook", "https://[fd00::1]/hook"] {
            let (status, answer) = configure(&strict, &webhook(url)).await;
            assert_eq!(status, 422, "{url} → {answer}");
            assert_eq!(answer["errors"][0]["field"], "channels[0].url", "{answer}");
            assert!(answer["errors"][0]["message"].as_str().unwrap_or_default().contains("--alert-allow-private-addresses"), "{answer}");
        }
        configure_ok(&strict, &webhook("https://hooks.example.com/alerts")).await;
    }

    async fn a_stored_url_that_reaches_a_private_address_is_refused_when_sent(app: TestApp) {
        // Stored through a server that allows private addresses: a loopback
        // receiver by name and by address; both are reached from there.
        let sink = HttpSink::start().await;
        let port = sink.base.rsplit(':').next().expect("port").to_owned();
        let doc = json!({"channels": [
            {"id": "by-name", "type": "webhook", "url": format!("http://localhost:{port}/by-name")},
            {"id": "by-address", "type": "webhook", "url": sink.url("/by-address")}
        ]});
        configure_ok(&app, &doc).await;
        let (status, answer) = test_send(&app).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!((sink.hits("/by-name").len(), sink.hits("/by-address").len()), (1, 1));

        // A server without the setting refuses to send there: the name is
        // refused after resolution, the address before connecting.
        let strict = TestApp::spawn_replica_with(&app, &app.database_url, |s| {
            s.limits.alert_allow_private_addresses = false;
        })
        .await;
        let (status, answer) = test_send(&strict).await;
        assert_eq!(status, 502, "{answer}");
        for result in answer["results"].as_array().expect("results") {
            assert_eq!(result["ok"], false, "{result}");
            assert!(result["error"].as_str().unwrap_or_default().contains("loopback"), "{result}");
        }
        assert_eq!((sink.hits("/by-name").len(), sink.hits("/by-address").len()), (1, 1), "nothing more arrived");
    }
}
