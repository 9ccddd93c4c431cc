// Shared helpers of the worker's Node test scripts (official socket.io-client).
import { io } from "socket.io-client";

export function connect(url, transports = ["websocket"], extra = {}) {
  return new Promise((resolve, reject) => {
    const socket = io(url, { transports, reconnection: false, forceNew: true, timeout: 5000, ...extra });
    const timer = setTimeout(() => reject(new Error(`connect to ${url} timed out`)), 10000);
    socket.once("connect", () => { clearTimeout(timer); resolve(socket); });
    socket.once("connect_error", (e) => { clearTimeout(timer); reject(e); });
  });
}

export function emitAck(socket, event, data, ms = 5000) {
  return socket.timeout(ms).emitWithAck(event, data);
}

// Resolves with the first `event` payload that satisfies `pred`, or rejects after `ms`.
export function waitFor(socket, event, pred = () => true, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { socket.off(event, on); reject(new Error(`no matching ${event} within ${ms} ms`)); }, ms);
    function on(payload) {
      if (pred(payload)) { clearTimeout(timer); socket.off(event, on); resolve(payload); }
    }
    socket.on(event, on);
  });
}

export function waitDisconnect(socket, ms = 5000) {
  return new Promise((resolve, reject) => {
    if (!socket.connected) return resolve("already disconnected");
    const timer = setTimeout(() => reject(new Error(`still connected after ${ms} ms`)), ms);
    socket.once("disconnect", (reason) => { clearTimeout(timer); resolve(reason); });
  });
}

// A client's view of the world, kept up to date from `view` batches. Create it before
// joining: batches that arrive before `init` (the join ack) are kept and applied after.
export class ViewTracker {
  constructor(socket) {
    this.selfId = null;
    this.entities = new Map();
    this.bytes = 0;
    this.batches = 0;
    this.anomalies = [];
    this.onBatch = null;
    this.early = [];
    socket.on("view", (b) => {
      this.bytes += JSON.stringify(b).length;
      this.batches += 1;
      if (this.selfId === null) this.early.push(b);
      else this.apply(b);
    });
  }
  init(selfId, view) {
    this.selfId = selfId;
    this.entities = new Map(view.map((e) => [e.id, { x: e.x, y: e.y, name: e.name }]));
    const early = this.early;
    this.early = [];
    for (const b of early) this.apply(b);
  }
  apply(b) {
    for (const id of b.left) {
      if (!this.entities.delete(id)) this.anomalies.push(`left ${id} not in view`);
    }
    for (const m of b.moved) {
      const e = this.entities.get(m.id);
      if (!e) this.anomalies.push(`moved ${m.id} not in view`);
      this.entities.set(m.id, { ...(e || {}), x: m.x, y: m.y });
    }
    for (const e of b.entered) {
      if (this.entities.has(e.id)) this.anomalies.push(`entered ${e.id} already in view`);
      this.entities.set(e.id, { x: e.x, y: e.y, name: e.name });
    }
    if (this.onBatch) this.onBatch(b);
  }
  self() { return this.entities.get(this.selfId); }
}

export function out(obj) { process.stdout.write(JSON.stringify(obj) + "\n"); }

// Prints `{check, ok, value}` (or `{check, ok: false, error}`) for what `fn` resolves to,
// the line the Rust side reads with `node::check`.
export async function check(name, fn) {
  try { out({ check: name, ok: true, value: await fn() }); }
  catch (e) { out({ check: name, ok: false, error: String(e && e.message || e) }); }
}

// Resolves once `pred()` holds, looking again every 20 ms, for `ms` at most.
export function until(pred, what, ms = 8000) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const look = () => {
      if (pred()) return resolve(true);
      if (Date.now() - started > ms) return reject(new Error(`${what}: not within ${ms} ms`));
      setTimeout(look, 20);
    };
    look();
  });
}

// Ends the process if the scenario hangs, so a test never waits forever.
export function deadline(ms) {
  setTimeout(() => { out({ fatal: `scenario did not finish within ${ms} ms` }); process.exit(3); }, ms).unref();
}

// Connects to a URL the matchmaker handed out, which may carry a path (`ws://host/shard/2`
// behind an ingress): socket.io-client reads a URL's path as a namespace, so the path goes
// into the `path` option, as the Roomshard client library does.
export function connectHanded(url, transports = ["websocket"]) {
  const u = new URL(url);
  const path = u.pathname.replace(/\/+$/, "") + "/socket.io/";
  return connect(u.origin, transports, { path });
}
