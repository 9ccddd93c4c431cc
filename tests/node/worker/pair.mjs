// Two clients of one room on two different workers see each other's presence, moves and
// chat. Usage: node pair.mjs <urlA> <urlB> <room>
import { connect, emitAck, waitFor, out, deadline, check } from "./common.mjs";

deadline(30000);
const [urlA, urlB, room] = process.argv.slice(2);
const a = await connect(urlA);
const b = await connect(urlB);
const ja = await emitAck(a, "join", { room, name: "on-a" });
await check("join_a", async () => ja.ok);
const presenceAtA = waitFor(a, "presence", (p) => p.joined.length > 0 && p.joined[0] !== ja.self, 5000);
const jb = await emitAck(b, "join", { room, name: "on-b" });
let bLast = jb.seq;
for (const ev of ["presence", "said"]) b.on(ev, (m) => { bLast = Math.max(bLast, m.seq); });
await check("join_b", async () => ({ ok: jb.ok, players: jb.players }));
await check("a_sees_b_join", async () => (await presenceAtA).players);

// Keep moving until each has seen the other near the meeting point (the room sync
// snapshot may still be on its way when the first moves go out).
const near = (v, id) => v.moved.concat(v.entered).find((e) => e.id === id && Math.abs(e.x - 300) < 5 && Math.abs(e.y - 300) < 5);
const aSeesB = waitFor(a, "view", (v) => near(v, jb.self), 8000);
const bSeesA = waitFor(b, "view", (v) => near(v, ja.self), 8000);
let step = 0;
const mover = setInterval(() => {
  step += 1;
  a.emit("move", { x: 300 + (step % 2), y: 300 });
  b.emit("move", { x: 301, y: 300 + (step % 2) });
}, 50);
await check("a_sees_b_move", async () => { const v = await aSeesB; return near(v, jb.self).id === jb.self; });
await check("b_sees_a_move", async () => { const v = await bSeesA; return near(v, ja.self).id === ja.self; });
clearInterval(mover);

// A far move takes B out of A's view.
const aLosesB = waitFor(a, "view", (v) => v.left.includes(jb.self), 5000);
b.emit("move", { x: 950, y: 950 });
await check("a_loses_far_b", async () => { await aLosesB; return true; });

const said = waitFor(a, "said", (m) => m.from === jb.self, 5000);
await emitAck(b, "say", { text: "across workers" });
await check("a_hears_b", async () => (await said).text);
// A dropped connection is held for its resume window: the other worker's players see it
// away, not gone; a leave is final.
const away = waitFor(a, "presence", (p) => (p.away ?? []).includes(jb.self), 5000);
b.close();
await check("a_sees_b_away", async () => (await away).players);
const b2 = await connect(urlB);
const back = waitFor(a, "presence", (p) => (p.back ?? []).includes(jb.self), 5000);
const resumed = await emitAck(b2, "resume", { credential: jb.resume, lastSeq: bLast });
await check("b_resumes_and_a_sees_it_back", async () => { await back; return resumed.self === jb.self; });
const left = waitFor(a, "presence", (p) => p.left.includes(jb.self), 5000);
await emitAck(b2, "leave", {});
b2.close();
await check("a_sees_b_leave", async () => (await left).players);
a.close();
out({ done: true });
process.exit(0);
