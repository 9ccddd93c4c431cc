// What the client does when a resume is refused or cannot be tried: pure decisions,
// kept apart from the sockets so they are tested alone.

/** The refusal codes of `resume` (docs/PROTOCOL.md). */
export const RESUME_REFUSALS = Object.freeze([
  "resume_expired",
  "room_closed",
  "shard_changed",
  "replay_gap",
  "resume_invalid",
]);

/**
 * After a refusal the old seat is gone for good: the client either takes a new one
 * (reserve again and join fresh) or reports the session lost. A new seat is asked for in
 * the room the player was in first, so that a blip does not scatter a group, unless that
 * room is closed; then in the room (or track) the application asked for at the start.
 *
 * @param {string} code the refusal code, or a client-side reason (`unreachable`, `draining`,
 *   `room_lost`: the matchmaker says the room closed or its shard stopped beating)
 * @param {{ rejoin: boolean, canRejoin: boolean, room?: string|null, requestedRoom?: string|null }} opts
 *   `rejoin`: the application's wish; `canRejoin`: whether a new seat can be had at all
 *   (a matchmaker to reserve from, or a worker taking direct joins); `room`: the room
 *   of the lost seat; `requestedRoom`: the room given to `play`/`connectDirect`, if any
 * @returns {{ action: "lost" } | { action: "rejoin", rooms: Array<string|undefined> }}
 *   `rooms`: the rooms to try in order; `undefined` lets the matchmaker choose
 */
export function afterRefusal(code, { rejoin, canRejoin, room, requestedRoom }) {
  if (!rejoin || !canRejoin) return { action: "lost" };
  const rooms = [];
  const add = (r) => {
    const v = r || undefined;
    if (!rooms.includes(v)) rooms.push(v);
  };
  // A draining worker will not seat anyone again, so its room cannot be asked for by
  // name from the matchmaker either: it lives on that shard.
  if (code !== "room_closed" && code !== "draining" && code !== "room_lost") add(room);
  add(requestedRoom);
  // Last, any seat at all: a room the matchmaker picks (a direct worker: the room given).
  add(undefined);
  return { action: "rejoin", rooms };
}

/**
 * Whether a socket.io-client disconnect reason is a drop to resume from. `io client
 * disconnect` is the application's own `close()`/`leave()`; every other reason
 * (transport closed or failed, ping timeout, the server closing the connection) is one
 * the session survives.
 * @param {string} reason
 */
export function shouldResume(reason) {
  return reason !== "io client disconnect";
}
