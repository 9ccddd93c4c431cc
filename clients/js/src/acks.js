// Ack'ed emits, each bounded by a timeout; a connection that closes fails every emit still
// waiting for its answer.

import { RoomshardError } from "./reserve.js";

export class Acks {
  /** @param {number} timeoutMs */
  constructor(timeoutMs) {
    this.timeoutMs = timeoutMs;
    /** @type {Set<{reject: (e: Error) => void}>} */
    this.pending = new Set();
  }

  /** Emits `event` on `socket` and resolves with its answer. */
  request(socket, event, data) {
    return new Promise((resolve, reject) => {
      if (!socket || !socket.connected) {
        reject(new RoomshardError("disconnected", `${event}: not connected`));
        return;
      }
      const entry = {
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        if (this.pending.delete(entry)) reject(new RoomshardError("timeout", `${event} got no answer`));
      }, this.timeoutMs);
      this.pending.add(entry);
      socket.emit(event, data, (ack) => {
        if (!this.pending.delete(entry)) return;
        clearTimeout(timer);
        resolve(ack);
      });
    });
  }

  /** Fails every emit still waiting, with `code`. */
  failAll(code) {
    const pending = [...this.pending];
    this.pending.clear();
    for (const p of pending) p.reject(new RoomshardError(code, "the connection closed before the answer"));
  }
}
