// Live updates: the /api/events stream, with polling every 30 s whenever
// the stream is not open (no stream support, a proxy that buffers, or no
// ticket to be had). While it is open, the page still re-reads what it
// shows every 5 minutes: a replica that dies between a commit and its
// announcement loses that announcement, never the data.
//
// With a token set, EventSource cannot send it (no Authorization header),
// and the long-lived token must never go in a URL: each connection first
// trades the token for a short-lived ticket (POST /api/events/ticket) and
// opens /api/events?ticket=…. A ticket expires after minutes, so the
// browser's own reconnect may come back with 401 (the source closes): then
// the page closes it and connects again with a fresh ticket, with backoff.
// If no ticket can be had, the page polls as before.

import { token, streamTicket } from "./api.js";

export const POLL_MS = 30000;
export const RESYNC_MS = 300000;

/**
 * Starts the stream. `handlers`: onBuild(build), onJob(job), onAlert(alert),
 * onDelivery() (a deployment or incident changed), onResync(),
 * onPoll(), onState("live" | "reconnecting" | "polling").
 */
export function startLive(handlers) {
  let source = null;
  let pollTimer = null;
  let retryTimer = null;
  let retry = 0;
  let hadOpened = false;
  let generation = 0;
  let streaming = false;
  setInterval(() => { if (streaming) handlers.onResync(); }, RESYNC_MS);

  const startPolling = () => {
    if (!pollTimer) pollTimer = setInterval(handlers.onPoll, POLL_MS);
  };
  const stopPolling = () => {
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = null;
  };
  const parse = (event) => { try { return JSON.parse(event.data); } catch { return null; } };
  const backoff = () => Math.min(POLL_MS, 1000 * 2 ** retry++);
  const later = (ms) => {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, ms);
  };

  /** The stream URL: plain, or with a fresh ticket when a token is set; null when none could be had. */
  async function streamUrl() {
    if (!token()) return { url: "/api/events", expires: Infinity };
    const answer = await streamTicket();
    const expires = Date.parse(answer.expires_at);
    return { url: "/api/events?ticket=" + encodeURIComponent(answer.ticket), expires: isNaN(expires) ? Infinity : expires };
  }

  async function connect() {
    const mine = ++generation;
    if (!("EventSource" in window)) {
      handlers.onState("polling");
      startPolling();
      return;
    }
    let target;
    try {
      target = await streamUrl();
    } catch (err) {
      if (mine !== generation) return;
      // No ticket (old server, a token without the read role, server down):
      // poll; try the stream again later unless the answer was final.
      handlers.onState("polling");
      startPolling();
      if (err.status === 0 || err.status === 429 || err.status >= 500) later(backoff());
      return;
    }
    if (mine !== generation) return;
    open(target, mine);
  }

  function open(target, mine) {
    source = new EventSource(target.url);
    const current = source;
    current.addEventListener("open", () => {
      retry = 0;
      streaming = true;
      stopPolling();
      handlers.onState("live");
      // Changes made while the stream was down are read once.
      if (hadOpened) handlers.onResync();
      hadOpened = true;
    });
    current.addEventListener("build", (event) => { const b = parse(event); if (b) handlers.onBuild(b); });
    current.addEventListener("job", (event) => { const j = parse(event); if (j) handlers.onJob(j); });
    current.addEventListener("alert", (event) => { const a = parse(event); if (a && handlers.onAlert) handlers.onAlert(a); });
    for (const name of ["deployment", "incident"]) {
      current.addEventListener(name, () => { if (handlers.onDelivery) handlers.onDelivery(); });
    }
    current.addEventListener("resync", () => handlers.onResync());
    current.addEventListener("error", () => {
      if (mine !== generation) return;
      streaming = false;
      handlers.onState("reconnecting");
      // Read once now: the page shows "offline" at once if the server is gone.
      if (!pollTimer) handlers.onPoll();
      startPolling();
      // The browser gave up (e.g. 401 for an expired ticket), or its own
      // reconnect would present an expired ticket: connect afresh, with backoff.
      if (current.readyState === EventSource.CLOSED || Date.now() >= target.expires) {
        current.close();
        later(backoff());
      }
    });
  }

  connect();
  return {
    /** Reconnects, e.g. after a token was entered or removed. */
    restart() {
      generation++;
      clearTimeout(retryTimer);
      if (source) source.close();
      source = null;
      retry = 0;
      streaming = false;
      stopPolling();
      connect();
    },
  };
}
