// Session resume with the official client: a joined player's connection is cut, others
// keep talking, and the player comes back on a new connection.
// Usage: node resume.mjs <url> <websocket|polling> <within|expired>
//   within:  it resumes inside the window: same id, every missed room event once and in
//            order, and the others saw it away and back, never leave.
//   expired: it comes back after the window: refused with resume_expired, and the others
//            saw it leave.
import { io } from "socket.io-client";
import { connect, emitAck, waitFor, out, deadline, check } from "./common.mjs";
import { forwarder } from "./cut.mjs";

deadline(40000);
const [url, transport, mode] = process.argv.slice(2);
const transports = [transport];
const room = `resume-${transport}-${mode}-${process.pid}`;

// The victim goes through a forwarder whose network the test takes down and up again;
// the client reconnects by itself once it is back, as a browser would.
const net = await forwarder(url);
const victim = io(net.url, { transports, forceNew: true, reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 200, timeout: 5000 });
await new Promise((resolve) => victim.once("connect", resolve));
const seen = [];
for (const ev of ["presence", "said"]) victim.on(ev, (data) => seen.push({ event: ev, data }));
const joined = await emitAck(victim, "join", { room, name: "victim" });
const bob = await connect(url, transports);
const atBob = [];
bob.on("presence", (p) => atBob.push(p));
const bobSeen = waitFor(victim, "presence", (p) => p.joined.length === 1 && p.joined[0] !== joined.self, 5000);
const jb = await emitAck(bob, "join", { room, name: "bob" });
await bobSeen;
const before = waitFor(victim, "said", (m) => m.text === "before", 5000);
await emitAck(bob, "say", { text: "before" });
await before;
// Bob stands next to the victim, so that its view after the resume must show him.
const bobNear = waitFor(victim, "view", (v) => v.moved.concat(v.entered).some((e) => e.id === jb.self && Math.abs(e.x - 500) < 1), 5000);
await emitAck(victim, "move", { x: 500, y: 500 });
await emitAck(bob, "move", { x: 500, y: 501 });
await bobNear;
const lastSeq = Math.max(...seen.map((e) => e.data.seq));
await check("join", async () => ({ ok: joined.ok, credential: typeof joined.resume, sessionIdIsNotPlayerId: victim.id !== joined.self && !joined.self.includes(victim.id) }));

// The victim's network goes down. The worker notices (at once on WebSocket, at the first
// unanswered ping on polling) and the others see the victim away, not gone.
const awaySeen = waitFor(bob, "presence", (p) => (p.away ?? []).includes(joined.self), 10000);
const reconnected = new Promise((resolve) => victim.io.once("reconnect", resolve));
net.down();
await check("others_see_away", async () => { const p = await awaySeen; return { players: p.players, left: p.left.includes(joined.self) }; });
// While it is away: chat, and a third player comes and goes.
const carol = await connect(url, transports);
const jc = await emitAck(carol, "join", { room, name: "carol" });
for (const text of ["one", "two", "three"]) await emitAck(bob, "say", { text });
await emitAck(carol, "leave", {});
carol.close();
if (mode === "expired") {
  await check("others_see_leave_after_window", async () => (await waitFor(bob, "presence", (p) => p.left.includes(joined.self), 15000)).players);
}
net.up();
await reconnected;
const ack = await emitAck(victim, "resume", { credential: joined.resume, lastSeq });
if (mode === "expired") {
  await check("resume_refused", async () => ack.ok ? "resumed" : ack.error.code);
} else {
  await check("resumed", async () => ({ ok: ack.ok, sameId: ack.self === joined.self, room: ack.room, newCredential: ack.resume !== joined.resume }));
  const missed = ack.missed ?? [];
  const seqs = missed.map((e) => e.data.seq);
  await check("missed_once_in_order", async () => ({
    consecutive: seqs.every((s, i) => s === lastSeq + 1 + i),
    upToAck: seqs.length > 0 && seqs[seqs.length - 1] === ack.seq,
    said: missed.filter((e) => e.event === "said").map((e) => e.data.text),
    carol: missed.filter((e) => e.event === "presence").some((e) => e.data.joined.includes(jc.self)) &&
      missed.filter((e) => e.event === "presence").some((e) => e.data.left.includes(jc.self)),
  }));
  await check("view_is_fresh", async () => ack.view.some((e) => e.id === jb.self));
  // Live events follow the replayed ones with the next number.
  const live = waitFor(victim, "said", (m) => m.text === "after", 5000);
  await emitAck(bob, "say", { text: "after" });
  // Everything the victim got live, before the cut and after the resume, with what the
  // resume replayed: every number once, none missing.
  await check("live_after_resume", async () => {
    await live;
    const all = seen.map((e) => e.data.seq).concat(seqs);
    const sorted = [...all].sort((x, y) => x - y);
    const afterAck = seen.filter((e) => e.data.seq > ack.seq).map((e) => e.data.seq);
    const ok = sorted.every((s, i) => i === 0 || s === sorted[i - 1] + 1) &&
      afterAck.length >= 2 && afterAck.every((s, i) => s === ack.seq + 1 + i);
    return ok || { all, afterAck, ackSeq: ack.seq };
  });
  await check("others_never_saw_leave", async () => ({
    left: atBob.some((p) => p.left.includes(joined.self)),
    back: atBob.some((p) => (p.back ?? []).includes(joined.self)),
  }));
  // The credential of the resume is spent: presenting it again is refused.
  const again = await connect(url, transports);
  await check("credential_single_use", async () => (await emitAck(again, "resume", { credential: joined.resume, lastSeq })).error.code);
  again.close();
  await check("moves_after_resume", async () => (await emitAck(victim, "move", { x: 10, y: 10 })).ok);
}
victim.close();
bob.close();
net.close();
out({ done: true });
