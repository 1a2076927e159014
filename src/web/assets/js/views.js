// The page's views, "dashboard" (overview, trends, health, builds),
// "jobs" (job insights), "runners" (queues and concurrency per runner
// label set), "flaky" (flaky workflows and jobs), "failures" (failure signatures), "tests" (JUnit test insights), "delivery" (the DORA keys,
// deployments) and "alerts" (history, settings, test): the nav links carry
// `?view=…`, the current one is marked aria-current, and the other views'
// parts are hidden.

import { $ } from "./format.js";

export const VIEWS = ["dashboard", "jobs", "runners", "flaky", "failures", "tests", "delivery", "alerts"];

/** Shows `view` (one of VIEWS). */
export function showView(view) {
  const alerts = view === "alerts";
  $("view-dashboard").hidden = view !== "dashboard";
  $("view-jobs").hidden = view !== "jobs";
  $("view-runners").hidden = view !== "runners";
  $("view-flaky").hidden = view !== "flaky";
  $("view-failures").hidden = view !== "failures";
  $("view-tests").hidden = view !== "tests";
  $("view-delivery").hidden = view !== "delivery";
  $("view-alerts").hidden = !alerts;
  $("view-form").hidden = alerts;
  if (view !== "dashboard") $("empty").hidden = true;
  for (const link of document.querySelectorAll("nav.views a")) {
    if (link.dataset.view === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const titles = { alerts: "Alerts · ", jobs: "Jobs · ", runners: "Runners · ", flaky: "Flaky · ", failures: "Failures · ", tests: "Tests · ",
    delivery: "Delivery · " };
  document.title = (titles[view] || "") + "CI/CD dashboard";
}

/** Wires the nav: `choose(view)` is called instead of following the link. */
export function wireViews(choose) {
  for (const link of document.querySelectorAll("nav.views a")) {
    link.addEventListener("click", (event) => {
      if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      choose(link.dataset.view);
    });
  }
}
