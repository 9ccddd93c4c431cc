// One long-lived player for the fault suite: connects, joins, keeps moving near a meeting
// point, and prints one JSON line per thing it receives, so the test can tell what still
// arrives after a fault. Ends when stdin closes.
// Usage: node player.mjs <url> <room> <token|-> <name>
import { io } from "socket.io-client";

const [url, room, token, name] = process.argv.slice(2);
const out = (obj) => process.stdout.write(JSON.stringify({ ...obj, at: Date.now() }) + "\n");

const socket = io(url, { transports: ["websocket"], reconnection: false, forceNew: true, timeout: 5000 });
socket.on("connect_error", (e) => { out({ ev: "connect_error", error: String(e && e.message || e) }); process.exit(2); });
socket.on("disconnect", (reason) => out({ ev: "disconnect", reason }));
socket.on("view", (v) => out({
  ev: "view",
  moved: v.moved.map((e) => e.id),
  entered: v.entered.map((e) => e.id),
  left: v.left,
}));
socket.on("presence", (p) => out({ ev: "presence", players: p.players, joined: p.joined, left: p.left }));
socket.on("error", (e) => out({ ev: "error", code: e && e.code }));
socket.on("draining", (d) => out({ ev: "draining", reason: d && d.reason, closesInMs: d && d.closesInMs }));
socket.once("connect", async () => {
  out({ ev: "connected" });
  const join = { room, name };
  if (token !== "-") join.token = token;
  let ack;
  try {
    ack = await socket.timeout(5000).emitWithAck("join", join);
  } catch (e) {
    out({ ev: "join", ok: false, error: String(e && e.message || e) });
    return;
  }
  out({ ev: "join", ok: ack.ok, self: ack.self, shard: ack.shard, error: ack.error && ack.error.code });
  let step = 0;
  setInterval(() => {
    step += 1;
    if (socket.connected) socket.emit("move", { x: 300 + (step % 7), y: 300 + (step % 5) });
  }, 100);
});
process.stdin.resume();
// A leave: the player gives its seat up (a connection that only closed would keep it for
// the resume window), the socket is closed cleanly, and the player says when.
process.stdin.on("end", async () => {
  if (socket.connected) await socket.timeout(2000).emitWithAck("leave", {}).catch(() => {});
  out({ ev: "left" });
  socket.close();
  process.exit(0);
});
