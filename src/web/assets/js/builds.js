// The builds table: filters → /api/builds query, rows, sorting, paging and
// export links for exactly the same filter. The list follows the view's
// window (its start is the default "started after"), as the cards do.

import { $, el, duration, elapsed, localTime, repoName, statusBadge, externalLink, text } from "./format.js";
import { flakyBadge } from "./flaky.js";

export const PAGE_SIZE = 25;
export const TEXT_FILTERS = ["repo", "branch", "provider", "workflow", "status", "event", "actor", "q"];
export const WINDOWS = { 1: "24 hours", 7: "7 days", 30: "30 days", 90: "90 days" };

/** Local `datetime-local` text → RFC 3339 UTC, or null. */
function instant(local) {
  if (!local) return null;
  const d = new Date(local);
  return isNaN(d) ? null : d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The start of the view's window (as the summary counts it), RFC 3339 UTC. */
function windowStart(state) {
  const days = Number(state.window) || 7;
  return new Date(Math.floor(Date.now() / 1000) * 1000 - days * 86400000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The API filter (and sort) of the view state, without paging: "Started after" or else the window's start. */
export function filterParams(state) {
  const params = new URLSearchParams();
  for (const name of TEXT_FILTERS) if (state[name]) params.set(name, state[name]);
  const since = instant(state.since) || windowStart(state), until = instant(state.until);
  params.set("since", since);
  if (state.latest) params.set("latest_attempt", "true");
  if (until) params.set("until", until);
  if (state.sort && state.sort !== "-started") params.set("sort", state.sort);
  return params;
}

export function hasFilter(state) {
  return TEXT_FILTERS.some((n) => state[n]) || Boolean(state.since || state.until || state.latest);
}

function row(b, open) {
  const details = el("button", { type: "button", class: "link" }, "Details",
    el("span", { class: "visually-hidden" }, " of build " + b.id));
  details.addEventListener("click", () => open(b.id));
  const commit = b.commit_sha ? el("code", {}, b.commit_sha.slice(0, 7)) : "–";
  const attempt = b.run_attempt > 1 ? " (attempt " + b.run_attempt + ")" : "";
  const start = b.started_at || b.first_job_started_at;
  // Unfinished: how long so far (kept current), flagged past a day.
  const took = b.status === "running" ? elapsed(start, "running for")
    : b.status === "queued" ? elapsed(b.created_at || start, "waiting for") : duration(b.duration_seconds);
  return el("tr", { "data-id": b.id, "data-flaky": b.flaky ? "true" : null },
    el("td", { "data-label": "Status" }, statusBadge(b.status), b.flaky ? flakyBadge("attempt") : null),
    // The provider on a second line of the repository: no extra column, so the table still fits 1 280 px.
    el("td", { "data-label": "Repository", class: "name" }, el("span", { class: "repo" }, repoName(b.repo)),
      el("span", { class: "visually-hidden" }, " on "), el("span", { class: "sub provider" }, text(b.provider_name))),
    el("td", { "data-label": "Workflow", class: "name" }, text(b.workflow) + attempt),
    el("td", { "data-label": "Branch", class: "branch", title: b.branch || null }, text(b.branch)),
    el("td", { "data-label": "Commit" }, commit),
    el("td", { "data-label": "Actor" }, text(b.triggered_by)),
    el("td", { "data-label": "Event" }, text(b.event)),
    el("td", { "data-label": "Duration", class: "num" + (typeof took === "string" ? "" : " running") }, took),
    el("td", { "data-label": "Started", title: !b.started_at && b.first_job_started_at ? "first job's start (the run's own start is not known yet)" : null },
      localTime(start)),
    el("td", { "data-label": "Links", class: "actions" }, details, " ",
      externalLink(b.url, "Open", "run " + b.external_id + " on " + b.provider_name)));
}

/** Renders one page of builds and everything around the table. */
export function renderBuilds(page, state, open) {
  const body = $("builds").tBodies[0];
  body.replaceChildren(...page.builds.map((b) => row(b, open)));
  const first = page.total ? page.offset + 1 : 0;
  const last = page.offset + page.builds.length;
  // Which starts are listed: the window's, unless "Started after" says otherwise.
  const scope = (state.since ? "" : " started in the last " + WINDOWS[state.window])
    + (state.latest ? " (latest attempt of each run)" : "");
  $("builds-count").textContent = page.total
    ? `Showing ${first}–${last} of ${page.total} builds${scope}`
    : hasFilter(state) ? "No builds match these filters" + scope + "." : "No builds" + scope + ".";
  $("builds-sort").value = state.sort || "-started";
  $("page-prev").disabled = page.offset === 0;
  $("page-next").disabled = !page.has_more;
  $("page-info").textContent = page.total ? `Page ${state.page} of ${Math.max(1, Math.ceil(page.total / PAGE_SIZE))}` : "";
  for (const th of $("builds").querySelectorAll("th[data-sort]")) {
    const key = th.dataset.sort;
    const sort = state.sort || "-started";
    th.setAttribute("aria-sort", sort === key ? "ascending" : sort === "-" + key ? "descending" : "none");
  }
  const filter = filterParams(state);
  for (const format of ["csv", "json"]) {
    const params = new URLSearchParams(filter);
    params.set("format", format);
    $("export-" + format).setAttribute("href", "/api/builds/export?" + params.toString());
  }
}

/** Replaces the row of `build` in place, if shown (a live `build` event). */
export function patchRow(build, open) {
  const current = $("builds").querySelector(`tr[data-id="${Number(build.id)}"]`);
  // Live events carry no flaky field: the row keeps the badge it had.
  if (current && build.flaky === undefined) build = { ...build, flaky: current.dataset.flaky === "true" };
  if (current) current.replaceWith(row(build, open));
  return Boolean(current);
}
