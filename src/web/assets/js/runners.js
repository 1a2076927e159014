// The Runners view: per runner label set, the live queue (queued and
// running now, the longest-waiting job) and the window's queue times and
// peak concurrency, from GET /api/insights/runners; charts of the daily
// queue p95 and peak concurrency of the busiest label sets.

import { $, el, duration, externalLink, text } from "./format.js";
import { labelSetChart } from "./charts.js";

function seconds(value) { return value === null || value === undefined ? "–" : duration(value); }

function labels(set) {
  const names = set.labels.length ? set.labels.join(", ") : "no labels";
  return el("span", {}, el("span", { class: "labels" }, names),
    el("span", { class: "sub" }, " · " + (set.self_hosted ? "self-hosted" : "hosted")),
    set.runner_groups.length ? el("span", { class: "sub" }, " · " + set.runner_groups.join(", ")) : null);
}

function waiting(set, openDetail) {
  const w = set.longest_waiting;
  if (!w) return "–";
  const open = el("button", { type: "button", class: "link" }, duration(w.age_seconds));
  open.addEventListener("click", () => openDetail(w.build_id));
  return el("span", {}, open, " ", el("span", { class: "sub" }, text(w.job) + " in " + w.repo),
    w.url ? [" ", externalLink(w.url, "job", "the job at the provider")] : null);
}

/** Renders `answer` (GET /api/insights/runners) into the view. */
export function renderRunners(answer, openDetail) {
  const sets = answer.label_sets;
  const body = $("runners").querySelector("tbody");
  body.replaceChildren(...sets.map((s) => el("tr", { "data-labels": s.labels.join(",") },
    el("th", { scope: "row" }, labels(s)),
    el("td", { class: "num queued" }, String(s.queued_now)),
    el("td", {}, waiting(s, openDetail)),
    el("td", { class: "num running" }, String(s.running_now)),
    el("td", { class: "num" }, String(s.jobs)),
    el("td", { class: "num" }, seconds(s.queue_p50_seconds)),
    el("td", { class: "num" }, seconds(s.queue_p95_seconds)),
    el("td", { class: "num" }, seconds(s.queue_max_seconds)),
    el("td", { class: "num" }, String(s.peak_concurrency)))));
  $("runners-empty").hidden = sets.length > 0;
  const queued = sets.reduce((n, s) => n + s.queued_now, 0);
  const running = sets.reduce((n, s) => n + s.running_now, 0);
  $("runners-now").textContent = `${queued} job${queued === 1 ? "" : "s"} waiting for a runner, ${running} running`;
  const busiest = [...sets].sort((a, b) => b.jobs - a.jobs).slice(0, 3);
  labelSetChart($("chart-queue"), busiest, "queue_p95_seconds", "Queue time p95 per day by runner labels", "queue p95", true);
  labelSetChart($("chart-concurrency"), busiest, "peak_concurrency", "Peak concurrent jobs per day by runner labels", "jobs at once", false);
}
