// A dropped player whose worker does not come back: the matchmaker is asked whether the
// room still lives, and a room it says is gone or lost costs the seat at once instead of
// after the resume window.
import { test } from "node:test";
import assert from "node:assert/strict";
import { play } from "../src/game.js";
import { FakeWorker, until, joinAck } from "./fake.js";

/** A matchmaker whose `GET /rooms/r1` answers `room()`; every reservation is a seat in r2 after the first. */
function matchmaker(room) {
  const calls = [];
  const fetch = async (url, init = {}) => {
    const u = new URL(String(url));
    calls.push({ method: init.method || "GET", path: u.pathname, body: init.body ? JSON.parse(init.body) : null, headers: init.headers });
    if (u.pathname.startsWith("/rooms/")) {
      const [status, body] = room(decodeURIComponent(u.pathname.slice("/rooms/".length)));
      return new Response(JSON.stringify(body), { status });
    }
    const n = calls.filter((c) => c.path === "/reserve").length;
    const r = n === 1 ? "r1" : "r2";
    return new Response(JSON.stringify({ room: r, track: "t", shard: 0, worker: "w", url: "http://w:1/shard/0", token: `tok${n}`, expiresAt: 0 }), { status: 200 });
  };
  return { fetch, calls, probes: () => calls.filter((c) => c.path.startsWith("/rooms/")) };
}

async function seated(mm, opts = {}) {
  const w = new FakeWorker();
  w.handlers.join = (d) => joinAck({ room: d.room, self: d.token });
  const game = await play({ matchmaker: "http://mm:8", track: "t", fetch: mm.fetch, io: w.io, ackTimeoutMs: 500, roomProbeMs: 10, ...opts });
  return { w, game };
}

test("a room the matchmaker says is closed: a new seat elsewhere at once (room_lost)", async () => {
  const mm = matchmaker(() => [404, { error: { code: "room_not_found", message: "gone" } }]);
  const { w, game } = await seated(mm, { bearer: "jwt" });
  const rejoined = new Promise((r) => game.on("rejoined", r));
  w.last.drop(); // the worker died: the old connection never comes back
  const r = await rejoined;
  assert.equal(r.reason, "room_lost");
  assert.equal(r.room, "r2");
  assert.equal(mm.probes()[0].path, "/rooms/r1");
  assert.equal(mm.probes()[0].headers.authorization, "Bearer jwt");
  // The dead room is not asked for again: the matchmaker picks.
  assert.deepEqual(mm.calls.filter((c) => c.path === "/reserve")[1].body, { track: "t" });
  const probed = mm.probes().length;
  await new Promise((res) => setTimeout(res, 50));
  assert.equal(mm.probes().length, probed, "the watch stops once seated again");
  game.close();
});

test("a room whose shard stopped beating is lost too", async () => {
  const mm = matchmaker((room) => [200, { room, shard: 0, lost: true }]);
  const { w, game } = await seated(mm);
  const rejoined = new Promise((r) => game.on("rejoined", r));
  w.last.drop();
  assert.equal((await rejoined).reason, "room_lost");
  game.close();
});

test("a live room, an unreachable or a foreign answer: the resume goes on", async () => {
  let answer = (room) => [200, { room, shard: 0, lost: false }];
  const mm = matchmaker((room) => answer(room));
  const { w, game } = await seated(mm);
  const seen = [];
  game.on("rejoined", (r) => seen.push(r));
  w.handlers.resume = () => joinAck({ self: "tok1" });
  const old = w.last;
  old.drop();
  await until(() => mm.probes().length >= 2, "two probes");
  answer = () => [404, { message: "a proxy's page" }];
  const n = mm.probes().length;
  await until(() => mm.probes().length >= n + 2, "two more probes");
  assert.equal(game.phase, "resuming");
  const resumed = new Promise((r) => game.on("resumed", r));
  old.accept();
  await resumed;
  assert.deepEqual(seen, []);
  const probed = mm.probes().length;
  await new Promise((res) => setTimeout(res, 50));
  assert.equal(mm.probes().length, probed, "the watch stops once resumed");
  game.close();
});

test("after a migrate notice the room lives on: the matchmaker is not asked", async () => {
  const mm = matchmaker(() => [404, { error: { code: "room_not_found", message: "gone" } }]);
  const { w, game } = await seated(mm);
  w.handlers.resume = () => joinAck({ self: "tok1" });
  const old = w.last;
  old.push("migrate", { shard: 0 });
  old.drop("io server disconnect");
  await new Promise((res) => setTimeout(res, 60));
  assert.equal(mm.probes().length, 0);
  await until(() => game.phase === "joined", "the resume");
  game.close();
});
