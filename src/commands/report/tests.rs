//! The report command's flags, words and event JSON.

use clap::Parser;

use super::*;
use crate::cli::{Cli, Command};

fn command(args: &[&str]) -> ReportCommand {
    let mut argv = vec!["cicd-dashboard", "report"];
    argv.extend_from_slice(args);
    match Cli::parse_from(argv).command {
        Some(Command::Report(report)) => report,
        other => panic!("not a report: {other:?}"),
    }
}

#[test]
fn flags_win_over_the_environment_and_the_key_is_stable() {
    let detected = ci_env::Detected {
        provider: Some("jenkins"),
        repository: Some("shop api".into()),
        run_id: Some("153".into()),
        branch: Some("main".into()),
        ..Default::default()
    };
    let cmd = command(&["run", "--status", "completed", "--conclusion", "UNSTABLE", "--branch", "hotfix"]);
    let (_, event) = build_event(&cmd, &detected).expect("event");
    assert_eq!(event["branch"], "hotfix");
    assert_eq!(event["conclusion"], "failure");
    assert_eq!(event["idempotency_key"], "jenkins-shop_api-153-completed");
    assert!(event["completed_at"].is_string() && event.get("started_at").is_none());
}

#[test]
fn missing_fields_are_all_named() {
    let cmd = command(&["job", "--status", "completed"]);
    let Err(ReportError::Input(message)) = build_event(&cmd, &ci_env::Detected::default()) else {
        panic!("missing fields")
    };
    for flag in ["--provider", "--repository", "--run-id", "--conclusion", "--job-id"] {
        assert!(message.contains(flag), "{flag}: {message}");
    }
    let cmd = command(&["run", "--status", "started", "--exit-code", "0"]);
    assert!(matches!(build_event(&cmd, &ci_env::Detected::default()), Err(ReportError::Input(_))));
}

#[test]
fn status_words_and_their_documented_aliases() {
    for (word, api) in [
        ("queued", "queued"),
        ("started", "in_progress"),
        ("in_progress", "in_progress"),
        ("running", "in_progress"),
        ("completed", "completed"),
        ("finished", "completed"),
    ] {
        assert_eq!(status(word).ok(), Some(api), "{word}");
    }
    let Err(ReportError::Input(message)) = status("done") else { panic!("done is no status") };
    assert!(message.contains("queued, started or completed"), "{message}");
}

#[test]
fn conclusion_words_are_the_apis_and_the_documented_aliases() {
    for word in [
        "success",
        "failure",
        "cancelled",
        "skipped",
        "timed_out",
        "neutral",
        "startup_failure",
        "action_required",
        "stale",
    ] {
        assert_eq!(conclusion(word).ok(), Some(word), "{word}");
    }
    for (word, api) in [
        ("SUCCESS", "success"),
        ("UNSTABLE", "failure"),
        ("FAILURE", "failure"),
        ("ABORTED", "cancelled"),
        ("NOT_BUILT", "skipped"),
        ("canceled", "cancelled"),
    ] {
        assert_eq!(conclusion(word).ok(), Some(api), "{word}");
    }
    let Err(ReportError::Input(message)) = conclusion("green") else { panic!("green is no conclusion") };
    assert!(message.contains("action_required"), "{message}");
}
