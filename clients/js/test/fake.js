// A stand-in for socket.io-client and a worker, for the unit tests: the test decides what
// the "worker" answers and when connections drop and come back.

export class FakeWorker {
  constructor() {
    /** @type {FakeSocket[]} */
    this.sockets = [];
    /** Answers by event name: (data, socket) => ack value (or a promise of one). */
    this.handlers = {};
    /** Every event a client emitted, in order: {socket, event, data}. */
    this.log = [];
    /** Whether new sockets connect by themselves. */
    this.reachable = true;
    this.io = (url, opts) => {
      const s = new FakeSocket(this, url, opts);
      this.sockets.push(s);
      setImmediate(() => (this.reachable ? s.accept() : s.refuse()));
      return s;
    };
  }

  /** The events emitted so far with this name. */
  emitted(event) {
    return this.log.filter((l) => l.event === event);
  }

  get last() {
    return this.sockets[this.sockets.length - 1];
  }
}

class FakeSocket {
  constructor(worker, url, opts) {
    this.worker = worker;
    this.url = url;
    this.opts = opts;
    this.connected = false;
    this.closedByClient = false;
    /** @type {Map<string, Set<Function>>} */
    this.listeners = new Map();
  }

  on(event, fn) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event).add(fn);
    return this;
  }

  once(event, fn) {
    const wrap = (...a) => {
      this.off(event, wrap);
      fn(...a);
    };
    wrap.inner = fn;
    return this.on(event, wrap);
  }

  off(event, fn) {
    const set = this.listeners.get(event);
    if (set) for (const f of set) if (f === fn || f.inner === fn) set.delete(f);
    return this;
  }

  fire(event, ...args) {
    for (const fn of [...(this.listeners.get(event) || [])]) fn(...args);
  }

  emit(event, data, ack) {
    if (!this.connected) throw new Error(`emit ${event} on a disconnected socket`);
    this.worker.log.push({ socket: this, event, data });
    const handler = this.worker.handlers[event];
    if (!handler || !ack) return;
    Promise.resolve(handler(data, this)).then((v) => {
      if (v !== undefined && this.connected) ack(v);
    });
  }

  connect() {
    setImmediate(() => this.accept());
  }

  disconnect() {
    this.closedByClient = true;
    if (!this.connected) return;
    this.connected = false;
    this.fire("disconnect", "io client disconnect");
  }

  // The test's controls.
  accept() {
    if (this.closedByClient) return;
    this.connected = true;
    this.fire("connect");
  }

  refuse() {
    this.fire("connect_error", new Error("refused"));
  }

  /** The connection drops (as a cut TCP connection would). */
  drop(reason = "transport close") {
    this.connected = false;
    this.fire("disconnect", reason);
  }

  /** A server → client event. */
  push(event, data) {
    this.fire(event, data);
  }
}

/** Waits until `probe()` is truthy (checked every few ms), failing after `ms`. */
export async function until(probe, what, ms = 2000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A join (or resume) answer. */
export function joinAck(over = {}) {
  return {
    ok: true,
    room: "r1",
    shard: 0,
    self: "p1",
    players: 1,
    view: [{ id: "p1", x: 1, y: 2, name: "one" }],
    width: 1000,
    height: 1000,
    radius: 100,
    cells: 2,
    resume: "cred-1",
    seq: 0,
    ...over,
  };
}
