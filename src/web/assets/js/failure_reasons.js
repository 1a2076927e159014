// A build's failed jobs in its detail: failed job → failed step → error
// lines, the failure signature, infrastructure or code, "same error in N
// other builds" with links, and the kept end of the log. Everything here
// comes from CI logs, so it is only ever added as text nodes (el() never
// parses HTML).

import { el, text } from "./format.js";

/** "infrastructure (network)" or "code", as a labelled badge. */
export function classBadge(cls, reason) {
  const infra = cls === "infrastructure";
  return el("span", { class: "failure-class failure-" + (infra ? "infra" : "code") },
    infra ? "Infrastructure" + (reason ? " (" + reason.replace(/_/g, " ") + ")" : "") : "Code");
}

function otherBuilds(failure, openBuild) {
  if (!failure.same_error_builds) return el("p", { class: "note" }, "Not seen in other builds.");
  const links = failure.other_build_ids.map((id) => {
    const link = el("a", { href: "/?build=" + encodeURIComponent(id) }, "#" + id);
    link.addEventListener("click", (event) => { event.preventDefault(); openBuild(id); });
    return el("li", {}, link);
  });
  const n = failure.same_error_builds;
  return el("div", { class: "same-error" },
    el("p", {}, `Same error in ${n} other build${n === 1 ? "" : "s"}`, n > links.length ? " (latest shown):" : ":"),
    el("ul", { class: "inline-list", "aria-label": "Other builds with the same error" }, links));
}

function failedJob(failure, openBuild) {
  const step = failure.failed_step_number !== null
    ? `step ${failure.failed_step_number}. ${text(failure.failed_step)}` : "no failed step reported";
  return el("section", { class: "job-failure", "aria-label": "Why job " + text(failure.job_name) + " failed" },
    el("h4", {}, text(failure.job_name), el("span", { class: "sub" }, " → " + step), " ", classBadge(failure.class, failure.class_reason)),
    failure.error_lines.length
      ? el("ol", { class: "error-lines", "aria-label": "Error lines (from " + failure.source.replace("_", " ") + ")" },
        failure.error_lines.map((line) => el("li", {}, el("code", {}, line))))
      : el("p", { class: "note" }, "No error message known for this job."),
    failure.signature
      ? el("p", { class: "signature" }, "Signature ", el("code", {}, failure.signature), el("span", { class: "sub" }, " · " + failure.fingerprint))
      : null,
    failure.signature ? otherBuilds(failure, openBuild) : null,
    failure.log_excerpt
      ? el("details", {}, el("summary", {}, "End of the log" + (failure.log_truncated ? " (cut to its last lines)" : "")),
        el("pre", { class: "failed-test-details" }, failure.log_excerpt))
      : null);
}

/** The "Why it failed" section's content for a build's `failures`. */
export function failureReasons(failures, openBuild) {
  if (!failures || !failures.length) return [el("p", {}, "No failed jobs with a recorded reason.")];
  return failures.map((f) => failedJob(f, openBuild));
}
