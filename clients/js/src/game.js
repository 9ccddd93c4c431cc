// The Roomshard game client: reserve → connect → join, and a session that survives
// dropped connections. After any disconnect the application did not ask for, the client
// connects again (socket.io-client does so by itself) and emits `resume` with the
// credential of its seat and the last room event it saw; the worker answers with the same
// seat, a fresh view and the room events missed meanwhile, which reach the application as
// ordinary `said`/`presence` events, in order and exactly once. A refused resume costs the
// seat: the client reserves a new one (`rejoined`) or reports the session `lost`.
//
// This module takes socket.io-client's `io` as an option and imports nothing but its
// siblings, so a browser page can load it as is; `index.js` fills in the official client.

import { SeqTracker } from "./seq.js";
import { afterRefusal, shouldResume } from "./policy.js";
import { reserve, roomState, RoomshardError } from "./reserve.js";
import { socketTarget } from "./target.js";
import { RoomWatch } from "./watch.js";
import { Acks } from "./acks.js";

export { RoomshardError, socketTarget };

const ACK_TIMEOUT_MS = 10_000;
const RESUME_WINDOW_MS = 60_000;
const REJOIN_ATTEMPTS = 5;
const ROOM_PROBE_MS = 1_000;
/** How long a new seat's worker may stay unreachable (its pod starting) during a rejoin. */
const SEAT_PATIENCE_MS = 10_000;

/**
 * Reserves a seat through the matchmaker, connects to the worker it names and joins.
 * @param {import("../index.d.ts").PlayOptions} opts
 * @returns {Promise<Game>}
 */
export async function play(opts) {
  if (!opts || typeof opts.matchmaker !== "string") throw new TypeError("play needs { matchmaker }");
  const game = new Game("reserve", opts);
  await game.start();
  return game;
}

/**
 * Joins `room` on the worker at `url` without a matchmaker (a development worker that
 * seats players without a reservation, or with a `token` obtained elsewhere).
 * @param {import("../index.d.ts").DirectOptions} opts
 * @returns {Promise<Game>}
 */
export async function connectDirect(opts) {
  if (!opts || typeof opts.url !== "string" || typeof opts.room !== "string") {
    throw new TypeError("connectDirect needs { url, room }");
  }
  const game = new Game("direct", opts);
  await game.start();
  return game;
}

export class Game {
  /**
   * @param {"reserve" | "direct"} mode
   * @param {any} opts
   */
  constructor(mode, opts) {
    if (typeof opts.io !== "function") throw new TypeError("the socket.io-client `io` function is required");
    this.mode = mode;
    this.opts = opts;
    this.io = opts.io;
    this.fetch = opts.fetch || globalThis.fetch;
    this.ackTimeoutMs = opts.ackTimeoutMs ?? ACK_TIMEOUT_MS;
    this.resumeWindowMs = opts.resumeWindowMs ?? RESUME_WINDOW_MS;
    /** @type {Map<string, Set<Function>>} */
    this.listeners = new Map();
    this.seq = new SeqTracker(0, opts.events || []);
    this.acks = new Acks(this.ackTimeoutMs);
    this.socket = null;
    /** @type {null | ((err: Error) => void)} */
    this.opening = null;
    this.url = null;
    this.phase = "connecting";
    this.self = null;
    this.room = null;
    this.shard = null;
    this.players = 0;
    this.view = [];
    /** What the set's onJoin hook attached to the player. */
    this.metadata = null;
    this.world = { width: 1000, height: 1000, radius: 100, cells: 1 };
    this.credential = null;
    this.droppedAt = null;
    this.draining = false;
    this.migrating = false; // a `migrate` notice came: the room lives on in the next process
    this.roomWatch = new RoomWatch((room) => roomState(opts.matchmaker, room, this.fetch, opts.bearer), opts.roomProbeMs ?? ROOM_PROBE_MS);
    this.pendingMove = null;
    /** @type {Array<{resolve: () => void, reject: (e: Error) => void}>} */
    this.waiters = [];
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on(event, fn) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event).add(fn);
    return () => this.off(event, fn);
  }

  off(event, fn) {
    const set = this.listeners.get(event);
    if (set) set.delete(fn);
  }

  /** Calls the listeners of `event`. */
  notify(event, data) {
    for (const fn of [...(this.listeners.get(event) || [])]) {
      try {
        fn(data);
      } catch (e) {
        // A listener's failure is the application's, not the session's: report it the
        // way an uncaught error would be, and keep the session going.
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }

  /** The highest room event sequence number delivered so far. */
  get lastSeq() {
    return this.seq.lastSeq;
  }

  /** What a later page load needs to resume this seat (`resumeFrom`). */
  session() {
    if (!this.credential || !this.url) return null;
    return { url: this.url, room: this.room, self: this.self, credential: this.credential, lastSeq: this.seq.lastSeq };
  }

  /** Sends the player's position (and entity state, when given); while the connection is
   * down, the newest one waits. */
  move(x, y, state) {
    const m = state === undefined ? { x, y } : { x, y, state };
    if (this.phase === "joined" && this.socket && this.socket.connected) {
      this.socket.emit("move", m);
      this.pendingMove = null;
    } else if (this.phase !== "closed" && this.phase !== "lost") {
      this.pendingMove = m;
    }
  }

  /** Sets the entity's state without moving. */
  setState(state) {
    return this.request("state", { state });
  }

  /** Sends a custom event the set declares (`EVENTS`); the ack may carry `data`. */
  send(event, data) {
    return this.request(event, data);
  }

  /**
   * Room chat; resolves with the worker's ack (`{ok: true}` or `{ok: false, error}`).
   * While the session is resuming it waits for it first. Rejects when the connection
   * drops before the ack (the text may or may not have been delivered) or the session ends.
   */
  async say(text) {
    await this.ready();
    return this.request("say", { text });
  }

  /** Gives up the seat (others see the leave at once) and closes the connection. */
  async leave() {
    let ack = { ok: true };
    // A seat being resumed is given up once it is back; otherwise it would stay held
    // until the worker's window ran out.
    if (this.phase === "resuming" || this.phase === "rejoining") {
      let timer;
      const late = new Promise((resolve) => (timer = setTimeout(resolve, this.ackTimeoutMs)));
      await Promise.race([this.ready().catch(() => {}), late]);
      clearTimeout(timer);
    }
    if (this.phase === "joined" && this.socket && this.socket.connected) {
      ack = await this.request("leave", {}).catch((e) => ({ ok: false, error: { code: e.code || "disconnected", message: e.message } }));
    }
    this.end("closed");
    return ack;
  }

  /**
   * Closes the connection without leaving: the worker keeps the seat for its resume window,
   * so a later page load can still `resumeFrom` this session's `session()`.
   */
  close() {
    this.end("closed");
  }

  /** Resolves once the session is joined (at once when it is). */
  ready() {
    if (this.phase === "joined") return Promise.resolve();
    if (this.phase === "closed" || this.phase === "lost") {
      return Promise.reject(new RoomshardError(this.phase, "the session has ended"));
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  async start() {
    const from = this.opts.resumeFrom;
    if (from && typeof from.credential === "string" && typeof from.url === "string") {
      try {
        await this.open(from.url);
        this.seq.reset(Number.isInteger(from.lastSeq) ? from.lastSeq : 0);
        this.self = from.self || null;
        this.room = from.room || null;
        if (await this.resume(from.credential, "start")) return;
      } catch {
        // An unreachable worker or a refused resume: a fresh seat below.
      }
      this.seq.reset(0);
      this.phase = "connecting";
    }
    try {
      await this.fresh(this.opts.room);
    } catch (e) {
      this.end("lost");
      throw e;
    }
  }

  /** A new seat: a reservation (or a direct join) and a join on its worker. */
  async fresh(room) {
    let url, join;
    if (this.mode === "reserve") {
      // The same JWT proves the player twice: to the matchmaker, which binds the seat to
      // its `sub`, and to the worker, which seats no one else on it.
      const bearer = typeof this.opts.bearer === "function" ? await this.opts.bearer() : this.opts.bearer;
      const seat = await reserve(
        this.opts.matchmaker,
        { track: this.opts.track, room, player: this.opts.player, idempotencyKey: this.opts.idempotencyKey },
        this.fetch,
        { bearer },
      );
      url = seat.url;
      join = { room: seat.room, token: seat.token };
      if (bearer) join.identity = bearer;
    } else {
      url = this.opts.url;
      join = { room: room || this.opts.room };
      if (this.opts.token) join.token = this.opts.token;
    }
    if (this.opts.name) join.name = this.opts.name;
    if (url !== this.url || !this.socket || !this.socket.connected || this.draining) {
      await (this.phase === "rejoining" ? this.openPatiently(url) : this.open(url));
    }
    const ack = await this.request("join", join);
    if (!ack || ack.ok !== true) {
      const e = (ack && ack.error) || {};
      throw new RoomshardError(e.code || "join_refused", e.message || "join refused");
    }
    this.seq.reset(ack.seq);
    this.adopt(ack);
    this.joined();
    return ack;
  }

  /** Connects a new socket to `url` (dropping the old one) and waits for its connect. */
  open(url) {
    this.detach();
    this.url = url;
    this.draining = false;
    const { origin, path } = socketTarget(url);
    // forceNew: one Engine.IO connection per game, never one shared with another game
    // on the same worker (socket.io-client would otherwise multiplex them).
    const socket = this.io(origin, { path, ...(this.opts.socketOptions || {}), forceNew: true });
    this.socket = socket;
    const mine = (fn) => (...args) => {
      if (this.socket === socket) fn(...args);
    };
    socket.on("disconnect", mine((reason) => this.onDisconnect(reason)));
    socket.on("connect", mine(() => this.onConnect()));
    socket.on("connect_error", mine((err) => this.onConnectError(err)));
    // A view batch is state, not history: while the seat is not (yet, or again) taken,
    // there is nothing it could apply to, and the next join or resume answer's `view`
    // replaces it. The worker sends that answer before any batch that builds on it.
    socket.on("view", mine((v) => {
      if (this.phase === "joined") this.notify("view", v);
    }));
    for (const event of ["said", "presence"]) {
      socket.on(event, mine((data) => this.deliver(this.seq.live(event, data))));
    }
    socket.on("draining", mine((d) => { this.draining = true; this.notify("draining", d); }));
    // The shard's next process holds the seat: the close that follows is resumed.
    socket.on("migrate", mine((m) => { this.draining = false; this.migrating = true; this.notify("migrate", m); }));
    socket.on("error", mine((e) => this.notify("error", e)));
    // The custom events the game listens for (`events`): `{from, data, seq?}` as relayed. A
    // room one carries `seq` and is room history like `said` (held during a resume, once).
    const custom = (event) => (m) => (Number.isInteger(m?.seq) ? this.deliver(this.seq.live(event, m)) : this.notify(event, m));
    for (const event of this.opts.events || []) socket.on(event, mine(custom(event)));
    return new Promise((resolve, reject) => {
      const done = () => {
        socket.off("connect", ok);
        socket.off("connect_error", fail);
        this.opening = null;
      };
      const ok = () => {
        done();
        resolve();
      };
      const fail = (err) => {
        done();
        if (this.socket === socket) this.detach();
        reject(new RoomshardError("unreachable", `cannot connect to ${url}: ${(err && err.message) || err}`));
      };
      this.opening = fail;
      socket.once("connect", ok);
      socket.once("connect_error", fail);
    });
  }

  /** `open`, tried again while the worker cannot be reached, for up to SEAT_PATIENCE_MS. */
  async openPatiently(url) {
    const until = Date.now() + SEAT_PATIENCE_MS;
    for (let wait = 100; ; wait = Math.min(1000, wait * 2)) {
      try {
        return await this.open(url);
      } catch (e) {
        if (e.code !== "unreachable" || Date.now() + wait > until || this.phase !== "rejoining") throw e;
      }
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  /** Drops the current socket; its events are ignored from now on. */
  detach() {
    const old = this.socket;
    this.socket = null;
    if (this.opening) this.opening(new Error("closed"));
    this.acks.failAll("disconnected");
    if (old) old.disconnect();
  }

  /** An ack'ed emit on the current socket, bounded by `ackTimeoutMs`. */
  request(event, data) {
    return this.acks.request(this.socket, event, data);
  }

  onDisconnect(reason) {
    this.acks.failAll("disconnected");
    if (!shouldResume(reason) || this.phase === "closed" || this.phase === "lost") return;
    const wasJoined = this.phase === "joined";
    if (wasJoined) this.phase = "resuming";
    if (this.droppedAt === null) this.droppedAt = Date.now();
    this.notify("disconnected", { reason });
    if (!wasJoined && this.phase !== "resuming") return; // a join or rejoin in flight fails by itself
    if (this.draining) {
      void this.recover("draining", "the worker is draining");
      return;
    }
    // Without a handoff the room may have died with its worker: the matchmaker knows.
    if (this.mode === "reserve" && !this.migrating && this.room) {
      this.roomWatch.start(this.room, (state) => {
        if (this.phase === "resuming") void this.recover("room_lost", `the matchmaker says the room is ${state}`);
      });
    }
    // The server closed the connection: socket.io-client waits for the application.
    if (reason === "io server disconnect" && this.socket) this.socket.connect();
  }

  onConnect() {
    if (this.phase !== "resuming") return;
    if (this.credential) void this.resume(this.credential, "reconnect");
    // A worker that predates resume handed out no credential: the seat is gone.
    else void this.recover("resume_unsupported", "the worker offers no session resume");
  }

  onConnectError() {
    if (this.phase !== "resuming" || this.droppedAt === null) return;
    // Past the worker's window the seat is gone whether or not it comes back.
    if (Date.now() - this.droppedAt >= this.resumeWindowMs) {
      void this.recover("unreachable", "the worker could not be reached within the resume window");
    }
  }

  /**
   * Emits `resume` on the connected socket and applies the answer. True when resumed;
   * on a refusal at start false, later the refusal is handled (`rejoined` or `lost`).
   */
  async resume(credential, why) {
    this.phase = "resuming";
    this.seq.hold();
    let ack;
    try {
      ack = await this.request("resume", { credential, lastSeq: this.seq.lastSeq });
    } catch (e) {
      // Events held from a connection that died are asked for again by the next resume.
      this.seq.discard();
      if (why === "start") throw e;
      if (e.code === "timeout") void this.recover("timeout", "resume got no answer");
      return false;
    }
    if (!ack || ack.ok !== true) {
      this.seq.discard();
      const err = (ack && ack.error) || {};
      if (why === "start") return false;
      void this.recover(err.code || "resume_invalid", err.message || "resume refused");
      return false;
    }
    this.adopt(ack);
    const events = this.seq.replay(ack.missed, ack.seq);
    const missed = Array.isArray(ack.missed) ? ack.missed.length : 0;
    this.joined();
    this.notify("resumed", { self: this.self, room: this.room, shard: this.shard, players: this.players, view: this.view, missed, lastSeq: this.seq.lastSeq });
    this.deliver(events);
    return true;
  }

  /** The seat could not be taken back: a new one, or the end of the session. */
  async recover(code, message) {
    if (this.phase === "rejoining" || this.phase === "closed" || this.phase === "lost") return;
    const plan = afterRefusal(code, {
      rejoin: this.opts.rejoin !== false,
      canRejoin: true,
      room: this.room,
      requestedRoom: this.opts.room,
    });
    if (plan.action === "lost") {
      this.lose(code, message);
      return;
    }
    this.phase = "rejoining";
    this.roomWatch.stop();
    this.notify("rejoining", { reason: code, message });
    const previous = { self: this.self, room: this.room, shard: this.shard };
    let last = null;
    for (let attempt = 0; attempt < REJOIN_ATTEMPTS; attempt++) {
      for (const room of plan.rooms) {
        if (this.phase !== "rejoining") return; // closed meanwhile
        try {
          await this.fresh(room);
          this.notify("rejoined", { reason: code, previous, self: this.self, room: this.room, shard: this.shard, players: this.players, view: this.view });
          return;
        } catch (e) {
          last = e;
        }
      }
      await new Promise((r) => setTimeout(r, Math.min(8000, 250 * 2 ** attempt)));
    }
    this.lose(code, `${message}; no new seat: ${(last && last.message) || "unknown"}`);
  }

  lose(code, message) {
    this.end("lost");
    this.notify("lost", { code, message });
  }

  end(phase) {
    if (this.phase === "closed" || this.phase === "lost") return;
    this.phase = phase;
    this.roomWatch.stop();
    this.detach();
    const waiters = this.waiters.splice(0);
    for (const w of waiters) w.reject(new RoomshardError(phase, "the session has ended"));
  }

  /** Takes the seat's state from a join or resume answer. */
  adopt(ack) {
    this.self = ack.self;
    this.room = ack.room;
    this.shard = ack.shard;
    this.players = ack.players;
    this.view = Array.isArray(ack.view) ? ack.view : [];
    this.world = {
      width: ack.width ?? this.world.width,
      height: ack.height ?? this.world.height,
      radius: ack.radius ?? this.world.radius,
      cells: ack.cells ?? 1,
    };
    if (typeof ack.resume === "string") this.credential = ack.resume;
    this.metadata = ack.metadata ?? null;
  }

  joined() {
    this.phase = "joined";
    this.droppedAt = null;
    this.migrating = false;
    this.roomWatch.stop();
    const waiters = this.waiters.splice(0);
    for (const w of waiters) w.resolve();
    if (this.pendingMove) this.move(this.pendingMove.x, this.pendingMove.y, this.pendingMove.state);
  }

  deliver(events) {
    for (const { event, data } of events) {
      if (event === "presence" && data && Number.isInteger(data.players)) this.players = data.players;
      this.notify(event, data);
    }
  }
}
