// Players from outside the cluster: each reserves through the ingress, joins at the URL
// it was handed, moves, chats and sees the others of its room; GET /rooms lists them.
// Usage: node play.mjs <ingress url> <tracks>
import { check, deadline, emitAck, out, waitFor, until } from "../worker/common.mjs";
import { reserve, play } from "./common.mjs";

deadline(90000);
const [base, tracks] = process.argv.slice(2);
const seats = [];
await check("reserved", async () => {
  for (let t = 0; t < Number(tracks); t++) {
    for (const p of ["a", "b"]) seats.push(await reserve(base, { track: `arena-${t}`, player: `${p}${t}` }));
  }
  return { shards: [...new Set(seats.map((s) => s.shard))].sort(), urls: seats.map((s) => s.url) };
});
const players = [];
await check("joined", async () => {
  for (const s of seats) players.push(await play(s, `p-${s.track}`));
  return { firstViewMs: players.map((p) => p.firstViewMs) };
});
await check("pairs_see_each_other", async () => {
  for (let i = 0; i < players.length; i += 2) {
    const [a, b] = [players[i], players[i + 1]];
    await until(() => a.view.entities.has(b.ack.self) && b.view.entities.has(a.ack.self), `pair ${i / 2} in view`, 8000);
  }
  return players.length / 2;
});
await check("moves_arrive", async () => {
  const [a, b] = players;
  await emitAck(a.socket, "move", { x: 14, y: 12 });
  await until(() => b.view.entities.get(a.ack.self)?.x === 14, "the move in the other's view", 8000);
  return b.view.entities.get(a.ack.self);
});
await check("chat_arrives", async () => {
  const [a, b] = players;
  const said = waitFor(b.socket, "said", (m) => m.from === a.ack.self, 8000);
  await emitAck(a.socket, "say", { text: "hello from outside" });
  return (await said).text;
});
await check("rooms_listed", async () => {
  let listed;
  const started = Date.now();
  for (;;) {
    listed = await (await fetch(`${base}/rooms`, { signal: AbortSignal.timeout(5000) })).json();
    const players = listed.shards.reduce((n, s) => n + (s.players || 0), 0);
    if (players >= seats.length || Date.now() - started > 15000) return { players, shards: listed.shards.length };
    await new Promise((r) => setTimeout(r, 250));
  }
});
for (const p of players) p.socket.close();
out({ done: true });
process.exit(0);
