// Build detail in a modal <dialog>: the run's attempts side by side and the
// attempt's jobs as a waterfall of queue time versus run time (a failed
// job's run in the failure colour and striped, so not by colour alone;
// unfinished jobs with their time so far), each job's steps in rows under
// it on the same time axis, and the failed tests of the attempt's uploaded
// test reports under their job; each failed job's reason (failure_reasons.js).

import { $, el, svg, duration, elapsed, localTime, statusBadge, externalLink, text } from "./format.js";
import { flakyBadge } from "./flaky.js";
import { getJson } from "./api.js";
import { buildTests } from "./failed_tests.js";
import { failureReasons } from "./failure_reasons.js";

function attemptsTable(current, attempts) {
  const provider = text(current.provider_name);
  const rows = [
    ["Status", (a) => el("span", {}, statusBadge(a.status), a.flaky ? flakyBadge("attempt") : null)],
    ["Conclusion", (a) => text(a.conclusion)],
    ["Started", (a) => localTime(a.started_at || a.first_job_started_at)],
    ["Duration", (a) => (a.status === "running" ? elapsed(a.started_at || a.first_job_started_at, "running for") : duration(a.duration_seconds))],
    ["Queue", (a) => duration(a.queue_seconds)],
    ["Actor", (a) => text(a.triggered_by)],
    ["Link", (a) => externalLink(a.url, "run", "Attempt " + a.run_attempt + " on " + provider)],
  ];
  const head = el("tr", {}, el("td", {}),
    attempts.map((a) => el("th", { scope: "col", class: a.id === current.id ? "current" : null },
      "Attempt " + a.run_attempt + (a.id === current.id ? " (shown)" : ""))));
  return el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Attempts of this run" },
    el("table", { class: "attempts" },
      el("caption", {}, "Attempts of run " + current.external_id + " side by side"),
      el("thead", {}, head),
      el("tbody", {}, rows.map(([label, value]) =>
        el("tr", {}, el("th", { scope: "row" }, label), attempts.map((a) => el("td", {}, value(a))))))));
}

function timeline(jobs, provider) {
  const t = (iso) => (iso ? Date.parse(iso) : NaN);
  const starts = jobs.map((j) => t(j.created_at) || t(j.started_at)).filter((v) => !isNaN(v));
  const ends = jobs.flatMap((j) => [t(j.finished_at) || Date.now(), ...(j.steps || []).map((st) => t(st.finished_at))])
    .filter((v) => !isNaN(v));
  const t0 = starts.length ? Math.min(...starts) : Date.now();
  const t1 = Math.max(...ends, t0 + 1000);
  const pos = (v) => Math.round(((v - t0) / (t1 - t0)) * 1000) / 10;
  const stepRow = (j, st) => {
    const started = t(st.started_at), done = t(st.finished_at) || (st.status === "running" ? Date.now() : NaN);
    const outcome = ["failed", "cancelled"].includes(st.status) ? st.status : st.status === "success" ? "success" : "other";
    const label = `step ${st.number} ${text(st.name)}: ${st.status}, ${duration(st.duration_seconds)}`;
    const bars = svg("svg", { viewBox: "0 0 100 10", preserveAspectRatio: "none", class: "job-bar", role: "img", "aria-label": label });
    if (!isNaN(started) && !isNaN(done)) {
      bars.appendChild(svg("rect", { x: pos(started), width: Math.max(0.5, pos(done) - pos(started)), y: 3, height: 4,
        class: "seg-run seg-" + outcome, "data-status": st.status }, svg("title", {}, label)));
    }
    return el("tr", { class: "step-row" },
      el("th", { scope: "row" }, el("span", { class: "visually-hidden" }, text(j.name) + ", step "), `${st.number}. ${text(st.name)}`),
      el("td", {}, statusBadge(st.status)), el("td", {}), el("td", {}),
      el("td", { class: "num" }, duration(st.duration_seconds)),
      el("td", { class: "timeline" }, bars), el("td", {}));
  };
  const rows = jobs.flatMap((j) => {
    const created = t(j.created_at), started = t(j.started_at), done = t(j.finished_at) || Date.now();
    const outcome = ["failed", "cancelled"].includes(j.status) ? j.status : j.status === "success" ? "success" : "other";
    const ended = outcome === "other" ? "" : ", " + j.status;
    const bars = svg("svg", { viewBox: "0 0 100 10", preserveAspectRatio: "none", class: "job-bar", role: "img",
      "aria-label": `queued ${duration(j.queue_seconds)}, ran ${duration(j.duration_seconds)}${ended}` });
    if (!isNaN(created) && !isNaN(started) && j.queue_seconds !== null) {
      bars.appendChild(svg("rect", { x: pos(created), width: Math.max(0.5, pos(started) - pos(created)), y: 2, height: 6,
        class: "seg-queue" }, svg("title", {}, `${text(j.name)}: queued ${duration(j.queue_seconds)}`)));
    }
    if (!isNaN(started) && j.status !== "queued") {
      const x = pos(started), width = Math.max(0.5, pos(done) - pos(started));
      bars.appendChild(svg("rect", { x, width, y: 1, height: 8, class: "seg-run seg-" + outcome, "data-status": j.status },
        svg("title", {}, `${text(j.name)}: ran ${duration(j.duration_seconds)}${ended}`)));
      if (outcome === "failed") {
        // Stripes over the bar: a failure is not told by colour alone.
        const id = "hatch-" + String(j.id).replace(/\W/g, "");
        bars.appendChild(svg("defs", {}, svg("pattern", { id, width: 2, height: 10, patternUnits: "userSpaceOnUse" },
          svg("rect", { x: 0, y: 0, width: 0.7, height: 10, class: "hatch-line" }))));
        bars.appendChild(svg("rect", { x, width, y: 1, height: 8, fill: `url(#${id})`, class: "seg-hatch", "aria-hidden": "true" }));
      }
    }
    const jobRow = el("tr", {},
      el("th", { scope: "row" }, text(j.name)),
      el("td", {}, statusBadge(j.status), j.flaky ? flakyBadge("job") : null),
      el("td", {}, text(j.runner_name)),
      el("td", { class: "num" }, j.status === "queued" && j.queue_seconds === null ? elapsed(j.created_at, "waiting for") : duration(j.queue_seconds)),
      el("td", { class: "num" }, j.status === "running" ? elapsed(j.started_at, "running for") : duration(j.duration_seconds)),
      el("td", { class: "timeline" }, bars),
      el("td", {}, externalLink(j.url, "log", "Job " + text(j.name) + " on " + provider)));
    return [jobRow, ...(j.steps || []).map((st) => stepRow(j, st))];
  });
  return el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Jobs" },
    el("table", { class: "jobs" },
      el("caption", {}, "Jobs: queue time (light) then run time (dark; a failed job's in red with stripes) on one time axis, each job's steps in the rows under it"),
      el("thead", {}, el("tr", {}, ["Job", "Status", "Runner", "Queue", "Run", "Timeline", "Log"].map((h) =>
        el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows)));
}

/** Opens the dialog for build `id` (re-renders when already open). */
export async function showDetail(id) {
  const dialog = $("detail");
  const body = $("detail-body");
  if (!dialog.open) {
    body.replaceChildren(el("p", {}, "Loading…"));
    dialog.showModal();
  }
  try {
    const build = await getJson("/api/builds/" + encodeURIComponent(id));
    const params = new URLSearchParams({ repo: build.repo, run: build.external_id, sort: "started", limit: "100" });
    const [attempts, tests] = await Promise.all([
      getJson("/api/builds?" + params.toString()).then((page) => page.builds),
      getJson("/api/builds/" + encodeURIComponent(id) + "/tests"),
    ]);
    $("detail-title").textContent = `${build.repo} · ${text(build.workflow)} #${text(build.run_number)}`;
    body.replaceChildren(
      el("p", { class: "meta" }, statusBadge(build.status), build.flaky ? flakyBadge("attempt") : null, " ", text(build.provider_name), " · branch ", el("code", {}, text(build.branch)), " · commit ",
        el("code", {}, text(build.commit_sha && build.commit_sha.slice(0, 12))), " · event ", text(build.event), " · ",
        externalLink(build.url, "open on " + text(build.provider_name))),
      el("h3", {}, "Attempts"),
      attemptsTable(build, attempts.length ? attempts : [build]),
      el("h3", {}, "Jobs"),
      build.jobs.length ? timeline(build.jobs, text(build.provider_name)) : el("p", {}, "No jobs reported yet for this attempt."),
      build.failures.length ? el("h3", {}, "Why it failed") : null,
      ...(build.failures.length ? failureReasons(build.failures, showDetail) : []),
      el("h3", {}, "Tests"),
      ...buildTests(tests));
  } catch (err) {
    body.replaceChildren(el("p", { class: "banner error" }, "Could not load this build: " + err.message));
  }
}
