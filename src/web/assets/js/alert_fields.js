// Controls of the alert settings form: the SMTP server, one fieldset per
// channel and per rule, and reading them back into the document that
// POST /api/alerts/configure takes. Secrets are never shown: the API
// answers them redacted ("***", or a URL cut to its origin + "/***"), their
// inputs start blank, and a blank secret is sent back as the redacted value
// the API answered, which the API takes as "keep the stored secret".

import { el } from "./format.js";

const KIND_LABELS = {
  build_failed: "Build failed", started_failing: "Started failing", recovered: "Recovered",
  failure_rate: "Failure rate above a threshold", slow_build: "Slow build", stuck: "Stuck (queued or running too long)",
  queue_time: "Jobs waiting for a runner", flaky: "A job became flaky", flaky_test: "A test became flaky",
  deployment_failed: "Production deployment failed", change_failure_rate: "Change failure rate above a threshold",
};
/** The numeric (and flag) fields each rule kind uses. */
const KIND_FIELDS = {
  build_failed: ["include_cancelled", "failure_class"],
  started_failing: ["failure_class"],
  recovered: [],
  failure_rate: ["threshold", "window_minutes", "min_builds", "cooldown_minutes"],
  slow_build: ["duration_seconds", "threshold", "min_builds", "cooldown_minutes"],
  stuck: ["stuck_minutes", "cooldown_minutes"],
  queue_time: ["queue_minutes", "labels", "window_minutes", "min_builds", "cooldown_minutes"],
  flaky: ["min_occurrences", "window_minutes", "cooldown_minutes"],
  flaky_test: ["min_occurrences", "window_minutes", "cooldown_minutes"],
  deployment_failed: [],
  change_failure_rate: ["threshold", "window_minutes", "min_builds", "cooldown_minutes"],
};
const NUMBER_LABELS = {
  threshold: ["Threshold", "failure rate: 0–1 (0.5 = 50 %); slow build: a multiple of the recent p95 (above 1)"],
  window_minutes: ["Window (minutes)", "blank: 60 (flaky, flaky test: 1440)"],
  min_builds: ["Fewest builds", "blank: 5"],
  duration_seconds: ["Slower than (seconds)", "or give a threshold instead"],
  stuck_minutes: ["Stuck after (minutes)", null],
  queue_minutes: ["Waiting longer than (minutes)", "one job; with a window: the queue p95"],
  labels: ["Runner labels", "glob on one label, e.g. self-hosted; blank: any"],
  min_occurrences: ["Fewest flaky occurrences", "of one job key (flaky) or one test (flaky test) in the window; blank: 3"],
  cooldown_minutes: ["Quiet for (minutes) after an alert", "blank: 60"],
  failure_class: ["Failure class", "infrastructure or code; blank: both"],
};
/** The fields of NUMBER_LABELS that hold text. */
const TEXT_KEYS = ["labels", "failure_class"];

let serial = 0;

/**
 * A labelled control with an optional hint and a (hidden) error line, both
 * tied to it by aria-describedby. `name` is the key in the document.
 */
function field(labelText, control, hint, name) {
  const id = "af-" + ++serial;
  control.id = id;
  control.dataset.key = name;
  const hintNode = hint ? el("p", { class: "hint", id: id + "-hint" }, hint) : null;
  const error = el("p", { class: "field-error", id: id + "-error", hidden: true });
  control.setAttribute("aria-describedby", [hintNode ? id + "-hint" : null, id + "-error"].filter(Boolean).join(" "));
  const wide = ["to", "webhook_url", "url"].includes(name);
  const wrap = el("div", { class: control.type === "checkbox" ? "field check" : wide ? "field wide" : "field" });
  if (control.type === "checkbox") wrap.append(control, el("label", { for: id }, labelText));
  else wrap.append(el("label", { for: id }, labelText), control);
  wrap.append(...[hintNode, error].filter(Boolean));
  return wrap;
}

function input(value, attrs) {
  const node = el("input", { type: "text", autocomplete: "off", spellcheck: "false", ...attrs });
  node.value = value === null || value === undefined ? "" : String(value);
  return node;
}

function select(options, value) {
  const node = el("select", {}, Object.entries(options).map(([v, label]) => el("option", { value: v }, label)));
  node.value = value;
  return node;
}

function fieldsetHead(legend, onRemove, removeLabel) {
  const remove = el("button", { type: "button", class: "small remove" }, removeLabel);
  remove.addEventListener("click", onRemove);
  return [el("legend", {}, legend), el("p", { class: "field-error", hidden: true }), remove];
}

function secretHint(stored, what) {
  if (stored === true) return "One is stored (hidden). Leave blank to keep it.";
  return stored ? `Stored: ${stored} (the rest is hidden). Leave blank to keep it.` : what;
}

/** The SMTP fieldset for `smtp` (redacted, or null). */
export function smtpFieldset(smtp) {
  const s = smtp || {};
  const use = el("input", { type: "checkbox" });
  use.checked = Boolean(smtp);
  const password = input("", { type: "password", autocomplete: "new-password" });
  const inner = el("div", { class: "grid" },
    field("Host", input(s.host), null, "host"),
    field("Port", input(s.port, { inputmode: "numeric" }), "blank: 587, 465 or 25 by security", "port"),
    field("Security", select({ starttls: "STARTTLS", tls: "TLS", none: "none (local relay only)" }, s.security || "starttls"), null, "security"),
    field("Username", input(s.username), null, "username"),
    field("Password", password, secretHint(Boolean(s.password), "optional"), "password"),
    field("From", input(s.from), "e.g. CI <ci@example.com>", "from"));
  const node = el("fieldset", { class: "smtp", "data-field": "smtp" },
    el("legend", {}, "Email server (SMTP)"),
    el("p", { class: "field-error", hidden: true }),
    field("Send email through an SMTP server", use, "needed by email channels", "use"),
    inner);
  node.stored = smtp;
  const sync = () => { inner.hidden = !use.checked; };
  use.addEventListener("change", sync);
  sync();
  return node;
}

/** A channel fieldset for `channel` (redacted as answered, or null for a new one). */
export function channelFieldset(channel, onRemove) {
  const c = channel || { id: "", type: "slack" };
  const type = select({ email: "Email", slack: "Slack incoming webhook", webhook: "Webhook (JSON POST)" }, c.type);
  const groups = {
    email: el("div", { class: "grid", "data-type": "email" },
      field("Recipients", input((c.to || []).join(", "), { inputmode: "email" }), "comma-separated addresses", "to")),
    slack: el("div", { class: "grid", "data-type": "slack" },
      field("Webhook URL", input(""), secretHint(c.type === "slack" ? c.webhook_url : null, "https://hooks.slack.com/services/…"), "webhook_url")),
    webhook: el("div", { class: "grid", "data-type": "webhook" },
      field("URL", input(""), secretHint(c.type === "webhook" ? c.url : null, "https URL receiving a JSON POST"), "url"),
      field("Signing secret", input("", { type: "password", autocomplete: "new-password" }),
        secretHint(c.type === "webhook" && Boolean(c.secret), "optional: signs X-Cicd-Signature-256"), "secret")),
  };
  const node = el("fieldset", { class: "item channel" }, ...fieldsetHead("Channel", onRemove, "Remove channel"),
    el("div", { class: "grid" }, field("Id", input(c.id), "letters, digits, _ . -", "id"), field("Type", type, null, "type")),
    ...Object.values(groups));
  node.stored = channel;
  const sync = () => { for (const [name, group] of Object.entries(groups)) group.hidden = name !== type.value; };
  type.addEventListener("change", sync);
  sync();
  return node;
}

/** A rule fieldset for `rule` (or null for a new one). */
export function ruleFieldset(rule, onRemove) {
  const r = rule || { id: "", kind: "build_failed", channels: [] };
  const kind = select(KIND_LABELS, r.kind);
  const cancelled = el("input", { type: "checkbox" });
  cancelled.checked = Boolean(r.include_cancelled);
  const numbers = Object.entries(NUMBER_LABELS).map(([key, [label, hint]]) =>
    field(label, input(r[key], TEXT_KEYS.includes(key) ? {} : { inputmode: "decimal" }), hint, key));
  const node = el("fieldset", { class: "item rule" }, ...fieldsetHead("Rule", onRemove, "Remove rule"),
    el("div", { class: "grid" },
      field("Id", input(r.id), "letters, digits, _ . -", "id"),
      field("When", kind, null, "kind"),
      field("Channels", input((r.channels || []).join(", ")), "channel ids, comma-separated", "channels")),
    el("div", { class: "grid" },
      field("Repository", input(r.repo), "glob on owner/name; blank: any", "repo"),
      field("Workflow", input(r.workflow), "glob; blank: any", "workflow"),
      field("Branch", input(r.branch), "glob; blank: the default branch; * for all", "branch"),
      field("Event", input(r.event), "push, pull_request…; blank: any", "event")),
    el("div", { class: "grid numbers" }, field("Also on cancelled builds", cancelled, null, "include_cancelled"), ...numbers));
  const sync = () => {
    const used = KIND_FIELDS[kind.value] || [];
    for (const control of node.querySelectorAll(".numbers [data-key]")) {
      control.closest(".field").hidden = !used.includes(control.dataset.key);
    }
  };
  kind.addEventListener("change", sync);
  sync();
  return node;
}

// --- reading back --------------------------------------------------------------

function controls(scope) {
  const found = {};
  for (const control of scope.querySelectorAll("[data-key]")) {
    if (!control.closest("[hidden]")) found[control.dataset.key] = control;
  }
  return found;
}

function value(control) { return control ? control.value.trim() : ""; }

/** A number when the text is one; else the text (the API says what is wrong). */
function number(text) { return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text; }

function list(text) { return text.split(",").map((s) => s.trim()).filter(Boolean); }

/** Sets `data-field` on every shown control to its path in the document (for the API's field errors). */
function mark(node, path, found) {
  node.dataset.field = path;
  for (const [key, control] of Object.entries(found)) control.dataset.field = path + "." + key;
}

export function readSmtp(node) {
  const c = controls(node);
  mark(node, "smtp", c);
  if (!c.use.checked) return null;
  const smtp = { host: value(c.host), security: value(c.security), from: value(c.from) };
  if (value(c.port)) smtp.port = number(value(c.port));
  if (value(c.username)) smtp.username = value(c.username);
  const stored = node.stored && node.stored.password;
  if (value(c.password)) smtp.password = value(c.password);
  else if (stored) smtp.password = stored;
  return smtp;
}

export function readChannel(node, i) {
  const c = controls(node);
  mark(node, `channels[${i}]`, c);
  const type = value(c.type);
  const stored = node.stored && node.stored.type === type ? node.stored : {};
  const channel = { id: value(c.id), type };
  if (type === "email") channel.to = list(value(c.to));
  if (type === "slack") channel.webhook_url = value(c.webhook_url) || stored.webhook_url || "";
  if (type === "webhook") {
    channel.url = value(c.url) || stored.url || "";
    const secret = value(c.secret) || stored.secret;
    if (secret) channel.secret = secret;
  }
  return channel;
}

export function readRule(node, i) {
  const c = controls(node);
  mark(node, `rules[${i}]`, c);
  const rule = { id: value(c.id), kind: value(c.kind), channels: list(value(c.channels)) };
  for (const key of ["repo", "workflow", "branch", "event"]) if (value(c[key])) rule[key] = value(c[key]);
  if (c.include_cancelled && c.include_cancelled.checked) rule.include_cancelled = true;
  for (const key of Object.keys(NUMBER_LABELS)) {
    if (value(c[key])) rule[key] = TEXT_KEYS.includes(key) ? value(c[key]) : number(value(c[key]));
  }
  return rule;
}
