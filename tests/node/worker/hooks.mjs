// Server hooks with the official client, players of one room on two workers whose
// onJoin, onEvent, onRoomCreated and onRoomClosed go to the test's hook server. The server
// answers by the player's name (onJoin) and by the event's `kind` (onEvent).
// Usage: node hooks.mjs <urlA> <urlB> <room>
// The workers declare: act (server), pong (room), hint (player).
import { connect, emitAck, waitFor, out, deadline, check, until } from "./common.mjs";

deadline(60000);
const [urlA, urlB, room] = process.argv.slice(2);

// A player that keeps every pong and hint it gets, and each entity's state as its view has it.
async function player(url, name, x, y) {
  const socket = await connect(url);
  const p = { name, socket, got: [], states: new Map() };
  for (const ev of ["pong", "hint"]) socket.on(ev, (m) => p.got.push({ ev, ...m }));
  socket.on("view", (b) => {
    for (const e of b.entered.concat(b.moved)) if ("state" in e) p.states.set(e.id, e.state);
  });
  p.ack = await emitAck(socket, "join", { room, name });
  if (!p.ack.ok) return p;
  p.id = p.ack.self;
  const moved = await emitAck(socket, "move", { x, y });
  if (!moved.ok) throw new Error(`${name} move: ${JSON.stringify(moved)}`);
  return p;
}
const refusal = (ack) => (ack.ok ? "accepted" : { code: ack.error.code, reason: ack.error.reason ?? null });

await check("join_refused_with_a_code", async () => {
  const p = await player(urlA, "banned", 0, 0);
  p.socket.close();
  return { ...refusal(p.ack), message: p.ack.error && p.ack.error.message };
});

const vip = await player(urlA, "vip-1", 100, 100);
const b1 = await player(urlB, "b1", 110, 100);
await check("join_with_metadata_and_initial_state", async () => {
  await until(() => b1.states.has(vip.id), "b1 sees vip's state");
  return { metadata: vip.ack.metadata ?? null, stateAtB1: b1.states.get(vip.id), b1Metadata: b1.ack.metadata ?? null };
});

await check("event_reply_emits_room_wide_across_workers", async () => {
  const ack = await emitAck(vip.socket, "act", { kind: "room", n: 7 });
  await until(() => b1.got.some((m) => m.ev === "pong" && m.data.n === 7), "b1 got the pong");
  await until(() => vip.got.some((m) => m.ev === "pong" && m.data.n === 7), "vip got the pong");
  const m = b1.got.find((m) => m.ev === "pong" && m.data.n === 7);
  return { ack, from: m.from, seqIsNumber: Number.isInteger(m.seq) };
});

await check("event_reply_emits_to_a_player", async () => {
  const ack = await emitAck(vip.socket, "act", { kind: "player", to: b1.id });
  await until(() => b1.got.some((m) => m.ev === "hint"), "b1 got the hint");
  // A room event after it: once it is there, a stray hint to vip would be too.
  await emitAck(vip.socket, "act", { kind: "room", n: 8 });
  await until(() => vip.got.some((m) => m.ev === "pong" && m.data.n === 8), "vip got the marker");
  return { ack: ack.ok, hint: b1.got.find((m) => m.ev === "hint"), vipHints: vip.got.filter((m) => m.ev === "hint").length };
});

await check("event_rejection_goes_to_the_sender", async () =>
  refusal(await emitAck(vip.socket, "act", { kind: "reject" })));

// A late hook fails the slow caller's event at the deadline; another player's event,
// sent meanwhile, is answered at once.
await check("slow_hook_misses_its_deadline_and_harms_no_one", async () => {
  const started = Date.now();
  const slow = emitAck(vip.socket, "act", { kind: "slow" });
  const other = await emitAck(b1.socket, "act", { kind: "room", n: 9 });
  const otherMs = Date.now() - started;
  const late = await slow;
  return { slow: refusal(late), message: late.error.message, other: other.ok, otherFast: otherMs < 400, slowMs: Date.now() - started >= 300 };
});

for (const kind of ["garbage", "boom", "undeclared", "oversized"]) {
  await check(`event_${kind}`, async () => {
    const ack = await emitAck(vip.socket, "act", { kind });
    return { ...refusal(ack), message: ack.error && ack.error.message };
  });
}
await check("binary_server_event", async () => refusal(await emitAck(vip.socket, "act", Buffer.from([1]))));

for (const name of ["slow", "garbage", "boom"]) {
  await check(`join_${name}`, async () => {
    const p = await player(urlB, name, 0, 0);
    p.socket.close();
    return { ...refusal(p.ack), message: p.ack.error && p.ack.error.message };
  });
}

await check("others_unharmed", async () => {
  const ack = await emitAck(b1.socket, "act", { kind: "room", n: 10 });
  await until(() => vip.got.some((m) => m.ev === "pong" && m.data.n === 10), "vip got the last pong");
  return ack.ok && vip.socket.connected && b1.socket.connected;
});

// The last to leave is on the worker whose shard holds the room's record (the first
// joiner's), which closes the room.
for (const p of [b1, vip]) { await emitAck(p.socket, "leave", {}); p.socket.close(); }
out({ done: true });
process.exit(0);
