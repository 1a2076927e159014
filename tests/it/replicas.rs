//! Several replicas on one PostgreSQL database: change events cross
//! processes, concurrent shuffled deliveries converge to the sequential
//! answer, and an outage is answered 503 and recovered from.

use std::time::Duration;

use crate::helpers::{Backend, ProcessReplica, TestApp, deliver_to, snapshot, wait_for_event};
use crate::payloads::{Run, job_payload, minutes_ago};
use crate::{on_both_backends, on_postgres};

async fn open_events(base: &str) -> reqwest::Response {
    let response = reqwest::Client::new().get(format!("{base}/api/events")).send().await.expect("events");
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap_or("").starts_with("text/event-stream"));
    response
}

on_both_backends! {
    async fn the_event_stream_carries_committed_builds_and_jobs(app: TestApp) {
        let mut stream = open_events(&app.base).await;
        let run = Run::new(8101, minutes_ago(3));
        app.deliver_json("workflow_run", &run.at("in_progress", None, 5).payload(), "stored").await;
        let (_, build) = wait_for_event(&mut stream, Duration::from_secs(5), |name, data| {
            name == "build" && data["external_id"] == "8101"
        })
        .await
        .expect("build event");
        assert_eq!(build["status"], "running");
        let job = job_payload(81011, &run, "in_progress", None, minutes_ago(3), minutes_ago(2), None);
        app.deliver_json("workflow_job", &job, "stored").await;
        let (_, job) = wait_for_event(&mut stream, Duration::from_secs(5), |name, data| {
            name == "job" && data["external_id"] == "81011"
        })
        .await
        .expect("job event");
        assert_eq!(job["build_id"], build["id"]);
    }
}

on_postgres! {
    async fn a_change_stored_through_another_process_reaches_a_subscriber_here(app: TestApp) {
        let other = ProcessReplica::start(&app.database_url).await;
        let mut stream = open_events(&app.base).await;
        let run = Run::new(8201, minutes_ago(2)).at("completed", Some("failure"), 42);
        let body = serde_json::to_vec(&run.payload()).expect("json");
        let client = reqwest::Client::new();
        assert_eq!(deliver_to(&client, &other.base, "workflow_run", "cross-1", &body).await, 202);
        let (_, build) = wait_for_event(&mut stream, Duration::from_secs(5), |name, data| {
            name == "build" && data["external_id"] == "8201"
        })
        .await
        .expect("the event crossed processes");
        assert_eq!(build["status"], "failed");
        assert_eq!(build["duration_seconds"], 42);
    }

    async fn two_replica_processes_converge_to_the_sequential_answer(app: TestApp) {
        // `app` only owns the database; both replicas are separate processes.
        let (first, other) =
            tokio::join!(ProcessReplica::start(&app.database_url), ProcessReplica::start(&app.database_url));
        let unique = scenario();
        // Every fourth delivery is sent again with the same GUID.
        let mut all: Vec<(String, String, Vec<u8>)> = unique.clone();
        all.extend(unique.iter().step_by(4).cloned());
        shuffle(&mut all, 0x5eed);
        assert!(all.len() >= 2000, "{} deliveries", all.len());

        let bases = [first.base.clone(), other.base.clone()];
        let chunks: Vec<Vec<(String, String, Vec<u8>)>> =
            (0..8).map(|c| all.iter().skip(c).step_by(8).cloned().collect()).collect();
        let mut clients = Vec::new();
        for (c, chunk) in chunks.into_iter().enumerate() {
            let bases = bases.clone();
            clients.push(tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut statuses = Vec::new();
                for (i, (event, guid, body)) in chunk.iter().enumerate() {
                    let base = &bases[(c + i) % 2];
                    statuses.push(deliver_to(&client, base, event, guid, body).await);
                }
                statuses
            }));
        }
        for client in clients {
            for status in client.await.expect("client") {
                assert_eq!(status, 202);
            }
        }

        // The same unique deliveries, one by one in order, on a fresh database.
        let reference = TestApp::spawn(Backend::Sqlite).await.expect("sqlite");
        let client = reqwest::Client::new();
        for (event, guid, body) in &unique {
            assert_eq!(deliver_to(&client, &reference.base, event, guid, body).await, 202);
        }
        // Without `failures`: the `failure-reasons` job (every minute, on
        // each process's own clock) gives failed jobs their reasons, so on
        // a loaded machine, where the replicas' deliveries take over a
        // minute, they have reasons the quicker reference has not yet; the
        // reasons have their own tests.
        let without_failures = |mut builds: Vec<serde_json::Value>| {
            for build in &mut builds {
                build.as_object_mut().expect("object").remove("failures");
            }
            builds
        };
        let expected = without_failures(snapshot(&reference, false).await);
        let got = without_failures(snapshot(&app, false).await);
        assert_eq!(got.len(), expected.len());
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!(g, e);
        }
        let store = cicd_dashboard::store::Store::connect(&app.database_url, &Default::default()).await.expect("store");
        assert_eq!(store.deliveries().delivery_count(None).await.expect("count"), unique.len() as i64, "each GUID stored once");
        store.close().await;
    }

    async fn a_database_outage_is_503_and_ingest_resumes_after_it(app: TestApp) {
        let proxy = Proxy::start().await;
        let mut url = url::Url::parse(&app.database_url).expect("url");
        url.set_port(Some(proxy.port)).expect("port");
        let replica = TestApp::spawn_replica_with(&app, url.as_str(), |settings| {
            settings.database.db_acquire_timeout = 1;
        })
        .await;
        let run = Run::new(8301, minutes_ago(4));
        replica.deliver_json("workflow_run", &run.at("queued", None, 0).payload(), "stored").await;

        proxy.set_open(false);
        let started = std::time::Instant::now();
        let body = serde_json::to_vec(&run.at("completed", Some("success"), 30).payload()).expect("json");
        let status = deliver_to(&replica.client, &replica.base, "workflow_run", "outage-1", &body).await;
        assert_eq!(status, 503);
        let (health, answer) = replica.get("/health").await;
        assert_eq!(health, 503);
        assert_eq!(answer["database"], "error");
        let (ready, answer) = replica.get("/ready").await;
        assert_eq!((ready, answer["ready"].clone()), (503, serde_json::Value::Bool(false)));
        let (list, problem) = replica.get("/api/builds").await;
        assert_eq!(list, 503, "{problem}");
        assert_eq!(problem["status"], 503);
        assert!(started.elapsed() < Duration::from_secs(10), "answers came fast: {:?}", started.elapsed());

        proxy.set_open(true);
        let mut accepted = false;
        for _ in 0..50 {
            if deliver_to(&replica.client, &replica.base, "workflow_run", "outage-1", &body).await == 202 {
                accepted = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(accepted, "ingest resumed by itself");
        let builds = replica.builds().await;
        assert_eq!(builds[0]["status"], "success");
    }
}

/// 180 runs (every tenth a second attempt), each queued → in_progress →
/// completed, with two jobs each queued → in_progress → completed: 1 620
/// unique deliveries with distinct timestamps per state.
fn scenario() -> Vec<(String, String, Vec<u8>)> {
    let base = minutes_ago(24 * 60);
    let mut out = Vec::new();
    for r in 0..180_i64 {
        let mut run = Run::new(60_000 + r, base + chrono::Duration::minutes(r));
        run.repo = format!("rep-org/repo-{}", r % 7);
        if r % 10 == 0 {
            run.attempt = 2;
        }
        let conclusion = ["success", "failure", "cancelled", "success"][(r % 4) as usize];
        for (state, conclusion, secs) in
            [("queued", None, 0), ("in_progress", None, 10), ("completed", Some(conclusion), 100 + r)]
        {
            let body = serde_json::to_vec(&run.at(state, conclusion, secs).payload()).expect("json");
            out.push(("workflow_run".to_owned(), format!("run-{r}-{state}"), body));
        }
        let s = |secs: i64| run.started_at + chrono::Duration::seconds(secs);
        for j in 0..2_i64 {
            let id = (60_000 + r) * 10 + j;
            let done = if j == 0 { "success" } else { "failure" };
            let states = [
                job_payload(id, &run, "queued", None, s(5), s(5), None),
                job_payload(id, &run, "in_progress", None, s(5), s(20 + j), None),
                job_payload(id, &run, "completed", Some(done), s(5), s(20 + j), Some(s(60 + j))),
            ];
            for (k, payload) in states.iter().enumerate() {
                out.push((
                    "workflow_job".to_owned(),
                    format!("job-{id}-{k}"),
                    serde_json::to_vec(payload).expect("json"),
                ));
            }
        }
    }
    out
}

/// Deterministic Fisher–Yates shuffle (a small LCG; no randomness needed).
fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed;
    for i in (1..items.len()).rev() {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        items.swap(i, (state >> 33) as usize % (i + 1));
    }
}

/// A TCP forwarder to PostgreSQL that the test can cut and restore.
struct Proxy {
    port: u16,
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
    generation: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
}

impl Proxy {
    async fn start() -> Proxy {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let open = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let generation = std::sync::Arc::new(tokio::sync::watch::channel(0_u64).0);
        let (flag, cut) = (open.clone(), generation.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { return };
                if !flag.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let mut cut = cut.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect("127.0.0.1:5432").await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy { port, open, generation }
    }

    /// Closed: existing connections are cut and new ones refused.
    fn set_open(&self, open: bool) {
        self.open.store(open, std::sync::atomic::Ordering::SeqCst);
        if !open {
            self.generation.send_modify(|g| *g += 1);
        }
    }
}
