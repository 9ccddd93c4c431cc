// Custom-event fan-out (a benchmark, not a test): PLAYERS players in rooms of ROOM_SIZE,
// dealt over the given servers in turn, each at a random place of a 1000 × 1000 world,
// each sending the custom event `shoot` (a small JSON payload) RATE times a second for
// DURATION seconds. Counts every `shoot` delivered and every byte each client receives on
// its WebSocket (Engine.IO frames as sent).
//
//   node bench/nearby.mjs URL[,URL...] PLAYERS ROOM_SIZE RATE DURATION
//
// Against Roomshard workers that declare `shoot` with scope `nearby` (EVENTS), it reaches
// the players whose area of interest holds the sender; against tests/node/peer-server.mjs
// (RELAY_EVENTS=shoot) the peer relays it room-wide. Prints one JSON line.
import { connect } from "../tests/node/worker/common.mjs";

const [urlsArg, playersArg, sizeArg, rateArg, durationArg] = process.argv.slice(2);
if (!urlsArg) {
  console.error("usage: node bench/nearby.mjs URL[,URL...] PLAYERS ROOM_SIZE RATE DURATION");
  process.exit(2);
}
const urls = urlsArg.split(",");
const PLAYERS = Number(playersArg || 200);
const ROOM_SIZE = Number(sizeArg || 50);
const RATE = Number(rateArg || 5);
const DURATION_MS = Number(durationArg || 15) * 1000;
const WORLD = 1000;
const tag = Date.now().toString(36);

const players = [];
for (let i = 0; i < PLAYERS; i += 50) {
  const batch = [];
  for (let j = i; j < Math.min(PLAYERS, i + 50); j++) {
    batch.push(
      (async () => {
        const socket = await connect(urls[j % urls.length]);
        const p = { socket, got: 0, bytes: 0, counting: false };
        socket.on("shoot", () => {
          if (p.counting) p.got += 1;
        });
        socket.io.engine.transport.ws.on("message", (data) => {
          if (p.counting) p.bytes += data.length ?? Buffer.byteLength(String(data));
        });
        const room = `nearby-${tag}-${Math.floor(j / ROOM_SIZE)}`;
        const ack = await socket.timeout(10000).emitWithAck("join", { room, name: `b${j}` });
        if (!ack || !ack.ok) throw new Error(`join refused: ${JSON.stringify(ack)}`);
        socket.emit("move", { x: Math.random() * WORLD, y: Math.random() * WORLD });
        return p;
      })(),
    );
  }
  players.push(...(await Promise.all(batch)));
}
// Let the placing moves settle into every view before counting.
await new Promise((r) => setTimeout(r, 1000));
for (const p of players) p.counting = true;
let sent = 0;
const started = Date.now();
const timers = players.map((p, i) => {
  const period = 1000 / RATE;
  return setTimeout(() => {
    p.timer = setInterval(() => {
      p.socket.emit("shoot", { n: sent, at: Date.now() % 100000 });
      sent += 1;
    }, period);
  }, (i * period) / players.length);
});
await new Promise((r) => setTimeout(r, DURATION_MS));
for (const t of timers) clearTimeout(t);
for (const p of players) clearInterval(p.timer);
// The last events in flight arrive.
await new Promise((r) => setTimeout(r, 500));
for (const p of players) p.counting = false;
const seconds = (Date.now() - started) / 1000;
const delivered = players.reduce((a, p) => a + p.got, 0);
const bytes = players.reduce((a, p) => a + p.bytes, 0);
console.log(
  JSON.stringify({
    players: PLAYERS,
    room_size: ROOM_SIZE,
    rate: RATE,
    seconds,
    sent,
    delivered,
    delivered_per_sent: sent ? delivered / sent : 0,
    bytes_per_client: bytes / PLAYERS,
    bytes_per_client_per_s: bytes / PLAYERS / seconds,
    bytes_per_delivered: delivered ? bytes / delivered : 0,
  }),
);
for (const p of players) p.socket.close();
process.exit(0);
