// Live updates: the /api/events stream (EventSource reconnects by itself),
// with polling every 30 s whenever the stream is not open — no stream
// support, a proxy that buffers, or a token (EventSource cannot send an
// Authorization header).

import { token } from "./api.js";

export const POLL_MS = 30000;

/**
 * Starts the stream. `handlers`: onBuild(build), onJob(job), onResync(),
 * onPoll(), onState("live" | "reconnecting" | "polling").
 */
export function startLive(handlers) {
  let source = null;
  let pollTimer = null;
  let retry = 0;
  let hadOpened = false;

  const startPolling = () => {
    if (!pollTimer) pollTimer = setInterval(handlers.onPoll, POLL_MS);
  };
  const stopPolling = () => {
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = null;
  };
  const parse = (event) => { try { return JSON.parse(event.data); } catch { return null; } };

  function connect() {
    if (!("EventSource" in window) || token()) {
      handlers.onState("polling");
      startPolling();
      return;
    }
    source = new EventSource("/api/events");
    source.addEventListener("open", () => {
      retry = 0;
      stopPolling();
      handlers.onState("live");
      // Changes made while the stream was down are read once.
      if (hadOpened) handlers.onResync();
      hadOpened = true;
    });
    source.addEventListener("build", (event) => { const b = parse(event); if (b) handlers.onBuild(b); });
    source.addEventListener("job", (event) => { const j = parse(event); if (j) handlers.onJob(j); });
    source.addEventListener("resync", () => handlers.onResync());
    source.addEventListener("error", () => {
      handlers.onState("reconnecting");
      // Read once now: the page shows "offline" at once if the server is gone.
      if (!pollTimer) handlers.onPoll();
      startPolling();
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (e.g. an error status): retry with backoff.
        source.close();
        setTimeout(connect, Math.min(POLL_MS, 1000 * 2 ** retry++));
      }
    });
  }

  connect();
  return {
    /** Reconnects, e.g. after a token was entered or removed. */
    restart() {
      if (source) source.close();
      stopPolling();
      connect();
    },
  };
}
