// Players that take seats on one shard and stay: prints when each joined, the drain
// notice it got and when it was disconnected (ms since the script started), until every
// player is gone or the deadline passes; writes <ready file> ({rooms}) once every player
// joined.
// Usage: node hold.mjs <ingress url> <shard> <players> <seconds> <ready file>
import { writeFileSync } from "node:fs";
import { deadline, out } from "../worker/common.mjs";
import { reserveOn, play } from "./common.mjs";

const [base, shard, count, seconds, ready] = process.argv.slice(2);
deadline(Number(seconds) * 1000);
const t0 = Date.now();
let left = Number(count);
const rooms = [];
for (let i = 0; i < Number(count); i++) {
  const seat = await reserveOn(base, Number(shard), `hold-${i}`);
  const p = await play(seat, `hold-${i}`);
  p.socket.on("draining", (d) => out({ player: i, draining: d, at: Date.now() - t0 }));
  p.socket.on("disconnect", (reason) => {
    out({ player: i, disconnected: reason, at: Date.now() - t0 });
    if (--left === 0) process.exit(0);
  });
  out({ player: i, joined: seat.shard, room: seat.room, at: Date.now() - t0 });
  rooms.push(seat.room);
}
out({ holding: Number(count) });
writeFileSync(ready, JSON.stringify({ rooms }));
