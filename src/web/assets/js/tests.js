// The Tests view: from the uploaded JUnit reports, the window's most
// failing, slowest (p50/p95/total time), flaky and newly failing tests
// (GET /api/insights/tests), a search by test name, class or file over
// those lists (in the page: the API has no name filter), and one test's
// history (GET /api/insights/tests/{id}) as a strip of outcomes with
// durations and a table. Test names and texts come from reports: text nodes
// only (el() never parses HTML). Outcomes carry a symbol and a word, never
// colour alone.

import { $, el, duration, localTime, percent, repoName, text } from "./format.js";
import { getJson } from "./api.js";

const OUTCOMES = { passed: "✓", failed: "✗", errored: "!", skipped: "↷" };

/** Milliseconds as text: "40 ms", "1.2 s", "2 min 3 s"; "–" when unknown. */
export function ms(value) {
  if (value === null || value === undefined) return "–";
  if (value < 1000) return Math.round(value) + " ms";
  if (value < 60000) return (value / 1000).toFixed(1) + " s";
  return duration(value / 1000);
}

function plural(n, word) { return `${n} ${word}${n === 1 ? "" : "s"}`; }

function outcome(name) {
  return el("span", { class: "test-outcome test-" + name },
    el("span", { "aria-hidden": "true" }, (OUTCOMES[name] || "?") + " "), name);
}

/** The text a search matches: name, class, file and repository. */
function haystack(test) {
  return [test.name, test.classname, test.file, test.repo].filter(Boolean).join(" ").toLowerCase();
}

// The four lists: table id, answer key, column headings, cells of one test, heading and its note.
const LISTS = [
  ["tests-failing", "most_failing", ["Failures", "Executions", "Failure rate"],
    (t) => [String(t.failures), String(t.executions), percent(t.failure_rate)],
    "Most failing", "· failed and errored executions"],
  ["tests-slowest", "slowest", ["Total time", "p50", "p95", "Timed executions"],
    (t) => [ms(t.total_ms), ms(t.p50_ms), ms(t.p95_ms), String(t.timed_executions)],
    "Slowest", "· total time in the window, p50 and p95 per execution"],
  ["tests-flaky", "flaky", ["Flaky occurrences", "Passed on rerun", "Attempt flips", "Commit flips"],
    (t) => [String(t.rerun_passes + t.attempt_flips + t.commit_flips), String(t.rerun_passes),
      String(t.attempt_flips), String(t.commit_flips)],
    "Flaky", "· passed on a rerun, failed then passed in the next attempt, or failed and passed on one commit"],
  ["tests-newly", "newly_failing", ["First failed", "Failures since", "Last passed"],
    (t, openDetail) => {
      const open = el("button", { type: "button", class: "link" }, localTime(t.first_failed_at),
        el("span", { class: "visually-hidden" }, " (build " + t.first_failed_build_id + ")"));
      open.addEventListener("click", () => openDetail(t.first_failed_build_id));
      return [open, String(t.failures), localTime(t.last_passed_at)];
    }, "Newly failing", "· first failure on the default branch since its last pass there"],
];

/** The four lists' sections: heading, scrolling table frame, empty note. */
function buildLists() {
  $("tests-lists").replaceChildren(...LISTS.map(([id, , , , title, note]) =>
    el("section", { "aria-labelledby": id + "-title" },
      el("h3", { id: id + "-title" }, title + " ", el("span", { class: "sub" }, note)),
      el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-labelledby": id + "-title" },
        el("table", { id, class: "tests-table" }, el("thead"), el("tbody"))),
      el("p", { id: id + "-empty", class: "note", hidden: true }))));
}

function nameCell(test, choose) {
  const where = [test.classname, test.file].filter(Boolean).join(" · ");
  const button = el("button", { type: "button", class: "link test-name", "aria-label": "History of " + test.name }, test.name);
  button.addEventListener("click", () => choose(test.test_id));
  return el("th", { scope: "row", "data-label": "Test" }, button,
    el("span", { class: "sub block" }, where ? where + " · " : "", repoName(test.repo)));
}

/** Renders `answer` (GET /api/insights/tests) into the four tables. */
export function renderTests(answer, openDetail, choose) {
  for (const [id, key, headings, cells] of LISTS) {
    const table = $(id);
    table.tHead.replaceChildren(el("tr", {}, el("th", { scope: "col" }, "Test"),
      headings.map((h) => el("th", { scope: "col" }, h))));
    table.tBodies[0].replaceChildren(...answer[key].map((t) => el("tr", { "data-test-id": t.test_id, "data-search": haystack(t) },
      nameCell(t, choose),
      cells(t, openDetail).map((c, i) => el("td", { class: i === 0 && key === "newly_failing" ? null : "num", "data-label": headings[i] }, c)))));
  }
  filterTests();
}

/** Hides the rows whose name, class, file and repository miss the search. */
export function filterTests() {
  const words = $("tests-search").value.trim().toLowerCase().split(/\s+/).filter(Boolean);
  let shown = 0, total = 0;
  for (const [id] of LISTS) {
    let visible = 0;
    for (const row of $(id).tBodies[0].rows) {
      const hit = words.every((w) => row.dataset.search.includes(w));
      row.hidden = !hit;
      if (hit) visible += 1;
    }
    const rows = $(id).tBodies[0].rows.length;
    shown += visible;
    total += rows;
    $(id + "-empty").textContent = rows === 0 ? "No tests in this list for the window." : "No test here matches the search.";
    $(id + "-empty").hidden = visible > 0;
  }
  $("tests-count").textContent = words.length
    ? `${shown} of ${plural(total, "row")} match “${words.join(" ")}”`
    : `${plural(total, "row")} in the four lists`;
}

function strip(executions) {
  // Oldest on the left, as a timeline reads.
  return el("ol", { class: "test-strip", "aria-label": "Outcomes, oldest first" },
    [...executions].reverse().map((e) => el("li", { class: "test-" + e.outcome },
      el("span", { "aria-hidden": "true" }, OUTCOMES[e.outcome] || "?"),
      el("span", { class: "visually-hidden" }, e.outcome + ", "),
      el("span", { class: "strip-ms" }, ms(e.duration_ms)))));
}

/** Shows one test's history (GET /api/insights/tests/{id}). */
export async function showTest(id, openDetail) {
  const box = $("test-history");
  box.hidden = false;
  box.replaceChildren(el("p", {}, "Loading…"));
  const h = await getJson("/api/insights/tests/" + encodeURIComponent(id));
  const counts = {};
  for (const e of h.executions) counts[e.outcome] = (counts[e.outcome] || 0) + 1;
  const rows = h.executions.map((e) => {
    const open = el("button", { type: "button", class: "link" }, "#" + e.build_id);
    open.addEventListener("click", () => openDetail(e.build_id));
    const cell = (label, ...content) => el("td", { "data-label": label }, ...content);
    return el("tr", {},
      el("th", { scope: "row", "data-label": "Uploaded" }, localTime(new Date(e.uploaded_at * 1000).toISOString())),
      cell("Outcome", outcome(e.outcome), e.reruns ? el("span", { class: "sub" }, ` after ${plural(e.reruns, "rerun")}`) : null),
      el("td", { class: "num", "data-label": "Duration" }, ms(e.duration_ms)),
      cell("Build", open, el("span", { class: "sub" }, ` run ${e.run_id} attempt ${e.run_attempt}`)),
      cell("Job", e.job_name), cell("Branch", text(e.branch)),
      cell("Commit", e.commit_sha ? el("code", {}, e.commit_sha.slice(0, 7)) : "–"));
  });
  const where = [h.classname, h.file, h.repo].filter(Boolean).join(" · ");
  box.replaceChildren(
    el("h3", { id: "test-history-title", tabindex: "-1" }, "History of ", el("code", {}, h.name)),
    el("p", { class: "note" }, where),
    el("p", { id: "test-history-counts" }, h.executions.length
      ? `Latest ${plural(h.executions.length, "execution")}: ` + Object.keys(OUTCOMES).map((k) => `${counts[k] || 0} ${k}`).join(" · ")
      : "No executions stored."),
    strip(h.executions),
    el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-labelledby": "test-history-title" },
      el("table", { id: "test-executions" },
        el("thead", {}, el("tr", {}, ["Uploaded", "Outcome", "Duration", "Build", "Job", "Branch", "Commit"]
          .map((c) => el("th", { scope: "col" }, c)))),
        el("tbody", {}, rows))));
  $("test-history-title").focus();
  return h;
}

/** Loads and renders the view for `state` (window, repository, branch). */
export async function loadTests(state, openDetail, choose) {
  const params = new URLSearchParams({ window_days: state.window });
  for (const name of ["repo", "branch"]) if (state[name]) params.set(name, state[name]);
  const job = $("tests-job").value.trim();
  if (job) params.set("job", job);
  const answer = await getJson("/api/insights/tests?" + params.toString());
  // From the UTC midnight at or before now − window (README: Time windows).
  const day = 86400000;
  const since = new Date(Math.floor((Date.now() - state.window * day) / day) * day).toISOString();
  const days = state.window + (Number(state.window) === 1 ? " UTC day" : " UTC days") + " and today";
  $("tests-window").textContent = "· since " + localTime(since) + " (" + days + ")" + (state.repo ? ", " + state.repo : "")
    + (state.branch ? ", branch " + state.branch : "") + (job ? ", job " + job : "");
  renderTests(answer, openDetail, choose);
  // At scale a stale answer is served while it is recomputed (README: Answer cache).
  $("tests-computed").textContent = "Lists computed " + localTime(answer.computed_at)
    + (answer.stale ? " · newer uploads are being added; this view updates when they are in." : ".");
  return answer;
}

/** Wires the search (filters as one types) and the job filter (reloads). */
export function wireTests(refresh) {
  buildLists();
  $("tests-search").addEventListener("input", filterTests);
  $("tests-form").addEventListener("submit", (event) => { event.preventDefault(); refresh(); });
}
