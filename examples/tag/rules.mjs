// The rules of tag, as plain functions: no sockets, no timers. The backend (backend.mjs)
// enforces them; the bots (bot.mjs) play by them.

/** How close "it" must be to tag someone, in world units. */
export const TAG_RADIUS = 40;
/** Tags in one round; the player who is "it" when it ends loses. */
export const ROUND_TAGS = 3;
/** World units a player moves per step. "it" is a little faster than the runners. */
export const IT_SPEED = 14;
export const RUNNER_SPEED = 9;
/** A new "it" may not tag for this long (no tag-backs on the spot). */
export const COOLDOWN_MS = 500;

/** The custom events of the game, as the workers declare them (`EVENTS`, `spec.events`). */
export const EVENTS = [
  // "it" claims a tag; only the backend's onEvent hook receives it.
  { name: "tag", scope: "server", maxBytes: 256, perSecond: 10 },
  // The backend's verdict, for everyone in the room (numbered, replayed on resume).
  { name: "tagged", scope: "room", maxBytes: 128 },
  // A runner's taunt, heard only by players whose view holds it.
  { name: "taunt", scope: "nearby", maxBytes: 64, perSecond: 2 },
];

export function distance(a, b) {
  return Math.hypot(a.x - b.x, a.y - b.y);
}

/** Whether a tag of `target` by `tagger` stands (positions as the tagger saw them). */
export function withinReach(tagger, target) {
  return distance(tagger, target) <= TAG_RADIUS;
}

/** One step from `from` toward `to` (or away from it, with `away`), inside the world. */
export function step(from, to, speed, world, away = false) {
  const dx = to.x - from.x;
  const dy = to.y - from.y;
  const len = Math.hypot(dx, dy) || 1;
  const sign = away ? -1 : 1;
  const move = Math.min(speed, away ? speed : len);
  return {
    x: clamp(from.x + (sign * dx * move) / len, 0, world.width),
    y: clamp(from.y + (sign * dy * move) / len, 0, world.height),
  };
}

/** The nearest of `others` to `me`, or null. */
export function nearest(me, others) {
  let best = null;
  for (const o of others) {
    if (!best || distance(me, o) < distance(me, best)) best = o;
  }
  return best;
}

function clamp(v, lo, hi) {
  return Math.max(lo, Math.min(hi, v));
}

/**
 * The backend's record of one room: who is "it" and how many tags the round has had.
 * Every decision of the game lives here.
 */
export class Round {
  constructor() {
    this.it = null;
    this.tags = 0;
    this.since = 0;
    this.players = new Set();
  }

  /** A player joins: the first one of the room is "it". Returns its first state. */
  join(id) {
    this.players.add(id);
    if (this.it === null || !this.players.has(this.it)) this.it = id;
    return { it: this.it === id };
  }

  /** `by` claims to have tagged `target`: a refusal code, or the verdict to announce. */
  tag(by, target, seen, now = Date.now()) {
    if (this.tags >= ROUND_TAGS) return { refuse: "round_over" };
    if (by !== this.it) return { refuse: "not_it" };
    if (now - this.since < COOLDOWN_MS) return { refuse: "cooldown" };
    if (target === by || !this.players.has(target)) return { refuse: "no_such_player" };
    if (!seen || !withinReach(seen.tagger, seen.target)) return { refuse: "too_far" };
    this.it = target;
    this.tags += 1;
    this.since = now;
    return { verdict: { it: target, by, tags: this.tags, over: this.tags >= ROUND_TAGS } };
  }
}
