//! Rate limits and CORS as a browser or a flood meets them.

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends! {
    async fn a_burst_over_the_budget_gets_429_and_other_clients_do_not(app: TestApp) {
        // The test's own address is a trusted proxy, so X-Forwarded-For
        // names the client, as behind nginx.
        let server = TestApp::spawn_replica_with(&app, &app.database_url, |s| {
            s.api_rate_limit = 5;
            s.trusted_proxies = vec!["127.0.0.1/32".into()];
        })
        .await;
        let get = |client: &'static str| {
            server.client.get(server.url("/api/builds")).header("x-forwarded-for", client).send()
        };
        for _ in 0..5 {
            assert_eq!(get("203.0.113.10").await.expect("request").status(), 200);
        }
        let limited = get("203.0.113.10").await.expect("request");
        assert_eq!(limited.status(), 429);
        let retry: u64 = limited.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
        assert!((1..=60).contains(&retry), "{retry}");
        assert_eq!(limited.headers()["content-type"], "application/problem+json");
        let body: serde_json::Value = limited.json().await.expect("json");
        assert_eq!(body["status"], 429);
        // Another client has its own budget.
        assert_eq!(get("203.0.113.11").await.expect("request").status(), 200);
        // Probes are never limited.
        assert_eq!(server.client.get(server.url("/health")).header("x-forwarded-for", "203.0.113.10").send().await.expect("health").status(), 200);
    }

    async fn a_forwarded_address_from_an_untrusted_peer_is_ignored(app: TestApp) {
        let server = TestApp::spawn_replica_with(&app, &app.database_url, |s| s.api_rate_limit = 3).await;
        for i in 0..3 {
            let status = server.client.get(server.url("/api/builds")).header("x-forwarded-for", format!("198.51.100.{i}")).send().await.expect("request").status();
            assert_eq!(status, 200);
        }
        // Changing the header does not buy a new budget.
        let status = server.client.get(server.url("/api/builds")).header("x-forwarded-for", "198.51.100.99").send().await.expect("request").status();
        assert_eq!(status, 429);
    }

    async fn cors_answers_only_listed_origins(app: TestApp) {
        let server = TestApp::spawn_replica_with(&app, &app.database_url, |s| {
            s.cors_origins = vec!["https://ops.example.com".into()];
        })
        .await;
        let preflight = |origin: &'static str| {
            server
                .client
                .request(reqwest::Method::OPTIONS, server.url("/api/builds"))
                .header("origin", origin)
                .header("access-control-request-method", "GET")
                .header("access-control-request-headers", "authorization")
                .send()
        };
        let allowed = preflight("https://ops.example.com").await.expect("preflight");
        assert_eq!(allowed.headers().get("access-control-allow-origin").map(|v| v.as_bytes()), Some(&b"https://ops.example.com"[..]));
        assert!(allowed.headers().get("access-control-allow-credentials").is_none());
        let unknown = preflight("https://evil.example.net").await.expect("preflight");
        assert!(unknown.headers().get("access-control-allow-origin").is_none(), "{:?}", unknown.headers());
        // Without a list, no origin is allowed at all.
        let plain = app
            .client
            .request(reqwest::Method::OPTIONS, app.url("/api/builds"))
            .header("origin", "https://ops.example.com")
            .header("access-control-request-method", "GET")
            .send()
            .await
            .expect("preflight");
        assert!(plain.headers().get("access-control-allow-origin").is_none());
    }
}
