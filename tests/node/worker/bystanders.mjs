// Well-behaved players who keep playing while a test abuses the worker: half over
// WebSocket, half over long-polling, all in one room and one area of interest. Each moves
// every 100 ms and times how long its move takes to come back in a `view` batch; each says
// a line every second and checks the ack and that the others hear it. A chatter fills the
// room with long `said` messages on demand, to keep slow readers' buffers busy.
//
// Usage: node bystanders.mjs <url> <room> <count> <chatChars>
// Standard input, one command a line:
//   phase <name>  ends the current phase (prints its summary) and starts the next
//   chat <n>      the chatter says <n> lines of <chatChars> characters a second (0: quiet)
//   end (or EOF)  prints the last summary and exits
// Standard output: {"ready":true,...} once everybody has joined, then one summary a phase.
import { connect, emitAck, out, deadline } from "./common.mjs";
import { createInterface } from "node:readline";

deadline(15 * 60 * 1000);
const [url, room, countArg, chatCharsArg] = process.argv.slice(2);
const count = Number(countArg), chatChars = Number(chatCharsArg);

function newPhase(name) {
  return {
    name, started: Date.now(), latencies: [], lost: 0, maxGapMs: 0, disconnects: [],
    saysSent: 0, saysAcked: 0, saysFailed: [], heard: 0, expectedHeard: 0, chatHeard: 0,
  };
}
let phase = newPhase("warmup");
const phases = new Map([[phase.name, phase]]);

const players = [];
const ids = new Set();
for (let i = 0; i < count; i++) {
  const transport = i % 2 === 0 ? "websocket" : "polling";
  const socket = await connect(url, [transport]);
  const p = { i, transport, socket, id: null, seq: 0, pending: new Map(), lastView: 0 };
  socket.on("view", (b) => onView(p, b));
  socket.on("said", (m) => onSaid(p, m));
  socket.on("disconnect", (reason) => { phase.disconnects.push({ i, transport, reason }); });
  const ack = await emitAck(socket, "join", { room, name: `bystander-${i}` }, 10000);
  if (!ack.ok) { out({ fatal: `join failed: ${JSON.stringify(ack)}` }); process.exit(2); }
  p.id = ack.self;
  ids.add(p.id);
  players.push(p);
}

const chatter = await connect(url, ["websocket"]);
{
  const ack = await emitAck(chatter, "join", { room, name: "chatter" }, 10000);
  if (!ack.ok) { out({ fatal: `chatter join failed: ${JSON.stringify(ack)}` }); process.exit(2); }
}
const chatText = "c".repeat(chatChars);
let chatTimer = null;
function setChat(perSec) {
  if (chatTimer) clearInterval(chatTimer);
  chatTimer = null;
  if (perSec > 0) chatTimer = setInterval(() => chatter.emit("say", { text: chatText }), 1000 / perSec);
}

function onView(p, b) {
  const now = Date.now();
  if (p.lastView) phase.maxGapMs = Math.max(phase.maxGapMs, now - p.lastView);
  p.lastView = now;
  for (const e of b.moved.concat(b.entered)) {
    if (e.id !== p.id) continue;
    const sent = p.pending.get(`${e.x},${e.y}`);
    if (sent === undefined) continue;
    sent.ph.latencies.push(now - sent.at);
    // A later move supersedes earlier ones in the same tick: those are not lost.
    for (const [k, v] of p.pending) if (v.seq <= sent.seq) p.pending.delete(k);
  }
}

function onSaid(p, m) {
  if (!ids.has(m.from)) { phase.chatHeard += 1; return; }
  const ph = phases.get(m.text.split(" in ")[1]);
  if (ph && m.from !== p.id) ph.heard += 1;
}

// Moves: a distinct position each time, in one 100-unit cell so everybody sees everybody.
const mover = setInterval(() => {
  const now = Date.now();
  for (const p of players) {
    p.seq += 1;
    const x = 410 + p.i * 4, y = 410 + (p.seq % 70);
    for (const [k, v] of p.pending) {
      if (now - v.at > 5000) { p.pending.delete(k); v.ph.lost += 1; }
    }
    p.pending.set(`${x},${y}`, { at: now, seq: p.seq, ph: phase });
    p.socket.emit("move", { x, y });
  }
}, 100);

const talker = setInterval(() => {
  for (const p of players) {
    const ph = phase;
    ph.saysSent += 1;
    ph.expectedHeard += players.length - 1;
    emitAck(p.socket, "say", { text: `hello from ${p.i} in ${ph.name}` }, 10000).then(
      (a) => { if (a.ok) ph.saysAcked += 1; else ph.saysFailed.push(a.error); },
      (e) => ph.saysFailed.push(String(e && e.message || e)),
    );
  }
}, 1000);

function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

function summary(ph) {
  const sorted = ph.latencies.slice().sort((a, b) => a - b);
  return {
    phase: ph.name,
    ms: (ph.ended || Date.now()) - ph.started,
    samples: sorted.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: sorted.length ? sorted[sorted.length - 1] : null,
    lost: ph.lost,
    unconfirmed: ph.unconfirmed,
    maxGapMs: ph.maxGapMs,
    saysSent: ph.saysSent,
    saysAcked: ph.saysAcked,
    saysFailed: ph.saysFailed.slice(0, 5),
    heard: ph.heard,
    expectedHeard: ph.expectedHeard,
    chatHeard: ph.chatHeard,
    disconnects: ph.disconnects,
    connected: players.filter((p) => p.socket.connected).length + (chatter.connected ? 1 : 0),
  };
}

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

// Waits (at most 12 s) until every say of the phase that just ended is acked and heard and
// every move of it has come back or been superseded, so it can be summed up.
async function settle(ph) {
  const pendingOf = () => players.reduce((n, p) => n + [...p.pending.values()].filter((v) => v.ph === ph).length, 0);
  const until = Date.now() + 12000;
  while (Date.now() < until) {
    const acked = ph.saysAcked + ph.saysFailed.length >= ph.saysSent;
    if (acked && ph.heard >= ph.expectedHeard && pendingOf() === 0) break;
    await sleep(50);
  }
  ph.unconfirmed = pendingOf();
}

out({ ready: true, players: players.length, transports: players.map((p) => p.transport) });

let ended = false;
async function end() {
  if (ended) return;
  ended = true;
  setChat(0);
  clearInterval(mover);
  clearInterval(talker);
  await settle(phase);
  out(summary(phase));
  for (const p of players) p.socket.close();
  chatter.close();
  process.exit(0);
}

const rl = createInterface({ input: process.stdin });
const queue = [];
let busy = false;
rl.on("line", (line) => { queue.push(line.trim()); drain(); });
rl.on("close", () => { queue.push("end"); drain(); });
async function drain() {
  if (busy) return;
  busy = true;
  while (queue.length) {
    const [cmd, arg] = queue.shift().split(/\s+/);
    if (cmd === "phase") {
      const done = phase;
      done.ended = Date.now();
      phase = newPhase(arg);
      phases.set(arg, phase);
      await settle(done);
      out(summary(done));
    } else if (cmd === "chat") {
      setChat(Number(arg));
    } else if (cmd === "end") {
      await end();
    }
  }
  busy = false;
}
