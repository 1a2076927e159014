// Overview: KPI cards from /api/metrics/summary (with the change against
// the previous window; narrowed by the view's repository and branch filter)
// and the health table from /api/metrics/health, sortable in the page by
// name, latest status (failures first) or success rate (lowest first).

import { $, el, svg, percent, duration, localTime, repoName, statusBadge, externalLink, text } from "./format.js";

/** Change of a rate, in percentage points; `good` says which direction is better. */
function rateDelta(now, before, good) {
  if (now === null || now === undefined || before === null || before === undefined) return null;
  const pp = (now - before) * 100;
  return { value: pp, text: (Math.abs(pp) < 0.05 ? "±0.0" : (pp > 0 ? "+" : "−") + Math.abs(pp).toFixed(1)) + " pp", good };
}

/** Relative change of an amount (a duration or a count). */
function relativeDelta(now, before, good) {
  if (now === null || now === undefined || !before) return null;
  const pct = ((now - before) / before) * 100;
  return { value: pct, text: (Math.abs(pct) < 0.5 ? "±0" : (pct > 0 ? "+" : "−") + Math.abs(pct).toFixed(0)) + " %", good };
}

function deltaNode(delta, windowLabel) {
  if (!delta) return el("span", { class: "delta" }, "no previous figure");
  const direction = Math.abs(delta.value) < 0.05 ? "flat" : delta.value > 0 ? "up" : "down";
  const arrow = { up: "▲", down: "▼", flat: "▶" }[direction];
  let tone = "neutral";
  if (direction !== "flat" && delta.good) tone = (direction === "up") === (delta.good === "up") ? "better" : "worse";
  const words = tone === "neutral" ? "" : tone === "better" ? " (better)" : " (worse)";
  return el("span", { class: "delta " + tone },
    el("span", { "aria-hidden": "true" }, arrow + " "), delta.text + words + " vs previous " + windowLabel);
}

/** Renders the KPI cards; `scope` names the filter ("" for everything). */
export function renderKpis(summary, windowLabel, scope) {
  const p = summary.previous || {};
  const cards = [
    ["success-rate", "Success rate", percent(summary.success_rate), rateDelta(summary.success_rate, p.success_rate, "up")],
    ["failure-rate", "Failure rate", percent(summary.failure_rate), rateDelta(summary.failure_rate, p.failure_rate, "down")],
    ["p50", "Median duration", duration(summary.p50_build_time_seconds),
      relativeDelta(summary.p50_build_time_seconds, p.p50_build_time_seconds, "down")],
    ["p95", "p95 duration", duration(summary.p95_build_time_seconds),
      relativeDelta(summary.p95_build_time_seconds, p.p95_build_time_seconds, "down")],
    ["queue", "Median queue time", duration(summary.median_queue_seconds),
      relativeDelta(summary.median_queue_seconds, p.median_queue_seconds, "down")],
    ["total", "Builds in window", String(summary.total_builds), relativeDelta(summary.total_builds, p.total_builds, null)],
  ];
  const items = cards.map(([key, label, value, delta]) =>
    el("li", { class: "kpi", "data-kpi": key },
      el("span", { class: "label" }, label), el("span", { class: "value" }, value), deltaNode(delta, windowLabel)));
  items.push(el("li", { class: "kpi", "data-kpi": "now" },
    el("span", { class: "label" }, "Running / queued now"),
    el("span", { class: "value" }, summary.running_now + " / " + summary.queued_now),
    el("span", { class: "delta" }, (scope || "all repositories") + ", any age")));
  $("kpis").replaceChildren(...items);
}

/** The latest statuses as a sparkline: success above the line, failed below, others a tick on it. */
function sparkline(recent) {
  const counts = {};
  for (const s of recent) counts[s] = (counts[s] || 0) + 1;
  const summary = "latest " + recent.length + " runs, oldest first: " + recent.join(", ");
  const chart = svg("svg", { viewBox: `0 0 ${recent.length * 8} 16`, width: recent.length * 11, height: 22,
    class: "spark", role: "img", "aria-label": summary },
    svg("title", {}, summary));
  recent.forEach((status, i) => {
    const cls = ["success", "failed", "cancelled"].includes(status) ? status : "other";
    const [y, h] = status === "success" ? [1, 7] : status === "failed" ? [8, 7] : [6, 4];
    chart.appendChild(svg("rect", { x: i * 8 + 1, y, width: 6, height: h, class: "s-" + cls, "data-status": status },
      svg("title", {}, status)));
  });
  chart.appendChild(svg("line", { x1: 0, x2: recent.length * 8, y1: 8, y2: 8, class: "spark-axis" }));
  return chart;
}

export const HEALTH_SORTS = ["name", "status", "rate"];

/** How urgent a latest status is: failures first, passing last. */
const URGENCY = ["failed", "action_required", "stale", "unknown", "cancelled", "running", "queued", "neutral", "skipped", "success"];
function urgency(status) {
  const i = URGENCY.indexOf(status);
  return i < 0 ? URGENCY.indexOf("unknown") : i;
}
const byName = (a, b) => (a.repo < b.repo ? -1 : a.repo > b.repo ? 1 : 0) || text(a.workflow).localeCompare(text(b.workflow))
  || text(a.provider_kind).localeCompare(text(b.provider_kind));
const rate = (line) => (line.success_rate === null || line.success_rate === undefined ? Infinity : line.success_rate);
const ORDERS = {
  name: byName,
  status: (a, b) => urgency(a.latest.status) - urgency(b.latest.status) || byName(a, b),
  rate: (a, b) => rate(a) - rate(b) || byName(a, b),
};

let shown = null;
let shownOpen = null;

/** Renders the health table in `sort` order (one of HEALTH_SORTS); `open(id)` shows a build's detail. */
export function renderHealth(health, open, sort) {
  shown = health;
  shownOpen = open;
  const order = ORDERS[sort] || ORDERS.name;
  $("health-sort").value = ORDERS[sort] ? sort : "name";
  for (const th of $("health").querySelectorAll("th[data-sort]")) {
    th.setAttribute("aria-sort", th.dataset.sort === (ORDERS[sort] ? sort : "name") ? "ascending" : "none");
  }
  const body = $("health").tBodies[0];
  const rows = [...health.rows].sort(order).map((line) => {
    const latest = el("button", { type: "button", class: "link" }, statusBadge(line.latest.status),
      el("span", { class: "visually-hidden" }, " — details of the latest build of " + line.repo + " " + text(line.workflow) + " on " + text(line.provider_name)));
    latest.addEventListener("click", () => open(line.latest.id));
    const failure = line.last_failure
      ? externalLink(line.last_failure.url, localTime(line.last_failure.started_at), "last failure of " + line.repo,
        localTime(line.last_failure.started_at))
      : "none in window";
    return el("tr", {},
      // The provider on a second line, as in the builds table: a repository name can exist on two providers.
      el("th", { scope: "row", "data-label": "Repository", class: "name" }, repoName(line.repo),
        el("span", { class: "visually-hidden" }, " on "), el("span", { class: "sub provider" }, text(line.provider_name))),
      el("td", { "data-label": "Workflow", class: "name" }, text(line.workflow)),
      el("td", { "data-label": "Branch", class: "branch", title: line.latest.branch || null }, text(line.latest.branch)),
      el("td", { "data-label": "Latest" }, latest),
      el("td", { "data-label": "Success rate", class: "num" }, percent(line.success_rate)),
      el("td", { "data-label": "Builds", class: "num" }, String(line.total_builds)),
      el("td", { "data-label": "Recent runs" }, sparkline(line.recent || [])),
      el("td", { "data-label": "Last failure" }, failure),
      el("td", { "data-label": "Link" }, line.latest.url ? externalLink(line.latest.url, "Open", "latest run of " + line.repo + " on its CI") : "–"));
  });
  body.replaceChildren(...rows);
  $("health-empty").hidden = rows.length > 0;
  // Suggestions for the workflow filter (repositories come from /api/repos).
  const workflows = [...new Set(health.rows.map((r) => r.workflow).filter(Boolean))];
  $("workflow-list").replaceChildren(...workflows.map((w) => el("option", { value: w })));
}

/** Wires the health table's sort buttons: `choose(key)` records the order; the shown lines are re-sorted at once. */
export function wireHealthSort(choose) {
  for (const button of $("health").querySelectorAll("button.sort")) {
    button.addEventListener("click", () => {
      choose(button.dataset.key);
      if (shown) renderHealth(shown, shownOpen, button.dataset.key);
    });
  }
  // Phones: the header is not shown, a select sorts instead.
  $("health-sort").addEventListener("change", (event) => {
    choose(event.target.value);
    if (shown) renderHealth(shown, shownOpen, event.target.value);
  });
}

/** Fills the repository suggestions from `/api/repos`' answer. */
export function renderRepoSuggestions(answer) {
  // One suggestion per name, even for a name on several providers.
  const names = [...new Set(answer.repos.map((r) => r.repo))];
  $("repo-list").replaceChildren(...names.map((repo) => el("option", { value: repo })));
}
