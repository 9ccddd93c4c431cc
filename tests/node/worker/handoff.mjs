// A handoff with the official client: three players in one room, their positions and a
// chat line known; the worker they are on hands its rooms to the next process of its
// shard (on the same URL) and closes their connections with `migrate`. Each connects
// again and resumes: same id, same room, its position, nothing missed, and the room is live.
// Usage: node handoff.mjs <url> <ready-file>
import { writeFileSync } from "node:fs";
import { connect, emitAck, waitFor, out, deadline, check, until } from "./common.mjs";

deadline(60000);
const [url, readyFile] = process.argv.slice(2);
const room = `handoff-${process.pid}`;
const spots = [[100, 100], [110, 100], [100, 110]];

const players = [];
for (let i = 0; i < 3; i++) {
  const socket = await connect(url);
  const p = { socket, lastSeq: 0, migrated: null, gone: null };
  for (const ev of ["presence", "said"]) socket.on(ev, (d) => { p.lastSeq = Math.max(p.lastSeq, d.seq ?? 0); });
  socket.on("migrate", (n) => { p.migrated = { at: Date.now(), notice: n }; });
  socket.once("disconnect", (reason) => { p.gone = { at: Date.now(), reason }; });
  const ack = await emitAck(socket, "join", { room, name: `p${i}` });
  if (!ack.ok) throw new Error(`join: ${JSON.stringify(ack)}`);
  Object.assign(p, { id: ack.self, credential: ack.resume, lastSeq: Math.max(p.lastSeq, ack.seq ?? 0) });
  players.push(p);
}
const [a, b, c] = players;
// Everyone where the test put them, as the first player sees it.
const placed = waitFor(a.socket, "view", () => false, 1).catch(() => {});
await placed;
const seenAll = new Promise((resolve) => {
  const where = new Map();
  a.socket.on("view", (v) => {
    for (const e of v.moved.concat(v.entered)) where.set(e.id, [e.x, e.y]);
    if (players.every((p, i) => { const w = where.get(p.id); return w && Math.abs(w[0] - spots[i][0]) < 0.5 && Math.abs(w[1] - spots[i][1]) < 0.5; })) resolve();
  });
});
for (let i = 0; i < 3; i++) await emitAck(players[i].socket, "move", { x: spots[i][0], y: spots[i][1] });
await seenAll;
const heard = waitFor(c.socket, "said", (m) => m.text === "before");
await emitAck(b.socket, "say", { text: "before" });
await heard;
await until(() => players.every((p) => p.lastSeq > 0), "every player numbered the room's events");
writeFileSync(readyFile, "ready");

// The worker goes; each player is told, loses its connection, and comes back.
await until(() => players.every((p) => p.gone), "every connection to close", 30000);
await check("migrate_before_close", async () => players.every((p) => p.migrated && p.migrated.at <= p.gone.at && p.migrated.notice.shard === 0));
async function comeBack(p) {
  const until = Date.now() + 30000;
  for (;;) {
    try {
      const socket = await connect(url);
      const ack = await emitAck(socket, "resume", { credential: p.credential, lastSeq: p.lastSeq });
      return { socket, ack, gapMs: Date.now() - p.gone.at };
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
const back = await Promise.all(players.map(comeBack));
await check("resumed", async () => back.map((r, i) => ({
  ok: r.ack.ok === true,
  sameId: r.ack.self === players[i].id,
  sameRoom: r.ack.room === room,
  players: r.ack.players,
  // What it missed is the others coming back before it: presence, no chat.
  missed: (r.ack.missed ?? []).map((m) => m.event),
  at: (() => { const me = (r.ack.view ?? []).find((e) => e.id === players[i].id); return me ? [me.x, me.y] : null; })(),
})));
await check("gap_ms", async () => Math.max(...back.map((r) => r.gapMs)));
// The room is live in the new process: a line said now reaches the others.
const live = waitFor(back[2].socket, "said", (m) => m.text === "after", 5000);
await emitAck(back[0].socket, "say", { text: "after" });
await check("live_after_handoff", async () => (await live).from === players[0].id);
await check("credential_single_use", async () => {
  const s = await connect(url);
  const again = await emitAck(s, "resume", { credential: players[1].credential, lastSeq: 0 });
  s.close();
  return again.ok === false ? again.error.code : "accepted";
});
for (const r of back) r.socket.close();
