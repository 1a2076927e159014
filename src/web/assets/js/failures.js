// The Failures view: the top failure signatures of the window (GET
// /api/insights/failures), filtered by infrastructure or code, and one
// signature's builds (GET /api/insights/failures/{fingerprint}). Signature
// texts and error lines come from CI logs: text nodes only.

import { $, el, localTime, text } from "./format.js";
import { getJson } from "./api.js";
import { classBadge } from "./failure_reasons.js";

function list(names) { return names.length ? names.join(", ") : "–"; }

async function showSignature(fingerprint, params, openDetail) {
  const box = $("failure-detail");
  box.hidden = false;
  box.replaceChildren(el("p", {}, "Loading…"));
  const answer = await getJson("/api/insights/failures/" + encodeURIComponent(fingerprint) + "?" + params.toString());
  const rows = answer.builds.map((b) => {
    const open = el("button", { type: "button", class: "link" }, "#" + b.build_id);
    open.addEventListener("click", () => openDetail(b.build_id));
    return el("tr", {},
      el("td", {}, open), el("td", {}, b.repo), el("td", {}, text(b.branch)),
      el("td", {}, text(b.job_name)), el("td", {}, text(b.failed_step)),
      el("td", {}, el("code", {}, text(b.first_error_line))), el("td", {}, localTime(b.failed_at)));
  });
  box.replaceChildren(
    el("h3", { id: "failure-detail-title", tabindex: "-1" }, "Builds with ", el("code", {}, answer.text)),
    el("p", { class: "note" }, `${answer.failures} failed job${answer.failures === 1 ? "" : "s"} in the window; first seen `, localTime(answer.first_seen)),
    el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-labelledby": "failure-detail-title" },
      el("table", {},
        el("thead", {}, el("tr", {}, ["Build", "Repository", "Branch", "Job", "Failed step", "First error line", "Failed at"]
          .map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, rows))));
  $("failure-detail-title").focus();
}

/** Loads and renders the view for `state` (window, repository, branch). */
export async function loadFailures(state, openDetail) {
  const params = new URLSearchParams({ window_days: state.window });
  if (state.repo) params.set("repo", state.repo);
  if (state.branch) params.set("branch", state.branch);
  const cls = $("failures-class").value;
  if (cls) params.set("class", cls);
  const answer = await getJson("/api/insights/failures?" + params.toString());
  const body = $("failures").querySelector("tbody");
  body.replaceChildren(...answer.signatures.map((s) => {
    const show = el("button", { type: "button", class: "link" }, "builds");
    show.addEventListener("click", () => showSignature(s.fingerprint, params, openDetail));
    const example = el("button", { type: "button", class: "link" }, "#" + s.example_build_id);
    example.addEventListener("click", () => openDetail(s.example_build_id));
    const cell = (label, ...content) => el("td", { "data-label": label }, ...content);
    return el("tr", { "data-fingerprint": s.fingerprint },
      el("th", { scope: "row", "data-label": "Signature" }, el("code", { class: "signature-text" }, s.text)),
      cell("Class", classBadge(s.class), s.infrastructure_failures && s.infrastructure_failures < s.failures
        ? el("span", { class: "sub" }, ` ${s.infrastructure_failures} infra`) : null),
      el("td", { class: "num", "data-label": "Failed jobs" }, String(s.failures)),
      el("td", { class: "num", "data-label": "Builds" }, String(s.builds)),
      cell("Last seen", localTime(s.last_seen)),
      cell("First seen", localTime(s.first_seen)),
      cell("Jobs", list(s.jobs)),
      cell("Branches", list(s.branches)),
      cell("Repositories", list(s.repositories)),
      cell("Example", example, " · ", show));
  }));
  $("failures-empty").hidden = answer.signatures.length > 0;
  $("failures-count").textContent = `${answer.signatures.length} signature${answer.signatures.length === 1 ? "" : "s"} in the last ${answer.window_days} day${answer.window_days === 1 ? "" : "s"}`;
  return answer;
}

/** Re-runs `refresh` when the class filter changes. */
export function wireFailures(refresh) {
  $("failures-class").addEventListener("change", () => { $("failure-detail").hidden = true; refresh(); });
}
