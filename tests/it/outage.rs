//! A PostgreSQL database that refuses connections (`ALLOW_CONNECTIONS
//! false`, its backends terminated): the webhook and the read API answer 503
//! with `Retry-After`, the webhook within its documented bound (the acquire
//! timeout + 1 s), and once the database is back nothing was lost.

use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::Connection;

use crate::helpers::{Backend, TestApp};
use crate::payloads::{Run, minutes_ago};

/// `--db-acquire-timeout` of the test server, seconds.
const ACQUIRE_TIMEOUT: u64 = 2;

async fn admin(admin_url: &str, sql: String) {
    let mut conn = sqlx::PgConnection::connect(admin_url).await.expect("admin connection");
    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await.expect("admin statement");
    conn.close().await.expect("close");
}

fn run_body(id: i64) -> Vec<u8> {
    serde_json::to_vec(&Run::new(id, minutes_ago(5)).payload()).expect("json")
}

fn assert_unavailable(status: u16, headers: &reqwest::header::HeaderMap, what: &str) {
    assert_eq!(status, 503, "{what}");
    let retry: u64 =
        headers.get("retry-after").expect("Retry-After").to_str().expect("ascii").parse().expect("secs");
    assert!(retry >= 1, "{what}");
    assert_eq!(headers["content-type"], "application/problem+json", "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_refusing_connections_is_503_with_retry_after_and_nothing_is_lost() {
    let Some(app) =
        TestApp::spawn_with(Backend::Postgres, |s| s.database.db_acquire_timeout = ACQUIRE_TIMEOUT).await
    else {
        return;
    };
    let (admin_url, name) =
        app.postgres_database().map(|(a, n)| (a.to_owned(), n.to_owned())).expect("postgres");
    let before = app.deliver_as("workflow_run", "before-outage", &run_body(1)).await;
    assert_eq!(before.status().as_u16(), 202);

    admin(&admin_url, format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).await;
    admin(
        &admin_url,
        format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"),
    )
    .await;

    // Deliveries during the outage, some at once (they queue behind each
    // other in the group commit): each 503, within the bound.
    let guids = eight_deliveries_are_503_within_the_bound(&app, "during-outage").await;
    for client in [&app.client, &app.admin] {
        let response = client.get(app.url("/api/builds")).send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        assert_unavailable(status, &headers, "/api/builds");
    }

    admin(&admin_url, format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).await;
    // Recovery: the first delivery that gets through is stored, as is each
    // one refused during the outage (none of them was committed).
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut recovered = false;
    while Instant::now() < deadline {
        let response = app.deliver_as("workflow_run", &guids[0], &run_body(2)).await;
        if response.status().as_u16() == 202 {
            let answer: Value = response.json().await.expect("json");
            assert_eq!(answer["outcome"], "stored", "nothing was committed during the outage");
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(recovered, "the webhook recovers once the database accepts connections again");
    for (guid, id) in guids.iter().zip(2..).skip(1) {
        let response = app.deliver_as("workflow_run", guid, &run_body(id)).await;
        let answer: Value = response.json().await.expect("json");
        assert_eq!(answer["outcome"], "stored", "{guid}");
    }
    let again = app.deliver_as("workflow_run", "before-outage", &run_body(1)).await;
    let answer: Value = again.json().await.expect("json");
    assert_eq!(answer["outcome"], "duplicate", "the delivery before the outage is still there");
    let mut ids: Vec<String> =
        app.builds().await.iter().map(|b| b["external_id"].as_str().unwrap_or_default().to_owned()).collect();
    ids.sort_by_key(|id| id.parse::<i64>().unwrap_or_default());
    assert_eq!(ids, (1..=9).map(|id| id.to_string()).collect::<Vec<_>>());
}

/// A TCP forwarder to PostgreSQL on a fixed port that the test can stop
/// (existing connections cut, the port closed: connecting is refused, as
/// with a stopped server) and start again on the same port.
struct StoppableProxy {
    port: u16,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl StoppableProxy {
    async fn start(port: u16) -> StoppableProxy {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind the proxy");
        let port = listener.local_addr().expect("addr").port();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                connections.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect("127.0.0.1:5432").await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        StoppableProxy { port, task: Some(task) }
    }

    /// Cuts every connection (the JoinSet is dropped with the task) and closes the port.
    async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_during_a_stopped_database_are_answered_503_within_the_bound() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else { return };
    let mut proxy = StoppableProxy::start(0).await;
    let mut url = url::Url::parse(&app.database_url).expect("url");
    url.set_port(Some(proxy.port)).expect("port");
    let server =
        TestApp::spawn_replica_with(&app, url.as_str(), |s| s.database.db_acquire_timeout = ACQUIRE_TIMEOUT)
            .await;
    assert_eq!(server.deliver_as("workflow_run", "before-stop", &run_body(1)).await.status().as_u16(), 202);

    proxy.stop().await;
    // Connecting is refused now: the pool retries until the acquire timeout.
    // Deliveries arriving together queue behind one another in the group
    // commit; each must still hear 503 within the bound, not one acquire
    // timeout per delivery ahead of it.
    let guids = eight_deliveries_are_503_within_the_bound(&server, "while-stopped").await;

    let _proxy = StoppableProxy::start(proxy.port).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.deliver_as("workflow_run", &guids[0], &run_body(2)).await.status().as_u16() != 202 {
        assert!(Instant::now() < deadline, "ingest resumes once the database is back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (guid, id) in guids.iter().zip(2..).skip(1) {
        let answer: Value =
            server.deliver_as("workflow_run", guid, &run_body(id)).await.json().await.expect("json");
        assert_eq!(answer["outcome"], "stored", "{guid}: nothing of it was committed during the outage");
    }
    assert_eq!(app.builds().await.len(), 9);
}

/// Eight deliveries sent at once (they queue behind each other in the group
/// commit) are each answered 503 with `Retry-After`, within the bound;
/// answers their GUIDs.
async fn eight_deliveries_are_503_within_the_bound(app: &TestApp, prefix: &str) -> Vec<String> {
    let bound = Duration::from_secs(ACQUIRE_TIMEOUT + 1);
    let guids: Vec<String> = (2..=9).map(|id| format!("{prefix}-{id}")).collect();
    let answers = futures_util::future::join_all(guids.iter().zip(2..).map(|(guid, id)| {
        let app = &app;
        async move {
            let started = Instant::now();
            let response = app.deliver_as("workflow_run", guid, &run_body(id)).await;
            (started.elapsed(), response)
        }
    }))
    .await;
    for (elapsed, response) in answers {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        assert_unavailable(status, &headers, &format!("webhook: {:?}", response.text().await));
        // A sanity bound only (not a timing test): well within twice the documented one.
        assert!(elapsed < 2 * bound, "answered after {elapsed:?}");
    }
    guids
}
