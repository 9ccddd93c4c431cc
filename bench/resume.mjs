// Session resume under a mass drop (a benchmark, not a test): PLAYERS players in ROOMS
// rooms reserve and join through the matchmaker, all at once; then every connection is cut
// at the same moment (the TCP socket under each WebSocket is destroyed, as a failing
// network would) and the players resume through @roomshard/client. Prints the share
// resumed, the time until 99 % were back and the resume latencies, against the fresh
// reserve-and-join of the same players in the same run.
//
//   node bench/resume.mjs MATCHMAKER_URL [PLAYERS] [ROOMS]
//
// The rooms fill in order, so the workers' ROOM_CAPACITY should be PLAYERS / ROOMS
// (bench/run.sh resume starts such a set). Knobs: RECONNECT_DELAY_MS (socket.io-client's
// first reconnection delay, default its own 1000 ms, randomised by ±50 %), JOIN_TIMEOUT_S
// (default 120). One JSON line with every figure goes last, for scripts.
import { play } from "../clients/js/src/index.js";

const [matchmaker, playersArg, roomsArg] = process.argv.slice(2);
if (!matchmaker) {
  console.error("usage: node bench/resume.mjs MATCHMAKER_URL [PLAYERS] [ROOMS]");
  process.exit(2);
}
const PLAYERS = Number(playersArg || 1000);
const ROOMS = Number(roomsArg || 50);
const RECONNECT_DELAY_MS = process.env.RECONNECT_DELAY_MS ? Number(process.env.RECONNECT_DELAY_MS) : undefined;
const TIMEOUT_MS = Number(process.env.JOIN_TIMEOUT_S || 120) * 1000;
const track = `bench-resume-${Date.now().toString(36)}`;

const socketOptions = { transports: ["websocket"] };
if (RECONNECT_DELAY_MS !== undefined) {
  socketOptions.reconnectionDelay = RECONNECT_DELAY_MS;
  socketOptions.reconnectionDelayMax = Math.max(RECONNECT_DELAY_MS, 5000);
}

const quantile = (xs, q) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
};
const ms = (x) => (Number.isFinite(x) ? `${x.toFixed(0)} ms` : "n/a");
const ratio = (a, b) => (b > 0 && Number.isFinite(a) ? `${(a / b).toFixed(2)}x` : "n/a");

/** Resolves when `count()` reaches `target` or the deadline passes. */
function reach(count, target, deadlineMs) {
  return new Promise((resolve) => {
    const end = Date.now() + deadlineMs;
    const tick = () => (count() >= target || Date.now() > end ? resolve() : setTimeout(tick, 5));
    tick();
  });
}

// 1. Fresh: every player reserves and joins at once.
const t0 = performance.now();
const joinLatency = [];
const joinFailures = [];
const games = await Promise.all(
  Array.from({ length: PLAYERS }, async (_, i) => {
    const start = performance.now();
    try {
      const game = await play({ matchmaker, track, name: `p${i}`, socketOptions, ackTimeoutMs: TIMEOUT_MS });
      joinLatency.push(performance.now() - start);
      return game;
    } catch (e) {
      joinFailures.push(e.code || String(e));
      return null;
    }
  }),
);
const joinDurations = [...joinLatency].sort((a, b) => a - b);
const fresh = {
  joined: joinLatency.length,
  failures: joinFailures.length,
  p50: quantile(joinLatency, 0.5),
  p99: quantile(joinLatency, 0.99),
  // Everyone started at t0, so the 99th percentile of the latencies is when 99 % were in.
  until99: joinDurations.length >= Math.ceil(0.99 * PLAYERS) ? joinDurations[Math.ceil(0.99 * PLAYERS) - 1] : NaN,
  total: performance.now() - t0,
};
const live = games.filter(Boolean);
const rooms = new Set(live.map((g) => g.room));

// 2. The mass drop: every TCP connection is destroyed at once; the players resume.
const back = new Map(); // game -> {kind, at, latency}
const reconnectedAt = new Map();
for (const g of live) {
  g.on("resumed", () => back.set(g, { kind: "resumed", at: performance.now() }));
  g.on("rejoined", (r) => back.set(g, { kind: `rejoined:${r.reason}`, at: performance.now() }));
  g.on("lost", (l) => back.set(g, { kind: `lost:${l.code}`, at: performance.now() }));
  g.socket.on("connect", () => {
    if (!reconnectedAt.has(g)) reconnectedAt.set(g, performance.now());
  });
}
// Settle: the joins' presence storms are over before the cut.
await new Promise((r) => setTimeout(r, 1000));
const cutAt = performance.now();
let cut = 0;
for (const g of live) {
  const tcp = g.socket?.io?.engine?.transport?.ws?._socket;
  if (tcp) {
    tcp.destroy();
    cut += 1;
  }
}
await reach(() => back.size, cut, TIMEOUT_MS);
const outcomes = {};
for (const v of back.values()) outcomes[v.kind] = (outcomes[v.kind] || 0) + 1;
const resumedGames = [...back.entries()].filter(([, v]) => v.kind === "resumed");
const sinceCut = resumedGames.map(([, v]) => v.at - cutAt).sort((a, b) => a - b);
const resumeOnly = resumedGames.filter(([g]) => reconnectedAt.has(g)).map(([g, v]) => v.at - reconnectedAt.get(g));
const reconnect = [...reconnectedAt.values()].map((at) => at - cutAt);
const allBack = [...back.values()].map((v) => v.at - cutAt).sort((a, b) => a - b);
const need = Math.ceil(0.99 * cut);
const resume = {
  cut,
  resumed: resumedGames.length,
  share: cut ? resumedGames.length / cut : 0,
  outcomes,
  until99: allBack.length >= need ? allBack[need - 1] : NaN,
  sinceCutP50: quantile(sinceCut, 0.5),
  sinceCutP99: quantile(sinceCut, 0.99),
  p50: quantile(resumeOnly, 0.5),
  p99: quantile(resumeOnly, 0.99),
  reconnectP50: quantile(reconnect, 0.5),
  reconnectP99: quantile(reconnect, 0.99),
};

for (const g of live) g.close();

const delay = RECONNECT_DELAY_MS === undefined ? "socket.io-client's default 1000 ms ±50 %" : `${RECONNECT_DELAY_MS} ms ±50 %`;
console.log(`== resume: ${PLAYERS} players in ${rooms.size} rooms (asked ${ROOMS}), every connection cut at once`);
console.log(`fresh reserve-and-join, all at once: ${fresh.joined}/${PLAYERS} joined (${fresh.failures} failed), 99 % in after ${ms(fresh.until99)}, latency p50 ${ms(fresh.p50)} p99 ${ms(fresh.p99)}`);
console.log(`resume after the cut (first reconnection after ${delay}): ${resume.resumed}/${resume.cut} resumed (${(100 * resume.share).toFixed(1)} %), outcomes ${JSON.stringify(outcomes)}`);
console.log(`  99 % back after ${ms(resume.until99)} from the cut; cut-to-resumed p50 ${ms(resume.sinceCutP50)} p99 ${ms(resume.sinceCutP99)}`);
console.log(`  cut to a new connection (socket.io-client's back-off, then the handshake) p50 ${ms(resume.reconnectP50)} p99 ${ms(resume.reconnectP99)}`);
console.log(`  resume latency (new connection to resumed) p50 ${ms(resume.p50)} p99 ${ms(resume.p99)}`);
console.log(`ratios resume/fresh: latency p50 ${ratio(resume.p50, fresh.p50)}, p99 ${ratio(resume.p99, fresh.p99)}; time to 99 % (cut included) ${ratio(resume.until99, fresh.until99)}`);
console.log(JSON.stringify({ players: PLAYERS, rooms: rooms.size, fresh, resume }));
process.exit(0);
