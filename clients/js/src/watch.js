// While a dropped player waits to resume, whether its room outlived the connection. A
// worker that crashed took its rooms with it and cannot say so itself; its restarted
// process closes them in the registry before it serves again, and the matchmaker answers
// for the registry (`GET /rooms/{room}`). So the client asks the matchmaker every
// `everyMs` until it is told the room is gone or lost, or the watch is stopped (the seat
// was resumed, or the session ended). A matchmaker that cannot be reached tells nothing:
// the resume goes on being tried.

export class RoomWatch {
  /**
   * @param {(room: string) => Promise<"live" | "lost" | "gone" | null>} probe
   * @param {number} everyMs
   */
  constructor(probe, everyMs) {
    this.probe = probe;
    this.everyMs = everyMs;
    this.timer = null;
    this.run = 0;
  }

  /** Watches `room`; `onDead(state)` is called once, when it is `gone` or `lost`. */
  start(room, onDead) {
    this.stop();
    const run = this.run;
    const tick = async () => {
      const state = await this.probe(room).catch(() => null);
      if (run !== this.run) return;
      if (state === "gone" || state === "lost") {
        this.stop();
        onDead(state);
        return;
      }
      this.timer = setTimeout(tick, this.everyMs);
    };
    this.timer = setTimeout(tick, this.everyMs);
  }

  stop() {
    this.run += 1;
    clearTimeout(this.timer);
    this.timer = null;
  }
}
