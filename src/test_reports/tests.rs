//! The reader against real reports of each dialect (`tests/fixtures/junit/`,
//! sources in `tests/fixtures/SOURCES.md`), counted by hand from the files,
//! and against hostile input.

use super::junit::SUITE_CASE_NAME;
use super::{Limits, ReportError, TestCase, TestOutcome, read_all};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/junit/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(path).expect("fixture")
}

fn read(bytes: &[u8]) -> Result<Vec<TestCase>, ReportError> {
    read_all(bytes, &Limits::default()).map(|(cases, _)| cases)
}

fn outcomes(cases: &[TestCase]) -> [usize; 4] {
    let count = |o| cases.iter().filter(|c| c.outcome == o).count();
    [
        count(TestOutcome::Passed),
        count(TestOutcome::Failed),
        count(TestOutcome::Errored),
        count(TestOutcome::Skipped),
    ]
}

fn named<'a>(cases: &'a [TestCase], name: &str) -> &'a TestCase {
    cases.iter().find(|c| c.name == name).expect("case")
}

#[test]
fn surefire_errors_and_failures() {
    let cases = read(&fixture("maven-surefire.errors-failures.xml")).expect("as worked out");
    // 9 testcase elements: 5 <error>, 2 <failure>, 2 empty (passed).
    assert_eq!(cases.len(), 9);
    assert_eq!(outcomes(&cases), [2, 2, 5, 0]);
    let first = &cases[0];
    assert_eq!(first.name, "shouldNotContainInternationalizedHostNames");
    assert_eq!(first.classname.as_deref(), Some("action.surefire.report.email.EmailAddressTest"));
    assert_eq!(first.outcome, TestOutcome::Errored);
    // `&apos;` unescaped, non-ASCII kept.
    assert_eq!(first.message.as_deref(), Some("Invalid email address 'user@ñandú.com.ar'"));
    assert_eq!(first.duration_seconds, Some(0.01));
    assert!(
        first
            .details
            .as_deref()
            .expect("as worked out")
            .starts_with("action.surefire.report.email.InvalidEmailAddressException")
    );
    let failed = named(&cases, "shouldBeStricterThanRfc2822");
    assert_eq!(failed.outcome, TestOutcome::Failed);
    assert_eq!(
        failed.message.as_deref(),
        Some("Address aba@bab.com should have thrown InvalidEmailAddressException")
    );
}

#[test]
fn surefire_flaky_passes_with_its_failed_tries() {
    let cases = read(&fixture("maven-surefire.flaky.xml")).expect("as worked out");
    assert_eq!(cases.len(), 1);
    let case = &cases[0];
    assert_eq!((case.name.as_str(), case.outcome), ("testApp", TestOutcome::Passed));
    assert!(case.passed_on_rerun());
    let messages: Vec<_> = case.reruns.iter().map(|r| r.message.as_deref().expect("as worked out")).collect();
    assert_eq!(messages, ["obvious fail", "try one more time maybe"]);
    assert_eq!(case.reruns[0].failure_type.as_deref(), Some("junit.framework.AssertionFailedError"));
    // The reruns' own system-out is not the case's, and a passed case keeps no details.
    assert_eq!(case.details, None);
}

#[test]
fn surefire_rerun_failure_fails_with_every_try() {
    let cases = read(&fixture("maven-surefire.rerun-failure.xml")).expect("as worked out");
    assert_eq!(cases.len(), 1);
    let case = &cases[0];
    assert_eq!(case.outcome, TestOutcome::Failed);
    assert_eq!(case.message.as_deref(), Some("built to fail"));
    assert_eq!(case.reruns.len(), 3);
    assert!(!case.passed_on_rerun());
}

#[test]
fn pytest_files_lines_and_skips() {
    let cases = read(&fixture("pytest.skipped.xml")).expect("as worked out");
    // 14 testcases, 4 with <skipped>.
    assert_eq!(cases.len(), 14);
    assert_eq!(outcomes(&cases), [10, 0, 0, 4]);
    let first = &cases[0];
    assert_eq!(first.file.as_deref(), Some("test/integration/test_elastic_torch.py"));
    assert_eq!(first.line, Some(29));
    assert_eq!(first.outcome, TestOutcome::Skipped);
    assert_eq!(
        first.message.as_deref(),
        Some("This test fails due to https://github.com/horovod/horovod/issues/2030")
    );
    assert_eq!(first.suite.as_deref(), Some("pytest"));
    let slow = cases.iter().filter_map(|c| c.duration_seconds).fold(0.0, f64::max);
    assert_eq!(slow, 12.640);
}

#[test]
fn jest_failures_and_empty_classnames() {
    let cases = read(&fixture("jest-junit.failures.xml")).expect("as worked out");
    // Two suites: 4 cases (1 passed, 3 failed) and 2 (1 failed, 1 skipped).
    assert_eq!(cases.len(), 6);
    assert_eq!(outcomes(&cases), [1, 4, 0, 1]);
    let timeout = named(&cases, "Timeout test");
    assert_eq!(timeout.classname, None, "an empty classname is no classname");
    assert_eq!(timeout.suite.as_deref(), Some("__tests__\\second.test.js"));
    assert_eq!(named(&cases, "Failing test").classname.as_deref(), Some("Test 1 › Test 1.1"));
}

#[test]
fn go_junit_report_outputs_and_skips() {
    let cases = read(&fixture("go-junit-report.xml")).expect("as worked out");
    assert_eq!(cases.len(), 5);
    assert_eq!(outcomes(&cases), [2, 1, 0, 2]);
    let failed = named(&cases, "TestOne");
    assert_eq!(failed.message.as_deref(), Some("Failed"));
    assert_eq!(
        failed.details.as_deref(),
        Some(
            "    fail_test.go:6: Error message\n    fail_test.go:7: Longer\n        error\n        message."
        )
    );
    // system-out of a passed case is read but not needed later; skips keep no details.
    assert_eq!(named(&cases, "TestSkip").details, None);
    assert_eq!(named(&cases, "TestPassLog").outcome, TestOutcome::Passed);
}

#[test]
fn python_unittest_errors_and_expected_failures() {
    let cases = read(&fixture("python-unittest.skipped-error.xml")).expect("as worked out");
    assert_eq!(cases.len(), 8);
    assert_eq!(outcomes(&cases), [4, 1, 1, 2]);
    assert_eq!(named(&cases, "test_error").failure_type.as_deref(), Some("Exception"));
    let xfail = named(&cases, "test_expected_failure");
    assert!(
        xfail
            .message
            .as_deref()
            .expect("as worked out")
            .starts_with("expected failure: (<class 'AssertionError'>")
    );
}

#[test]
fn nested_suites_and_a_suite_level_error() {
    let (cases, summary) =
        read_all(&fixture("nested-testsuites.xml")[..], &Limits::default()).expect("as worked out");
    // testsuites > test.AutomatedTests > {FileSystemTest, DatabaseTest > 3rdlevel}.
    assert_eq!(summary.suites, 4);
    let names: Vec<_> =
        cases.iter().map(|c| (c.suite.as_deref().expect("as worked out"), c.name.as_str())).collect();
    assert_eq!(
        names,
        [
            ("test.fs.FileSystemTest", "testPrefix"),
            ("test.3rdlevel", SUITE_CASE_NAME),
            ("test.db.DatabaseTest", "testTable"),
        ]
    );
    let suite_error = &cases[1];
    assert_eq!(suite_error.outcome, TestOutcome::Errored);
    assert_eq!(suite_error.message.as_deref(), Some("bla bla"));
    assert_eq!(
        suite_error.details.as_deref().expect("as worked out").lines().next(),
        Some("java.lang.IllegalStateException: bla bla")
    );
}

#[test]
fn a_doctype_is_refused_before_any_entity() {
    let bomb = br#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<testsuite><testcase name="&lol2;"/></testsuite>"#;
    assert!(matches!(read(bomb), Err(ReportError::Hostile { .. })));
    let external = br#"<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]><testsuite><testcase name="a"><failure>&x;</failure></testcase></testsuite>"#;
    assert!(matches!(read(external), Err(ReportError::Hostile { .. })));
}

#[test]
fn undeclared_entities_are_refused_and_predefined_ones_read() {
    let undeclared = br#"<testsuite><testcase name="a"><failure>&x;</failure></testcase></testsuite>"#;
    assert!(matches!(read(undeclared), Err(ReportError::Hostile { .. })));
    let in_attribute = br#"<testsuite><testcase name="&x;"/></testsuite>"#;
    assert!(matches!(read(in_attribute), Err(ReportError::Malformed { .. })));
    let fine = br#"<testsuite><testcase name="a"><failure>1 &lt; 2 &amp;&#x41;&#66;</failure></testcase></testsuite>"#;
    assert_eq!(read(fine).expect("as worked out")[0].details.as_deref(), Some("1 < 2 &AB"));
}

#[test]
fn bytes_that_are_not_utf8_are_refused() {
    let mut latin1 = b"<testsuite><testcase name=\"a\"><failure>caf".to_vec();
    latin1.extend([0xE9]);
    latin1.extend(b"</failure></testcase></testsuite>");
    assert!(matches!(read(&latin1), Err(ReportError::NotUtf8 { .. })));
    let declared = br#"<?xml version="1.0" encoding="ISO-8859-1"?><testsuite/>"#;
    assert!(matches!(read(declared), Err(ReportError::NotUtf8 { .. })));
}

#[test]
fn malformed_truncated_and_foreign_documents_are_refused() {
    assert!(matches!(read(b"<testsuite><testcase name=\"a\">"), Err(ReportError::Malformed { .. })));
    assert!(matches!(read(b"<testsuite><testcase></testsuite>"), Err(ReportError::Malformed { .. })));
    assert!(matches!(read(b"<html><body/></html>"), Err(ReportError::NotAReport(_))));
    assert!(matches!(read(b""), Err(ReportError::NotAReport(_))));
    assert!(matches!(read(b"{\"tests\": []}"), Err(ReportError::NotAReport(_))));
}

#[test]
fn limits_hold_against_deep_wide_and_long_input() {
    let limits = Limits { max_cases: 3, max_depth: 8, max_text: 16, ..Limits::default() };
    let deep = format!("<testsuites>{}{}</testsuites>", "<testsuite>".repeat(20), "</testsuite>".repeat(20));
    assert!(matches!(read_all(deep.as_bytes(), &limits), Err(ReportError::TooLarge(_))));
    let wide = format!("<testsuite>{}</testsuite>", "<testcase name=\"t\"/>".repeat(4));
    assert!(matches!(read_all(wide.as_bytes(), &limits), Err(ReportError::TooLarge(_))));
    let long = format!(
        "<testsuite><testcase name=\"{}\"><failure message=\"m\">{}</failure></testcase></testsuite>",
        "n".repeat(100),
        "é".repeat(100)
    );
    let (cases, _) = read_all(long.as_bytes(), &limits).expect("as worked out");
    assert_eq!(cases[0].name, format!("{}…", "n".repeat(16)));
    // 16 bytes of two-byte characters: 8 of them, cut on a boundary.
    assert_eq!(cases[0].details.as_deref(), Some(format!("{}…", "é".repeat(8)).as_str()));
}

#[test]
fn a_large_report_streams_case_by_case() {
    // 50 000 cases, one in 100 failing: counted, never held as a tree.
    let mut xml = String::from("<testsuites><testsuite name=\"big\">");
    for i in 0..50_000 {
        if i % 100 == 0 {
            xml.push_str(&format!("<testcase classname=\"c\" name=\"t{i}\" time=\"0.5\"><failure message=\"boom {i}\">trace</failure></testcase>"));
        } else {
            xml.push_str(&format!("<testcase classname=\"c\" name=\"t{i}\" time=\"0.5\"/>"));
        }
    }
    xml.push_str("</testsuite></testsuites>");
    let mut failed = 0;
    let mut total = 0;
    let summary = super::junit::read_report(xml.as_bytes(), &Limits::default(), |case| {
        total += 1;
        failed += usize::from(case.outcome.is_failure());
    })
    .expect("as worked out");
    assert_eq!((summary.cases, total, failed), (50_000, 50_000, 500));
}

#[test]
fn dotnet_junit_logger_with_a_repeated_case_and_exponent_times() {
    let cases = read(&fixture("dotnet-junit-testlogger.xml")).expect("as worked out");
    // 9 testcase elements: 5 empty (passed), 4 with a <failure>; the
    // parameterised case `Multiply_ReturnsEight(1,2)` appears twice (two
    // executions of one test identity).
    assert_eq!(cases.len(), 9);
    assert_eq!(outcomes(&cases), [5, 4, 0, 0]);
    let first = &cases[0];
    assert_eq!(first.classname.as_deref(), Some("UnitTestLibrary1.MathTests"));
    assert_eq!(first.name, "Add_ReturnsCorrectResult(1,0,1)");
    assert!(first.file.as_deref().is_some_and(|f| f.ends_with(r"\netcoreapp2.2\UnitTestLibrary1.dll")));
    assert_eq!(first.duration_seconds, Some(0.028999999999999998));
    // `time="1E-07"`: exponent notation.
    assert_eq!(cases[1].duration_seconds, Some(1e-7));
    let failed = named(&cases, "Multiply_ReturnsEight(1,0)");
    assert_eq!(failed.outcome, TestOutcome::Failed);
    assert_eq!(failed.failure_type.as_deref(), Some("failure"));
    // The character references &#xD;&#xA; are a CR LF in the message.
    assert_eq!(failed.message.as_deref(), Some("  Expected: 8\r\n  But was:  0\r\n"));
    assert!(failed.details.as_deref().is_some_and(|d| d.contains("MathTests.cs:line 40")));
    let repeated = cases.iter().filter(|c| c.name == "Multiply_ReturnsEight(1,2)").count();
    assert_eq!(repeated, 2);
}

#[test]
fn what_is_not_a_report_is_named_plainly() {
    let message = |input: &[u8]| read(input).expect_err("refused").to_string();
    let text = message(b"--boundary\r\nContent-Disposition: form-data\r\n\r\n<testsuite/>");
    assert!(text.contains("starts with text") && text.contains("--boundary"), "{text}");
    let prefixed = message(b"<!-- x --><ns:report/>");
    assert!(prefixed.contains("<ns:report>"), "{prefixed}");
    assert!(message(b"< testsuite>").contains("has no name"), "{}", message(b"< testsuite>"));
    assert!(matches!(read(b"<\xff\xfe>"), Err(ReportError::NotUtf8 { .. })));
    let long = format!("<{}/>", "x".repeat(500));
    assert!(message(long.as_bytes()).len() < 200, "a long name is cut");
}

#[test]
fn a_byte_order_mark_before_the_root_is_read() {
    let cases = read(b"\xef\xbb\xbf<testsuite><testcase name=\"a\"/></testsuite>").expect("read");
    assert_eq!(cases.len(), 1);
}
