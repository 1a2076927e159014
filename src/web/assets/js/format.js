// Small DOM and formatting helpers. Every value is written as text
// (createElement / textContent / setAttribute), never parsed as HTML: branch,
// workflow, job and actor names come from GitHub and may hold markup.

const SVG_NS = "http://www.w3.org/2000/svg";

export const STATUS_ICONS = {
  success: "✓", failed: "✗", running: "●", queued: "○", cancelled: "⊘",
  skipped: "↷", neutral: "–", action_required: "!", stale: "…", tests_reported: "▤", unknown: "?",
};

export function $(id) { return document.getElementById(id); }

function fill(node, attrs, children) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** An HTML element with attributes and children (strings become text). */
export function el(tag, attrs, ...children) { return fill(document.createElement(tag), attrs, children); }

/** An SVG element with attributes and children (strings become text). */
export function svg(tag, attrs, ...children) { return fill(document.createElementNS(SVG_NS, tag), attrs, children); }

/** The URL if it is http(s), else null (never a `javascript:` link). */
export function safeUrl(url) {
  if (typeof url !== "string") return null;
  try {
    const parsed = new URL(url, window.location.origin);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch { return null; }
}

/** A link opening in a new tab, or the text alone when the URL is unsafe. */
/**
 * A link to `url` at the provider reading `text`; with no usable URL (none
 * known, or not http(s)), `missing` ("–" unless given) as plain text, never
 * link words that lead nowhere.
 */
export function externalLink(url, text, label, missing = "–") {
  const href = safeUrl(url);
  if (!href) return document.createTextNode(missing);
  // Context for screen readers goes after the visible text (never replacing it).
  return el("a", { href, rel: "noopener noreferrer", target: "_blank" }, text,
    label ? el("span", { class: "visually-hidden" }, " (" + label + ")") : null);
}

export function percent(rate) {
  return rate === null || rate === undefined ? "–" : (rate * 100).toFixed(1) + " %";
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.round(seconds);
  if (s < 60) return s + " s";
  const m = Math.floor(s / 60), rest = s % 60;
  if (m < 60) return m + " min " + rest + " s";
  return Math.floor(m / 60) + " h " + (m % 60) + " min";
}

export function localTime(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return isNaN(d) ? "–" : d.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

export function hhmm(date) {
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function statusBadge(status) {
  const known = Object.prototype.hasOwnProperty.call(STATUS_ICONS, status) ? status : "unknown";
  return el("span", { class: "status status-" + known },
    el("span", { "aria-hidden": "true" }, STATUS_ICONS[known] + " "), String(status || "unknown").replaceAll("_", " "));
}

/** Runs and queues "running" longer than this are flagged "stuck?". */
export const STUCK_SECONDS = 24 * 3600;

function elapsedSeconds(since) {
  return Math.max(0, (Date.now() - Date.parse(since)) / 1000);
}

function stuckBadge() {
  return el("span", { class: "stuck", title: "Still not finished after over 24 hours: a lost delivery, or a hung runner?" },
    el("span", { "aria-hidden": "true" }, "⚠ "), "stuck?",
    el("span", { class: "visually-hidden" }, " (not finished after over 24 hours)"));
}

/**
 * Time since `since` (RFC 3339) as "`verb` 5 min 3 s", kept current by
 * [`tickElapsed`]; past [`STUCK_SECONDS`] with a "stuck?" badge in words.
 * "–" when `since` is unknown.
 */
export function elapsed(since, verb) {
  if (!since || isNaN(Date.parse(since))) return document.createTextNode("–");
  const seconds = elapsedSeconds(since);
  return el("span", { class: "elapsed", "data-since": since, "data-verb": verb },
    el("span", { class: "t" }, verb + " " + duration(seconds)), seconds > STUCK_SECONDS ? [" ", stuckBadge()] : null);
}

/** Brings every shown elapsed time up to date (called every second). */
export function tickElapsed() {
  for (const node of document.querySelectorAll(".elapsed[data-since]")) {
    const seconds = elapsedSeconds(node.dataset.since);
    node.querySelector(".t").textContent = node.dataset.verb + " " + duration(seconds);
    if (seconds > STUCK_SECONDS && !node.querySelector(".stuck")) node.append(" ", stuckBadge());
  }
}

/** `owner/name` with a line-break opportunity after the slash (never inside the owner). */
export function repoName(repo) {
  const slash = String(repo).indexOf("/");
  return slash > 0 ? [repo.slice(0, slash + 1), el("wbr", {}), repo.slice(slash + 1)] : String(repo);
}

export function text(value) { return value === null || value === undefined || value === "" ? "–" : String(value); }
