// Custom events, entity state and what the onJoin hook attached, against a fake worker.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connectDirect } from "../src/game.js";
import { FakeWorker, joinAck } from "./fake.js";

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
