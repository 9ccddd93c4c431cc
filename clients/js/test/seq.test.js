// The pure parts: sequence tracking and deduplication, and what a refusal leads to.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SeqTracker } from "../src/seq.js";
import { afterRefusal, shouldResume, RESUME_REFUSALS } from "../src/policy.js";
import { socketTarget } from "../src/game.js";

const said = (seq, text = `m${seq}`) => ({ event: "said", data: { from: "p2", text, seq } });

test("live events are delivered once, in the order they come", () => {
  const t = new SeqTracker(3);
  assert.deepEqual(t.live("said", { seq: 3 }), [], "the join's own seq is already known");
  assert.equal(t.live("said", { seq: 4 }).length, 1);
  assert.deepEqual(t.live("said", { seq: 4 }), [], "a duplicate is dropped");
  assert.deepEqual(t.live("presence", { seq: 2 }), [], "an older event is dropped");
  assert.equal(t.live("presence", { seq: 5 }).length, 1);
  assert.equal(t.lastSeq, 5);
});

test("events without a seq (a worker without resume) always pass", () => {
  const t = new SeqTracker(7);
  assert.equal(t.live("said", { from: "a", text: "hi" }).length, 1);
  assert.equal(t.live("said", { from: "a", text: "hi" }).length, 1);
  assert.equal(t.lastSeq, 7);
});

test("a resume delivers the missed events, then the live ones held meanwhile, each once", () => {
  const t = new SeqTracker(2);
  t.hold();
  assert.ok(t.holding);
  // Live events that overtook the answer, one of them also in the replay.
  assert.deepEqual(t.live("said", { seq: 6 }), []);
  assert.deepEqual(t.live("said", { seq: 5 }), []);
  const out = t.replay([said(5), said(3), said(4), said(2)], 5);
  assert.deepEqual(out.map((m) => m.data.seq), [3, 4, 5, 6]);
  assert.equal(t.lastSeq, 6);
  assert.ok(!t.holding);
  assert.deepEqual(t.live("said", { seq: 6 }), []);
  assert.equal(t.live("said", { seq: 7 }).length, 1);
});

test("the answer's seq covers the room's history even when nothing was missed", () => {
  const t = new SeqTracker(4);
  t.hold();
  assert.deepEqual(t.replay([], 9), []);
  assert.equal(t.lastSeq, 9);
  assert.deepEqual(t.live("said", { seq: 9 }), []);
});

test("a replay ignores entries that are not room events", () => {
  const t = new SeqTracker(0);
  t.hold();
  const out = t.replay([{ event: "view", data: { seq: 1 } }, null, said(1)], 1);
  assert.deepEqual(out.map((m) => m.event), ["said"]);
});

test("release hands over the held events as live ones", () => {
  const t = new SeqTracker(1);
  t.hold();
  t.live("said", { seq: 3 });
  t.live("said", { seq: 2 });
  t.live("said", { seq: 3 });
  assert.deepEqual(t.release().map((m) => m.data.seq), [3], "2 arrived after 3 and is dropped");
});

test("discard drops the held events, which the next resume asks for again", () => {
  const t = new SeqTracker(1);
  t.hold();
  t.live("said", { seq: 2 });
  t.discard();
  assert.equal(t.lastSeq, 1);
  assert.ok(!t.holding);
  t.hold();
  assert.deepEqual(t.replay([said(2)], 2).map((m) => m.data.seq), [2]);
});

test("reset starts a new seat's history", () => {
  const t = new SeqTracker(40);
  t.hold();
  t.reset(2);
  assert.equal(t.lastSeq, 2);
  assert.ok(!t.holding);
  assert.equal(t.live("said", { seq: 3 }).length, 1);
});

test("a refusal leads to a new seat unless the application says no", () => {
  for (const code of RESUME_REFUSALS) {
    assert.deepEqual(afterRefusal(code, { rejoin: false, canRejoin: true, room: "a" }), { action: "lost" });
    assert.deepEqual(afterRefusal(code, { rejoin: true, canRejoin: false, room: "a" }), { action: "lost" });
    assert.equal(afterRefusal(code, { rejoin: true, canRejoin: true, room: "a" }).action, "rejoin");
  }
});

test("a new seat is asked for in the old room first, unless it is closed or draining", () => {
  const opts = { rejoin: true, canRejoin: true, room: "r7", requestedRoom: null };
  assert.deepEqual(afterRefusal("resume_expired", opts).rooms, ["r7", undefined]);
  assert.deepEqual(afterRefusal("replay_gap", opts).rooms, ["r7", undefined]);
  assert.deepEqual(afterRefusal("room_closed", opts).rooms, [undefined]);
  assert.deepEqual(afterRefusal("draining", opts).rooms, [undefined]);
  assert.deepEqual(
    afterRefusal("room_closed", { ...opts, requestedRoom: "lobby" }).rooms,
    ["lobby", undefined],
  );
  assert.deepEqual(
    afterRefusal("shard_changed", { ...opts, requestedRoom: "r7" }).rooms,
    ["r7", undefined],
    "no room is tried twice",
  );
});

test("only the application's own disconnect is not resumed", () => {
  assert.equal(shouldResume("io client disconnect"), false);
  for (const r of ["transport close", "transport error", "ping timeout", "io server disconnect", "parse error"]) {
    assert.equal(shouldResume(r), true, r);
  }
});

test("a worker URL's path becomes the Socket.IO path, not a namespace", () => {
  assert.deepEqual(socketTarget("http://127.0.0.1:3000"), { origin: "http://127.0.0.1:3000", path: "/socket.io/" });
  assert.deepEqual(socketTarget("wss://play.example.com/shard/2/"), {
    origin: "https://play.example.com",
    path: "/shard/2/socket.io/",
  });
  assert.deepEqual(socketTarget("ws://h:1/a"), { origin: "http://h:1", path: "/a/socket.io/" });
});
