// Custom events (EVENTS) with the official client, four players of one room on two
// workers: a1 and a2 on A, b1 and b2 on B. a1 and b1 stand together; a2 and b2 each stand
// far from everyone. Checks every scope across workers, binary payloads, each refusal,
// and that a resume replays the custom room events it missed.
// Usage: node custom.mjs <urlA> <urlB> <room>
// The workers declare: shout (room), shoot (nearby), whisper (player), tiny (room,
// maxBytes 16, perSecond 2).
import { connect, emitAck, waitFor, out, deadline, check, until } from "./common.mjs";

deadline(60000);
const [urlA, urlB, room] = process.argv.slice(2);
const EVENTS = ["shout", "shoot", "whisper", "tiny"];

// A player: its socket, its id, and every custom event, `view` and room event it got.
async function player(url, name, x, y) {
  const socket = await connect(url);
  const p = { name, socket, got: [], view: new Map(), lastSeq: 0 };
  for (const ev of EVENTS) socket.on(ev, (m) => p.got.push({ ev, ...m }));
  socket.on("view", (b) => {
    for (const id of b.left) p.view.delete(id);
    for (const e of b.entered.concat(b.moved)) p.view.set(e.id, { x: e.x, y: e.y });
  });
  for (const ev of ["presence", "said", "shout", "tiny"]) socket.on(ev, (m) => { p.lastSeq = Math.max(p.lastSeq, m.seq ?? 0); });
  const ack = await emitAck(socket, "join", { room, name });
  if (!ack.ok) throw new Error(`${name} join: ${JSON.stringify(ack)}`);
  p.id = ack.self;
  p.resume = ack.resume;
  p.lastSeq = Math.max(p.lastSeq, ack.seq);
  for (const e of ack.view) p.view.set(e.id, { x: e.x, y: e.y });
  const moved = await emitAck(socket, "move", { x, y });
  if (!moved.ok) throw new Error(`${name} move: ${JSON.stringify(moved)}`);
  return p;
}
const sees = (p, q, x, y) => { const e = p.view.get(q.id); return e && Math.abs(e.x - x) < 1 && Math.abs(e.y - y) < 1; };
const got = (p, ev, pred = () => true) => p.got.filter((m) => m.ev === ev && pred(m));

// The custom events not yet on the client before joining are refused not_joined.
const early = await connect(urlA);
await check("custom_before_join", async () => (await emitAck(early, "shout", { text: "x" })).error.code);
early.close();

const a1 = await player(urlA, "a1", 100, 100);
const b1 = await player(urlB, "b1", 120, 110);
const a2 = await player(urlA, "a2", 850, 850);
const b2 = await player(urlB, "b2", 700, 100);
const all = [a1, a2, b1, b2];
// Every view has settled: a1 and b1 see each other across workers, the far ones see
// neither.
await check("views_settle", async () => {
  await until(() => sees(a1, b1, 120, 110) && sees(b1, a1, 100, 100) && sees(a1, a1, 100, 100),
    "a1 and b1 in each other's view").catch((e) => { throw new Error(`${e.message}: a1 holds ${JSON.stringify([...a1.view])}, b1 holds ${JSON.stringify([...b1.view])}, a1=${a1.id} b1=${b1.id}`); });
  await until(() => sees(a2, a2, 850, 850) && sees(b2, b2, 700, 100), "the far players placed");
  return { a2SeesA1: a2.view.has(a1.id), b2SeesA1: b2.view.has(a1.id) };
});

// A room event everybody must get: once it is there, everything sent before it to that
// receiver is there too (one ordered channel per worker, one per socket).
let markers = 0;
async function marker(from) {
  const text = `marker-${++markers}`;
  const ack = await emitAck(from.socket, "shout", { text });
  if (!ack.ok) throw new Error(`marker refused: ${JSON.stringify(ack)}`);
  await until(() => all.every((p) => got(p, "shout", (m) => m.data.text === text).length === 1), `everyone got ${text}`);
}

await check("room_crosses_workers", async () => {
  const ack = await emitAck(a1.socket, "shout", { text: "hello room", n: [1, 2] });
  await until(() => all.every((p) => got(p, "shout", (m) => m.data.text === "hello room").length === 1), "everyone got the shout");
  const m = got(b2, "shout", (m) => m.data.text === "hello room")[0];
  return { ack: ack.ok, from: m.from === a1.id, data: m.data, seqIsNumber: Number.isInteger(m.seq) };
});

await check("nearby_reaches_exactly_those_who_see_the_sender", async () => {
  await emitAck(a1.socket, "shoot", { dx: 1 });
  await emitAck(b1.socket, "shoot", { dx: 2 });
  await marker(a2);
  const who = (dx) => all.filter((p) => got(p, "shoot", (m) => m.data.dx === dx).length === 1).map((p) => p.name).sort();
  const fromA1 = got(b1, "shoot", (m) => m.data.dx === 1)[0];
  return { fromA1: who(1), fromB1: who(2), from: fromA1 && fromA1.from === a1.id, seq: fromA1 && "seq" in fromA1 };
});

await check("player_crosses_workers", async () => {
  const ack1 = await emitAck(a1.socket, "whisper", { to: b1.id, data: { secret: 1 } });
  const ack2 = await emitAck(b2.socket, "whisper", { to: a2.id, data: "psst" });
  await marker(a1);
  const who = (pred) => all.filter((p) => got(p, "whisper", pred).length === 1).map((p) => p.name);
  const m = got(b1, "whisper")[0];
  return {
    acks: [ack1.ok, ack2.ok],
    toB1: who((m) => m.data && m.data.secret === 1), toA2: who((m) => m.data === "psst"),
    from: m && m.from === a1.id,
  };
});

await check("binary_payloads_are_relayed", async () => {
  await emitAck(a1.socket, "shout", { blob: Buffer.from([1, 2, 3]), text: "bin" });
  await emitAck(a1.socket, "whisper", { to: b1.id, data: Buffer.from([9, 8]) });
  await emitAck(b1.socket, "shoot", Buffer.from([7]));
  await marker(a2);
  const shout = got(b2, "shout", (m) => m.data.text === "bin")[0];
  const whisper = got(b1, "whisper", (m) => Buffer.isBuffer(m.data))[0];
  const shoot = got(a1, "shoot", (m) => Buffer.isBuffer(m.data))[0];
  return {
    shout: shout && [...shout.data.blob],
    whisper: whisper && [...whisper.data],
    shoot: shoot && [...shoot.data],
  };
});

const code = async (p, ev, data) => { const ack = await emitAck(p.socket, ev, data); return ack.ok ? "accepted" : ack.error.code; };
await check("undeclared_event", async () => code(a1, "fly", { x: 1 }));
await check("too_large", async () => code(a1, "tiny", { text: "x".repeat(40) }));
await check("too_large_binary", async () => code(a1, "tiny", Buffer.alloc(64)));
await check("too_frequent", async () => {
  const codes = [];
  for (let i = 0; i < 5; i++) codes.push(await code(b1, "tiny", i));
  return codes;
});
await check("not_in_room", async () => code(a1, "whisper", { to: "p000000000000000000000000", data: 1 }));
const elsewhere = await connect(urlA);
const je = await emitAck(elsewhere, "join", { room: `${room}-elsewhere`, name: "e" });
await check("not_in_room_other_room", async () => code(a1, "whisper", { to: je.self, data: 1 }));
await check("player_event_without_to", async () => code(a1, "whisper", "hi"));
await check("two_payloads", async () => {
  const ack = await a1.socket.timeout(5000).emitWithAck("shout", 1, 2);
  return ack.ok ? "accepted" : ack.error.code;
});
// Without an ack, a refusal comes as an `error` event.
await check("refusal_without_ack", async () => {
  const err = waitFor(a1.socket, "error", () => true, 3000);
  a1.socket.emit("whisper", { to: "nobody", data: 1 });
  return (await err).code;
});
await emitAck(elsewhere, "leave", {});
elsewhere.close();
await check("others_unharmed", async () => {
  await marker(b2);
  return all.every((p) => p.socket.connected);
});

// b1 drops; a1 shouts twice (once with an attachment); b1 resumes and gets both.
await check("resume_replays_custom_room_events", async () => {
  const before = b1.lastSeq;
  const away = waitFor(a1.socket, "presence", (p) => (p.away ?? []).includes(b1.id), 5000);
  b1.socket.close();
  await away;
  await emitAck(a1.socket, "shout", { text: "while away 1" });
  await emitAck(a1.socket, "shout", { text: "while away 2", blob: Buffer.from([5, 5]) });
  const again = await connect(urlB);
  const ack = await emitAck(again, "resume", { credential: b1.resume, lastSeq: before });
  const shouts = (ack.missed ?? []).filter((e) => e.event === "shout");
  const out = {
    ok: ack.ok,
    texts: shouts.map((e) => e.data.data.text),
    from: shouts.every((e) => e.data.from === a1.id),
    seqs: shouts.every((e) => Number.isInteger(e.data.seq)),
    blob: shouts[1] && shouts[1].data.data.blob && [...shouts[1].data.data.blob],
  };
  await emitAck(again, "leave", {});
  again.close();
  return out;
});
for (const p of [a1, a2, b2]) { await emitAck(p.socket, "leave", {}); p.socket.close(); }
out({ done: true });
process.exit(0);
