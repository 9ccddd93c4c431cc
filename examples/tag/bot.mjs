// Plays one round of tag with bots on the official client (@roomshard/client): they reserve
// seats in one room, "it" chases the nearest runner it sees and claims a tag through the
// backend's onEvent hook, runners flee and taunt whoever is near, and every player shows
// whether it is "it" in its entity state. Prints one JSON line per happening and a summary.
//
// Usage: node examples/tag/bot.mjs [--matchmaker http://127.0.0.1:8080] [--bots 3]
//                                  [--track tag] [--timeout 60000]
import { play } from "../../clients/js/src/index.js";
import { IT_SPEED, RUNNER_SPEED, TAG_RADIUS, nearest, step, withinReach, distance } from "./rules.mjs";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith("--") ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []),
);
const matchmaker = args.matchmaker || "http://127.0.0.1:8080";
const count = Math.max(2, Number(args.bots || 3));
const track = args.track || "tag";
const timeoutMs = Number(args.timeout || 60000);
const TICK_MS = 50;
/** A new "it" waits this long before its first claim: a little over the rules' cooldown. */
const COOLDOWN_MS = 600;
const out = (line) => console.log(JSON.stringify(line));
const rounded = (p) => ({ x: Math.round(p.x), y: Math.round(p.y) });

class Bot {
  constructor(index, game) {
    this.index = index;
    this.game = game;
    this.others = new Map(); // id -> {x, y, it}
    this.it = game.metadata?.role === "it";
    this.calmUntil = 0;
    this.lastTaunt = 0;
    this.tagsSeen = [];
    this.taunts = 0;
    this.over = null;
    const w = game.world;
    const angle = (2 * Math.PI * index) / count;
    this.pos = { x: w.width / 2 + 40 * Math.cos(angle), y: w.height / 2 + 40 * Math.sin(angle) };
    for (const e of game.view) this.see(e);
    game.on("view", (batch) => {
      for (const e of batch.entered.concat(batch.moved)) this.see(e);
      for (const id of batch.left) this.others.delete(id);
    });
    game.on("tagged", ({ data }) => this.tagged(data));
    game.on("taunt", () => (this.taunts += 1));
  }

  see(e) {
    if (e.id === this.game.self) return;
    const known = this.others.get(e.id) || { it: false };
    const it = "state" in e ? Boolean(e.state && e.state.it) : known.it;
    this.others.set(e.id, { id: e.id, x: e.x, y: e.y, it });
  }

  tagged(verdict) {
    this.tagsSeen.push(verdict);
    const self = this.game.self;
    if (verdict.it === self) {
      this.it = true;
      this.calmUntil = Date.now() + COOLDOWN_MS;
      this.game.setState({ it: true });
    } else if (verdict.by === self) {
      this.it = false;
      this.game.setState({ it: false });
    }
    if (verdict.over) this.over = verdict;
  }

  async tick() {
    const w = this.game.world;
    const others = [...this.others.values()];
    if (this.it) {
      const prey = nearest(this.pos, others) || { x: w.width / 2, y: w.height / 2 };
      this.pos = step(this.pos, prey, IT_SPEED, w);
      if (prey.id && Date.now() >= this.calmUntil && withinReach(this.pos, prey)) {
        this.calmUntil = Date.now() + COOLDOWN_MS;
        const seen = { tagger: rounded(this.pos), target: rounded(prey) };
        const ack = await this.game.send("tag", { target: prey.id, seen });
        if (!ack.ok) out({ bot: this.index, refused: ack.error.reason || ack.error.code });
      }
    } else {
      const chaser = others.find((o) => o.it);
      if (chaser && distance(this.pos, chaser) < 3 * TAG_RADIUS) {
        this.pos = step(this.pos, chaser, RUNNER_SPEED, w, true);
        if (Date.now() - this.lastTaunt > 1000) {
          this.lastTaunt = Date.now();
          this.game.send("taunt", { text: "too slow!" });
        }
      }
    }
    this.game.move(this.pos.x, this.pos.y);
  }
}

const deadline = setTimeout(() => {
  out({ error: `no round ended within ${timeoutMs} ms` });
  process.exit(1);
}, timeoutMs);

const events = ["tagged", "taunt"];
const first = await play({ matchmaker, track, name: "bot-0", events });
const games = [first];
for (let i = 1; i < count; i++) {
  games.push(await play({ matchmaker, track, room: first.room, name: `bot-${i}`, events }));
}
const bots = games.map((g, i) => new Bot(i, g));
for (const b of bots) {
  b.game.move(b.pos.x, b.pos.y, { it: b.it });
  out({ bot: b.index, self: b.game.self, room: b.game.room, shard: b.game.shard, role: b.game.metadata?.role });
}

await new Promise((resolve) => {
  const timer = setInterval(async () => {
    await Promise.all(bots.map((b) => b.tick()));
    if (bots.every((b) => b.over)) {
      clearInterval(timer);
      resolve();
    }
  }, TICK_MS);
});

// Everyone's view of who is "it" has caught up with the last verdict (state rides in view).
const last = bots[0].over;
const agree = () => bots.every((b) => [...b.others.values()].every((o) => o.it === (o.id === last.it)));
for (let i = 0; i < 100 && !agree(); i++) await new Promise((r) => setTimeout(r, TICK_MS));
out({
  round: {
    tags: last.tags,
    loser: last.it,
    tagsSeen: bots.map((b) => b.tagsSeen.length),
    taunts: bots.map((b) => b.taunts),
    statesAgree: agree(),
    its: bots.filter((b) => b.it).map((b) => b.game.self),
  },
});
for (const b of bots) await b.game.leave();
clearTimeout(deadline);
process.exit(0);
