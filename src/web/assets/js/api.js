// The page's only way to the server: JSON GETs and POSTs with the optional
// bearer token (kept in sessionStorage for when reads require a token).

const TOKEN_KEY = "cicd-dashboard-token";

export class ApiError extends Error {
  /** `status` 0: no answer; `body`: the parsed problem (or other JSON) answer, if any. */
  constructor(status, detail, body) {
    super(status ? "API answered " + status + (detail ? ": " + detail : "") : detail);
    this.status = status;
    this.body = body || null;
  }
}

export function token() {
  try { return sessionStorage.getItem(TOKEN_KEY) || ""; } catch { return ""; }
}

export function setToken(value) {
  try {
    if (value) sessionStorage.setItem(TOKEN_KEY, value); else sessionStorage.removeItem(TOKEN_KEY);
  } catch { /* storage disabled: the token lasts until reload */ }
}

async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  const bearer = token();
  if (bearer) headers.Authorization = "Bearer " + bearer;
  const options = { method, headers, cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch (err) {
    throw new ApiError(0, "the server did not answer (" + err.message + ")");
  }
  if (!response.ok) {
    let answer = null;
    try { answer = await response.json(); } catch { /* not JSON */ }
    const detail = answer ? answer.detail || answer.title || "" : "";
    throw new ApiError(response.status, detail, answer);
  }
  return response.json();
}

/** GETs `path` and answers its JSON; throws ApiError (status 0: no answer). */
export function getJson(path) { return call("GET", path); }

/** POSTs `body` as JSON to `path`; answers the JSON; throws ApiError with the answer's body. */
export function postJson(path, body) { return call("POST", path, body === undefined ? {} : body); }

/**
 * A short-lived ticket for `/api/events?ticket=…` (EventSource cannot send
 * the token; the token itself never goes in a URL): `{ticket, expires_at}`.
 */
export function streamTicket() { return postJson("/api/events/ticket"); }

/** What a 401/403 means for a route that needs `role` ("read", "write", "admin"). */
export function roleMessage(err, role) {
  const article = role === "admin" ? "an" : "a";
  if (err.status === 401) return `API answered 401 — this needs ${article} ${role} token; enter one above.`;
  if (err.status === 403) return `API answered 403 — this needs ${article} ${role} token.`;
  return err.message;
}
