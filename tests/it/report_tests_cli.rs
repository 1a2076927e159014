//! `cicd-dashboard report tests` (the real binary) against a real server:
//! a GitHub Actions step's environment, a directory of reports uploaded
//! gzip-compressed, a re-run step answered as duplicates, and each error
//! exit (2 nothing sent, 3 refused, 4 unreachable).

use std::process::{Command, Output};

use crate::helpers::{ADMIN_TOKEN, TestApp};
use crate::on_both_backends;
use crate::test_results::junit;

const GITHUB: &[(&str, &str)] = &[
    ("GITHUB_ACTIONS", "true"),
    ("GITHUB_REPOSITORY", "octo-org/app"),
    ("GITHUB_RUN_ID", "5150"),
    ("GITHUB_RUN_ATTEMPT", "1"),
    ("GITHUB_JOB", "test"),
];

/// Runs `report tests ARGS` with exactly `env` (nothing inherited), the
/// server's URL and `token`.
fn report_tests(app: &TestApp, env: &[(&str, &str)], token: &str, args: &[&str]) -> Output {
    tokio::task::block_in_place(|| {
        Command::new(env!("CARGO_BIN_EXE_cicd-dashboard"))
            .args(["report", "tests"])
            .args(args)
            .env_clear()
            .envs(env.iter().copied())
            .env("CICD_URL", &app.base)
            .env("CICD_INGEST_TOKEN", token)
            .output()
            .expect("run report tests")
    })
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

on_both_backends! {
    async fn a_github_actions_step_uploads_a_directory_of_reports(app: TestApp) {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("go")).expect("mkdir");
        std::fs::write(dir.path().join("jest.xml"), junit("jest-junit.failures.xml")).expect("write");
        std::fs::write(dir.path().join("go/report.xml"), junit("go-junit-report.xml")).expect("write");
        std::fs::write(dir.path().join("notes.txt"), "not a report").expect("write");
        let path = dir.path().to_str().expect("path");

        let out = report_tests(&app, GITHUB, ADMIN_TOKEN, &[path]);
        assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
        let stdout = text(&out.stdout);
        // go (2 passed, 1 failed, 2 skipped), jest (1 passed, 4 failed, 1 skipped).
        assert!(stdout.contains("applied:") && stdout.contains("report.xml (5 tests: 2 passed, 1 failed, 0 errored, 2 skipped)"), "{stdout}");
        assert!(stdout.contains("jest.xml (6 tests: 1 passed, 4 failed, 0 errored, 1 skipped)"), "{stdout}");
        assert!(stdout.contains("2 files for octo-org/app run 5150 attempt 1 job \"test\" (github)"), "{stdout}");

        let builds = app.builds().await;
        assert_eq!(builds.len(), 1, "{builds:?}");
        let (status, tests) = app.get(&format!("/api/builds/{}/tests", builds[0]["id"])).await;
        assert_eq!(status, 200, "{tests}");
        let job = &tests["jobs"][0];
        assert_eq!(job["job_name"], "test");
        assert_eq!([&job["passed"], &job["failed"], &job["errored"], &job["skipped"]], [3, 5, 0, 3], "{tests}");

        // The step re-run: every file is a duplicate, exit 0, nothing added.
        let again = report_tests(&app, GITHUB, ADMIN_TOKEN, &[path]);
        assert!(again.status.success(), "{}", text(&again.stderr));
        assert_eq!(text(&again.stdout).matches("duplicate:").count(), 2, "{}", text(&again.stdout));
        let (_, tests) = app.get(&format!("/api/builds/{}/tests", builds[0]["id"])).await;
        assert_eq!(tests["jobs"][0]["failed"], 5);
    }

    async fn one_file_of_one_test_is_counted_in_the_singular(app: TestApp) {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("one.xml");
        std::fs::write(&file, r#"<testsuite name="s" tests="1"><testcase classname="c" name="t"/></testsuite>"#)
            .expect("write");
        let out = report_tests(&app, GITHUB, ADMIN_TOKEN, &[file.to_str().expect("path")]);
        assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(stdout.contains("one.xml (1 test: 1 passed, 0 failed, 0 errored, 0 skipped)"), "{stdout}");
        assert!(stdout.contains("\n1 file for octo-org/app run 5150 attempt 1 job \"test\" (github)"), "{stdout}");
    }

    async fn report_tests_exits_with_a_reason(app: TestApp) {
        let dir = tempfile::tempdir().expect("tempdir");
        let good = dir.path().join("good.xml");
        std::fs::write(&good, junit("pytest.skipped.xml")).expect("write");
        let bad = dir.path().join("bad.xml");
        std::fs::write(&bad, "<testsuite><testcase name=\"x\"></testsuite>").expect("write");
        let (good, bad) = (good.to_str().expect("path"), bad.to_str().expect("path"));

        // Nothing detected, nothing given: exit 2, every missing field named.
        let out = report_tests(&app, &[], ADMIN_TOKEN, &[good]);
        assert_eq!(out.status.code(), Some(2));
        let err = text(&out.stderr);
        assert!(["--provider", "--repository", "--run-id", "--job"].iter().all(|f| err.contains(f)), "{err}");
        // No report file: exit 2.
        let empty = tempfile::tempdir().expect("tempdir");
        let out = report_tests(&app, GITHUB, ADMIN_TOKEN, &[empty.path().to_str().expect("path")]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains("no report file found"));
        assert!(app.builds().await.is_empty(), "nothing was sent");

        // A refused token: exit 3 with the server's reason.
        let out = report_tests(&app, GITHUB, "cicd_wrong", &[good]);
        assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains("401"), "{}", text(&out.stderr));

        // A broken file is refused (422, exit 3) and the good one is still stored.
        let out = report_tests(&app, GITHUB, ADMIN_TOKEN, &[bad, good]);
        assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
        let err = text(&out.stderr);
        assert!(err.contains("bad.xml") && err.contains("422") && err.contains("1 of 2 files refused"), "{err}");
        let stored = text(&out.stdout);
        assert!(stored.contains("applied: ") && stored.contains(good), "what got in is printed: {stored}");
        let builds = app.builds().await;
        assert_eq!(builds.len(), 1);
        let (_, tests) = app.get(&format!("/api/builds/{}/tests", builds[0]["id"])).await;
        assert_eq!(tests["jobs"][0]["job_name"], "test");

        // No server: retried, then exit 4.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr");
        let out = tokio::task::block_in_place(|| {
            Command::new(env!("CARGO_BIN_EXE_cicd-dashboard"))
                .args(["report", "tests", good, "--retries", "2", "--retry-delay-ms", "10"])
                .args(["--server", &format!("http://{closed}"), "--token", ADMIN_TOKEN])
                .env_clear()
                .envs(GITHUB.iter().copied())
                .output()
                .expect("run")
        });
        assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
        let err = text(&out.stderr);
        assert!(err.contains("cannot reach") && err.contains("after 3 attempts"), "{err}");
    }
}
