// Entity state in `view` with the official client, four players of one room on two
// workers: a1 and a2 on A, b1 and b2 on B. a1 and b1 stand together; a2 and b2 far from
// everyone. a1 sets, repeats, changes and clears its state; only those who see a1 get it,
// each change once, and a newcomer to a1's area gets it on enter.
// Usage: node state.mjs <urlA> <urlB> <room> <maxStateBytes>
import { connect, emitAck, out, deadline, check, until } from "./common.mjs";

deadline(60000);
const [urlA, urlB, room, maxArg] = process.argv.slice(2);
const maxState = Number(maxArg);

// A player and everything its views told it: the entities it holds, and every batch entry.
async function player(url, name, x, y) {
  const socket = await connect(url);
  const p = { name, socket, view: new Map(), entries: [] };
  socket.on("view", (b) => {
    for (const id of b.left) p.view.delete(id);
    for (const e of b.entered) { p.view.set(e.id, { ...e }); p.entries.push({ kind: "entered", ...e }); }
    for (const m of b.moved) {
      const held = p.view.get(m.id) || {};
      p.view.set(m.id, { ...held, ...m });
      if ("state" in m && m.state === null) delete p.view.get(m.id).state;
      p.entries.push({ kind: "moved", ...m });
    }
  });
  const ack = await emitAck(socket, "join", { room, name });
  if (!ack.ok) throw new Error(`${name} join: ${JSON.stringify(ack)}`);
  p.id = ack.self;
  p.resume = ack.resume;
  p.seq = ack.seq;
  for (const e of ack.view) p.view.set(e.id, { ...e });
  const moved = await emitAck(socket, "move", { x, y });
  if (!moved.ok) throw new Error(`${name} move: ${JSON.stringify(moved)}`);
  return p;
}
const at = (p, q, x, y) => { const e = p.view.get(q.id); return e && Math.abs(e.x - x) < 1 && Math.abs(e.y - y) < 1; };
// Every state of `q` that `p` was sent, in order ("none" for a batch entry without one).
const statesOf = (p, q) => p.entries.filter((e) => e.id === q.id && "state" in e).map((e) => e.state);
// Waits until `p`'s own position comes back: every batch sent to it before is in.
const settle = async (p, x, y) => { await emitAck(p.socket, "move", { x, y }); await until(() => at(p, p, x, y), `${p.name} back at ${x},${y}`); };

const early = await connect(urlA);
await check("state_before_join", async () => (await emitAck(early, "state", { state: 1 })).error.code);
early.close();

const a1 = await player(urlA, "a1", 100, 100);
const b1 = await player(urlB, "b1", 120, 110);
const a2 = await player(urlA, "a2", 850, 850);
const b2 = await player(urlB, "b2", 700, 100);
await check("views_settle", async () => {
  await until(() => at(b1, a1, 100, 100) && at(a1, b1, 120, 110), "a1 and b1 see each other");
  await until(() => at(a2, a2, 850, 850) && at(b2, b2, 700, 100), "the far players placed");
  return true;
});
// From here on, only what the views say after everybody stands where the test put them
// counts (a random spawn point may have been near a1 for a tick).
for (const p of [a1, b1, a2, b2]) p.entries = [];

await check("state_event_crosses_workers", async () => {
  const ack = await emitAck(a1.socket, "state", { state: { hp: 10, team: "red" } });
  await until(() => b1.view.get(a1.id)?.state?.hp === 10, "b1 sees a1's state");
  await until(() => a1.view.get(a1.id)?.state?.hp === 10, "a1 sees its own state");
  return { ack: ack.ok, atB1: b1.view.get(a1.id).state };
});
await check("unchanged_state_is_not_sent_again", async () => {
  await emitAck(a1.socket, "move", { x: 101, y: 100, state: { hp: 10, team: "red" } });
  await until(() => at(b1, a1, 101, 100), "b1 sees a1 move");
  const last = b1.entries.filter((e) => e.id === a1.id).at(-1);
  return { hasState: "state" in last };
});
await check("state_rides_with_a_move", async () => {
  await emitAck(a1.socket, "move", { x: 102, y: 100, state: { hp: 9, team: "red" } });
  await until(() => at(b1, a1, 102, 100) && b1.view.get(a1.id)?.state?.hp === 9, "b1 sees a1 move hurt");
  const last = b1.entries.filter((e) => e.id === a1.id).at(-1);
  return last.state;
});
await check("a_move_without_state_keeps_it", async () => {
  await emitAck(a1.socket, "move", { x: 103, y: 100 });
  await until(() => at(b1, a1, 103, 100), "b1 sees a1 move");
  return b1.view.get(a1.id).state;
});

const code = async (p, ev, data) => { const ack = await emitAck(p.socket, ev, data); return ack.ok ? "accepted" : ack.error.code; };
await check("oversized_state", async () => code(a1, "state", { state: "x".repeat(maxState) }));
await check("oversized_state_on_a_move", async () => code(a1, "move", { x: 300, y: 300, state: { s: "x".repeat(maxState) } }));
await check("state_without_state", async () => code(a1, "state", {}));
await check("bad_inputs_changed_nothing", async () => {
  await settle(b1, 121, 110);
  return { a1AtB1: b1.view.get(a1.id) && [b1.view.get(a1.id).x, b1.view.get(a1.id).state] };
});

await check("cleared", async () => {
  await emitAck(a1.socket, "state", { state: null });
  await until(() => b1.view.get(a1.id) && !("state" in b1.view.get(a1.id)), "b1 sees a1's state cleared");
  return statesOf(b1, a1).at(-1);
});
await emitAck(a1.socket, "state", { state: { hp: 8 } });
await until(() => b1.view.get(a1.id)?.state?.hp === 8, "b1 sees a1's new state");

// Everything sent to the far players before their own next batch is in by then.
await settle(a2, 851, 850);
await settle(b2, 701, 100);
await check("only_receivers_in_range", async () => ({
  b1: statesOf(b1, a1),
  a2: a2.entries.filter((e) => e.id === a1.id).length,
  b2: b2.entries.filter((e) => e.id === a1.id).length,
}));

await check("on_enter", async () => {
  await emitAck(b2.socket, "move", { x: 110, y: 120 });
  await until(() => b2.view.has(a1.id), "b2 sees a1");
  const entered = b2.entries.find((e) => e.id === a1.id);
  return { kind: entered.kind, state: entered.state };
});

// A resume's fresh view shows the states as they are (a resume may come before the
// worker noticed the drop: it takes the player over either way).
await check("resume_view_has_states", async () => {
  b1.socket.close();
  const again = await connect(urlB);
  const ack = await emitAck(again, "resume", { credential: b1.resume, lastSeq: b1.seq });
  const seen = ack.ok ? ack.view.find((e) => e.id === a1.id) : null;
  if (ack.ok) await emitAck(again, "leave", {});
  again.close();
  return { ok: ack.ok, state: seen && seen.state };
});
for (const p of [a1, a2, b2]) { await emitAck(p.socket, "leave", {}); p.socket.close(); }
out({ done: true });
process.exit(0);
