// The benchmark peer: Node's socket.io 4 with @socket.io/redis-adapter, serving the same
// room workload as a Roomshard worker (join with ack, move, say, leave; `view` batches
// at a fixed tick) the way an idiomatic Node server would: every move of a room is
// broadcast room-wide once per tick, with no interest management. RELAY_EVENTS (comma
// separated names) are custom events relayed room-wide as they come, `{from, data}` to
// everyone else in the sender's room, as a game on plain socket.io relays its own events.
//
//   PORT=4000 REDIS_URL=redis://127.0.0.1:6379 TICK_HZ=20 node peer-server.mjs
import { createServer } from "node:http";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";

const port = Number(process.env.PORT || 4000);
const tickHz = Number(process.env.TICK_HZ || 20);
const width = 1000;
const height = 1000;
const relayed = (process.env.RELAY_EVENTS || "").split(",").filter(Boolean);

const httpServer = createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok");
    return;
  }
  res.writeHead(404);
  res.end();
});
const io = new Server(httpServer, { maxHttpBufferSize: 64 * 1024 });

if (process.env.REDIS_URL) {
  const pub = createClient({ url: process.env.REDIS_URL });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub));
}

// room -> Map(id -> {x, y, name}); room -> Map(id -> {x, y}) moved since the last tick
const rooms = new Map();
const moved = new Map();
let tick = 0;

io.on("connection", (socket) => {
  let room = null;
  socket.on("join", (msg, ack) => {
    if (typeof ack !== "function" || !msg || typeof msg.room !== "string") return;
    room = msg.room;
    const name = typeof msg.name === "string" ? msg.name.slice(0, 32) : socket.id;
    if (!rooms.has(room)) rooms.set(room, new Map());
    const players = rooms.get(room);
    const me = { x: Math.random() * width, y: Math.random() * height, name };
    players.set(socket.id, me);
    socket.join(room);
    socket.to(room).emit("presence", { room, players: players.size, joined: [socket.id], left: [] });
    ack({
      ok: true, room, shard: 0, self: socket.id, players: players.size,
      view: [...players].map(([id, p]) => ({ id, x: p.x, y: p.y, name: p.name })),
      width, height, radius: width,
    });
  });
  socket.on("move", (msg) => {
    if (!room || !msg || !Number.isFinite(msg.x) || !Number.isFinite(msg.y)) return;
    const me = rooms.get(room)?.get(socket.id);
    if (!me) return;
    me.x = msg.x;
    me.y = msg.y;
    if (!moved.has(room)) moved.set(room, new Map());
    moved.get(room).set(socket.id, { x: msg.x, y: msg.y });
  });
  socket.on("say", (msg) => {
    if (room && msg && typeof msg.text === "string") {
      io.to(room).emit("said", { from: socket.id, text: msg.text.slice(0, 500) });
    }
  });
  const leave = () => {
    if (!room) return;
    const players = rooms.get(room);
    players?.delete(socket.id);
    socket.to(room).emit("presence", { room, players: players?.size ?? 0, joined: [], left: [socket.id] });
    socket.leave(room);
    room = null;
  };
  for (const event of relayed) {
    socket.on(event, (data) => {
      if (room) socket.to(room).emit(event, { from: socket.id, data });
    });
  }
  socket.on("leave", leave);
  socket.on("disconnect", leave);
});

setInterval(() => {
  tick += 1;
  for (const [room, batch] of moved) {
    if (batch.size === 0) continue;
    const list = [...batch].map(([id, p]) => ({ id, x: p.x, y: p.y }));
    io.to(room).emit("view", { tick, moved: list, entered: [], left: [] });
    batch.clear();
  }
}, 1000 / tickHz);

httpServer.listen(port, "127.0.0.1", () => {
  console.log(JSON.stringify({ listening: port }));
});
process.on("SIGTERM", () => io.close(() => process.exit(0)));
