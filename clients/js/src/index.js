// @roomshard/client for Node and bundlers: the game client of game.js with the official
// socket.io-client filled in. A page that loads game.js directly passes its own `io`.

import { io as defaultIo } from "socket.io-client";
import * as core from "./game.js";

export { Game, RoomshardError, socketTarget } from "./game.js";
export { SeqTracker, ROOM_EVENTS } from "./seq.js";
export { afterRefusal, shouldResume, RESUME_REFUSALS } from "./policy.js";
export { reserve } from "./reserve.js";

/**
 * @param {import("../index.d.ts").PlayOptions} opts
 * @returns {Promise<import("../index.d.ts").Game>}
 */
export function play(opts) {
  return core.play({ io: defaultIo, ...opts });
}

/**
 * @param {import("../index.d.ts").DirectOptions} opts
 * @returns {Promise<import("../index.d.ts").Game>}
 */
export function connectDirect(opts) {
  return core.connectDirect({ io: defaultIo, ...opts });
}
