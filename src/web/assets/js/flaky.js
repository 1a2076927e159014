// The Flaky view: per workflow and per job key, the window's flaky
// occurrences (passed on retry, flaky job, same commit with different
// results) ranked by wasted runner time, from GET /api/insights/flaky,
// each with its latest example builds (buttons opening the build detail).
// Also the "flaky" badge the builds list and the build detail show.

import { $, el, duration, localTime, percent, repoName, text } from "./format.js";

/** The flaky badge: an icon and the word, so not by colour alone. */
export function flakyBadge(what) {
  return el("span", { class: "flaky", title: `This ${what} failed and then passed on the same commit (README, Flaky)` },
    el("span", { "aria-hidden": "true" }, "↻ "), "flaky");
}

const KINDS = { retry: "passed on retry", job: "flaky job", commit: "same commit, different result" };

function examples(list, openDetail) {
  if (!list.length) return "–";
  return el("ul", { class: "examples" }, ...list.map((x) => {
    const open = el("button", { type: "button", class: "link" }, "build " + x.build_id,
      el("span", { class: "visually-hidden" }, " (passed)"));
    open.addEventListener("click", () => openDetail(x.build_id));
    const failed = el("button", { type: "button", class: "link" }, "build " + x.failed_build_id,
      el("span", { class: "visually-hidden" }, " (failed)"));
    failed.addEventListener("click", () => openDetail(x.failed_build_id));
    return el("li", {}, failed, " failed → ", open, " passed",
      el("span", { class: "sub" }, KINDS[x.kind] + (x.job_name ? " · " + x.job_name : "")
        + (x.commit_sha ? " · " + x.commit_sha.slice(0, 7) : "") + " · ", localTime(x.seen_at)));
  }));
}

function where(line) {
  return el("span", {}, el("span", { class: "repo" }, repoName(line.repo)),
    el("span", { class: "sub" }, " · " + line.provider_kind));
}

function rate(line) {
  return line.flaky_rate === null ? "–" : percent(line.flaky_rate);
}

/** Renders `answer` (GET /api/insights/flaky) into the view. */
export function renderFlaky(answer, openDetail) {
  $("flaky-workflows").tBodies[0].replaceChildren(...answer.workflows.map((w) => el("tr", {},
    el("th", { scope: "row", "data-label": "Workflow" }, text(w.workflow), el("br"), where(w)),
    el("td", { class: "num", "data-label": "Wasted runner time" }, duration(w.wasted_seconds)),
    el("td", { class: "num", "data-label": "Occurrences" }, String(w.occurrences),
      el("span", { class: "sub block" }, `${w.passed_on_retry} passed on retry`),
      el("span", { class: "sub block" }, `${w.flaky_jobs} flaky job${w.flaky_jobs === 1 ? "" : "s"}`)),
    el("td", { class: "num", "data-label": "Flaky rate" }, rate(w),
      el("span", { class: "sub" }, ` (${w.flaky_failures} of ${w.attempts})`)),
    el("td", { "data-label": "Last seen" }, localTime(w.last_seen)),
    el("td", { "data-label": "Examples" }, examples(w.examples, openDetail)))));
  $("flaky-jobs").tBodies[0].replaceChildren(...answer.jobs.map((j) => el("tr", { "data-key": j.key },
    el("th", { scope: "row", "data-label": "Job" }, j.name, el("br"), where(j),
      el("span", { class: "sub" }, " · " + text(j.workflow))),
    el("td", { class: "num", "data-label": "Wasted runner time" }, duration(j.wasted_seconds)),
    el("td", { class: "num", "data-label": "Occurrences" }, String(j.occurrences)),
    el("td", { class: "num", "data-label": "Flaky rate" }, rate(j),
      el("span", { class: "sub" }, ` (${j.flaky_failures} of ${j.attempts})`)),
    el("td", { "data-label": "Last seen" }, localTime(j.last_seen)),
    el("td", { "data-label": "Examples" }, examples(j.examples, openDetail)))));
  $("flaky-workflows-empty").hidden = answer.workflows.length > 0;
  $("flaky-jobs-empty").hidden = answer.jobs.length > 0;
}
