// Entry point: view state kept in the URL, loading, and wiring of the
// overview, charts, builds table, detail dialog, the Alerts view and live
// updates.

import { $, hhmm, localTime, tickElapsed } from "./format.js";
import { getJson, setToken, token } from "./api.js";
import { outcomesChart, successRateChart, durationChart } from "./charts.js";
import { HEALTH_SORTS, renderKpis, renderHealth, renderRepoSuggestions, wireHealthSort } from "./overview.js";
import { PAGE_SIZE, TEXT_FILTERS, WINDOWS, filterParams, hasFilter, renderBuilds, patchRow } from "./builds.js";
import { showDetail } from "./detail.js";
import { startLive } from "./live.js";
import { VIEWS, showView, wireViews } from "./views.js";
import { JOB_SORTS, jobsHeader, loadJobs, showJob, wireJobs } from "./jobs.js";
import { loadHistory, patchAlert, wireHistory } from "./alerts.js";
import { loadSettings, wireSettings } from "./alert_settings.js";
import { wireTest } from "./alert_test.js";
import { renderRunners } from "./runners.js";
import { renderFlaky } from "./flaky.js";
import { loadFailures, wireFailures } from "./failures.js";
import { loadTests, showTest, wireTests } from "./tests.js";
import { loadDelivery } from "./delivery.js";

const URL_KEYS = ["view", "window", ...TEXT_FILTERS, "since", "until", "latest", "sort", "hsort", "page", "build", "jsort", "jorder", "job"];
const TZ = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

const state = readUrl();
let lastUpdated = null;
let streamState = "connecting";
let offline = false;
// The settings form is (re)loaded on entering the Alerts view and after a
// token change, never on live updates (that would discard edits).
let settingsStale = true;

function readUrl() {
  const p = new URLSearchParams(window.location.search);
  const s = {};
  for (const key of URL_KEYS) s[key] = p.get(key) || "";
  if (!VIEWS.includes(s.view)) s.view = "dashboard";
  if (!WINDOWS[s.window]) s.window = "7";
  if (!["-started", "started", "-duration", "duration"].includes(s.sort)) s.sort = "-started";
  if (!HEALTH_SORTS.includes(s.hsort)) s.hsort = "name";
  if (!JOB_SORTS.includes(s.jsort)) s.jsort = "runner_seconds";
  if (s.jorder !== "asc") s.jorder = "desc";
  s.latest = s.latest ? "1" : "";
  s.page = Math.max(1, parseInt(s.page, 10) || 1);
  // A provider this page does not offer (a stale link) is dropped, not sent.
  if (![...$("f-provider").options].some((o) => o.value === s.provider)) s.provider = "";
  return s;
}

function writeUrl() {
  const p = new URLSearchParams();
  for (const key of URL_KEYS) {
    const v = state[key];
    if (!v || (key === "view" && v === "dashboard") || (key === "window" && v === "7") || (key === "sort" && v === "-started") || (key === "hsort" && v === "name") || (key === "jsort" && v === "runner_seconds") || (key === "jorder" && v === "desc") || (key === "page" && v === 1)) continue;
    p.set(key, String(v));
  }
  const query = p.toString();
  window.history.replaceState(null, "", query ? "?" + query : window.location.pathname);
}

function fillForms() {
  for (const key of ["window", ...TEXT_FILTERS, "since", "until"]) {
    const input = $("f-" + key);
    if (input) input.value = state[key];
  }
  $("f-latest").checked = state.latest === "1";
  $("window-label").textContent = "· last " + WINDOWS[state.window];
  $("tz-name").textContent = TZ;
}

function readForm(form) {
  // An unticked checkbox is not in the form data.
  if (form.contains($("f-latest"))) state.latest = "";
  for (const [key, value] of new FormData(form).entries()) state[key] = String(value).trim();
  state.page = 1;
  writeUrl();
  fillForms();
  refresh();
}

// --- status line -------------------------------------------------------------
function showState() {
  const live = $("live");
  const when = lastUpdated ? hhmm(lastUpdated) : "never";
  let label;
  if (offline) { live.dataset.state = "offline"; label = "offline, last updated " + when; }
  else if (streamState === "live") { live.dataset.state = "live"; label = "live"; }
  else if (streamState === "reconnecting") { live.dataset.state = "reconnecting"; label = "reconnecting…"; }
  else if (streamState === "polling") { live.dataset.state = "polling"; label = "updating every 30 s, last " + when; }
  else { live.dataset.state = "connecting"; label = "connecting…"; }
  $("live-text").textContent = label;
}

function showErrors(errors) {
  const banner = $("banner");
  const unauthorized = errors.find((e) => e.status === 401);
  offline = errors.length > 0 && errors.every((e) => e.status === 0);
  // The Alerts view's how-to (no token yet) points at the token field: keep it shown.
  const howto = state.view === "alerts" && !$("settings-howto").hidden;
  $("token-form").hidden = !unauthorized && !token() && !howto;
  if (unauthorized) {
    banner.textContent = "API answered 401 — enter a token (it is kept for this browser tab only).";
  } else if (offline) {
    banner.textContent = "The server is not answering; showing what was last loaded. Retrying…";
  } else if (errors.length) {
    banner.textContent = "Could not load everything: " + errors[0].message;
  }
  banner.hidden = errors.length === 0;
  showState();
}

// --- loading ------------------------------------------------------------------
async function loadOverview() {
  const days = Number(state.window);
  const series = new URLSearchParams({ window_days: String(Math.max(2, days)), bucket: "day", tz: TZ });
  const scoped = new URLSearchParams({ window_days: String(days) });
  for (const key of ["repo", "branch", "provider"]) {
    if (state[key]) { series.set(key, state[key]); scoped.set(key, state[key]); }
  }
  // The cards, charts, health table and builds all follow the repository, branch and provider filter.
  const [summary, timeseries, lines] = await Promise.all([
    getJson("/api/metrics/summary?" + scoped.toString()),
    getJson("/api/metrics/timeseries?" + series.toString()),
    getJson("/api/metrics/health?" + scoped.toString()),
  ]);
  const providerName = state.provider && $("f-provider").selectedOptions[0]?.textContent;
  const scope = [state.repo && "repository " + state.repo, state.branch && "branch " + state.branch,
    providerName && "provider " + providerName].filter(Boolean).join(", ");
  renderKpis(summary, WINDOWS[state.window], scope);
  $("kpi-note").textContent = scope ? "Only " + scope + " (cards, charts, health and builds)." : "";
  $("kpi-note").hidden = !scope;
  $("charts-label").textContent = `· last ${timeseries.buckets.length} days, ${timeseries.tz}`;
  outcomesChart($("chart-outcomes"), timeseries);
  successRateChart($("chart-rate"), timeseries);
  durationChart($("chart-duration"), timeseries);
  renderHealth(lines, openDetail, state.hsort);
  return summary;
}

async function loadBuilds() {
  const params = filterParams(state);
  params.set("limit", String(PAGE_SIZE));
  params.set("offset", String((state.page - 1) * PAGE_SIZE));
  const page = await getJson("/api/builds?" + params.toString());
  if (page.total > 0 && page.builds.length === 0 && state.page > 1) {
    state.page = 1;
    writeUrl();
    return loadBuilds();
  }
  renderBuilds(page, state, openDetail);
  return page;
}

/** Repository suggestions for the filter: every stored repository, whatever the filter (best effort, at most once a minute). */
let reposAt = 0;
function loadRepos() {
  if (Date.now() - reposAt < 60000) return;
  reposAt = Date.now();
  getJson("/api/repos").then(renderRepoSuggestions, () => { reposAt = 0; });
}

/** The Runners view: GET /api/insights/runners for the window and repository. */
async function loadRunners() {
  const params = new URLSearchParams({ window_days: state.window });
  if (state.repo) params.set("repo", state.repo);
  const answer = await getJson("/api/insights/runners?" + params.toString());
  // Whole UTC days (README: Time windows): say where the window starts.
  const days = Number(state.window) === 1 ? "today, UTC" : state.window + " UTC days";
  $("runners-window").textContent = "· since " + localTime(answer.from) + " (" + days + ")"
    + (state.repo ? ", " + state.repo : "");
  renderRunners(answer, openDetail);
  return answer;
}

/** The Flaky view: GET /api/insights/flaky for the window, repository, branch and provider. */
async function loadFlaky() {
  const params = new URLSearchParams({ window_days: state.window });
  for (const name of ["repo", "branch", "provider"]) if (state[name]) params.set(name, state[name]);
  const answer = await getJson("/api/insights/flaky?" + params.toString());
  $("flaky-window").textContent = "· last " + WINDOWS[state.window] + (state.repo ? ", " + state.repo : "");
  renderFlaky(answer, openDetail);
  return answer;
}

let running = null;
let again = false;

/** The Alerts view: history always, settings when stale; a 401 on settings asks for a token too. */
async function loadAlerts() {
  const tasks = [loadHistory()];
  if (settingsStale) {
    settingsStale = false;
    tasks.push(loadSettings().then((err) => { if (err && err.status === 401) throw err; }));
  }
  return Promise.allSettled(tasks);
}

/** Reloads the current view; overlapping calls collapse into one more run. */
async function refresh() {
  if (running) { again = true; return running; }
  running = (async () => {
    const alerts = state.view === "alerts";
    const jobs = state.view === "jobs";
    const runners = state.view === "runners" || state.view === "failures" || state.view === "delivery" || state.view === "tests";
    const flaky = state.view === "flaky";
    const results = await (alerts ? loadAlerts() : jobs ? Promise.allSettled([loadJobs(state, openJob)])
      : flaky ? Promise.allSettled([loadFlaky()])
      : state.view === "failures" ? Promise.allSettled([loadFailures(state, openDetail)])
      : state.view === "tests" ? Promise.allSettled([loadTests(state, openDetail, openTest).then(retryIfStale)])
      : state.view === "delivery" ? Promise.allSettled([loadDelivery(state)])
      : runners ? Promise.allSettled([loadRunners()]) : Promise.allSettled([loadOverview(), loadBuilds()]));
    const errors = results.filter((r) => r.status === "rejected").map((r) => r.reason);
    if (!errors.length) lastUpdated = new Date();
    const [summary, page] = results.map((r) => (r.status === "fulfilled" ? r.value : null));
    // No builds at all (not only none in the window): the summary's latest status is over all time.
    $("empty").hidden = alerts || jobs || runners || flaky || !(summary && page && summary.last_build_status === null && page.total === 0 && !hasFilter(state));
    if (!alerts && !jobs && !runners && !flaky && !errors.length) loadRepos();
    showErrors(errors);
    document.body.dataset.loaded = String(Date.now());
  })();
  try { await running; } finally {
    running = null;
    if (again) { again = false; refresh(); }
  }
}

/** A stale answer (being recomputed on the server) is asked for again in 2 s. */
function retryIfStale(answer) {
  if (answer && answer.stale) setTimeout(refreshSoon, 2000);
  return answer;
}

let scheduled = null;
function refreshSoon() {
  // The Jobs view reads aggregates and one series per line shown: at most every 10 s.
  if (!scheduled) scheduled = setTimeout(() => { scheduled = null; refresh(); }, state.view === "jobs" ? 10000 : 250);
}

// --- detail -------------------------------------------------------------------
function openDetail(id) {
  state.build = String(id);
  writeUrl();
  showDetail(id);
}

function openJob(key) {
  state.job = String(key);
  writeUrl();
  showJob(state.job, state).then(() => { const title = $("job-detail-title"); if (title) title.focus(); });
}

function openTest(id) {
  showTest(id, openDetail).catch((err) => showErrors([err]));
}

function chooseView(view) {
  if (view === state.view) return;
  state.view = view;
  if (view === "alerts") settingsStale = true;
  writeUrl();
  showView(view);
  refresh();
  $("main").focus();
}

// --- wiring -------------------------------------------------------------------
function wire() {
  wireViews(chooseView);
  wireFailures(refresh);
  wireTests(refresh);
  wireHistory(openDetail);
  wireSettings();
  wireTest();
  $("view-form").addEventListener("submit", (e) => { e.preventDefault(); readForm(e.target); });
  $("f-window").addEventListener("change", () => readForm($("view-form")));
  $("builds-form").addEventListener("submit", (e) => { e.preventDefault(); readForm(e.target); });
  $("filters-reset").addEventListener("click", () => {
    for (const key of ["workflow", "status", "event", "actor", "q", "since", "until", "latest"]) state[key] = "";
    state.page = 1;
    writeUrl();
    fillForms();
    refresh();
  });
  wireHealthSort((key) => { state.hsort = key; writeUrl(); });
  $("jobs").tHead.replaceChildren(jobsHeader());
  $("jobs-sort").replaceChildren(...JOB_SORTS.flatMap((key) => ["desc", "asc"].map((order) => {
    const option = document.createElement("option");
    option.value = key + " " + order;
    option.textContent = key.replace(/_/g, " ") + (order === "desc" ? ", highest first" : ", lowest first");
    return option;
  })));
  wireJobs((sort, order) => {
    state.jsort = sort;
    state.jorder = order;
    writeUrl();
    loadJobs(state, openJob).catch((err) => showErrors([err]));
  });
  for (const button of document.querySelectorAll("#builds button.sort")) {
    button.addEventListener("click", () => {
      const key = button.dataset.key;
      state.sort = state.sort === "-" + key ? key : "-" + key;
      state.page = 1;
      writeUrl();
      loadBuilds().catch((err) => showErrors([err]));
    });
  }
  $("builds-sort").addEventListener("change", (event) => {
    state.sort = event.target.value;
    state.page = 1;
    writeUrl();
    loadBuilds().catch((err) => showErrors([err]));
  });
  $("page-prev").addEventListener("click", () => { state.page = Math.max(1, state.page - 1); writeUrl(); loadBuilds().catch((err) => showErrors([err])); });
  $("page-next").addEventListener("click", () => { state.page += 1; writeUrl(); loadBuilds().catch((err) => showErrors([err])); });
  $("detail-close").addEventListener("click", () => $("detail").close());
  $("detail").addEventListener("close", () => { state.build = ""; writeUrl(); });
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    setToken($("token").value.trim());
    reposAt = 0;
    $("token").value = "";
    settingsStale = true;
    live.restart();
    refresh();
  });
  $("token-clear").addEventListener("click", () => { setToken(""); settingsStale = true; live.restart(); refresh(); });
}

fillForms();
showView(state.view);
wire();
const live = startLive({
  onBuild(build) { patchRow(build, openDetail); refreshSoon(); },
  onJob(job) {
    if ($("detail").open && String(job.build_id) === state.build) showDetail(state.build);
    refreshSoon();
  },
  onAlert(alert) { if (!patchAlert(alert) && state.view === "alerts") refreshSoon(); },
  onDelivery() { if (state.view === "delivery") refreshSoon(); },
  onResync() { refresh(); },
  onPoll() { refresh(); },
  onState(s) { streamState = s; showState(); },
});
refresh();
if (state.build) showDetail(state.build);
setInterval(tickElapsed, 1000);
