// A build's test results in its detail: per job, the counts from the
// uploaded JUnit reports and each failed or errored test with its message
// and the first lines of its details. Report texts come from CI logs, so
// they are only ever added as text nodes (el() never parses HTML).

import { el, text } from "./format.js";

function counts(job) {
  return `${job.passed} passed · ${job.failed} failed · ${job.errored} errored · ${job.skipped} skipped`;
}

function failedTest(test) {
  const where = [test.classname, test.file].filter(Boolean).join(" · ");
  return el("li", { class: "failed-test" },
    el("p", { class: "failed-test-name" },
      el("span", { class: "status status-failed" }, el("span", { "aria-hidden": "true" }, "✗ "), test.outcome), " ",
      el("code", {}, text(test.name)),
      where ? el("span", { class: "muted" }, " " + where) : null),
    test.message || test.failure_type
      ? el("p", { class: "failed-test-message" },
        test.failure_type ? el("code", {}, test.failure_type + ": ") : null, text(test.message))
      : null,
    test.details
      ? el("details", {}, el("summary", {}, "Details"), el("pre", { class: "failed-test-details" }, test.details))
      : null);
}

/** The "Tests" section's content for `/api/builds/{id}/tests`' answer. */
export function buildTests(result) {
  if (!result.jobs.length) return [el("p", {}, "No test reports uploaded for this attempt.")];
  const parts = result.jobs.map((job) =>
    el("section", { class: "job-tests", "aria-label": "Tests of job " + job.job_name },
      el("h4", {}, job.job_name),
      el("p", { class: "meta" }, counts(job)),
      job.failed_tests.length
        ? el("ul", { class: "failed-tests", "aria-label": "Failed tests of " + job.job_name }, job.failed_tests.map(failedTest))
        : null));
  if (result.truncated) parts.push(el("p", { class: "meta" }, "Only the first 500 failed tests are shown."));
  return parts;
}
