// Load for the occupancy autoscaler, with the Roomshard game client (clients/js): players
// join one track a step at a time until <top> of them sit on shard 0, printing the wall
// clock (ms since the epoch) at which the count passed <cross>. Then one probe a quarter
// second reserves a fresh track until a seat lands on another shard (the new shard takes
// reservations) and stays there. Writes <dir>/up once it did; when <dir>/drop appears,
// every ramp player but <keep> leaves. A player told `draining` leaves and plays again,
// as a game between matches does. Ends when <dir>/stop appears, printing {ramp} with each
// disconnect nobody asked for that no drain notice came before.
// Usage: node ramp.mjs <ingress url> <top> <cross> <keep> <seconds> <dir>
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { io } from "socket.io-client";
import { play } from "../../../clients/js/src/game.js";
import { deadline, out } from "../worker/common.mjs";

const [base, top, cross, keep, seconds, dir] = process.argv.slice(2);
deadline(Number(seconds) * 1000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const unasked = [];
let drained = 0;
let replayed = 0;

// A game whose every disconnect is checked: a drain notice comes first, or we left.
function watch(game, name, rec = { name }) {
  Object.assign(rec, { game, leaving: false, draining: false });
  const mine = (fn) => (d) => { if (rec.game === game) fn(d); };
  game.on("draining", mine(() => {
    rec.draining = true;
    drained += 1;
    // Between matches: give the seat up and take a new one.
    void (async () => {
      rec.leaving = true;
      await game.leave().catch(() => {});
      const next = await play({ io, matchmaker: base, track: `ramp-again-${Date.now()}`, player: name });
      replayed += 1;
      watch(next, name, rec);
    })().catch((e) => unasked.push({ player: name, replay: String(e.message || e) }));
  }));
  game.on("disconnected", mine((d) => {
    if (!rec.leaving && !rec.draining) unasked.push({ player: name, reason: d.reason, at: Date.now() });
  }));
  return rec;
}

const ramp = [];
let crossedAt = null;
for (let i = 0; i < Number(top); i++) {
  const name = `ramp-${i}`;
  const game = await play({ io, matchmaker: base, track: "ramp", player: name });
  ramp.push(watch(game, name));
  if (ramp.length === Number(cross) + 1) crossedAt = Date.now();
  await sleep(250);
}
out({ ramped: ramp.length, crossedAt });
let probe = null;
let probes = 0;
while (!probe) {
  probes += 1;
  try {
    const game = await play({ io, matchmaker: base, track: `probe-${Date.now()}`, player: `probe-${probes}` });
    if (game.shard !== 0) probe = { game, at: Date.now() };
    else await game.leave();
  } catch (e) {
    if (e.code !== "no_capacity") out({ probeError: String(e.message || e) });
  }
  if (!probe) await sleep(250);
}
const kept = watch(probe.game, "probe");
writeFileSync(join(dir, "up"), JSON.stringify({ crossedAt, seatedAt: probe.at, shard: probe.game.shard, probes }));
while (!existsSync(join(dir, "drop"))) await sleep(100);
for (const p of ramp.slice(Number(keep))) {
  p.leaving = true;
  await p.game.leave().catch(() => {});
}
out({ dropped: ramp.length - Number(keep) });
while (!existsSync(join(dir, "stop"))) await sleep(100);
out({ ramp: { unasked, drained, replayed, probes, probeShard: kept.game.shard } });
for (const p of [...ramp.slice(0, Number(keep)), kept]) {
  p.leaving = true;
  await p.game.leave().catch(() => {});
}
process.exit(0);
