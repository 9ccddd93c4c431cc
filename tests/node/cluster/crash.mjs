// Players of the Roomshard game client (clients/js) on one shard while its worker is
// killed: each takes a seat through the ingress (fresh tracks until the seat is on
// <shard>), then prints every disconnect, when the client was told its seat is gone
// (`rejoining`, with the reason) and what its session did after it (`resumed`, `rejoined`
// or `lost`), with the wall clock (ms since the epoch). Writes <ready file> ({rooms}) once every player joined; ends once every player
// that was disconnected has an outcome, or at the deadline, printing {outcomes}.
// Usage: node crash.mjs <ingress url> <shard> <players> <seconds> <ready file>
import { writeFileSync } from "node:fs";
import { io } from "socket.io-client";
import { play } from "../../../clients/js/src/game.js";
import { deadline, out } from "../worker/common.mjs";

const [base, shard, count, seconds, ready] = process.argv.slice(2);
deadline(Number(seconds) * 1000);
const games = [];
const outcomes = [];
let dropped = 0;

for (let i = 0; games.length < Number(count); i++) {
  if (i >= 40 * Number(count)) throw new Error(`no seat on shard ${shard} in ${i} reservations`);
  const player = `crash-${games.length}`;
  const game = await play({ io, matchmaker: base, track: `crash-${Date.now()}-${i}`, player });
  if (game.shard !== Number(shard)) {
    await game.leave();
    continue;
  }
  const rec = { player, room: game.room };
  game.on("disconnected", (d) => {
    if (rec.droppedAt === undefined) { rec.droppedAt = Date.now(); dropped += 1; }
    out({ player, disconnected: d.reason, at: Date.now() });
  });
  // The moment the client learns the seat is gone (before it has a new one).
  game.on("rejoining", (d) => {
    if (rec.told === undefined) rec.told = { reason: d.reason, at: Date.now() };
  });
  for (const event of ["resumed", "rejoined", "lost"]) {
    game.on(event, (d) => {
      if (rec.outcome) return;
      rec.outcome = { event, reason: d.reason ?? d.code, at: Date.now(), room: d.room, shard: d.shard };
      outcomes.push({ ...rec });
      out({ player, [event]: rec.outcome });
    });
  }
  games.push(game);
}
out({ holding: games.length });
writeFileSync(ready, JSON.stringify({ rooms: games.map((g) => g.room) }));
while (dropped === 0 || outcomes.length < dropped) await new Promise((r) => setTimeout(r, 50));
out({ outcomes });
for (const g of games) await g.leave().catch(() => {});
process.exit(0);
