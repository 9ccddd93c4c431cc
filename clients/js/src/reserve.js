// The matchmaker's API as the client calls it: `POST /reserve` (a seat in a room, and
// where to take it) and `GET /rooms/{room}` (whether a room still lives).

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
  const resp = await fetchFn(endpoint(matchmaker, "reserve"), {
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

/**
 * `GET /rooms/{room}` on the matchmaker: `live`, `lost` (its shard stopped beating) or
 * `gone` (closed); `null` when the matchmaker cannot say (unreachable, refusing, or an
 * answer that is not the matchmaker's).
 * @param {string} matchmaker
 * @param {string} room
 * @param {typeof globalThis.fetch} fetchFn
 * @param {string | (() => string | Promise<string>)} [bearer]
 * @returns {Promise<"live" | "lost" | "gone" | null>}
 */
export async function roomState(matchmaker, room, fetchFn, bearer) {
  const token = typeof bearer === "function" ? await bearer() : bearer;
  const resp = await fetchFn(endpoint(matchmaker, `rooms/${encodeURIComponent(room)}`), { headers: authHeaders({ bearer: token }) });
  const json = await resp.json().catch(() => null);
  if (resp.status === 404) return json?.error?.code === "room_not_found" ? "gone" : null;
  if (!resp.ok || typeof json?.lost !== "boolean" || json.room !== room) return null;
  return json.lost ? "lost" : "live";
}

/** `path` under the matchmaker's base URL (which may carry a path of its own). */
function endpoint(matchmaker, path) {
  return new URL(path, matchmaker.endsWith("/") ? matchmaker : matchmaker + "/");
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
