// Custom events, entity state and what the onJoin hook attached, against a fake worker.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connectDirect } from "../src/game.js";
import { FakeWorker, joinAck, until } from "./fake.js";

test("custom events go out with their ack and come in as relayed, state rides with moves", async () => {
  const w = new FakeWorker();
  w.handlers.join = () => joinAck({ metadata: { rank: "gold" } });
  w.handlers.tag = (d) => ({ ok: true, data: { tagged: d.who } });
  w.handlers.state = () => ({ ok: true });
  const game = await connectDirect({ url: "http://w:1", room: "r1", io: w.io, events: ["tagged"], ackTimeoutMs: 500 });
  assert.deepEqual(game.metadata, { rank: "gold" });
  assert.deepEqual(await game.send("tag", { who: "p2" }), { ok: true, data: { tagged: "p2" } });
  const got = [];
  game.on("tagged", (m) => got.push(m));
  w.last.push("tagged", { from: "server", data: { it: "p2" }, seq: 4 });
  w.last.push("undeclared", { from: "p3", data: 1 });
  assert.deepEqual(got, [{ from: "server", data: { it: "p2" }, seq: 4 }]);
  game.move(10, 20, { it: true });
  game.move(11, 21);
  assert.deepEqual(w.emitted("move").map((m) => m.data), [{ x: 10, y: 20, state: { it: true } }, { x: 11, y: 21 }]);
  assert.deepEqual(await game.setState(null), { ok: true });
  assert.deepEqual(w.emitted("state")[0].data, { state: null });
  game.close();
});

test("room custom events go through resume tracking: replayed once, held during a resume", async () => {
  const w = new FakeWorker();
  w.handlers.join = () => joinAck({ seq: 2 });
  const game = await connectDirect({ url: "http://w:1", room: "r1", io: w.io, events: ["tagged", "taunt"], ackTimeoutMs: 500 });
  const got = [];
  for (const ev of ["tagged", "taunt", "said"]) game.on(ev, (m) => got.push(`${ev}:${m.seq ?? "-"}`));
  w.last.push("tagged", { from: "server", data: { it: "p2" }, seq: 3 });
  // Delivered again live (a duplicate): dropped.
  w.last.push("tagged", { from: "server", data: { it: "p2" }, seq: 3 });
  let resumeAnswer;
  w.handlers.resume = () => new Promise((r) => (resumeAnswer = r));
  const sock = w.last;
  sock.drop();
  sock.accept();
  await until(() => w.emitted("resume").length === 1, "the resume");
  assert.deepEqual(w.emitted("resume")[0].data.lastSeq, 3, "the custom event counts as seen");
  // A live room event overtakes the answer and waits for the replay; a nearby one (no seq)
  // is not history and comes at once.
  sock.push("tagged", { from: "server", data: { it: "p1" }, seq: 6 });
  sock.push("taunt", { from: "p2", data: "slow" });
  assert.deepEqual(got, ["tagged:3", "taunt:-"]);
  resumeAnswer(joinAck({
    resume: "cred-2",
    seq: 5,
    missed: [
      { event: "tagged", data: { from: "server", data: { it: "p2" }, seq: 3 } },
      { event: "said", data: { from: "p2", text: "hi", seq: 4 } },
      { event: "tagged", data: { from: "server", data: { it: "p3" }, seq: 5 } },
    ],
  }));
  await until(() => game.phase === "joined", "the resumed session");
  assert.deepEqual(got, ["tagged:3", "taunt:-", "said:4", "tagged:5", "tagged:6"], "3 came live, and once");
  assert.equal(game.lastSeq, 6);
  game.close();
});
