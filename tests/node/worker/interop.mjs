// Interop of the official socket.io-client with roomshard-worker over one transport:
// join, move, view, say, leave, and the error paths. Prints one JSON line per check.
// Usage: node interop.mjs <url> <websocket|polling>
import { connect, emitAck, waitFor, out, deadline, check } from "./common.mjs";

deadline(30000);
const [url, transport] = process.argv.slice(2);
const transports = [transport];
const errorCode = (s) => waitFor(s, "error", () => true, 3000).then((e) => e.code);

const a = await connect(url, transports);
const b = await connect(url, transports);
out({ check: "transport", ok: true, value: a.io.engine.transport.name });
const room = `interop-${transport}-${process.pid}`;

await check("move_before_join", async () => { const p = errorCode(a); a.emit("move", { x: 1, y: 1 }); return p; });
await check("join_bad_payload", async () => (await emitAck(a, "join", { room: 42 })).error.code);
await check("join_bad_room_id", async () => (await emitAck(a, "join", { room: "has space" })).error.code);
// A well-formed token with a wrong signature (on its own socket: a dev run without a
// secret ignores tokens and would seat it).
await check("join_bad_token", async () => {
  const c = await connect(url, transports);
  try {
    const ack = await emitAck(c, "join", { room, token: "eyJ2IjoxfQ.AAAA" });
    // A seated player that only closed its connection would hold its seat for the
    // resume window; it leaves for good.
    if (ack.ok) await emitAck(c, "leave", {});
    return ack.ok ? "accepted" : ack.error.code;
  }
  finally { c.close(); }
});
const ja = await emitAck(a, "join", { room, name: "alice" });
await check("join_a", async () => ({ ok: ja.ok, room: ja.room, players: ja.players, self: ja.self, radius: ja.radius, width: ja.width }));
await check("join_twice", async () => (await emitAck(a, "join", { room })).error.code);
const presenceAtA = waitFor(a, "presence", (p) => p.joined.length === 1 && p.joined[0] !== ja.self, 5000);
const jb = await emitAck(b, "join", { room, name: "bob" });
await check("join_b", async () => ({ ok: jb.ok, players: jb.players }));
await check("presence_seen_by_a", async () => { const p = await presenceAtA; return { players: p.players, joined: p.joined[0] === jb.self }; });

// Both go to the same spot; each must see the other's move in a view batch.
const seen = (s, id, x, y) => waitFor(s, "view", (v) =>
  v.moved.concat(v.entered).some((e) => e.id === id && Math.abs(e.x - x) < 0.01 && Math.abs(e.y - y) < 0.01), 5000);
const aSeesB = seen(a, jb.self, 501, 502);
const bSeesA = seen(b, ja.self, 500, 500);
a.emit("move", { x: 500, y: 500 });
b.emit("move", { x: 501, y: 502 });
await check("a_sees_b_move", async () => { const v = await aSeesB; return typeof v.tick === "number"; });
await check("b_sees_a_move", async () => { await bSeesA; return true; });

await check("move_out_of_bounds", async () => { const p = errorCode(a); a.emit("move", { x: 1e7, y: 1 }); return p; });
await check("move_not_a_number", async () => { const p = errorCode(a); a.emit("move", { x: "1", y: 1 }); return p; });
await check("move_null", async () => { const p = errorCode(a); a.emit("move", { x: NaN, y: 1 }); return p; });
await check("move_array", async () => { const p = errorCode(a); a.emit("move", [1, 2]); return p; });
await check("say_too_long", async () => (await emitAck(a, "say", { text: "x".repeat(5000) })).error.code);
await check("say_empty", async () => (await emitAck(a, "say", { text: "" })).error.code);
await check("unknown_event", async () => { const p = errorCode(a); a.emit("teleport", {}); return p; });
const said = waitFor(b, "said", (m) => m.from === ja.self, 5000);
await check("say_ack", async () => (await emitAck(a, "say", { text: "hello bob" })).ok);
await check("said_received", async () => (await said).text);
const leftSeen = waitFor(b, "presence", (p) => p.left.includes(ja.self), 5000);
const goneFromView = waitFor(b, "view", (v) => v.left.includes(ja.self), 5000);
await check("leave_ack", async () => (await emitAck(a, "leave", {})).ok);
await check("presence_left", async () => (await leftSeen).players);
await check("view_left", async () => { await goneFromView; return true; });
await check("leave_again", async () => (await emitAck(a, "leave", {})).error.code);
await check("still_connected", async () => a.connected && b.connected);
a.close(); b.close();
out({ done: true });
process.exit(0);
