//! The command line as a new user meets it: commands that work on the
//! server's database refuse to create one, and start-up and connection
//! errors name what is wrong (address, role, host and port) once, with a
//! hint. Runs the real binary.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use sqlx::Connection;

use crate::helpers::{
    Backend, SECRET_KEY, TestApp, drop_postgres_database, new_postgres_database, postgres_admin_url,
};

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cicd-dashboard"))
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("CICD_BIND")
        .env_remove("GITHUB_API_URL")
        .env("CICD_SECRET_KEY", SECRET_KEY)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run the binary")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A loopback port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

#[test]
fn token_commands_refuse_to_create_a_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    for args in [
        &["token", "list"][..],
        &["token", "create", "--name", "ci", "--role", "read"],
        &["token", "revoke", "ci"],
        &["token", "list", "--database-url", "sqlite://./elsewhere/typo.db"],
        &["poll", "--repo", "o/r"],
        &["db", "copy", "--from", "sqlite://./missing.db", "--to", "sqlite://./target.db"],
    ] {
        let output = run(dir.path(), args);
        let text = stderr(&output);
        assert!(!output.status.success(), "{args:?}");
        assert!(text.contains("no database at ./"), "{args:?}: {text}");
        assert!(text.contains("--database-url"), "{args:?}: says how to point at the server's: {text}");
    }
    let left: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
    assert!(left.is_empty(), "nothing was created: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_commands_work_on_the_servers_database() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite");
    let dir = tempfile::tempdir().expect("tempdir");
    let url = app.database_url.clone();
    let output = tokio::task::block_in_place(|| {
        run(dir.path(), &["token", "create", "--name", "ci", "--role", "read", "--database-url", &url])
    });
    assert!(output.status.success(), "{}", stderr(&output));
    let listed = tokio::task::block_in_place(|| run(dir.path(), &["token", "list", "--database-url", &url]));
    assert!(String::from_utf8_lossy(&listed.stdout).contains("ci "), "{}", stderr(&listed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_postgresql_database_is_not_filled_by_a_token_command() {
    let Some((name, url)) = new_postgres_database("cicd_test_empty_").await else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let output =
        tokio::task::block_in_place(|| run(dir.path(), &["token", "list", "--database-url", url.as_str()]));
    let text = stderr(&output);
    assert!(!output.status.success());
    assert!(text.contains("holds no cicd-dashboard tables"), "{text}");
    let mut db = sqlx::PgConnection::connect(url.as_str()).await.expect("connect");
    let tables: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'")
        .fetch_one(&mut db)
        .await
        .expect("count");
    db.close().await.expect("close");
    drop_postgres_database(&name).await;
    assert_eq!(tables, 0, "no table was created");
}

#[test]
fn an_address_in_use_is_named_with_a_hint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = taken.local_addr().expect("addr").to_string();
    let output = run(dir.path(), &["serve", "--bind", &address, "--database-url", "sqlite://./data/d.db"]);
    let text = stderr(&output);
    assert!(!output.status.success());
    assert!(text.contains(&format!("cannot listen on {address}")), "{text}");
    assert!(text.contains("--bind"), "{text}");
}

#[test]
fn a_stopped_postgresql_is_connection_refused_with_its_address_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = closed_port();
    let url = format!("postgres://postgres@127.0.0.1:{port}/cicd");
    let output = run(dir.path(), &["token", "list", "--database-url", &url, "--db-acquire-timeout", "1"]);
    let text = stderr(&output);
    assert!(!output.status.success());
    let expected = format!("connection refused (is PostgreSQL running at 127.0.0.1:{port}?)");
    assert_eq!(text.matches(&expected).count(), 1, "{text}");
    assert!(!text.contains("pool timed out"), "{text}");
}

#[test]
fn a_wrong_postgresql_role_is_said_once() {
    let Some(admin) = postgres_admin_url() else { return };
    let mut url = url::Url::parse(&admin).expect("url");
    url.set_username("no_such_role_here").expect("user");
    let dir = tempfile::tempdir().expect("tempdir");
    let output = run(dir.path(), &["token", "list", "--database-url", url.as_str()]);
    let text = stderr(&output);
    assert!(!output.status.success());
    assert_eq!(text.matches("role \"no_such_role_here\" does not exist").count(), 1, "{text}");
}

#[test]
fn poll_help_lists_only_what_poll_uses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let help = String::from_utf8_lossy(&run(dir.path(), &["poll", "--help"]).stdout).into_owned();
    for used in
        ["--repo", "--since", "--database-url", "--github-api-url", "--github-token", "--github-app-id"]
    {
        assert!(help.contains(used), "{used}: {help}");
    }
    for serve_only in
        ["--repos ", "--github-orgs", "--poll-interval", "--discovery-interval", "--backfill-days", "--bind"]
    {
        assert!(!help.contains(serve_only), "{serve_only}: {help}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_says_what_it_tries_and_fails_at_once_when_the_api_is_unreachable() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite");
    let dir = tempfile::tempdir().expect("tempdir");
    let api = format!("http://127.0.0.1:{}", closed_port());
    let started = Instant::now();
    let output = tokio::task::block_in_place(|| {
        run(
            dir.path(),
            &["poll", "--repo", "o/r", "--database-url", &app.database_url, "--github-api-url", &api],
        )
    });
    let text = stderr(&output);
    assert!(!output.status.success());
    assert!(text.contains("polling o/r since ") && text.contains(&format!("from {api}")), "{text}");
    assert!(text.contains(&format!("cannot reach the GitHub API at {api}")), "{text}");
    assert!(text.to_lowercase().contains("connection refused"), "{text}");
    // A sanity bound only: the network retries (about 31 s) are not waited out.
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
}
