//! Alert rules with a `provider` filter: a rule for `gitlab` hears GitLab
//! pipelines only, a rule without one hears every provider; an unknown
//! provider kind is a 422 naming the field, and nothing is stored.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::alert_receivers::{FIVE_SECONDS, HttpSink, QUIET, configure, configure_ok};
use crate::gitlab_payloads::{HookJob, Pipeline, deliver};
use crate::on_both_backends;
use crate::payloads::{Run, minutes_ago};

fn config(http: &HttpSink, gitlab_rule: Value) -> Value {
    json!({
        "channels": [
            {"id": "a", "type": "webhook", "url": http.url("/a")},
            {"id": "b", "type": "webhook", "url": http.url("/b")}
        ],
        "rules": [gitlab_rule, {"id": "every-failure", "kind": "build_failed", "channels": ["b"]}]
    })
}

on_both_backends! {
    // By hand: one failed GitHub run and one failed GitLab pipeline, both
    // on `main`. The `gitlab` rule (channel a) fires for the pipeline only:
    // 1 hit; the rule without a provider (channel b) for both: 2 hits.
    async fn a_rule_s_provider_filter_keeps_other_providers_out(app: TestApp) {
        let http = HttpSink::start().await;
        let rule = json!({"id": "gitlab-failures", "kind": "build_failed", "provider": "gitlab", "channels": ["a"]});
        let stored = configure_ok(&app, &config(&http, rule)).await;
        assert_eq!(stored["rules"][0]["provider"], "gitlab", "{stored}");

        app.deliver_json("workflow_run", &Run::new(1, minutes_ago(20)).at("completed", Some("failure"), 60).payload(), "stored").await;
        let created = Utc::now() - Duration::minutes(10);
        let pipeline = Pipeline { id: 5_100, project: "grp/app", created };
        let job = HookJob { id: 51_001, name: "test", status: "failed", created, started: Some(created), finished: Some(created + Duration::seconds(60)), retries_count: 0, allow_failure: false };
        deliver(&app, "Pipeline Hook", &pipeline.hook("failed", Some(created + Duration::seconds(60)), &[&job]), "stored").await;

        http.wait_for("/b", 2, FIVE_SECONDS).await;
        let hits = http.wait_for("/a", 1, FIVE_SECONDS).await;
        tokio::time::sleep(QUIET).await;
        assert_eq!(http.hits("/a").len(), 1, "the GitHub failure is not the gitlab rule's");
        assert_eq!(hits[0].json()["build"]["repo"], "grp/app", "{}", hits[0].json());
        assert_eq!(http.hits("/b").len(), 2);
    }

    async fn an_unknown_provider_in_a_rule_is_refused(app: TestApp) {
        let http = HttpSink::start().await;
        let (_, before) = app.get("/api/alerts/configure").await;
        let rule = json!({"id": "r", "kind": "build_failed", "provider": "gitlub", "channels": ["a"]});
        let (status, answer) = configure(&app, &config(&http, rule)).await;
        assert_eq!(status, 422, "{answer}");
        let errors = answer["errors"].as_array().expect("errors");
        let named = errors.iter().find(|e| e["field"] == "rules[0].provider").expect("the field is named");
        assert!(named.to_string().contains("gitlub") && named.to_string().contains("gitlab"), "{named}");
        let (_, after) = app.get("/api/alerts/configure").await;
        assert_eq!(before, after, "nothing was stored");
    }
}
