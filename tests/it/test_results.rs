//! `POST /api/test-results` over HTTP: every fixture dialect read back,
//! gzip and multipart bodies, idempotent re-uploads, hostile files refused
//! with nothing stored, size and content-type refusals, the write role, and
//! an upload that arrives before its run's webhook.

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::Value;

use crate::helpers::{TestApp, fixture_bytes};
use crate::on_both_backends;
use crate::payloads::{Run, minutes_ago};

pub const QUERY: &str = "repo=octo-org/app&run_id=4242&attempt=1&job=unit%20tests";

/// Posts `body` as `content_type` to the upload endpoint with the admin
/// token (admin ⊇ write); answers the status and the JSON.
pub async fn upload(app: &TestApp, query: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let response = app
        .admin
        .post(app.url(&format!("/api/test-results?{query}")))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("request sent");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).expect("compress");
    encoder.finish().expect("compress")
}

pub fn junit(name: &str) -> Vec<u8> {
    fixture_bytes(&format!("junit/{name}"))
}

/// `[passed, failed, errored, skipped]` of one answered file.
fn counts(file: &Value) -> [i64; 4] {
    ["passed", "failed", "errored", "skipped"].map(|k| file[k].as_i64().expect("count"))
}

/// The build ids of stored attempts.
async fn build_count(app: &TestApp) -> usize {
    app.builds().await.len()
}

on_both_backends! {
    async fn every_dialect_uploads_and_reads_back(app: TestApp) {
        // Outcome counts [passed, failed, errored, skipped] as the reader's
        // unit tests worked them out from each fixture.
        let dialects: [(&str, [i64; 4]); 9] = [
            ("maven-surefire.errors-failures.xml", [2, 2, 5, 0]),
            ("maven-surefire.flaky.xml", [1, 0, 0, 0]),
            ("maven-surefire.rerun-failure.xml", [0, 1, 0, 0]),
            ("pytest.skipped.xml", [10, 0, 0, 4]),
            ("jest-junit.failures.xml", [1, 4, 0, 1]),
            ("go-junit-report.xml", [2, 1, 0, 2]),
            ("python-unittest.skipped-error.xml", [4, 1, 1, 2]),
            ("nested-testsuites.xml", [2, 0, 1, 0]),
            // One test case twice in the file: two executions of one test.
            ("dotnet-junit-testlogger.xml", [5, 4, 0, 0]),
        ];
        let mut build_id = Value::Null;
        for (index, (name, expected)) in dialects.iter().enumerate() {
            let query = format!("repo=octo-org/app&run_id=7&job=dialect{index}");
            let (status, answer) = upload(&app, &query, "application/xml", junit(name)).await;
            assert_eq!(status, 201, "{name}: {answer}");
            let file = &answer["files"][0];
            assert_eq!(counts(file), *expected, "{name}: {answer}");
            assert_eq!(file["cases"], expected.iter().sum::<i64>(), "{name}");
            assert_eq!(file["outcome"], "applied");
            build_id = answer["build_id"].clone();
        }
        let (status, tests) = app.get(&format!("/api/builds/{build_id}/tests")).await;
        assert_eq!(status, 200, "{tests}");
        let jobs = tests["jobs"].as_array().expect("jobs");
        assert_eq!(jobs.len(), 9);
        for (index, (name, [passed, failed, errored, skipped])) in dialects.iter().enumerate() {
            let job = jobs.iter().find(|j| j["job_name"] == format!("dialect{index}")).expect("job");
            assert_eq!([&job["passed"], &job["failed"], &job["errored"], &job["skipped"]], [passed, failed, errored, skipped], "{name}");
            assert_eq!(job["failed_tests"].as_array().expect("failed").len() as i64, failed + errored, "{name}");
        }
        // The Surefire rerun failure keeps its message and type as text.
        let rerun = jobs.iter().find(|j| j["job_name"] == "dialect2").expect("job");
        assert_eq!(rerun["failed_tests"][0]["message"], "built to fail");
        assert_eq!(rerun["failed_tests"][0]["outcome"], "failed");
        // The nested suites' set-up error is a test of its suite.
        let nested = jobs.iter().find(|j| j["job_name"] == "dialect7").expect("job");
        assert_eq!(nested["failed_tests"][0]["classname"], "test.3rdlevel");
        assert_eq!(nested["failed_tests"][0]["outcome"], "errored");
        assert_eq!(nested["failed_tests"][0]["message"], "bla bla");
        // .NET: the CR LF of the message kept as text.
        let dotnet = jobs.iter().find(|j| j["job_name"] == "dialect8").expect("job");
        let messages: Vec<&Value> = dotnet["failed_tests"].as_array().expect("failed").iter().map(|t| &t["message"]).collect();
        assert!(messages.contains(&&Value::from("  Expected: 8\r\n  But was:  0\r\n")), "{messages:?}");
    }

    async fn gzip_bodies_by_header_and_by_magic_number(app: TestApp) {
        let zipped = gzip(&junit("pytest.skipped.xml"));
        let response = app
            .admin
            .post(app.url(&format!("/api/test-results?{QUERY}")))
            .header("content-type", "application/xml")
            .header("content-encoding", "gzip")
            .body(zipped.clone())
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status().as_u16(), 201);
        let answer: Value = response.json().await.expect("json");
        assert_eq!(counts(&answer["files"][0]), [10, 0, 0, 4]);
        // The same report by magic number (no header) is the same file: a duplicate, answered 200.
        let (status, again) = upload(&app, QUERY, "text/xml", zipped).await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(again["files"][0]["outcome"], "duplicate");
        assert_eq!(again["files"][0]["digest"], answer["files"][0]["digest"]);
    }

    async fn multipart_with_two_files_and_idempotent_reuploads(app: TestApp) {
        let form = || {
            reqwest::multipart::Form::new()
                .part("report", reqwest::multipart::Part::bytes(junit("go-junit-report.xml")).file_name("go.xml"))
                .part("report", reqwest::multipart::Part::bytes(gzip(&junit("jest-junit.failures.xml"))).file_name("jest.xml.gz"))
        };
        let send = |form: reqwest::multipart::Form| {
            app.admin.post(app.url(&format!("/api/test-results?{QUERY}"))).multipart(form).send()
        };
        let response = send(form()).await.expect("sent");
        assert_eq!(response.status().as_u16(), 201);
        let answer: Value = response.json().await.expect("json");
        let files = answer["files"].as_array().expect("files");
        assert_eq!(files.len(), 2);
        assert_eq!(files[0]["file"], "go.xml");
        assert_eq!(counts(&files[0]), [2, 1, 0, 2]);
        assert_eq!(files[1]["file"], "jest.xml.gz");
        assert_eq!(counts(&files[1]), [1, 4, 0, 1]);
        // Again: both duplicates, nothing counted twice.
        let again: Value = send(form()).await.expect("sent").json().await.expect("json");
        assert!(again["files"].as_array().expect("files").iter().all(|f| f["outcome"] == "duplicate"), "{again}");
        let (_, tests) = app.get(&format!("/api/builds/{}/tests", answer["build_id"])).await;
        let job = &tests["jobs"][0];
        // go (2 passed, 1 failed, 2 skipped) + jest (1, 4, 0, 1) once each.
        assert_eq!([&job["passed"], &job["failed"], &job["errored"], &job["skipped"]], [3, 5, 0, 3], "{tests}");
        assert_eq!(job["failed_tests"].as_array().expect("failed").len(), 5);
    }

    async fn hostile_and_broken_files_are_refused_with_nothing_stored(app: TestApp) {
        let bomb = br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><testsuite name="s"><testcase name="&lol2;"/></testsuite>"#.to_vec();
        let external = br#"<?xml version="1.0"?><!DOCTYPE t [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><testsuite name="s"><testcase name="&xxe;"/></testsuite>"#.to_vec();
        let mut not_utf8 = b"<testsuite name=\"s\"><testcase name=\"caf".to_vec();
        not_utf8.extend_from_slice(&[0xe9, b'"', b'/', b'>']);
        not_utf8.extend_from_slice(b"</testsuite>");
        let full = junit("pytest.skipped.xml");
        let truncated = full[..full.len() / 2].to_vec();
        for (what, body) in [("bomb", bomb), ("external entity", external), ("not UTF-8", not_utf8), ("truncated", truncated)] {
            // A good file first in the same upload: it must not be stored either.
            let form = reqwest::multipart::Form::new()
                .part("a", reqwest::multipart::Part::bytes(junit("go-junit-report.xml")).file_name("good.xml"))
                .part("b", reqwest::multipart::Part::bytes(body).file_name("bad.xml"));
            let response = app.admin.post(app.url(&format!("/api/test-results?{QUERY}"))).multipart(form).send().await.expect("sent");
            assert_eq!(response.status().as_u16(), 422, "{what}");
            assert_eq!(response.headers()["content-type"], "application/problem+json");
            let problem: Value = response.json().await.expect("json");
            let detail = problem["detail"].as_str().expect("detail");
            assert!(detail.starts_with("bad.xml: ") && detail.contains("byte"), "{what}: {detail}");
        }
        assert_eq!(build_count(&app).await, 0, "nothing stored, not even the attempt");
    }

    async fn oversized_bodies_types_and_missing_identification(app: TestApp) {
        // Declared over 25 MiB: 413 before the body is read.
        let response = app
            .admin
            .post(app.url(&format!("/api/test-results?{QUERY}")))
            .header("content-type", "application/xml")
            .header("content-length", (1u64 << 30).to_string())
            .body(vec![b' '; 16])
            .send()
            .await;
        // The server may answer and close before the client finishes sending.
        if let Ok(response) = response {
            assert_eq!(response.status().as_u16(), 413);
        }
        // Streamed past 25 MiB without a declared length: 413.
        let chunks = futures_util::stream::iter((0..27).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1 << 20])));
        let response = app
            .admin
            .post(app.url(&format!("/api/test-results?{QUERY}")))
            .header("content-type", "application/xml")
            .body(reqwest::Body::wrap_stream(chunks))
            .send()
            .await;
        // Refused while the client still sends: the answer, or a closed connection.
        if let Ok(response) = response {
            assert_eq!(response.status().as_u16(), 413);
        }
        // A gzip bomb: 300 MiB of spaces inside a report, under 1 MiB compressed.
        let mut xml = b"<testsuite name=\"s\">".to_vec();
        xml.resize(xml.len() + (300 << 20), b' ');
        let bomb = gzip(&xml);
        drop(xml);
        let (status, problem) = upload(&app, QUERY, "application/gzip", bomb).await;
        assert_eq!(status, 413, "{problem}");
        assert!(problem["detail"].as_str().expect("detail").contains("decompression bomb"), "{problem}");
        let (status, problem) = upload(&app, QUERY, "application/json", b"{}".to_vec()).await;
        assert_eq!(status, 415, "{problem}");
        let (status, problem) = upload(&app, "repo=octo-org/app&run_id=1", "application/xml", junit("go-junit-report.xml")).await;
        assert_eq!(status, 400, "{problem}");
        assert!(problem["detail"].as_str().expect("detail").contains("job"), "{problem}");
        let (status, _) = upload(&app, &format!("{QUERY}&attempt=0"), "application/xml", junit("go-junit-report.xml")).await;
        assert_eq!(status, 422);
        let (status, _) = upload(&app, &format!("{QUERY}&provider=jenkins-9000"), "application/xml", junit("go-junit-report.xml")).await;
        assert_eq!(status, 422);
        // A misspelt parameter would file the report elsewhere: refused.
        let (status, problem) = upload(&app, &format!("{QUERY}&atempt=2"), "application/xml", junit("go-junit-report.xml")).await;
        assert_eq!(status, 422, "{problem}");
        let detail = problem["detail"].as_str().expect("detail");
        assert!(detail.contains("\"atempt\"") && detail.contains("attempt, job"), "{problem}");
        assert_eq!(build_count(&app).await, 0);
    }

    async fn the_write_role_is_required(app: TestApp) {
        let response = app
            .client
            .post(app.url(&format!("/api/test-results?{QUERY}")))
            .header("content-type", "application/xml")
            .body(junit("go-junit-report.xml"))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status().as_u16(), 401);
        assert_eq!(build_count(&app).await, 0);
    }

    async fn the_ingest_token_uploads_but_opens_no_incident(app: TestApp) {
        // CI senders may use the server's ingest token, as for build events.
        let response = app
            .client
            .post(app.url(&format!("/api/test-results?{QUERY}")))
            .bearer_auth(crate::helpers::TOKEN)
            .header("content-type", "application/xml")
            .body(junit("go-junit-report.xml"))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status().as_u16(), 201);
        // Elsewhere it is refused with what to use instead, not as unknown.
        let response = app
            .client
            .post(app.url("/api/incidents"))
            .bearer_auth(crate::helpers::TOKEN)
            .json(&serde_json::json!({"id": "i-1", "repository": "octo-org/app"}))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status().as_u16(), 403);
        let problem: Value = response.json().await.expect("problem");
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("ingest token") && detail.contains("token create --role write"), "{problem}");
    }

    async fn an_upload_before_its_run_then_the_run_is_one_build(app: TestApp) {
        let (status, answer) = upload(&app, "repo=octo-org/app&run_id=5150&attempt=1&job=test", "application/xml", junit("go-junit-report.xml")).await;
        assert_eq!(status, 201, "{answer}");
        let run = Run::new(5150, minutes_ago(10));
        app.deliver_json("workflow_run", &run.at("completed", Some("failure"), 300).payload(), "stored").await;
        let builds = app.builds().await;
        assert_eq!(builds.len(), 1, "{builds:?}");
        assert_eq!(builds[0]["id"], answer["build_id"]);
        assert_eq!(builds[0]["status"], "failed");
        assert_eq!(builds[0]["workflow"], "CI");
        let (_, tests) = app.get(&format!("/api/builds/{}/tests", answer["build_id"])).await;
        assert_eq!(tests["jobs"][0]["failed"], 1);
    }
}
