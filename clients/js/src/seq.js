// Exactly-once delivery of room events across reconnections.
//
// Every room event (`said`, `presence`, and the game's custom events of scope `room`)
// carries `seq`, the room's event number on the worker, one higher per event. The client remembers the highest it has handed to the
// application (`lastSeq`); a resume asks for everything after it, and whatever arrives
// twice (a replayed event that was also delivered live, or a live event the replay
// already covered) is dropped here.

/** The built-in room events that carry a sequence number. */
export const ROOM_EVENTS = Object.freeze(["said", "presence"]);

export class SeqTracker {
  /**
   * @param {number} [lastSeq] the highest seq already delivered (the join ack's `seq`)
   * @param {string[]} [custom] the custom events the game listens for: those of them a
   *   resume replays are delivered (a room-scoped one carries `seq`; others never come)
   */
  constructor(lastSeq = 0, custom = []) {
    /** @type {number} */
    this.lastSeq = lastSeq;
    /** @type {Set<string>} */
    this.replayable = new Set([...ROOM_EVENTS, ...custom]);
    /** @type {null | Array<{event: string, data: any}>} */
    this.held = null;
  }

  /** Starts over from a join (a new seat, a new room history). */
  reset(lastSeq) {
    this.lastSeq = Number.isInteger(lastSeq) ? lastSeq : 0;
    this.held = null;
  }

  /**
   * Whether a room event with this seq is new, recording it when it is. Events without a
   * seq (from a worker that predates resume) are always new.
   * @param {unknown} seq
   */
  accept(seq) {
    if (!Number.isInteger(seq)) return true;
    if (/** @type {number} */ (seq) <= this.lastSeq) return false;
    this.lastSeq = /** @type {number} */ (seq);
    return true;
  }

  /**
   * While a resume is in flight, live events are held back: they may overtake the replay
   * the resume answer brings, and must be delivered after it.
   */
  hold() {
    if (this.held === null) this.held = [];
  }

  /** Whether live events are being held back. */
  get holding() {
    return this.held !== null;
  }

  /**
   * A live room event: the list of events to deliver now (none when it is held back or a
   * duplicate).
   * @param {string} event
   * @param {any} data
   * @returns {Array<{event: string, data: any}>}
   */
  live(event, data) {
    if (this.held !== null) {
      this.held.push({ event, data });
      return [];
    }
    return this.accept(data && data.seq) ? [{ event, data }] : [];
  }

  /**
   * The resume answer arrived: the missed events in order, then the live events held
   * meanwhile, each at most once. `ackSeq` is the answer's `seq`, the room's last event
   * when it was sent; everything up to it is now known.
   * @param {Array<{event: string, data: any}>} missed
   * @param {number} [ackSeq]
   * @returns {Array<{event: string, data: any}>}
   */
  replay(missed, ackSeq) {
    const held = this.held || [];
    this.held = null;
    const out = [];
    const sorted = (Array.isArray(missed) ? missed : [])
      .filter((m) => m && this.replayable.has(m.event))
      .slice()
      .sort((a, b) => seqOf(a) - seqOf(b));
    for (const m of [...sorted, ...held.sort((a, b) => seqOf(a) - seqOf(b))]) {
      if (this.accept(m.data && m.data.seq)) out.push(m);
    }
    if (Number.isInteger(ackSeq) && /** @type {number} */ (ackSeq) > this.lastSeq) {
      this.lastSeq = /** @type {number} */ (ackSeq);
    }
    return out;
  }

  /**
   * The resume failed: the held events are dropped. They came over a connection that is
   * gone or a seat that is lost; the next resume asks for them again.
   */
  discard() {
    this.held = null;
  }

  /** The held events, delivered as live ones after all. */
  release() {
    const held = this.held || [];
    this.held = null;
    return held.filter((m) => this.accept(m.data && m.data.seq));
  }
}

function seqOf(m) {
  const s = m && m.data && m.data.seq;
  return Number.isInteger(s) ? s : Number.MAX_SAFE_INTEGER;
}
