// The page's only way to the server: JSON GETs with the optional bearer
// token (kept in sessionStorage for when reads require a token).

const TOKEN_KEY = "cicd-dashboard-token";

export class ApiError extends Error {
  constructor(status, detail) {
    super(status ? "API answered " + status + (detail ? ": " + detail : "") : detail);
    this.status = status;
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

/** GETs `path` and answers its JSON; throws ApiError (status 0: no answer). */
export async function getJson(path) {
  const headers = { Accept: "application/json" };
  const bearer = token();
  if (bearer) headers.Authorization = "Bearer " + bearer;
  let response;
  try {
    response = await fetch(path, { headers, cache: "no-store" });
  } catch (err) {
    throw new ApiError(0, "the server did not answer (" + err.message + ")");
  }
  if (!response.ok) {
    let detail = "";
    try { const body = await response.json(); detail = body.detail || body.title || ""; } catch { /* not JSON */ }
    throw new ApiError(response.status, detail);
  }
  return response.json();
}
