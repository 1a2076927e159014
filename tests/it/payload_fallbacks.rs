//! Fields a sender may leave out of a `workflow_run` delivery: the actor
//! falls back to `sender.login`, the commit to `workflow_run.head_commit.id`
//! (the bundled example payload with the primary fields removed).

use serde_json::Value;

use crate::helpers::fixture_bytes;
use crate::on_both_backends;

fn example() -> Value {
    serde_json::from_slice(&fixture_bytes("github/webhooks/workflow_run.completed.json")).expect("json")
}

on_both_backends! {
    async fn actor_and_commit_fall_back_to_sender_and_head_commit(app: TestApp) {
        let mut payload = example();
        let run = payload["workflow_run"].as_object_mut().expect("object");
        for field in ["head_sha", "actor", "triggering_actor"] {
            run.remove(field);
        }
        payload["sender"]["login"] = "the-sender".into();
        payload["workflow_run"]["head_commit"]["id"] = "0123456789abcdef0123456789abcdef01234567".into();
        app.deliver_json("workflow_run", &payload, "stored").await;
        let builds = app.builds().await;
        assert_eq!(builds[0]["triggered_by"], "the-sender");
        assert_eq!(builds[0]["commit_sha"], "0123456789abcdef0123456789abcdef01234567");
    }

    async fn the_primary_fields_win_when_present(app: TestApp) {
        let mut payload = example();
        payload["sender"]["login"] = "the-sender".into();
        payload["workflow_run"]["head_commit"]["id"] = "ffffffffffffffffffffffffffffffffffffffff".into();
        app.deliver_json("workflow_run", &payload, "stored").await;
        let builds = app.builds().await;
        assert_eq!(builds[0]["triggered_by"], "Codertocat");
        assert_eq!(builds[0]["commit_sha"], "3484a3fb816e0859fd6e1cea078d76385ff50625");
    }
}
