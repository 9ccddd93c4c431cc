// `POST /reserve` on the matchmaker: a seat in a room, and where to take it.

/**
 * @param {string} matchmaker the matchmaker's base URL (`https://play.example.com`)
 * @param {{ track?: string, room?: string, player?: string, idempotencyKey?: string }} body
 * @param {typeof globalThis.fetch} fetchFn
 * @param {{ bearer?: string, apiKey?: string }} [auth] the player's JWT (`Authorization:
 *   Bearer`), or a game backend's API key (`X-Api-Key`, never in a browser)
 * @returns {Promise<{room: string, track: string, shard: number, worker: string, url: string, token: string, expiresAt: number|string}>}
 */
export async function reserve(matchmaker, body, fetchFn, auth = {}) {
  const clean = {};
  for (const [k, v] of Object.entries(body)) if (v !== undefined && v !== null && v !== "") clean[k] = v;
  const base = matchmaker.endsWith("/") ? matchmaker : matchmaker + "/";
  const resp = await fetchFn(new URL("reserve", base), {
    method: "POST",
    headers: authHeaders(auth),
    body: JSON.stringify(clean),
  });
  const json = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const e = (json && json.error) || {};
    throw new RoomshardError(e.code || `http_${resp.status}`, e.message || `POST /reserve answered ${resp.status}`);
  }
  if (!json || typeof json.url !== "string" || typeof json.room !== "string") {
    throw new RoomshardError("bad_response", "POST /reserve answered without a url and room");
  }
  return json;
}

function authHeaders(auth) {
  const headers = { "content-type": "application/json" };
  if (auth && auth.bearer) headers.authorization = `Bearer ${auth.bearer}`;
  if (auth && auth.apiKey) headers["x-api-key"] = auth.apiKey;
  return headers;
}

/** An error with the server's (or the client's) code, as in `{error: {code, message}}`. */
export class RoomshardError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   */
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.name = "RoomshardError";
    this.code = code;
    this.detail = message;
  }
}
