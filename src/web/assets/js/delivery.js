// The Delivery view: the four DORA keys of the window with their level and
// the change from the window before (GET /api/dora), a deployment timeline
// per environment with success and failure markers and incidents as bands,
// the deployments table, and the lead-time distribution (GET
// /api/deployments). Shapes differ as well as colours (circle = success,
// cross = failed, band = incident), and every mark has a <title>.

import { $, el, svg, percent, duration, localTime, text } from "./format.js";
import { getJson } from "./api.js";

const LEVELS = { elite: "Elite", high: "High", medium: "Medium", low: "Low" };
const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

function days(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  return seconds >= 86400 ? (seconds / 86400).toFixed(1) + " days" : duration(seconds);
}

/** One key: its value, level and the change from the window before (`lower` is better when true). */
function kpi(id, label, value, level, now, before, shown, lower) {
  let delta = "no earlier figure";
  let cls = "delta";
  if (now !== null && now !== undefined && before !== null && before !== undefined) {
    if (now === before) delta = "same as the window before";
    else {
      const better = lower ? now < before : now > before;
      delta = (now > before ? "▲ up" : "▼ down") + " from " + shown(before);
      cls += better ? " better" : " worse";
    }
  }
  return el("li", { class: "kpi", "data-key": id },
    el("span", { class: "label" }, label),
    el("span", { class: "value" }, value),
    el("span", { class: "level" + (level ? " level-" + level : "") }, level ? "DORA level: " + LEVELS[level] : "DORA level: –"),
    el("span", { class: cls }, delta));
}

function renderKeys(dora) {
  const c = dora.current, p = dora.previous;
  const freq = (f) => f.per_day >= 1 ? f.per_day.toFixed(1) + " a day" : (f.per_week).toFixed(1) + " a week";
  $("dora-kpis").replaceChildren(
    kpi("frequency", "Deployment frequency", freq(c.deployment_frequency), c.deployment_frequency.level,
      c.deployment_frequency.per_day, p.deployment_frequency.per_day, (v) => (v * 7).toFixed(1) + " a week", false),
    kpi("lead", "Lead time for changes (median)", days(c.lead_time.median_seconds), c.lead_time.level,
      c.lead_time.median_seconds, p.lead_time.median_seconds, days, true),
    kpi("cfr", "Change failure rate", percent(c.change_failure_rate.rate), c.change_failure_rate.level,
      c.change_failure_rate.rate, p.change_failure_rate.rate, percent, true),
    kpi("restore", "Time to restore (median)", days(c.time_to_restore.median_seconds), c.time_to_restore.level,
      c.time_to_restore.median_seconds, p.time_to_restore.median_seconds, days, true));
  const f = c.deployment_frequency;
  $("dora-line").textContent = `${f.deployments} successful production deployment${f.deployments === 1 ? "" : "s"}, `
    + `${c.change_failure_rate.failed_changes} failed change${c.change_failure_rate.failed_changes === 1 ? "" : "s"}, `
    + `${c.lead_time.commits} commit${c.lead_time.commits === 1 ? "" : "s"} with a lead time, `
    + `${c.time_to_restore.unrestored} outage${c.time_to_restore.unrestored === 1 ? "" : "s"} not restored`;
}

const W = 720, ROW = 34, LEFT = 12, RIGHT = 12;

/** One SVG strip per environment: incidents as bands, deployments as circles (success) or crosses (failed). */
function renderTimeline(answer, from, to) {
  const span = Math.max(1, to - from);
  const x = (iso) => LEFT + ((new Date(iso) - from) / span) * (W - LEFT - RIGHT);
  const finished = answer.deployments.filter((d) => d.finished_at && d.outcome !== "not_counted");
  const envs = [...new Set(finished.map((d) => d.environment))].sort();
  const strips = envs.map((env) => {
    const mine = finished.filter((d) => d.environment === env);
    const ok = mine.filter((d) => d.outcome === "success").length;
    const label = `${env}: ${ok} successful and ${mine.length - ok} failed deployments`;
    const root = svg("svg", { viewBox: `0 0 ${W} ${ROW}`, role: "img", "aria-label": label, class: "timeline-svg" },
      svg("title", {}, label),
      svg("line", { x1: LEFT, x2: W - RIGHT, y1: ROW / 2, y2: ROW / 2, class: "baseline" }));
    for (const i of answer.incidents.filter((i) => !i.environment || i.environment === env)) {
      const x1 = Math.max(LEFT, x(i.opened_at));
      const x2 = i.resolved_at ? Math.min(W - RIGHT, x(i.resolved_at)) : W - RIGHT;
      root.appendChild(svg("rect", { x: x1, y: 2, width: Math.max(2, x2 - x1), height: ROW - 4, class: "incident" },
        svg("title", {}, `Incident from ${localTime(i.opened_at)} to ${i.resolved_at ? localTime(i.resolved_at) : "now (open)"}`)));
    }
    for (const d of mine) {
      const cx = x(d.finished_at), cy = ROW / 2;
      const title = svg("title", {}, `${d.outcome === "success" ? "Succeeded" : "Failed"}: ${d.repository} ${(d.sha || "").slice(0, 7)} at ${localTime(d.finished_at)}`);
      root.appendChild(d.outcome === "success"
        ? svg("circle", { cx, cy, r: 6, class: "deploy-ok" }, title)
        : svg("path", { d: `M${cx - 6},${cy - 6} L${cx + 6},${cy + 6} M${cx - 6},${cy + 6} L${cx + 6},${cy - 6}`, class: "deploy-failed" }, title));
    }
    return el("figure", { class: "timeline", "data-environment": env }, el("figcaption", {}, env), root);
  });
  $("delivery-timeline").replaceChildren(...strips);
  $("delivery-empty").hidden = finished.length > 0;
}

function renderTable(answer) {
  const rows = answer.deployments.slice(0, 50).map((d) => {
    const leads = d.commits.map((c) => c.lead_time_seconds).filter((s) => s !== null).sort((a, b) => a - b);
    const median = leads.length ? leads[Math.floor((leads.length - 1) / 2)] : null;
    const outcome = d.failure_signal && d.outcome === "success" ? "success, then " + d.failure_signal.replace("_", " ") : d.outcome.replace("_", " ");
    return el("tr", { "data-outcome": d.outcome },
      el("td", {}, localTime(d.finished_at || d.created_at)),
      el("td", {}, d.environment + (d.production ? "" : " (not production)")),
      el("td", {}, d.repository),
      el("td", {}, el("code", {}, text(d.sha ? d.sha.slice(0, 7) : null))),
      el("td", { class: "outcome-" + d.outcome }, outcome + (d.rollback ? " (rollback)" : "")),
      el("td", { class: "num" }, String(d.commits.length)),
      el("td", { class: "num" }, days(median)));
  });
  $("deployments").querySelector("tbody").replaceChildren(...rows);
}

const BINS = [[3600, "under 1 hour"], [86400, "1 hour to 1 day"], [604800, "1 day to 1 week"],
  [2592000, "1 week to 30 days"], [Infinity, "over 30 days"]];

/** Commits by lead time, in the DORA bands' units, as a table with bars. */
function renderLeadTimes(answer) {
  const leads = answer.deployments.filter((d) => d.production).flatMap((d) => d.commits)
    .map((c) => c.lead_time_seconds).filter((s) => s !== null);
  const counts = BINS.map(([upper], i) => leads.filter((s) => s < upper && (i === 0 || s >= BINS[i - 1][0])).length);
  const most = Math.max(1, ...counts);
  $("lead-times").querySelector("tbody").replaceChildren(...BINS.map(([, label], i) => {
    // Set through the CSSOM: the page's CSP refuses style attributes.
    const bar = el("span", { class: "bar" });
    bar.style.width = Math.round((counts[i] / most) * 100) + "%";
    return el("tr", {}, el("th", { scope: "row" }, label), el("td", { class: "num" }, String(counts[i])),
      el("td", { class: "bar-cell", "aria-hidden": "true" }, bar));
  }));
}

/** Loads and renders the view for `state` (window, repository). */
export async function loadDelivery(state) {
  const params = new URLSearchParams({ window_days: state.window });
  if (state.repo) params.set("repo", state.repo);
  const [dora, list] = await Promise.all([
    getJson("/api/dora?" + params.toString() + "&tz=" + encodeURIComponent(tz)),
    getJson("/api/deployments?" + params.toString()),
  ]);
  $("delivery-window").textContent = "· last " + state.window + " day" + (state.window === "1" ? "" : "s")
    + (state.repo ? ", " + state.repo : "") + " · production: " + dora.production_environments.join(", ");
  renderKeys(dora);
  renderTimeline(list, new Date(dora.from), new Date(dora.to));
  renderTable(list);
  renderLeadTimes(list);
  return dora;
}
