//! The JUnit XML reader: one pass over a report with quick-xml's streaming
//! reader, handing each test case to the caller as soon as its element
//! closes, so a 50 000-test report is never held as a tree.
//!
//! Dialects read (each has a fixture test): Maven Surefire (with
//! `flakyFailure`/`flakyError`/`rerunFailure`/`rerunError`), pytest, Jest
//! (jest-junit), Go (go-junit-report, gotestsum), Python unittest, .NET
//! loggers, and `testsuites` nested to any depth up to
//! [`Limits::max_depth`]. A `failure`/`error` directly inside a
//! `testsuite` (a suite that failed to set up) becomes a test case named
//! [`SUITE_CASE_NAME`] of that suite.
//!
//! Hostile input is refused, never expanded: a `DOCTYPE` (the only way to
//! declare entities, internal or external) is an error before anything
//! else is read, as is any entity other than XML's five predefined ones
//! and character references; bytes that are not UTF-8 (or a declaration
//! naming another encoding) are an error; depth, case count and text sizes
//! are capped. Nothing is resolved from the network or the file system.

use std::io::BufRead;

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use super::case::{Rerun, TestCase, TestOutcome};
use super::text::{CappedText, attribute, cap};
use super::{Limits, ReportError, ReportSummary};

/// The name given to a suite-level failure or error (no enclosing `testcase`).
pub const SUITE_CASE_NAME: &str = "(suite)";

/// One open element and what it means for the case being read.
enum Frame {
    /// `testsuites`, or anything not otherwise understood.
    Other,
    /// A `testsuite` and its `name`.
    Suite(Option<String>),
    /// A `testcase` being read.
    Case(Box<TestCase>),
    /// A `failure`/`error`/`skipped` child of a case; when it sits directly
    /// in a suite, it carries the case made up for that suite.
    Result(Option<Box<TestCase>>),
    /// `system-out` (`true`) or `system-err` (`false`) of a case.
    Output(bool),
}

/// Reads one JUnit XML report from `input`, calling `on_case` for each test
/// case in document order.
///
/// Errors: malformed XML, a DTD or undeclared entity, non-UTF-8 bytes, a
/// document whose root is not `testsuites`/`testsuite`, or a limit
/// exceeded — each with the byte position where it was found. `on_case`
/// may have been called for earlier cases; a caller that must store all or
/// nothing collects first (or stores in one transaction).
pub fn read_report<R: BufRead>(
    input: R,
    limits: &Limits,
    mut on_case: impl FnMut(TestCase),
) -> Result<ReportSummary, ReportError> {
    let mut reader = Reader::from_reader(input);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.expand_empty_elements = true;
    let mut buf = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut text = CappedText::default();
    let mut summary = ReportSummary::default();
    let mut saw_root = false;
    loop {
        let position = reader.buffer_position();
        let at = |reason: String| ReportError::Malformed { position, reason };
        let event = reader.read_event_into(&mut buf).map_err(|e| at(e.to_string()))?;
        match event {
            Event::DocType(_) => {
                return Err(ReportError::Hostile {
                    position,
                    reason: "a DOCTYPE is not accepted: reports never need DTDs or entity declarations"
                        .into(),
                });
            }
            Event::Decl(decl) => {
                if let Some(Ok(encoding)) = decl.encoding() {
                    let name = String::from_utf8_lossy(&encoding).to_ascii_lowercase();
                    if name != "utf-8" && name != "utf8" {
                        return Err(ReportError::NotUtf8 { position });
                    }
                }
            }
            Event::Start(start) => {
                if stack.len() >= limits.max_depth {
                    return Err(ReportError::TooLarge(format!(
                        "elements nest deeper than {} levels",
                        limits.max_depth
                    )));
                }
                if !saw_root {
                    let name = start.local_name();
                    if name.as_ref() != b"testsuites" && name.as_ref() != b"testsuite" {
                        return Err(foreign_root(start.name().as_ref(), position));
                    }
                    saw_root = true;
                }
                let frame = open(&start, &mut stack, limits, &mut summary, position)?;
                if matches!(frame, Frame::Result(_) | Frame::Output(_)) {
                    text.start(limits.max_text);
                }
                stack.push(frame);
            }
            Event::End(_) => {
                let frame = stack.pop().ok_or_else(|| at("an end tag without a start".into()))?;
                close(frame, &mut stack, &mut text, limits, &mut summary, &mut on_case);
            }
            Event::Text(t) => {
                let decoded = t.xml_content().map_err(|_| ReportError::NotUtf8 { position })?;
                if !saw_root && !decoded.trim().is_empty() {
                    return Err(ReportError::NotAReport(format!(
                        "the file starts with text, not an XML element: {:?}",
                        shortened(decoded.trim())
                    )));
                }
                text.push(&decoded);
            }
            Event::CData(c) => {
                let decoded = c.xml_content().map_err(|_| ReportError::NotUtf8 { position })?;
                text.push(&decoded);
            }
            Event::GeneralRef(r) => {
                if r.is_char_ref() {
                    let c = r.resolve_char_ref().map_err(|e| at(e.to_string()))?;
                    if let Some(c) = c {
                        text.push(c.encode_utf8(&mut [0; 4]));
                    }
                } else {
                    let name = r.decode().map_err(|_| ReportError::NotUtf8 { position })?;
                    let Some(value) = resolve_predefined_entity(&name) else {
                        return Err(ReportError::Hostile {
                            position,
                            reason: format!("the entity &{name}; is not one of XML's predefined entities"),
                        });
                    };
                    text.push(value);
                }
            }
            Event::Empty(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
        buf.clear();
    }
    if !saw_root {
        return Err(ReportError::NotAReport(
            "the document has no <testsuites> or <testsuite> element".into(),
        ));
    }
    if !stack.is_empty() {
        return Err(ReportError::Malformed {
            position: reader.buffer_position(),
            reason: "the document ends inside an element".into(),
        });
    }
    Ok(summary)
}

/// Why a document whose root element is `name` is refused.
fn foreign_root(name: &[u8], position: u64) -> ReportError {
    let Ok(name) = std::str::from_utf8(name) else {
        return ReportError::NotUtf8 { position };
    };
    if name.is_empty() {
        return ReportError::NotAReport("the first element has no name, so this is not XML".into());
    }
    ReportError::NotAReport(format!(
        "the root element is <{}>, not <testsuites> or <testsuite>",
        shortened(name)
    ))
}

/// `text` cut to 60 characters for a message, with `…` when cut.
fn shortened(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// What an opening element means here, given the elements around it.
fn open(
    start: &BytesStart,
    stack: &mut [Frame],
    limits: &Limits,
    summary: &mut ReportSummary,
    position: u64,
) -> Result<Frame, ReportError> {
    let name = start.local_name();
    let in_case = matches!(stack.last(), Some(Frame::Case(_)));
    let in_suite = matches!(stack.last(), Some(Frame::Suite(_)));
    Ok(match name.as_ref() {
        b"testsuite" if !stack.iter().any(|f| matches!(f, Frame::Case(_))) => {
            summary.suites += 1;
            Frame::Suite(attribute(start, b"name", limits, position)?.filter(|n| !n.is_empty()))
        }
        b"testcase" if !in_case => {
            if summary.cases >= limits.max_cases {
                return Err(too_many_cases(limits));
            }
            Frame::Case(Box::new(new_case(start, innermost_suite(stack), limits, position)?))
        }
        b"failure" | b"error" | b"skipped" if in_case || in_suite => {
            let outcome = match name.as_ref() {
                b"failure" => TestOutcome::Failed,
                b"error" => TestOutcome::Errored,
                _ => TestOutcome::Skipped,
            };
            let message = attribute(start, b"message", limits, position)?;
            let failure_type = attribute(start, b"type", limits, position)?;
            if in_suite {
                if summary.cases >= limits.max_cases {
                    return Err(too_many_cases(limits));
                }
                let mut case = new_case(start, innermost_suite(stack), limits, position)?;
                case.name = SUITE_CASE_NAME.to_owned();
                case.classname = innermost_suite(stack);
                case.duration_seconds = None;
                case.line = None;
                case.file = None;
                case.outcome = outcome;
                case.message = message;
                case.failure_type = failure_type;
                return Ok(Frame::Result(Some(Box::new(case))));
            }
            if let Some(Frame::Case(case)) = stack.last_mut() {
                // A failure or error outranks a skip; the first of a kind wins.
                if rank(outcome) > rank(case.outcome) {
                    case.outcome = outcome;
                    case.message = message;
                    case.failure_type = failure_type;
                }
            }
            Frame::Result(None)
        }
        b"flakyFailure" | b"flakyError" | b"rerunFailure" | b"rerunError" if in_case => {
            let outcome =
                if name.as_ref().ends_with(b"Error") { TestOutcome::Errored } else { TestOutcome::Failed };
            let rerun = Rerun {
                outcome,
                message: attribute(start, b"message", limits, position)?,
                failure_type: attribute(start, b"type", limits, position)?,
            };
            if let Some(Frame::Case(case)) = stack.last_mut()
                && case.reruns.len() < limits.max_reruns
            {
                case.reruns.push(rerun);
            }
            Frame::Other
        }
        b"system-out" | b"system-err" if in_case => Frame::Output(name.as_ref() == b"system-out"),
        b"property" => {
            let at = stack.len().checked_sub(2).and_then(|i| stack.get_mut(i));
            if let Some(Frame::Case(case)) = at
                && case.properties.len() < limits.max_properties
            {
                let key = attribute(start, b"name", limits, position)?.unwrap_or_default();
                let value = attribute(start, b"value", limits, position)?.unwrap_or_default();
                case.properties.push((key, value));
            }
            Frame::Other
        }
        _ => Frame::Other,
    })
}

/// Handles a closing element: a finished case goes to `on_case`.
fn close(
    frame: Frame,
    stack: &mut [Frame],
    text: &mut CappedText,
    limits: &Limits,
    summary: &mut ReportSummary,
    on_case: &mut impl FnMut(TestCase),
) {
    match frame {
        Frame::Case(case) => {
            summary.cases += 1;
            on_case(*case);
        }
        Frame::Result(Some(mut case)) => {
            if case.outcome.is_failure() {
                case.details = cap_lines(text.take(), limits);
            }
            summary.cases += 1;
            on_case(*case);
        }
        Frame::Result(None) => {
            let body = text.take();
            if let Some(Frame::Case(case)) = stack.last_mut()
                && case.outcome.is_failure()
                && case.details.is_none()
            {
                case.details = cap_lines(body, limits);
            }
        }
        Frame::Output(is_out) => {
            let body = text.take();
            if let Some(Frame::Case(case)) = stack.last_mut() {
                let slot = if is_out { &mut case.system_out } else { &mut case.system_err };
                if slot.is_none() {
                    *slot = body.filter(|s| !s.trim().is_empty());
                }
            }
        }
        Frame::Suite(_) | Frame::Other => {}
    }
}

/// The case's failure details: the first [`Limits::max_detail_lines`] lines.
fn cap_lines(body: Option<String>, limits: &Limits) -> Option<String> {
    let body = body?;
    let trimmed = body.trim_matches(|c| c == '\n' || c == '\r');
    if trimmed.trim().is_empty() {
        return None;
    }
    let lines: Vec<&str> = trimmed.lines().take(limits.max_detail_lines).collect();
    Some(cap(&lines.join("\n"), limits.max_text))
}

fn too_many_cases(limits: &Limits) -> ReportError {
    ReportError::TooLarge(format!("the report has more than {} test cases", limits.max_cases))
}

/// Orders outcomes for "which child decides": errors and failures over skips.
fn rank(outcome: TestOutcome) -> u8 {
    match outcome {
        TestOutcome::Passed => 0,
        TestOutcome::Skipped => 1,
        TestOutcome::Failed | TestOutcome::Errored => 2,
    }
}

/// The `name` of the innermost open `testsuite`.
fn innermost_suite(stack: &[Frame]) -> Option<String> {
    stack.iter().rev().find_map(|f| match f {
        Frame::Suite(name) => Some(name.clone()),
        _ => None,
    })?
}

/// A case from a `testcase` element's attributes, passed until a child says otherwise.
fn new_case(
    start: &BytesStart,
    suite: Option<String>,
    limits: &Limits,
    position: u64,
) -> Result<TestCase, ReportError> {
    let duration_seconds = attribute(start, b"time", limits, position)?.and_then(|t| {
        let seconds: f64 = t.trim().replace(',', "").parse().ok()?;
        (seconds.is_finite() && seconds >= 0.0).then_some(seconds)
    });
    Ok(TestCase {
        suite,
        classname: attribute(start, b"classname", limits, position)?.filter(|c| !c.is_empty()),
        name: attribute(start, b"name", limits, position)?.unwrap_or_default(),
        file: attribute(start, b"file", limits, position)?.filter(|f| !f.is_empty()),
        line: attribute(start, b"line", limits, position)?.and_then(|l| l.trim().parse().ok()),
        duration_seconds,
        outcome: TestOutcome::Passed,
        message: None,
        failure_type: None,
        details: None,
        reruns: Vec::new(),
        system_out: None,
        system_err: None,
        properties: Vec::new(),
    })
}
