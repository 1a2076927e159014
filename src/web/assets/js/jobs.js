// The Jobs view, from /api/insights/jobs: one line per job key, sortable by
// every figure (the header buttons; a select on phones), a sparkline per
// job of its daily p50 duration (from /api/insights/jobs/{key}, for the
// lines shown, cached a minute), and a job's detail: figures, step
// breakdown and duration trend.

import { $, el, svg, duration, percent, repoName, text } from "./format.js";
import { getJson } from "./api.js";
import { durationChart } from "./charts.js";

export const JOB_SORTS = ["runner_seconds", "runs", "failure_rate", "p50_duration", "p95_duration", "p50_queue",
  "p95_queue", "change_p50_duration", "slowest_step", "name"];
const SHOWN = 25;
const pct = (v) => percent(v);
const signed = (v, fmt) => (v === null || v === undefined ? "–" : (v > 0 ? "+" : v < 0 ? "−" : "±") + fmt(Math.abs(v)));

// [header, sort key, cell, numeric]
const COLUMNS = [
  ["Runs", "runs", (j) => String(j.runs), true],
  ["Failure rate", "failure_rate", (j) => pct(j.failure_rate), true],
  ["p50", "p50_duration", (j) => duration(j.p50_duration_seconds), true],
  ["p95", "p95_duration", (j) => duration(j.p95_duration_seconds), true],
  ["Queue p50", "p50_queue", (j) => duration(j.p50_queue_seconds), true],
  ["Queue p95", "p95_queue", (j) => duration(j.p95_queue_seconds), true],
  ["Runner time", "runner_seconds", (j) => duration(j.runner_seconds), true],
  ["Δ p50", "change_p50_duration", (j) => signed(j.change.p50_duration_seconds, duration), true],
  ["Slowest step", "slowest_step", (j) => (j.slowest_step ? `${j.slowest_step.name} (${duration(j.slowest_step.p50_duration_seconds)})` : "–"), false],
];

function query(state, extra) {
  const p = new URLSearchParams({ window_days: state.window, ...extra });
  if (state.repo) p.set("repo", state.repo);
  if (state.branch) p.set("branch", state.branch);
  return p.toString();
}

const sparkCache = new Map();
async function daily(key, state) {
  const id = key + "?" + query(state, {});
  const hit = sparkCache.get(id);
  if (hit && Date.now() - hit.at < 60000) return hit.detail;
  const detail = await getJson("/api/insights/jobs/" + encodeURIComponent(key) + "?" + query(state, {}));
  sparkCache.set(id, { at: Date.now(), detail });
  return detail;
}

/** Daily p50 duration as a small line (gaps on days without one). */
function sparkline(days, name) {
  const values = days.map((d) => d.p50_duration_seconds);
  const top = Math.max(1, ...values.filter((v) => v !== null));
  const shown = days.filter((d) => d.p50_duration_seconds !== null)
    .map((d) => `${d.day} ${duration(d.p50_duration_seconds)}`).join(", ");
  const label = `${name}: p50 duration per day${shown ? ", " + shown : ", none finished"}`;
  const w = Math.max(1, days.length - 1) * 10;
  const chart = svg("svg", { viewBox: `-2 -2 ${w + 4} 24`, width: w + 4, height: 24, class: "spark", role: "img", "aria-label": label },
    svg("title", {}, label));
  let d = "", pen = false;
  values.forEach((v, i) => {
    if (v === null) { pen = false; return; }
    const x = i * 10, y = 20 - (v / top) * 20;
    d += (pen ? "L" : "M") + x + " " + y.toFixed(1) + " ";
    pen = true;
    chart.appendChild(svg("circle", { cx: x, cy: y.toFixed(1), r: 1.6, class: "spark-dot" }));
  });
  chart.insertBefore(svg("path", { d: d.trim() || "M0 20", class: "spark-line", fill: "none" }), chart.firstChild.nextSibling);
  chart.appendChild(svg("line", { x1: 0, x2: w, y1: 20, y2: 20, class: "spark-axis" }));
  return chart;
}

/** Loads and renders the Jobs view; `open(key)` shows a job's detail. */
export async function loadJobs(state, open) {
  const list = await getJson("/api/insights/jobs?" + query(state, { sort: state.jsort, order: state.jorder, limit: SHOWN }));
  $("jobs-sort").value = state.jsort + " " + state.jorder;
  for (const th of $("jobs").querySelectorAll("th[data-sort]")) {
    const on = th.dataset.sort === state.jsort;
    th.setAttribute("aria-sort", on ? (state.jorder === "asc" ? "ascending" : "descending") : "none");
  }
  const lines = list.jobs;
  const rows = lines.map((j) => {
    const name = el("button", { type: "button", class: "link" }, j.name,
      el("span", { class: "visually-hidden" }, " — details of this job"));
    name.addEventListener("click", () => open(String(j.key)));
    const trend = el("td", { "data-label": "Trend", class: "trend" }, "…");
    daily(j.key, state).then((detail) => trend.replaceChildren(sparkline(detail.daily, j.name)), () => trend.replaceChildren("–"));
    return el("tr", { "data-key": j.key },
      el("th", { scope: "row", "data-label": "Job", class: "name" }, name),
      el("td", { "data-label": "Workflow", class: "name" }, repoName(j.repo), " · ", text(j.workflow)),
      COLUMNS.map(([label, , cell, num]) => el("td", { "data-label": label, class: num ? "num" : "name" }, cell(j))),
      trend);
  });
  $("jobs").tBodies[0].replaceChildren(...rows);
  $("jobs-empty").hidden = rows.length > 0;
  $("jobs-count").textContent = list.total > lines.length
    ? `${lines.length} of ${list.total} jobs shown (sorted)` : `${list.total} jobs`;
  if (state.job) await showJob(state.job, state);
  return list;
}

function stepsTable(steps) {
  const top = Math.max(1, ...steps.map((s) => s.p50_duration_seconds || 0));
  return el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Steps" },
    el("table", { class: "steps" },
      el("caption", {}, "Steps by name, in step order: bar = p50 duration"),
      el("thead", {}, el("tr", {}, ["Step", "Runs", "Failed", "p50", "p95", "p50 bar"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, steps.map((s) => el("tr", {},
        el("th", { scope: "row", class: "name" }, s.name),
        el("td", { class: "num" }, String(s.runs)),
        el("td", { class: "num" }, String(s.failed)),
        el("td", { class: "num" }, duration(s.p50_duration_seconds)),
        el("td", { class: "num" }, duration(s.p95_duration_seconds)),
        el("td", { class: "timeline" }, svg("svg", { viewBox: "0 0 100 10", preserveAspectRatio: "none", class: "job-bar", "aria-hidden": "true" },
          svg("rect", { x: 0, y: 1, height: 8, width: Math.max(0.5, ((s.p50_duration_seconds || 0) / top) * 100), class: "seg-run" }))))))));
}

/** Shows the detail of job key `key` under the table. */
export async function showJob(key, state) {
  const box = $("job-detail");
  box.hidden = false;
  try {
    const d = await daily(key, state);
    const figure = (label, value) => el("li", { class: "kpi" }, el("span", { class: "label" }, label), el("span", { class: "value" }, value));
    const trend = el("div", { class: "chart" });
    durationChart(trend, { tz: "UTC", buckets: d.daily.map((x) => ({ date: x.day, p50_build_time_seconds: x.p50_duration_seconds, p95_build_time_seconds: x.p95_duration_seconds })) },
      "Job duration per UTC day, p50 and p95");
    const variants = d.matrix.length > 1 || (d.matrix[0] && d.matrix[0].values);
    box.replaceChildren(...[
      el("h3", { id: "job-detail-title", tabindex: "-1" }, d.name, " · ", repoName(d.repo), " · ", text(d.workflow)),
      el("ul", { class: "kpis" }, figure("Runs", String(d.runs)), figure("Failure rate", pct(d.failure_rate)),
        figure("p50 / p95", `${duration(d.p50_duration_seconds)} / ${duration(d.p95_duration_seconds)}`),
        figure("Queue p50 / p95", `${duration(d.p50_queue_seconds)} / ${duration(d.p95_queue_seconds)}`),
        figure("Runner time", duration(d.runner_seconds))),
      el("h4", {}, "Step breakdown"),
      d.steps.length ? stepsTable(d.steps) : el("p", { class: "note" }, "No steps reported for this job."),
      el("h4", {}, "Duration trend"),
      el("figure", {}, el("figcaption", {}, "Job duration per UTC day (p50 and p95)"), trend),
      variants ? el("p", { class: "note" }, "Matrix variants: " + d.matrix.map((m) => `${text(m.values)} (${m.runs} runs, p50 ${duration(m.p50_duration_seconds)})`).join("; ")) : null,
    ].filter(Boolean));
  } catch (err) {
    box.replaceChildren(el("p", { class: "banner error" }, "Could not load this job: " + err.message));
  }
}

/** Wires the sort buttons and the phone sort select; `choose(sort, order)` records and reloads. */
export function wireJobs(choose) {
  for (const button of $("jobs").querySelectorAll("button.sort")) {
    button.addEventListener("click", () => {
      const th = button.closest("th");
      const key = button.dataset.key;
      const order = th.getAttribute("aria-sort") === "descending" ? "asc" : "desc";
      choose(key, key === "name" && th.getAttribute("aria-sort") !== "ascending" ? "asc" : order);
    });
  }
  $("jobs-sort").addEventListener("change", (event) => {
    const [sort, order] = event.target.value.split(" ");
    choose(sort, order);
  });
}

/** The header cells of the jobs table (sort buttons). */
export function jobsHeader() {
  const head = (label, key, num) => el("th", { scope: "col", class: num ? "num" : null, "data-sort": key },
    el("button", { type: "button", class: "sort", "data-key": key }, label));
  return el("tr", {}, head("Job", "name", false), el("th", { scope: "col" }, "Workflow"),
    COLUMNS.map(([label, key, , num]) => head(label, key, num)), el("th", { scope: "col" }, "Trend", el("span", { class: "visually-hidden" }, " (p50 per day)")));
}
