// First dashboard page: KPI cards from /api/metrics/summary and a table of
// recent builds from /api/builds, refreshed every 30 s. Every value from the
// API is written with textContent (branch, workflow and commit text is
// attacker-controlled), never as HTML.
"use strict";

const REFRESH_MS = 30000;
const STATUS_ICONS = {
  success: "✓", failed: "✗", running: "●", queued: "○", cancelled: "⊘",
  skipped: "↷", neutral: "–", action_required: "!", stale: "…", unknown: "?",
};

function $(id) { return document.getElementById(id); }

function percent(rate) {
  return rate === null || rate === undefined ? "–" : (rate * 100).toFixed(1) + " %";
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.round(seconds);
  if (s < 60) return s + " s";
  const m = Math.floor(s / 60), rest = s % 60;
  if (m < 60) return m + " min " + rest + " s";
  return Math.floor(m / 60) + " h " + (m % 60) + " min";
}

function localTime(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return isNaN(d) ? "–" : d.toLocaleString();
}

function statusBadge(status) {
  const span = document.createElement("span");
  const known = Object.prototype.hasOwnProperty.call(STATUS_ICONS, status) ? status : "unknown";
  span.className = "status status-" + known;
  span.textContent = STATUS_ICONS[known] + " " + String(status).replace("_", " ");
  return span;
}

function cell(row, label, text, className) {
  const td = document.createElement("td");
  td.dataset.label = label;
  if (text instanceof Node) td.appendChild(text); else td.textContent = text === null || text === undefined ? "–" : String(text);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function safeLink(url, label) {
  // Only http(s) links; anything else (javascript:, data:) is shown as text.
  try {
    const u = new URL(url, window.location.href);
    if (u.protocol === "https:" || u.protocol === "http:") {
      const a = document.createElement("a");
      a.href = u.href;
      a.textContent = label;
      a.rel = "noopener noreferrer";
      return a;
    }
  } catch (e) { /* not a URL */ }
  return document.createTextNode("–");
}

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) {
    let detail = "";
    try { detail = (await response.json()).detail || ""; } catch (e) { /* not JSON */ }
    throw new Error("API answered " + response.status + (detail ? " — " + detail : ""));
  }
  return response.json();
}

function renderSummary(summary) {
  $("kpi-success-rate").textContent = percent(summary.success_rate);
  $("kpi-failure-rate").textContent = percent(summary.failure_rate);
  $("kpi-avg").textContent = duration(summary.avg_build_time_seconds);
  $("kpi-p95").textContent = duration(summary.p95_build_time_seconds);
  $("kpi-total").textContent = String(summary.total_builds);
  const last = $("kpi-last");
  last.textContent = "";
  last.appendChild(summary.last_build_status ? statusBadge(summary.last_build_status) : document.createTextNode("–"));
  $("kpi-note").textContent =
    summary.success_count + " succeeded, " + summary.failure_count + " failed, " +
    summary.cancelled_count + " cancelled, " + summary.skipped_count + " skipped, " +
    summary.in_progress_count + " running, " + summary.queued_count + " queued. " +
    "Rates count only succeeded and failed attempts; attempts seen only through their jobs have no start yet and are in no window.";
}

function renderBuilds(list) {
  const tbody = document.querySelector("#builds tbody");
  tbody.textContent = "";
  $("empty").hidden = list.total !== 0;
  for (const b of list.builds) {
    const tr = document.createElement("tr");
    cell(tr, "Status", statusBadge(b.status));
    cell(tr, "Repository", b.repo);
    cell(tr, "Workflow", b.workflow);
    cell(tr, "Branch", b.branch);
    cell(tr, "Commit", b.commit_sha ? b.commit_sha.slice(0, 7) : null, "mono");
    cell(tr, "Actor", b.triggered_by);
    cell(tr, "Duration", duration(b.duration_seconds), "num");
    cell(tr, "Started", localTime(b.started_at));
    cell(tr, "Run", b.url ? safeLink(b.url, "#" + (b.run_number ?? b.external_id) + (b.run_attempt > 1 ? " (attempt " + b.run_attempt + ")" : "")) : null);
    tbody.appendChild(tr);
  }
}

async function refresh() {
  const windowDays = $("window").value;
  try {
    const [summary, builds] = await Promise.all([
      getJson("/api/metrics/summary?window_days=" + encodeURIComponent(windowDays)),
      getJson("/api/builds?limit=50"),
    ]);
    renderSummary(summary);
    renderBuilds(builds);
    $("error").hidden = true;
    $("refresh-state").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (err) {
    const banner = $("error");
    banner.textContent = "Could not load data: " + err.message + ". Showing the last values; retrying every 30 s.";
    banner.hidden = false;
    $("refresh-state").textContent = "offline";
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const select = $("window");
  const fromUrl = new URLSearchParams(window.location.search).get("window_days");
  if (fromUrl && [...select.options].some((o) => o.value === fromUrl)) select.value = fromUrl;
  select.addEventListener("change", () => {
    const url = new URL(window.location.href);
    url.searchParams.set("window_days", select.value);
    window.history.replaceState(null, "", url);
    refresh();
  });
  refresh();
  setInterval(refresh, REFRESH_MS);
});
