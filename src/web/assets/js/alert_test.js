// "Send test": POST /api/alert/test (admin) through one stored channel or
// all of them; the answer (200 when every channel took it, 502 otherwise)
// is shown as one line of text per channel.

import { $, el } from "./format.js";
import { postJson, roleMessage } from "./api.js";

/** Offers the stored channels (as last loaded or saved) in the test form. */
export function setTestChannels(channels) {
  const choice = $("test-channel");
  const kept = choice.value;
  choice.replaceChildren(el("option", { value: "" }, "every channel"),
    ...channels.map((c) => el("option", { value: c.id }, c.id + " (" + c.type + ")")));
  choice.value = channels.some((c) => c.id === kept) ? kept : "";
  $("test-submit").disabled = channels.length === 0;
  $("test-hint").textContent = channels.length ? "" : "Save a channel first.";
}

function resultLine(result) {
  return el("li", { class: result.ok ? "ok" : "bad", "data-channel": result.channel },
    el("span", { "aria-hidden": "true" }, result.ok ? "✓ " : "✗ "),
    result.channel + ": " + (result.ok ? "delivered" : "not delivered — " + (result.error || "no reason given")));
}

async function send(event) {
  event.preventDefault();
  const channel = $("test-channel").value;
  const results = $("test-results");
  results.replaceChildren(el("li", {}, "Sending…"));
  try {
    const answer = await postJson("/api/alert/test", channel ? { channel } : {});
    results.replaceChildren(...answer.results.map(resultLine));
  } catch (err) {
    if (err.status === 502 && err.body && Array.isArray(err.body.results)) {
      results.replaceChildren(...err.body.results.map(resultLine));
    } else {
      results.replaceChildren(el("li", { class: "bad" }, "Not sent: " + roleMessage(err, "admin")));
    }
  }
}

export function wireTest() {
  $("test-form").addEventListener("submit", send);
}
