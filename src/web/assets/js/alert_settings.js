// The Alerts view's settings: GET /api/alerts/configure (admin; secrets
// redacted) into the form, POST /api/alerts/configure on save, and the 422
// problem's field errors shown next to their fields (and listed on top).

import { $, el, localTime } from "./format.js";
import { getJson, postJson, roleMessage, token } from "./api.js";
import { smtpFieldset, channelFieldset, ruleFieldset, readSmtp, readChannel, readRule } from "./alert_fields.js";
import { setTestChannels } from "./alert_test.js";

function say(message) { $("settings-status").textContent = message; }

function renumber() {
  [...$("channel-list").children].forEach((node, i) => {
    node.querySelector("legend").textContent = "Channel " + (i + 1);
    node.querySelector("button.remove").textContent = "Remove channel " + (i + 1);
  });
  [...$("rule-list").children].forEach((node, i) => {
    node.querySelector("legend").textContent = "Rule " + (i + 1);
    node.querySelector("button.remove").textContent = "Remove rule " + (i + 1);
  });
}

function addChannel(channel) {
  const node = channelFieldset(channel, () => { node.remove(); renumber(); });
  $("channel-list").append(node);
  renumber();
  return node;
}

function addRule(rule) {
  const node = ruleFieldset(rule, () => { node.remove(); renumber(); });
  $("rule-list").append(node);
  renumber();
  return node;
}

function render(config) {
  $("smtp-slot").replaceChildren(smtpFieldset(config.smtp || null));
  $("channel-list").replaceChildren();
  $("rule-list").replaceChildren();
  for (const channel of config.channels || []) addChannel(channel);
  for (const rule of config.rules || []) addRule(rule);
  setTestChannels(config.channels || []);
  const source = { api: "saved from this page or the API", environment: "taken from the environment", none: "nothing stored yet" }[config.source];
  $("settings-source").textContent = "Configuration: " + (source || config.source) +
    (config.updated_at ? ", last changed " + localTime(config.updated_at) : "") + ".";
}

function clearErrors() {
  const form = $("settings-form");
  for (const p of form.querySelectorAll(".field-error")) { p.hidden = true; p.textContent = ""; }
  for (const c of form.querySelectorAll("[aria-invalid]")) c.removeAttribute("aria-invalid");
  $("settings-errors").hidden = true;
  $("settings-errors").replaceChildren();
}

/** The element a field path's error goes next to: the control, else its nearest fieldset. */
function target(path) {
  const form = $("settings-form");
  let p = path;
  while (p) {
    const found = [...form.querySelectorAll("[data-field]")].find((n) => n.dataset.field === p);
    if (found) return found;
    const parent = p.replace(/(\[\d+\]|\.[^.[\]]*)$/, "");
    if (parent === p) break;
    p = parent;
  }
  return null;
}

function showErrors(problem) {
  const errors = (problem && problem.errors) || [];
  const items = errors.map((e) => el("li", {}, (e.field || "document") + ": " + e.message));
  $("settings-errors").replaceChildren(
    el("p", {}, (problem && problem.detail) || "The configuration was not saved."), items.length ? el("ul", {}, items) : null);
  $("settings-errors").hidden = false;
  let first = null;
  for (const e of errors) {
    const node = target(e.field || "");
    if (!node) continue;
    const line = node.tagName === "FIELDSET" ? node.querySelector(":scope > .field-error")
      : node.closest(".field").querySelector(".field-error");
    line.textContent = (line.textContent ? line.textContent + " " : "") + e.message;
    line.hidden = false;
    if (node.tagName !== "FIELDSET") node.setAttribute("aria-invalid", "true");
    first = first || (node.tagName === "FIELDSET" ? node.querySelector("[data-key]") : node);
  }
  if (first) first.focus();
}

function read() {
  return {
    smtp: readSmtp($("smtp-slot").firstElementChild),
    channels: [...$("channel-list").children].map(readChannel),
    rules: [...$("rule-list").children].map(readRule),
  };
}

async function save(event) {
  event.preventDefault();
  clearErrors();
  const doc = read();
  if (!doc.smtp) delete doc.smtp;
  say("Saving…");
  try {
    const stored = await postJson("/api/alerts/configure", doc);
    render(stored);
    say("Saved: " + stored.channels.length + " channel(s), " + stored.rules.length + " rule(s).");
  } catch (err) {
    if (err.status === 422 && err.body) {
      say("Not saved: " + ((err.body.errors || []).length || "some") + " field(s) need attention.");
      showErrors(err.body);
    } else {
      say("Not saved: " + roleMessage(err, "admin"));
    }
  }
}

/**
 * Loads the configuration into the form; answers the error (401/403 show which role is needed), or null.
 * Without any token (a fresh install) a 401 is no error: the view explains how to enable alert management.
 */
export async function loadSettings() {
  try {
    const config = await getJson("/api/alerts/configure");
    clearErrors();
    render(config);
    $("settings-form").hidden = false;
    $("test-form").hidden = false;
    $("settings-howto").hidden = true;
    say("");
    return null;
  } catch (err) {
    $("settings-form").hidden = true;
    $("test-form").hidden = true;
    $("settings-howto").hidden = !(err.status === 401 && !token());
    if (!$("settings-howto").hidden) {
      // A fresh install has no token yet: nothing went wrong, say how to start.
      say("");
      return null;
    }
    say("Settings are not shown: " + roleMessage(err, "admin"));
    return err;
  }
}

export function wireSettings() {
  $("settings-form").addEventListener("submit", save);
  $("channel-add").addEventListener("click", () => addChannel(null).querySelector("[data-key=id]").focus());
  $("rule-add").addEventListener("click", () => addRule(null).querySelector("[data-key=id]").focus());
  $("settings-reload").addEventListener("click", () => loadSettings());
}
