// Interest management with a crowd: N clients in one room random-walk; every entity a
// client receives must lie in its area of interest (the cells up to <cells> away from its
// own, cells being radius/<cells> wide), and
// after the crowd stops, every client must hold exactly the others within its radius at
// their final positions. Prints one JSON summary, with the bytes each client received
// against a naive room-wide broadcast of the same moves.
// Usage: node crowd.mjs <url> <room> <clients> <rounds> <radius> <cells>
import { connect, emitAck, out, deadline, ViewTracker } from "./common.mjs";

deadline(120000);
const [url, room, nArg, roundsArg, radiusArg, cellsArg] = process.argv.slice(2);
const n = Number(nArg), rounds = Number(roundsArg), radius = Number(radiusArg), cells = Number(cellsArg);
const world = 1000;
// As the server: cells of side `radius / cells`, the last row and column closed at the edge.
const side = radius / cells;
const cellOf = (v) => Math.min(Math.floor(v / side), Math.ceil(world / side) - 1);
const near = (a, b) => Math.abs(cellOf(a.x) - cellOf(b.x)) <= cells && Math.abs(cellOf(a.y) - cellOf(b.y)) <= cells;
const dist = (a, b) => Math.hypot(a.x - b.x, a.y - b.y);

const clients = [];
for (let i = 0; i < n; i += 25) {
  const batch = [];
  for (let j = i; j < Math.min(n, i + 25); j++) batch.push(connect(url));
  clients.push(...(await Promise.all(batch)));
}
let violations = 0, maxRatio = 0, checked = 0;
const players = [];
for (const socket of clients) {
  const tracker = new ViewTracker(socket);
  const ack = await emitAck(socket, "join", { room }, 10000);
  if (!ack.ok) { out({ fatal: `join failed: ${JSON.stringify(ack)}` }); process.exit(2); }
  tracker.init(ack.self, ack.view);
  const p = { socket, id: ack.self, tracker, pos: null, lastBatchAt: Date.now(), errors: [] };
  socket.on("view", () => { p.lastBatchAt = Date.now(); });
  socket.on("error", (e) => { if (p.errors.length < 3) p.errors.push(e); });
  tracker.onBatch = (b) => {
    const me = tracker.self();
    if (!me) return;
    for (const e of b.moved.concat(b.entered)) {
      checked += 1;
      if (!near(me, e)) violations += 1;
      maxRatio = Math.max(maxRatio, dist(me, e) / radius);
    }
  };
  players.push(p);
}

const clamp = (v) => Math.min(world, Math.max(0, v));
for (const p of players) p.pos = { x: Math.random() * world, y: Math.random() * world };
let naiveBytes = 0;
for (let r = 0; r < rounds; r++) {
  const moved = [];
  for (const p of players) {
    p.pos = { x: clamp(p.pos.x + (Math.random() - 0.5) * 80), y: clamp(p.pos.y + (Math.random() - 0.5) * 80) };
    p.socket.emit("move", p.pos);
    moved.push({ id: p.id, x: Math.fround(p.pos.x), y: Math.fround(p.pos.y) });
  }
  // What one client would receive if every move of the round went to the whole room.
  naiveBytes += JSON.stringify({ tick: 1000 + r, moved, entered: [], left: [] }).length;
  await new Promise((res) => setTimeout(res, 100));
}

// Wait until the server confirmed every client's last move (its own entity in its view
// is at its last position; a loaded machine may lag), then until no batch arrived for
// 500 ms. Both are bounded by the script deadline.
const confirmed = (p) => { const me = p.tracker.self(); return me && Math.abs(me.x - p.pos.x) < 0.01 && Math.abs(me.y - p.pos.y) < 0.01; };
const confirmBy = Date.now() + 60000;
while (!players.every(confirmed)) {
  if (Date.now() > confirmBy) {
    const stuck = players.filter((p) => !confirmed(p));
    out({ fatal: `${stuck.length} clients never saw their last move`, samples: stuck.slice(0, 5).map((p) => ({
      id: p.id, connected: p.socket.connected, batches: p.tracker.batches, self: p.tracker.self(), sent: p.pos,
      sinceLastBatchMs: Date.now() - p.lastBatchAt, errors: p.errors })) });
    process.exit(4);
  }
  await new Promise((res) => setTimeout(res, 100));
}
let last = -1;
for (;;) {
  const total = players.reduce((s, p) => s + p.tracker.batches, 0);
  if (total === last) break;
  last = total;
  await new Promise((res) => setTimeout(res, 500));
}

let missing = 0, stale = 0, outside = 0, anomalies = 0;
const anomalySamples = [];
const staleSamples = [];
for (const p of players) {
  anomalies += p.tracker.anomalies.length;
  anomalySamples.push(...p.tracker.anomalies.slice(0, 2));
  for (const q of players) {
    const seen = p.tracker.entities.get(q.id);
    if (dist(p.pos, q.pos) <= radius) {
      if (!seen) missing += 1;
      else if (Math.abs(seen.x - q.pos.x) > 0.01 || Math.abs(seen.y - q.pos.y) > 0.01) {
        stale += 1;
        if (staleSamples.length < 5) staleSamples.push({ seen, actual: q.pos, self: q.tracker.self() });
      }
    }
  }
  for (const [, e] of p.tracker.entities) if (!near(p.pos, e)) outside += 1;
}
const bytes = players.map((p) => p.tracker.bytes);
const mean = bytes.reduce((a, b) => a + b, 0) / bytes.length;
out({
  clients: n, rounds, checked, violations, outside, missing, stale, anomalies,
  maxDistanceOverRadius: maxRatio,
  bytesMeanPerClient: Math.round(mean), bytesMaxPerClient: Math.max(...bytes),
  naiveBytesPerClient: naiveBytes, naiveOverActual: naiveBytes / mean,
  anomalySamples: anomalySamples.slice(0, 5), staleSamples,
  meanViewSize: players.reduce((s, p) => s + p.tracker.entities.size, 0) / n,
});
for (const p of players) p.socket.close();
process.exit(0);
