// Types of @roomshard/client (hand-written; the package ships plain JavaScript).

/** An entity in a player's area of interest. */
export interface Entity<S = unknown> {
  id: string;
  x: number;
  y: number;
  name: string;
  /** The entity's application-defined state, when it has one. */
  state?: S;
}

/** `view`: what changed in the area of interest during one tick. Carries no `seq`: it is state. */
export interface ViewBatch<S = unknown> {
  tick: number;
  /** `state` only when it changed (`null`: cleared). */
  moved: Array<{ id: string; x: number; y: number; state?: S | null }>;
  entered: Entity<S>[];
  left: string[];
}

/** A custom event as its receivers get it: `from` is the sender's public id, or `"server"`
 * for one the set's onEvent hook emitted; `seq` on `room` events only. */
export interface Relayed<D = unknown> {
  from: string;
  data: D;
  seq?: number;
}

/** The game's custom events, by name: the payload each carries. */
export type CustomEvents = Record<string, unknown>;

/** `said`: room chat. */
export interface Said {
  from: string;
  text: string;
  /** The room's event number; absent from workers without session resume. */
  seq?: number;
}

/** `presence`: who joined, left, dropped (`away`) or came back (`back`). */
export interface Presence {
  room: string;
  players: number;
  joined: string[];
  left: string[];
  /** Players whose connection dropped and who are inside their resume window. */
  away?: string[];
  /** Players who resumed. */
  back?: string[];
  seq?: number;
}

export interface Draining {
  reason: string;
  closesInMs: number;
}

export interface ServerError {
  code: string;
  message: string;
  /** The game's own code, when a hook refused (`hook_rejected`). */
  reason?: string;
}

/** A seat's identity. */
export interface Seat {
  self: string;
  room: string;
  shard: number;
}

export interface Resumed extends Seat {
  players: number;
  /** A fresh view of the area of interest: replace what was shown. */
  view: Entity[];
  /** How many room events the worker replayed (delivered right after this event). */
  missed: number;
  lastSeq: number;
}

export interface Rejoined extends Seat {
  /**
   * Why the old seat could not be resumed: a refusal code, `draining`, `unreachable`,
   * `timeout`, or `room_lost` (the matchmaker says the room closed or its shard died).
   */
  reason: string;
  previous: Partial<Seat>;
  players: number;
  view: Entity[];
}

export interface Lost {
  code: string;
  message: string;
}

export interface GameEvents {
  view: ViewBatch;
  said: Said;
  presence: Presence;
  resumed: Resumed;
  rejoined: Rejoined;
  lost: Lost;
  draining: Draining;
  /** The worker handed the room to the shard's next process: the close that follows is resumed. */
  migrate: { shard: number; reason: string; url?: string };
  error: ServerError;
  /** The connection dropped; a resume follows when it comes back. */
  disconnected: { reason: string };
}

/** What `game.session()` returns and `resumeFrom` takes (for example through `sessionStorage`). */
export interface StoredSession {
  url: string;
  room: string | null;
  self: string | null;
  credential: string;
  lastSeq: number;
}

/** socket.io-client's `io` (or a compatible function). */
export type IoFunction = (url: string, opts?: Record<string, unknown>) => unknown;

interface CommonOptions {
  name?: string;
  /** The custom events to listen for (those the set declares in `EVENTS`). */
  events?: string[];
  /** Reserve a new seat after a refused resume (default true); else the session is `lost`. */
  rejoin?: boolean;
  /** Resume this earlier session first; a fresh seat when it is refused. */
  resumeFrom?: StoredSession | null;
  /** socket.io-client's `io`; the official client by default. */
  io?: IoFunction;
  /** Options passed to `io` (for example `{ transports: ["websocket"] }`); keep `reconnection` on. */
  socketOptions?: Record<string, unknown>;
  /** How long an ack'ed event may wait for its answer (default 10000 ms). */
  ackTimeoutMs?: number;
  /** How long the worker keeps a dropped seat (the worker's `RESUME_WINDOW_MS`, default 60000). */
  resumeWindowMs?: number;
}

export interface PlayOptions extends CommonOptions {
  /** The matchmaker's base URL. */
  matchmaker: string;
  track?: string;
  room?: string;
  player?: string;
  idempotencyKey?: string;
  /**
   * While a dropped connection (without a `migrate` notice) is being resumed, how often the
   * matchmaker is asked whether the room still lives (`GET /rooms/{room}`; default 1000 ms).
   */
  roomProbeMs?: number;
  /**
   * The player's bearer JWT (or a function that returns a fresh one), for a matchmaker with
   * AUTH_MODE jwt: sent to `/reserve` and, as `identity`, with the join of the seat.
   */
  bearer?: string | (() => string | Promise<string>);
  fetch?: typeof globalThis.fetch;
}

export interface DirectOptions extends CommonOptions {
  /** The worker's URL (`http://127.0.0.1:3000`, `wss://play.example.com/shard/2`). */
  url: string;
  room: string;
  token?: string;
}

export type Phase = "connecting" | "joined" | "resuming" | "rejoining" | "closed" | "lost";

export type Ack<D = unknown> = { ok: true; data?: D } | { ok: false; error: ServerError };

/** `C`: the custom events' payloads by name; `S`: the entities' state. */
export declare class Game<C extends CustomEvents = CustomEvents, S = unknown> {
  readonly mode: "reserve" | "direct";
  readonly phase: Phase;
  readonly self: string;
  readonly room: string;
  readonly shard: number;
  /** Players in the room, from the last answer or `presence`. */
  readonly players: number;
  /** The area of interest in the last join or resume answer. */
  readonly view: Entity[];
  readonly world: { width: number; height: number; radius: number; cells: number };
  readonly url: string;
  /** The highest room event `seq` delivered. */
  readonly lastSeq: number;
  /** What the set's onJoin hook attached to the player. */
  readonly metadata: Record<string, unknown> | null;
  on<K extends keyof GameEvents>(event: K, fn: (data: GameEvents[K]) => void): () => void;
  on<K extends Exclude<keyof C, keyof GameEvents> & string>(event: K, fn: (data: Relayed<C[K]>) => void): () => void;
  off<K extends keyof GameEvents>(event: K, fn: (data: GameEvents[K]) => void): void;
  off<K extends Exclude<keyof C, keyof GameEvents> & string>(event: K, fn: (data: Relayed<C[K]>) => void): void;
  move(x: number, y: number, state?: S | null): void;
  /** Sets the entity's state without moving. */
  setState(state: S | null): Promise<Ack>;
  /** Sends a declared custom event; a `server` event's ack carries the hook's reply as `data`. */
  send<K extends keyof C & string>(event: K, data: C[K]): Promise<Ack>;
  say(text: string): Promise<Ack>;
  /** Gives up the seat and closes the connection. */
  leave(): Promise<Ack>;
  /** Closes the connection without leaving: the seat stays resumable for the worker's window. */
  close(): void;
  /** Resolves when the session is joined (again). */
  ready(): Promise<void>;
  session(): StoredSession | null;
}

export declare class RoomshardError extends Error {
  readonly code: string;
  readonly detail: string;
}

export declare function play<C extends CustomEvents = CustomEvents, S = unknown>(opts: PlayOptions): Promise<Game<C, S>>;
export declare function connectDirect<C extends CustomEvents = CustomEvents, S = unknown>(opts: DirectOptions): Promise<Game<C, S>>;
export declare function reserve(
  matchmaker: string,
  body: { track?: string; room?: string; player?: string; idempotencyKey?: string },
  fetch: typeof globalThis.fetch,
  auth?: { bearer?: string; apiKey?: string },
): Promise<{ room: string; track: string; shard: number; worker: string; url: string; token: string; expiresAt: number | string }>;
export declare function socketTarget(url: string): { origin: string; path: string };

export interface MissedEvent {
  /** `said`, `presence`, or a custom event of scope `room` the game listens for. */
  event: string;
  data: Said | Presence | Relayed<unknown>;
}

export declare class SeqTracker {
  /** `custom`: the custom events the game listens for, which a resume may replay. */
  constructor(lastSeq?: number, custom?: string[]);
  lastSeq: number;
  readonly holding: boolean;
  reset(lastSeq: number): void;
  accept(seq: unknown): boolean;
  hold(): void;
  live(event: string, data: unknown): MissedEvent[];
  replay(missed: MissedEvent[], ackSeq?: number): MissedEvent[];
  discard(): void;
  release(): MissedEvent[];
}
export declare const ROOM_EVENTS: readonly ["said", "presence"];
export declare const RESUME_REFUSALS: readonly string[];
export declare function afterRefusal(
  code: string,
  opts: { rejoin: boolean; canRejoin: boolean; room?: string | null; requestedRoom?: string | null },
): { action: "lost" } | { action: "rejoin"; rooms: Array<string | undefined> };
export declare function shouldResume(reason: string): boolean;
