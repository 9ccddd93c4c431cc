// The session against a fake socket and worker: resume after a drop, exactly-once
// delivery across it, and what a refusal leads to.
import { test } from "node:test";
import assert from "node:assert/strict";
import { play, connectDirect } from "../src/game.js";
import { FakeWorker, until, joinAck } from "./fake.js";

/** A direct game on a fake worker whose join answers `ack`. */
async function joined(worker, ack = joinAck(), opts = {}) {
  worker.handlers.join ??= () => ack;
  const game = await connectDirect({ url: "http://w:1", room: "r1", name: "one", io: worker.io, ackTimeoutMs: 500, ...opts });
  return game;
}

/** Records the game's events, in order. */
function record(game, names = ["said", "presence", "resumed", "rejoined", "lost", "disconnected", "view"]) {
  const seen = [];
  for (const n of names) game.on(n, (d) => seen.push({ event: n, data: d }));
  return seen;
}

test("join: the seat, the world and the room's seq from the answer", async () => {
  const w = new FakeWorker();
  const game = await joined(w, joinAck({ seq: 12, players: 3 }));
  assert.equal(game.phase, "joined");
  assert.equal(game.self, "p1");
  assert.equal(game.players, 3);
  assert.equal(game.lastSeq, 12);
  assert.deepEqual(game.world, { width: 1000, height: 1000, radius: 100, cells: 2 });
  assert.deepEqual(w.emitted("join")[0].data, { room: "r1", name: "one" });
  assert.equal(w.last.opts.path, "/socket.io/");
  assert.equal(w.last.opts.forceNew, true);
  assert.deepEqual(game.session(), { url: "http://w:1", room: "r1", self: "p1", credential: "cred-1", lastSeq: 12 });
  game.close();
});

test("live room events at or below lastSeq are dropped", async () => {
  const w = new FakeWorker();
  const game = await joined(w, joinAck({ seq: 5 }));
  const seen = record(game, ["said", "presence"]);
  w.last.push("said", { from: "p2", text: "old", seq: 5 });
  w.last.push("said", { from: "p2", text: "new", seq: 6 });
  w.last.push("presence", { room: "r1", players: 2, joined: ["p2"], left: [], seq: 6 });
  w.last.push("presence", { room: "r1", players: 2, joined: [], left: [], seq: 7 });
  assert.deepEqual(seen.map((s) => s.data.seq), [6, 7]);
  assert.equal(game.players, 2);
  game.close();
});

test("after a drop the client resumes first, and missed events arrive once and in order", async () => {
  const w = new FakeWorker();
  const game = await joined(w, joinAck({ seq: 2 }));
  const seen = record(game);
  w.last.push("said", { from: "p2", text: "a", seq: 3 });
  let resumeAnswer;
  w.handlers.resume = () => new Promise((r) => (resumeAnswer = r));
  const sock = w.last;
  sock.drop();
  assert.equal(game.phase, "resuming");
  game.move(10, 20); // waits for the resume
  sock.accept(); // socket.io-client reconnected
  await until(() => w.emitted("resume").length === 1, "the resume");
  assert.deepEqual(w.emitted("resume")[0].data, { credential: "cred-1", lastSeq: 3 });
  assert.equal(w.log.at(-1).event, "resume", "nothing is sent before the resume");
  // A live event overtakes the answer; the replay holds it too.
  sock.push("said", { from: "p2", text: "e", seq: 6 });
  resumeAnswer(joinAck({
    resume: "cred-2",
    seq: 5,
    missed: [
      { event: "said", data: { from: "p2", text: "a", seq: 3 } },
      { event: "presence", data: { room: "r1", players: 1, joined: [], left: [], away: [], back: [], seq: 4 } },
      { event: "said", data: { from: "p2", text: "c", seq: 5 } },
    ],
  }));
  await until(() => game.phase === "joined", "the resumed session");
  const order = seen.filter((s) => s.event !== "disconnected").map((s) => `${s.event}:${s.data.seq ?? ""}`);
  assert.deepEqual(order, ["said:3", "resumed:", "presence:4", "said:5", "said:6"], "3 came live, and once");
  assert.equal(seen.find((s) => s.event === "resumed").data.missed, 3);
  assert.equal(game.lastSeq, 6);
  assert.equal(game.session().credential, "cred-2", "the new credential replaces the old one");
  assert.deepEqual(w.emitted("move").at(-1).data, { x: 10, y: 20 }, "the move made while away is sent after");
  // The next drop resumes with the new credential.
  sock.drop("ping timeout");
  w.handlers.resume = () => joinAck({ resume: "cred-3", seq: 6, missed: [] });
  sock.accept();
  await until(() => w.emitted("resume").length === 2, "the second resume");
  assert.deepEqual(w.emitted("resume")[1].data, { credential: "cred-2", lastSeq: 6 });
  game.close();
});

test("the server closing the connection is resumed too", async () => {
  const w = new FakeWorker();
  const game = await joined(w);
  w.handlers.resume = () => joinAck({ resume: "cred-2", seq: 0, missed: [] });
  w.last.drop("io server disconnect"); // socket.io-client does not reconnect by itself here
  await until(() => game.phase === "joined" && w.emitted("resume").length === 1, "the resume");
  game.close();
});

test("a refused resume takes a new seat and says so", async () => {
  const w = new FakeWorker();
  const game = await joined(w, joinAck({ seq: 9 }));
  const seen = record(game, ["rejoined", "lost", "said"]);
  w.handlers.resume = () => ({ ok: false, error: { code: "resume_expired", message: "too late" } });
  w.handlers.join = () => joinAck({ self: "p9", resume: "cred-9", seq: 1 });
  w.last.drop();
  w.last.accept();
  await until(() => seen.some((s) => s.event === "rejoined"), "rejoined");
  const r = seen.find((s) => s.event === "rejoined").data;
  assert.equal(r.reason, "resume_expired");
  assert.equal(r.self, "p9");
  assert.deepEqual(r.previous, { self: "p1", room: "r1", shard: 0 });
  assert.equal(game.self, "p9");
  assert.equal(game.lastSeq, 1, "the new seat's history starts at its join");
  assert.deepEqual(w.emitted("join").at(-1).data, { room: "r1", name: "one" });
  w.last.push("said", { from: "x", text: "hi", seq: 2 });
  assert.equal(seen.filter((s) => s.event === "said").length, 1);
  assert.ok(!seen.some((s) => s.event === "lost"));
  game.close();
});

test("with rejoin off a refusal ends the session as lost", async () => {
  const w = new FakeWorker();
  const game = await joined(w, joinAck(), { rejoin: false });
  const seen = record(game, ["rejoined", "lost"]);
  w.handlers.resume = () => ({ ok: false, error: { code: "replay_gap", message: "gone" } });
  w.last.drop();
  w.last.accept();
  await until(() => seen.length > 0, "lost");
  assert.deepEqual(seen.map((s) => s.event), ["lost"]);
  assert.equal(seen[0].data.code, "replay_gap");
  assert.equal(game.phase, "lost");
  await assert.rejects(game.say("hello"), /lost/);
  assert.equal(w.emitted("join").length, 1);
});

test("close() is not a drop: no resume follows", async () => {
  const w = new FakeWorker();
  const game = await joined(w);
  const seen = record(game);
  game.close();
  assert.equal(game.phase, "closed");
  assert.equal(w.last.closedByClient, true);
  assert.equal(w.emitted("resume").length, 0);
  assert.deepEqual(seen, []);
});

test("leave() gives up the seat, then closes", async () => {
  const w = new FakeWorker();
  w.handlers.leave = () => ({ ok: true });
  const game = await joined(w);
  assert.deepEqual(await game.leave(), { ok: true });
  assert.equal(w.emitted("leave").length, 1);
  assert.equal(game.phase, "closed");
});

test("say waits for a resume in flight and resolves with the ack", async () => {
  const w = new FakeWorker();
  w.handlers.say = (d) => (d.text.length > 3 ? { ok: false, error: { code: "too_large", message: "" } } : { ok: true });
  const game = await joined(w);
  assert.deepEqual(await game.say("hi"), { ok: true });
  assert.equal((await game.say("long one")).error.code, "too_large");
  w.handlers.resume = () => joinAck({ resume: "cred-2", missed: [] });
  w.last.drop();
  const pending = game.say("yo");
  w.last.accept();
  assert.deepEqual(await pending, { ok: true });
  const events = w.log.map((l) => l.event);
  assert.ok(events.indexOf("resume") < events.lastIndexOf("say"), events.join(","));
  game.close();
});

test("play reserves a seat, joins with its token, and reserves again in the old room after a refusal", async () => {
  const w = new FakeWorker();
  const bodies = [];
  const fetch = async (url, init) => {
    bodies.push({ url: String(url), body: JSON.parse(init.body) });
    const n = bodies.length;
    return new Response(JSON.stringify({ room: "r1", track: "t", shard: 0, worker: "w", url: "http://w:1/shard/0", token: `tok${n}`, expiresAt: 0 }), { status: 200 });
  };
  w.handlers.join = (d) => joinAck({ self: d.token === "tok1" ? "p1" : "p2" });
  const game = await play({ matchmaker: "http://mm:8/", track: "t", name: "n", fetch, io: w.io, ackTimeoutMs: 500 });
  assert.equal(bodies[0].url, "http://mm:8/reserve");
  assert.deepEqual(bodies[0].body, { track: "t" });
  assert.deepEqual(w.emitted("join")[0].data, { room: "r1", token: "tok1", name: "n" });
  assert.equal(w.last.opts.path, "/shard/0/socket.io/");
  const rejoined = new Promise((r) => game.on("rejoined", r));
  w.handlers.resume = () => ({ ok: false, error: { code: "shard_changed", message: "" } });
  w.last.drop();
  w.last.accept();
  const r = await rejoined;
  assert.equal(r.self, "p2");
  assert.deepEqual(bodies[1].body, { track: "t", room: "r1" });
  game.close();
});

test("a bearer JWT goes to the matchmaker and, as identity, with the join", async () => {
  const w = new FakeWorker();
  const seen = [];
  const fetch = async (_url, init) => {
    seen.push(init.headers);
    return new Response(JSON.stringify({ room: "r1", track: "t", shard: 0, worker: "w", url: "http://w:1", token: "tok", expiresAt: 0 }), { status: 200 });
  };
  w.handlers.join = () => joinAck({ self: "p1" });
  let calls = 0;
  const bearer = async () => `jwt-${++calls}`;
  const game = await play({ matchmaker: "http://mm:8", fetch, io: w.io, bearer, ackTimeoutMs: 500 });
  assert.equal(seen[0].authorization, "Bearer jwt-1");
  assert.equal(seen[0]["x-api-key"], undefined);
  assert.deepEqual(w.emitted("join")[0].data, { room: "r1", token: "tok", identity: "jwt-1" });
  game.close();
});

test("a failed reservation fails play with the matchmaker's code", async () => {
  const w = new FakeWorker();
  const fetch = async () => new Response(JSON.stringify({ error: { code: "no_capacity", message: "full" } }), { status: 503 });
  await assert.rejects(play({ matchmaker: "http://mm:8", fetch, io: w.io }), (e) => e.code === "no_capacity");
});

test("resumeFrom resumes an earlier session instead of joining", async () => {
  const w = new FakeWorker();
  w.handlers.resume = () => joinAck({ self: "p7", resume: "cred-8", seq: 4, missed: [{ event: "said", data: { from: "p2", text: "x", seq: 4 } }] });
  w.handlers.join = () => joinAck();
  const game = await connectDirect({
    url: "http://w:1", room: "r1", io: w.io,
    resumeFrom: { url: "http://w:1", room: "r1", self: "p7", credential: "cred-7", lastSeq: 3 },
  });
  assert.equal(game.self, "p7");
  assert.equal(game.lastSeq, 4);
  assert.deepEqual(w.emitted("resume")[0].data, { credential: "cred-7", lastSeq: 3 });
  assert.equal(w.emitted("join").length, 0);
  game.close();
});

test("a refused resumeFrom falls back to a fresh join", async () => {
  const w = new FakeWorker();
  w.handlers.resume = () => ({ ok: false, error: { code: "resume_invalid", message: "" } });
  const game = await joined(w, joinAck({ self: "p1" }), {
    resumeFrom: { url: "http://w:1", room: "r1", self: "p7", credential: "bad", lastSeq: 3 },
  });
  assert.equal(game.self, "p1");
  assert.equal(game.lastSeq, 0);
  assert.equal(w.emitted("join").length, 1);
  game.close();
});

test("a worker that stays unreachable past the window means a new seat", async () => {
  const w = new FakeWorker();
  const game = await joined(w, joinAck(), { resumeWindowMs: 0 });
  const seen = record(game, ["rejoined", "lost"]);
  w.handlers.join = () => joinAck({ self: "p5" });
  w.reachable = false;
  w.last.drop();
  w.last.refuse(); // socket.io-client's reconnection attempt fails
  w.reachable = true;
  await until(() => seen.length > 0, "rejoined");
  assert.equal(seen[0].event, "rejoined");
  assert.equal(seen[0].data.reason, "unreachable");
  game.close();
});

test("after draining, a drop takes a new seat without trying to resume", async () => {
  const w = new FakeWorker();
  const game = await joined(w);
  const seen = record(game, ["rejoined"]);
  game.on("draining", (d) => seen.push({ event: "draining", data: d }));
  w.handlers.join = () => joinAck({ self: "p3" });
  w.last.push("draining", { reason: "shutdown", closesInMs: 500 });
  w.last.drop("io server disconnect");
  await until(() => seen.some((s) => s.event === "rejoined"), "rejoined");
  assert.deepEqual(seen.map((s) => s.event), ["draining", "rejoined"]);
  assert.equal(seen[1].data.reason, "draining");
  assert.equal(w.emitted("resume").length, 0);
  assert.equal(w.sockets.length, 2, "a new connection");
  game.close();
});

test("a migrate notice after draining resumes on the shard's next process", async () => {
  const w = new FakeWorker();
  const game = await joined(w);
  const seen = record(game, ["rejoined", "migrate"]);
  w.handlers.resume = () => joinAck({ resume: "cred-3", seq: 0, missed: [] });
  w.last.push("draining", { reason: "operator", closesInMs: 0 });
  w.last.push("migrate", { shard: 0, reason: "rollout" });
  w.last.drop("io server disconnect");
  await until(() => game.phase === "joined" && w.emitted("resume").length === 1, "the resume");
  assert.deepEqual(seen.map((s) => s.event), ["migrate"]);
  assert.equal(w.emitted("join").length, 1, "no new seat");
  game.close();
});

test("view batches are passed on while joined", async () => {
  const w = new FakeWorker();
  const game = await joined(w);
  const seen = record(game, ["view"]);
  const batch = { tick: 1, moved: [], entered: [{ id: "p2", x: 1, y: 1, name: "b" }], left: [] };
  w.last.push("view", batch);
  assert.deepEqual(seen[0].data, batch);
  game.close();
});

test("a worker without resume (no credential in the answer) means a new seat after a drop", async () => {
  const w = new FakeWorker();
  const ack = joinAck();
  delete ack.resume;
  const game = await joined(w, ack);
  const seen = record(game, ["rejoined"]);
  w.handlers.join = () => joinAck({ self: "p4" });
  w.last.drop();
  w.last.accept();
  await until(() => seen.length > 0, "rejoined");
  assert.equal(seen[0].data.reason, "resume_unsupported");
  assert.equal(w.emitted("resume").length, 0);
  game.close();
});

test("leave() during a resume waits for the seat, then gives it up", async () => {
  const w = new FakeWorker();
  w.handlers.leave = () => ({ ok: true });
  w.handlers.resume = () => joinAck({ resume: "cred-2", missed: [] });
  const game = await joined(w);
  w.last.drop();
  const left = game.leave();
  w.last.accept();
  assert.deepEqual(await left, { ok: true });
  assert.deepEqual(w.log.map((l) => l.event), ["join", "resume", "leave"]);
  assert.equal(game.phase, "closed");
});

test("view batches that arrive while the seat is away are not passed on", async () => {
  const w = new FakeWorker();
  const game = await joined(w);
  const seen = record(game, ["view"]);
  let answer;
  w.handlers.resume = () => new Promise((r) => (answer = r));
  w.last.drop();
  w.last.accept();
  await until(() => answer, "the resume");
  w.last.push("view", { tick: 9, moved: [], entered: [], left: ["gone"] });
  answer(joinAck({ resume: "cred-2", missed: [] }));
  await until(() => game.phase === "joined", "the resume");
  w.last.push("view", { tick: 10, moved: [], entered: [], left: [] });
  assert.deepEqual(seen.map((s) => s.data.tick), [10]);
  game.close();
});
