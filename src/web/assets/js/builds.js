// The builds table: filters → /api/builds query, rows, sorting, paging and
// export links for exactly the same filter.

import { $, el, duration, localTime, statusBadge, externalLink, text } from "./format.js";

export const PAGE_SIZE = 25;
export const TEXT_FILTERS = ["repo", "branch", "workflow", "status", "event", "actor", "q"];

/** Local `datetime-local` text → RFC 3339 UTC, or null. */
function instant(local) {
  if (!local) return null;
  const d = new Date(local);
  return isNaN(d) ? null : d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The API filter (and sort) of the view state, without paging. */
export function filterParams(state) {
  const params = new URLSearchParams();
  for (const name of TEXT_FILTERS) if (state[name]) params.set(name, state[name]);
  const since = instant(state.since), until = instant(state.until);
  if (since) params.set("since", since);
  if (until) params.set("until", until);
  if (state.sort && state.sort !== "-started") params.set("sort", state.sort);
  return params;
}

export function hasFilter(state) {
  return TEXT_FILTERS.some((n) => state[n]) || Boolean(state.since || state.until);
}

function row(b, open) {
  const details = el("button", { type: "button", class: "link" }, "Details",
    el("span", { class: "visually-hidden" }, " of build " + b.id));
  details.addEventListener("click", () => open(b.id));
  const commit = b.commit_sha ? el("code", {}, b.commit_sha.slice(0, 7)) : "–";
  const attempt = b.run_attempt > 1 ? " (attempt " + b.run_attempt + ")" : "";
  return el("tr", { "data-id": b.id },
    el("td", { "data-label": "Status" }, statusBadge(b.status)),
    el("td", { "data-label": "Repository" }, b.repo),
    el("td", { "data-label": "Workflow" }, text(b.workflow) + attempt),
    el("td", { "data-label": "Branch", class: "branch" }, text(b.branch)),
    el("td", { "data-label": "Commit" }, commit),
    el("td", { "data-label": "Actor" }, text(b.triggered_by)),
    el("td", { "data-label": "Event" }, text(b.event)),
    el("td", { "data-label": "Duration", class: "num" }, duration(b.duration_seconds)),
    el("td", { "data-label": "Started", title: !b.started_at && b.first_job_started_at ? "first job's start (the run's own start is not known yet)" : null },
      localTime(b.started_at || b.first_job_started_at)),
    el("td", { "data-label": "Links", class: "actions" }, details, " ",
      externalLink(b.url, "GitHub", "Run " + b.external_id + " on GitHub")));
}

/** Renders one page of builds and everything around the table. */
export function renderBuilds(page, state, open) {
  const body = $("builds").tBodies[0];
  body.replaceChildren(...page.builds.map((b) => row(b, open)));
  const first = page.total ? page.offset + 1 : 0;
  const last = page.offset + page.builds.length;
  $("builds-count").textContent = page.total
    ? `Showing ${first}–${last} of ${page.total} builds`
    : hasFilter(state) ? "No builds match these filters." : "";
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
  if (current) current.replaceWith(row(build, open));
  return Boolean(current);
}
