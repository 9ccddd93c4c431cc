// Players who sit in their rooms through a rollout: each reserves through the ingress,
// joins and keeps moving a little; when its worker hands the room over (`migrate`, then
// the connection closes) it connects again to the URL it was handed and resumes. Writes
// <ready file> once every player joined; ends when <stop file> appears (or the deadline
// passes) and prints what happened to the sessions: resumed, or ended (and why).
// Usage: node roll.mjs <ingress url> <players> <rooms> <seconds> <ready file> <stop file>
import { existsSync, writeFileSync } from "node:fs";
import { connectHanded, deadline, emitAck, out } from "../worker/common.mjs";
import { reserve } from "./common.mjs";

const [base, count, roomCount, seconds, ready, stop] = process.argv.slice(2);
deadline(Number(seconds) * 1000);
const players = [];
const ended = [];
let migrated = 0;
let resumed = 0;

async function connectRetrying(url, ms) {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await connectHanded(url);
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function follow(p, socket) {
  p.socket = socket;
  for (const ev of ["presence", "said"]) socket.on(ev, (d) => { p.lastSeq = Math.max(p.lastSeq, d.seq ?? 0); });
  socket.on("view", () => {
    const now = Date.now();
    if (p.watching) p.longestGap = Math.max(p.longestGap, now - p.lastView);
    p.lastView = now;
  });
  socket.on("migrate", () => { migrated += 1; });
  socket.once("disconnect", () => { if (!p.closing) void comeBack(p); });
}

async function comeBack(p) {
  try {
    const socket = await connectRetrying(p.url, 60000);
    const ack = await emitAck(socket, "resume", { credential: p.credential, lastSeq: p.lastSeq });
    if (!ack.ok) {
      ended.push({ player: p.name, code: ack.error?.code });
      socket.close();
      return;
    }
    p.credential = ack.resume;
    resumed += 1;
    follow(p, socket);
  } catch (e) {
    ended.push({ player: p.name, code: String(e.message || e) });
  }
}

for (let i = 0; i < Number(count); i++) {
  const name = `roll-${i}`;
  const seat = await reserve(base, { track: `roll-${i % Number(roomCount)}`, player: name });
  const socket = await connectRetrying(seat.url, 8000);
  const ack = await emitAck(socket, "join", { room: seat.room, token: seat.token, name });
  if (!ack.ok) throw new Error(`join refused: ${JSON.stringify(ack.error)}`);
  const p = { name, url: seat.url, shard: seat.shard, room: seat.room, credential: ack.resume, lastSeq: ack.seq ?? 0, lastView: Date.now(), longestGap: 0, watching: false, closing: false };
  follow(p, socket);
  players.push(p);
}
const shards = new Set(players.map((p) => p.shard));
const rooms = new Set(players.map((p) => p.room));
out({ holding: players.length, shards: shards.size, rooms: rooms.size });
// Everyone moves a little, twice a second, so that each sees views while it plays.
const step = setInterval(() => {
  for (const p of players) {
    if (p.socket?.connected) p.socket.emit("move", { x: 100 + Math.random() * 20, y: 100 + Math.random() * 20 });
  }
}, 500);
const now = Date.now();
for (const p of players) { p.lastView = now; p.watching = true; }
writeFileSync(ready, JSON.stringify({ shards: shards.size, rooms: rooms.size }));
while (!existsSync(stop)) await new Promise((r) => setTimeout(r, 100));
// Every player told to migrate has come back or given up before the count is taken.
const settleBy = Date.now() + 30000;
while (resumed + ended.length < migrated && Date.now() < settleBy) await new Promise((r) => setTimeout(r, 100));
clearInterval(step);
out({ sessions: { players: players.length, migrated, resumed, ended: ended.length, endedBy: ended.slice(0, 5), longestGapMs: Math.max(...players.map((p) => p.longestGap)) } });
for (const p of players) { p.closing = true; p.socket?.close(); }
process.exit(0);
