// The client against the real worker and matchmaker binaries, which
// tests/e2e/tests/client_js.rs starts (Redis, worker shards with a short resume window, a
// matchmaker) before it runs `node --test` here with their addresses:
//
//   ROOMSHARD_MATCHMAKER_URL   the matchmaker's base URL
//   ROOMSHARD_RESUME_WINDOW_MS the workers' RESUME_WINDOW_MS
//   ROOMSHARD_RESUME_BUFFER_EVENTS the workers' RESUME_BUFFER_EVENTS
//
// Without them these tests are skipped (the unit tests still run). Every player reaches
// its worker through a TCP relay the test controls, so a connection can be cut the way a
// tunnel or a Wi-Fi handover cuts it, over WebSocket and over HTTP long polling.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { io } from "socket.io-client";
import { play } from "../src/index.js";

const MATCHMAKER = process.env.ROOMSHARD_MATCHMAKER_URL;
const WINDOW_MS = Number(process.env.ROOMSHARD_RESUME_WINDOW_MS || 0);
const skip = MATCHMAKER ? false : "ROOMSHARD_MATCHMAKER_URL is not set (run by tests/e2e/tests/client_js.rs)";
const DEADLINE_MS = 15_000;

/** A TCP relay to one worker: `cut()` breaks every connection through it, `down()` refuses new ones. */
class Relay {
  constructor(target) {
    this.target = new URL(target);
    this.pairs = new Set();
    this.refusing = false;
    this.server = net.createServer((client) => {
      if (this.refusing) return client.destroy();
      const upstream = net.connect(Number(this.target.port), this.target.hostname);
      const pair = { client, upstream };
      this.pairs.add(pair);
      client.pipe(upstream);
      upstream.pipe(client);
      const end = () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on("error", end);
      upstream.on("error", end);
      client.on("close", end);
      upstream.on("close", end);
    });
  }

  async listen() {
    await new Promise((r) => this.server.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${this.server.address().port}${this.target.pathname.replace(/\/$/, "")}`;
  }

  /**
   * Breaks every connection. `halfOpen`: only the client's side goes; the worker's side
   * stays open and silent, as behind a dead NAT entry, until the worker times it out.
   */
  cut({ halfOpen = false } = {}) {
    for (const pair of [...this.pairs]) {
      this.pairs.delete(pair);
      pair.client.removeAllListeners("close");
      pair.upstream.removeAllListeners("close");
      pair.client.unpipe();
      pair.upstream.unpipe();
      pair.client.destroy();
      if (halfOpen) {
        pair.upstream.pause();
        this.held = [...(this.held || []), pair.upstream];
      } else {
        pair.upstream.destroy();
      }
    }
  }

  down() {
    this.refusing = true;
  }

  up() {
    this.refusing = false;
  }

  close() {
    this.cut();
    for (const s of this.held || []) s.destroy();
    this.server.close();
  }
}

/** Every relay made, for the lookup by a game's URL and the clean-up. */
const relays = [];
after(() => {
  for (const r of relays) r.relay.close();
});

/**
 * A `fetch` for one `play` whose reservations point at a relay of that game's own to the
 * worker they name: cutting it cuts that player only.
 */
function relayedFetch() {
  const mine = new Map();
  return async (url, init) => {
    const resp = await fetch(url, init);
    const body = await resp.json();
    if (resp.ok && body.url) {
      if (!mine.has(body.url)) {
        const relay = new Relay(body.url);
        const entry = { relay, url: await relay.listen() };
        relays.push(entry);
        mine.set(body.url, entry);
      }
      body.url = mine.get(body.url).url;
    }
    return new Response(JSON.stringify(body), { status: resp.status, headers: { "content-type": "application/json" } });
  };
}

function relayOf(game) {
  const entry = relays.find((r) => r.url === game.url);
  if (!entry) throw new Error(`no relay for ${game.url}`);
  return entry.relay;
}

/** Everything a game delivered, by event name. */
function recorder(game) {
  const seen = { said: [], presence: [], resumed: [], rejoined: [], lost: [], disconnected: [] };
  for (const name of Object.keys(seen)) game.on(name, (d) => seen[name].push(d));
  return seen;
}

/** Waits until `probe()` is truthy, failing after `ms`. */
async function until(probe, what, ms = DEADLINE_MS) {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const options = (extra = {}) => ({
  matchmaker: MATCHMAKER,
  fetch: relayedFetch(),
  // Reconnect at once: the drop, not socket.io-client's back-off, is what is measured.
  socketOptions: { reconnectionDelay: 50, reconnectionDelayMax: 200, ...(extra.socketOptions || {}) },
  ...extra,
});

/** Two players in one new room of `track`: the one whose connection is cut, and a witness. */
async function pair(track, extra = {}) {
  const player = await play(options({ track, name: "player", ...extra }));
  const witness = await play(options({ room: player.room, name: "witness" }));
  assert.equal(witness.room, player.room);
  return { player, witness };
}

const texts = (said) => said.map((s) => s.text);

async function dropAndResume(t, transports, { halfOpen = false } = {}) {
  const track = `resume-${transports.join("-")}${halfOpen ? "-half" : ""}`;
  const { player, witness } = await pair(track, { socketOptions: { transports } });
  t.after(() => {
    player.close();
    witness.close();
  });
  const seenP = recorder(player);
  const seenW = recorder(witness);
  const self = player.self;
  assert.ok(typeof player.session().credential === "string" && player.session().credential.length > 0);
  assert.ok(Number.isInteger(player.lastSeq));

  const said = await witness.say("before");
  assert.equal(said.ok, true);
  await until(() => texts(seenP.said).includes("before"), "the player to hear the first message");

  const relay = relayOf(player);
  relay.down();
  relay.cut({ halfOpen });
  await until(() => seenP.disconnected.length > 0, "the player to notice the cut");
  // Over WebSocket the worker sees the cut at once; a long-polling session has no
  // connection of its own to lose, and stays until its ping times out (or the resume).
  if (!halfOpen && transports.includes("websocket")) {
    await until(
      () => seenW.presence.some((p) => (p.away || []).includes(self)),
      "the witness to see the player away",
    );
  }
  for (const text of ["m1", "m2", "m3"]) assert.equal((await witness.say(text)).ok, true);
  const third = await play(options({ room: player.room, name: "third" }));
  t.after(() => third.close());
  relay.up();

  await until(() => seenP.resumed.length > 0 || seenP.rejoined.length > 0 || seenP.lost.length > 0, "the resume");
  assert.deepEqual(seenP.rejoined, [], "resumed, not rejoined");
  assert.deepEqual(seenP.lost, []);
  assert.equal(seenP.resumed[0].self, self, "the same player id");
  assert.equal(player.self, self);
  assert.equal(player.room, witness.room);
  await until(() => texts(seenP.said).includes("m3"), "the missed messages");
  assert.deepEqual(texts(seenP.said), ["before", "m1", "m2", "m3"], "every message once, in order");
  assert.ok(
    seenP.presence.some((p) => (p.joined || []).includes(third.self)),
    "the third player's join, missed during the cut, was replayed",
  );
  const seqs = [...seenP.said, ...seenP.presence].map((e) => e.seq).sort((a, b) => a - b);
  assert.equal(new Set(seqs).size, seqs.length, "no room event twice");
  assert.ok(
    !seenW.presence.some((p) => (p.left || []).includes(self)),
    "the witness never saw the player leave",
  );
  await until(() => seenW.presence.some((p) => (p.back || []).includes(self)), "the witness to see the player back");

  // The session goes on: chat both ways, and the old credential is spent.
  assert.equal((await player.say("back")).ok, true);
  await until(() => texts(seenW.said).includes("back"), "the witness to hear the player");
  await witness.say("after");
  await until(() => texts(seenP.said).includes("after"), "the player to hear live chat");
  assert.equal(texts(seenP.said).filter((x) => x === "after").length, 1);
}

test("a cut WebSocket connection resumes with the same id and every missed event once", { skip }, (t) =>
  dropAndResume(t, ["websocket"]));

test("a cut long-polling connection resumes the same way", { skip }, (t) => dropAndResume(t, ["polling"]));

test("a half-open connection (the worker still holds it) resumes too", { skip }, (t) =>
  dropAndResume(t, ["websocket"], { halfOpen: true }));

test("past the window the resume is refused with resume_expired and everyone saw the leave", { skip }, async (t) => {
  assert.ok(WINDOW_MS > 0, "ROOMSHARD_RESUME_WINDOW_MS is set");
  const { player, witness } = await pair("resume-expired", {
    rejoin: false,
    resumeWindowMs: 10 * WINDOW_MS + DEADLINE_MS,
    socketOptions: { transports: ["websocket"] },
  });
  t.after(() => {
    player.close();
    witness.close();
  });
  const seenP = recorder(player);
  const seenW = recorder(witness);
  const self = player.self;
  const relay = relayOf(player);
  relay.down();
  relay.cut();
  await until(
    () => seenW.presence.some((p) => (p.left || []).includes(self)),
    "the witness to see the player leave once the window is over",
    WINDOW_MS + DEADLINE_MS,
  );
  relay.up();
  await until(() => seenP.lost.length > 0 || seenP.resumed.length > 0, "the refusal");
  assert.deepEqual(seenP.resumed, []);
  assert.equal(seenP.lost[0].code, "resume_expired");
  assert.equal(player.phase, "lost");
});

test("after a refusal the client takes a new seat by itself", { skip }, async (t) => {
  const { player, witness } = await pair("resume-rejoin", {
    resumeWindowMs: 10 * WINDOW_MS + DEADLINE_MS,
    socketOptions: { transports: ["websocket"] },
  });
  t.after(() => {
    player.close();
    witness.close();
  });
  const seenP = recorder(player);
  const seenW = recorder(witness);
  const old = player.self;
  const relay = relayOf(player);
  relay.down();
  relay.cut();
  await until(() => seenW.presence.some((p) => (p.left || []).includes(old)), "the leave", WINDOW_MS + DEADLINE_MS);
  relay.up();
  await until(() => seenP.rejoined.length > 0 || seenP.lost.length > 0, "the rejoin");
  assert.deepEqual(seenP.lost, []);
  assert.equal(seenP.rejoined[0].reason, "resume_expired");
  assert.equal(seenP.rejoined[0].previous.self, old);
  assert.notEqual(player.self, old);
  assert.equal(player.room, witness.room, "back in the same room");
  await until(() => seenW.presence.some((p) => (p.joined || []).includes(player.self)), "the witness to see the new seat");
});

/** A bare socket.io-client connection to a worker. */
function rawSocket(url) {
  const u = new URL(url);
  const socket = io(u.origin, { path: u.pathname.replace(/\/$/, "") + "/socket.io/", transports: ["websocket"], forceNew: true, reconnection: false });
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

test("forged and spent credentials are refused with resume_invalid", { skip }, async (t) => {
  const player = await play(options({ track: "resume-invalid", socketOptions: { transports: ["websocket"] } }));
  t.after(() => player.close());
  const spent = player.session().credential;
  const relay = relayOf(player);
  relay.cut();
  await until(() => player.phase === "joined" && player.session().credential !== spent, "the resume");

  const raw = await rawSocket(player.url);
  t.after(() => raw.disconnect());
  const ask = (credential) => raw.timeout(5000).emitWithAck("resume", { credential, lastSeq: 0 });
  for (const [what, credential] of [
    ["spent", spent],
    ["forged", "forged-credential"],
    ["tampered", player.session().credential.slice(0, -2) + (player.session().credential.endsWith("A") ? "BB" : "AA")],
  ]) {
    const ack = await ask(credential);
    assert.equal(ack.ok, false, `${what}: ${JSON.stringify(ack)}`);
    assert.equal(ack.error.code, "resume_invalid", `${what}: ${JSON.stringify(ack)}`);
  }
  // None of them took the seat over.
  assert.equal(player.phase, "joined");
  assert.equal((await player.say("still here")).ok, true);
});

test("two resumes racing for one seat: exactly one takes it", { skip }, async (t) => {
  const { player, witness } = await pair("resume-race", { socketOptions: { transports: ["websocket"] } });
  t.after(() => witness.close());
  const seenW = recorder(witness);
  const { credential, lastSeq, self } = player.session();
  const url = player.url;
  player.close(); // a drop as far as the worker is concerned: the seat is held
  await until(() => seenW.presence.some((p) => (p.away || []).includes(self)), "the witness to see the player away");
  const [a, b] = await Promise.all([rawSocket(url), rawSocket(url)]);
  t.after(() => {
    a.disconnect();
    b.disconnect();
  });
  const answers = await Promise.all(
    [a, b].map((s) => s.timeout(5000).emitWithAck("resume", { credential, lastSeq })),
  );
  const won = answers.filter((x) => x.ok === true);
  const refused = answers.filter((x) => x.ok === false);
  assert.equal(won.length, 1, JSON.stringify(answers));
  assert.equal(won[0].self, self);
  assert.equal(refused.length, 1, JSON.stringify(answers));
  assert.equal(refused[0].error.code, "resume_invalid", JSON.stringify(refused[0]));
  await until(() => seenW.presence.some((p) => (p.back || []).includes(self)), "the witness to see the player back");
  assert.equal(seenW.presence.filter((p) => (p.back || []).includes(self)).length, 1, "back once");
  assert.ok(!seenW.presence.some((p) => (p.left || []).includes(self)));
});

test("a credential presented to another shard is refused with shard_changed", { skip }, async (t) => {
  const games = [];
  t.after(() => games.forEach((g) => g.close()));
  // New rooms go to the least-loaded shard: a few tracks reach both shards.
  for (let i = 0; i < 6 && new Set(games.map((g) => g.shard)).size < 2; i++) {
    games.push(await play(options({ track: `resume-shard-${i}`, socketOptions: { transports: ["websocket"] } })));
  }
  const first = games[0];
  const other = games.find((g) => g.shard !== first.shard);
  assert.ok(other, `every room landed on shard ${first.shard}`);
  const raw = await rawSocket(other.url);
  t.after(() => raw.disconnect());
  const ack = await raw.timeout(5000).emitWithAck("resume", { credential: first.session().credential, lastSeq: 0 });
  assert.equal(ack.ok, false, JSON.stringify(ack));
  assert.equal(ack.error.code, "shard_changed", JSON.stringify(ack));
  assert.equal((await first.say("mine still")).ok, true, "the seat stayed with its player");
});

test("a seat whose missed events outran the worker's buffer is refused with replay_gap and taken anew", { skip }, async (t) => {
  const buffer = Number(process.env.ROOMSHARD_RESUME_BUFFER_EVENTS || 0);
  assert.ok(buffer > 0, "ROOMSHARD_RESUME_BUFFER_EVENTS is set");
  const { player, witness } = await pair("resume-gap", { socketOptions: { transports: ["websocket"] } });
  t.after(() => {
    player.close();
    witness.close();
  });
  const seenP = recorder(player);
  const seenW = recorder(witness);
  const old = player.self;
  const relay = relayOf(player);
  relay.down();
  relay.cut();
  await until(() => seenW.presence.some((p) => (p.away || []).includes(old)), "the witness to see the player away");
  for (let i = 0; i < buffer + 5; i++) assert.equal((await witness.say(`gap ${i}`)).ok, true);
  relay.up();
  await until(() => seenP.rejoined.length > 0 || seenP.resumed.length > 0 || seenP.lost.length > 0, "the outcome");
  assert.deepEqual(seenP.resumed, []);
  assert.equal(seenP.rejoined[0]?.reason, "replay_gap", JSON.stringify(seenP));
  assert.notEqual(player.self, old);
  assert.ok(
    seenW.presence.some((p) => (p.left || []).includes(old)),
    "the old seat was given up at once, not held until the window ran out",
  );
});
