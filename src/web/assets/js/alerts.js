// The Alerts view's history table: GET /api/alerts (read role), one row per
// alert and channel, with Acknowledge and Resolve (write role) updating the
// row from the API's answer. Every value is written as text. Without a
// token (reads public, writes never are) the buttons are disabled and say
// why. A state is shown as it is: open, acknowledged, resolved, a
// suppressed alert (never sent), or a recovery (for information).

import { $, el, localTime, text } from "./format.js";
import { getJson, postJson, roleMessage, token } from "./api.js";

const ALERT_PAGE = 25;

const KINDS = {
  build_failed: "build failed", started_failing: "started failing", recovered: "recovered",
  failure_rate: "failure rate", slow_build: "slow build", stuck: "stuck", queue_time: "queue time", flaky: "flaky", flaky_test: "flaky test",
  deployment_failed: "deployment failed", change_failure_rate: "change failure rate",
};
const DELIVERY_ICONS = { sent: "✓", failed: "✗", pending: "○", suppressed: "⊘" };

let offset = 0;
let openBuild = () => {};
let followUp = null;
/** Bumped by every load and every acknowledge/resolve, so a stale load never overwrites. */
let epoch = 0;

function when(iso) {
  return iso ? el("time", { datetime: iso }, localTime(iso)) : "–";
}

function delivery(a) {
  const status = Object.prototype.hasOwnProperty.call(DELIVERY_ICONS, a.status) ? a.status : "pending";
  const words = a.status === "pending" && a.attempts > 0 ? "pending, " + a.attempts + " attempt(s) so far" : a.status;
  return el("span", { class: "delivery delivery-" + status },
    el("span", { "aria-hidden": "true" }, DELIVERY_ICONS[status] + " "), words,
    a.error ? el("span", { class: "why" }, " — " + a.error) : null);
}

function stateCell(a) {
  if (a.resolved_at) return el("span", { class: "state state-resolved" }, "resolved ", el("span", { class: "sub" }, when(a.resolved_at)));
  if (a.acknowledged_at) {
    return el("span", { class: "state state-acknowledged" }, "acknowledged ", el("span", { class: "sub" }, when(a.acknowledged_at)));
  }
  const icon = (mark) => el("span", { "aria-hidden": "true" }, mark + " ");
  if (a.status === "suppressed") return el("span", { class: "state state-suppressed" }, icon("⊘"), "suppressed (not sent)");
  if (a.kind === "recovered") return el("span", { class: "state state-info" }, icon("✓"), "recovery (for information)");
  return el("span", { class: "state state-open" }, icon("!"), "open");
}

function actionButton(a, action, label, done) {
  // Writes always need a token: without one, say so rather than fail on click.
  const locked = !token();
  const button = el("button", { type: "button", class: "small", "data-action": action, disabled: done || locked,
    "aria-describedby": locked ? "alerts-write-note" : null, title: locked ? "Needs a token with the write role" : null },
    label, el("span", { class: "visually-hidden" }, " alert " + a.id + " (" + a.rule_id + ", " + a.channel + ")"));
  button.addEventListener("click", () => mark(a.id, action));
  return button;
}

function row(a) {
  const pipeline = [a.workflow, a.branch].filter(Boolean).join(" · ");
  let build = null;
  if (a.build_id !== null && a.build_id !== undefined) {
    build = el("button", { type: "button", class: "link" }, "details",
      el("span", { class: "visually-hidden" }, " of build " + a.build_id));
    build.addEventListener("click", () => openBuild(a.build_id));
  }
  return el("tr", { "data-id": a.id },
    el("td", { "data-label": "Time" }, when(a.created_at)),
    el("th", { scope: "row", "data-label": "Rule" }, a.rule_id),
    el("td", { "data-label": "Kind" }, KINDS[a.kind] || text(a.kind)),
    el("td", { "data-label": "Build", class: "pipeline" }, el("span", {}, text(a.repo)),
      pipeline ? el("span", { class: "sub" }, pipeline) : null, build ? el("span", { class: "sub" }, build) : null),
    el("td", { "data-label": "Channel" }, a.channel + " (" + a.channel_type + ")"),
    el("td", { "data-label": "Delivery", class: "wrap" }, delivery(a)),
    el("td", { "data-label": "State" }, stateCell(a)),
    el("td", { "data-label": "Actions", class: "actions" },
      actionButton(a, "ack", "Acknowledge", Boolean(a.acknowledged_at || a.resolved_at)), " ",
      actionButton(a, "resolve", "Resolve", Boolean(a.resolved_at))));
}

function say(message) { $("alerts-status").textContent = message; }

/** The row showing alert `id`, looked up now (a reload may have replaced the rows). */
function shownRow(id) { return $("alerts").querySelector(`tr[data-id="${Number(id)}"]`); }

/** Replaces the shown row of `alert`; answers the new row, or null when it is not shown. */
function replaceShown(alert) {
  const current = shownRow(alert.id);
  if (!current) return null;
  const replacement = row(alert);
  current.replaceWith(replacement);
  return replacement;
}

async function mark(id, action) {
  epoch++;
  try {
    const alert = await postJson(`/api/alerts/${encodeURIComponent(id)}/${action}`);
    const replacement = replaceShown(alert);
    say(`Alert ${alert.id} ${action === "ack" ? "acknowledged" : "resolved"}.`);
    // Keep the keyboard where it was: the next button still enabled in this row.
    const next = replacement && (replacement.querySelector("button[data-action]:not(:disabled)") || replacement.querySelector("th"));
    if (next) { if (next.tagName === "TH") next.setAttribute("tabindex", "-1"); next.focus(); }
  } catch (err) {
    say("Could not " + (action === "ack" ? "acknowledge" : "resolve") + " alert " + id + ": " + roleMessage(err, "write"));
  }
}

/**
 * Applies an `alert` event from the stream: replaces the alert's row if it
 * is shown (answers true); a new alert answers false (the caller reloads).
 */
export function patchAlert(alert) {
  if (!alert || alert.id === undefined) return false;
  const current = shownRow(alert.id);
  if (!current) return false;
  const focused = document.activeElement;
  const action = focused && current.contains(focused) && focused.dataset ? focused.dataset.action : null;
  const replacement = replaceShown(alert);
  if (action) {
    const again = replacement.querySelector(`button[data-action="${action}"]:not(:disabled)`);
    if (again) again.focus();
  }
  return true;
}

/** Loads and renders one page of the history; throws ApiError. */
export async function loadHistory() {
  const params = new URLSearchParams({ limit: String(ALERT_PAGE), offset: String(offset) });
  const mine = ++epoch;
  const page = await getJson("/api/alerts?" + params.toString());
  // An acknowledgement (or a newer load) since this load began: its rows are newer.
  if (mine !== epoch) return page;
  // A live reload must not take the keyboard away: focus returns to the same button.
  const focused = document.activeElement;
  const was = focused && focused.dataset && focused.dataset.action && focused.closest("#alerts tr[data-id]");
  $("alerts").tBodies[0].replaceChildren(...page.alerts.map(row));
  if (was) {
    const again = $("alerts").querySelector(`tr[data-id="${Number(was.dataset.id)}"] button[data-action="${focused.dataset.action}"]`);
    if (again) again.focus();
  }
  $("alerts-empty").hidden = page.total > 0;
  $("alerts-write-note").hidden = page.total === 0 || Boolean(token());
  $("alerts-count").textContent = page.total
    ? `Showing ${page.offset + 1}–${page.offset + page.alerts.length} of ${page.total} alerts`
    : "";
  $("alerts-prev").disabled = offset === 0;
  $("alerts-next").disabled = !page.has_more;
  // Deliveries still pending change within seconds: read again once soon.
  clearTimeout(followUp);
  if (page.alerts.some((a) => a.status === "pending")) followUp = setTimeout(() => loadHistory().catch(() => {}), 3000);
  return page;
}

/** Wires the pager; `open(buildId)` shows a build's detail. */
export function wireHistory(open) {
  openBuild = open;
  $("alerts-prev").addEventListener("click", () => {
    offset = Math.max(0, offset - ALERT_PAGE);
    loadHistory().catch((err) => say(roleMessage(err, "read")));
  });
  $("alerts-next").addEventListener("click", () => {
    offset += ALERT_PAGE;
    loadHistory().catch((err) => say(roleMessage(err, "read")));
  });
}
