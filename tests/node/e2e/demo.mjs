// Drives the demo page in Debian's headless Chromium: two tabs reserve seats through the
// matchmaker, join their worker, and each must see the other move; a reload of one tab
// within the resume window must take the same seat back. Also loads the status page. Prints one JSON line per check ({"check", "ok", "value"}) and saves screenshots.
//
//   node e2e/demo.mjs MATCHMAKER_URL ARTIFACTS_DIR USER_DATA_DIR

import { chromium } from "playwright-core";
import path from "node:path";

const [matchmaker, artifacts, userDataDir] = process.argv.slice(2);
if (!matchmaker || !artifacts || !userDataDir) {
  console.error("usage: demo.mjs MATCHMAKER_URL ARTIFACTS_DIR USER_DATA_DIR");
  process.exit(2);
}

const TIMEOUT = 20_000;
let failed = false;
function report(check, ok, value) {
  if (!ok) failed = true;
  console.log(JSON.stringify({ check, ok, value }));
}

const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
  viewport: { width: 1100, height: 700 },
});

const consoleErrors = [];
async function open(name) {
  const page = await context.newPage();
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(name + ": " + m.text()); });
  page.on("pageerror", (e) => consoleErrors.push(name + ": " + e.message));
  await page.goto(`${matchmaker}/demo?track=demo&name=${name}`);
  await page.waitForFunction(
    () => window.roomshard && ["joined", "failed"].includes(window.roomshard.state.phase),
    null, { timeout: TIMEOUT });
  const st = await page.evaluate(() => {
    const s = window.roomshard.state;
    return { phase: s.phase, error: s.error, room: s.room, shard: s.shard, self: s.self, x: s.x, y: s.y };
  });
  report(`${name} joined`, st.phase === "joined", st);
  return { page, st };
}

/** Waits until `page` sees the entity `id` near (x, y); returns what it saw. */
async function waitSees(page, id, x, y, within) {
  await page.waitForFunction(([id, x, y, within]) => {
    const o = window.roomshard.others().find((e) => e.id === id);
    return o && Math.hypot(o.x - x, o.y - y) <= within;
  }, [id, x, y, within], { timeout: TIMEOUT });
  return page.evaluate((id) => window.roomshard.others().find((e) => e.id === id), id);
}

try {
  const alice = await open("alice");
  const bob = await open("bob");
  if (failed) throw new Error("a tab did not join");
  report("same room", alice.st.room === bob.st.room && alice.st.shard === bob.st.shard,
    { alice: alice.st.room, bob: bob.st.room, shard: alice.st.shard });

  // Alice clicks on Bob's spot; her tab walks there and Bob's tab must see her arrive.
  const canvas = await alice.page.locator("#world").boundingBox();
  const world = await alice.page.evaluate(() => ({ w: window.roomshard.state.width, h: window.roomshard.state.height }));
  const bx = bob.st.x, by = bob.st.y;
  // Keep the click on the canvas: a spawn on the world's edge maps to the pixel just past it.
  const inside = (v, size) => Math.min(Math.max(v, 1), size - 1);
  await alice.page.mouse.click(
    canvas.x + inside(bx / world.w * canvas.width, canvas.width),
    canvas.y + inside(by / world.h * canvas.height, canvas.height));
  const seen = await waitSees(bob.page, alice.st.self, bx, by, 5);
  report("bob sees alice arrive after her click", true, seen);
  const back = await waitSees(alice.page, bob.st.self, bx, by, 1);
  report("alice sees bob", true, back);

  // Arrow keys: Alice walks left (or right near the left edge) and Bob sees her move.
  const key = bx > 300 ? "ArrowLeft" : "ArrowRight";
  const sign = key === "ArrowLeft" ? -1 : 1;
  await alice.page.locator("#world").focus();
  await alice.page.keyboard.down(key);
  // The position is read in the same evaluation that saw the move: Alice keeps walking until
  // the key is up, and on a busy machine she may walk out of Bob's area of interest first.
  const walked = await bob.page.waitForFunction(([id, x0, sign]) => {
    const o = window.roomshard.others().find((e) => e.id === id);
    return o && sign * (o.x - x0) >= 40 ? { x: o.x, y: o.y } : false;
  }, [alice.st.self, seen.x, sign], { timeout: TIMEOUT });
  await alice.page.keyboard.up(key);
  const moved = await walked.jsonValue();
  report("bob sees alice walk with the arrow keys", true, { key, from: seen.x, to: moved.x });

  // The live counters on Bob's page: two players, view batches and bytes flowing.
  await bob.page.waitForFunction(() => {
    const s = window.roomshard.state;
    return s.players === 2 && s.batchesPerSec > 0 && s.bytesPerSec > 0;
  }, null, { timeout: TIMEOUT });
  const counters = await bob.page.evaluate(() => ({
    players: document.getElementById("players").textContent,
    shard: document.getElementById("shard").textContent,
    viewBatchesPerSec: document.getElementById("vps").textContent,
    bytesPerSec: document.getElementById("bps").textContent,
  }));
  report("counters", counters.players === "2" && counters.shard === String(bob.st.shard), counters);

  await alice.page.screenshot({ path: path.join(artifacts, "demo-alice.png") });
  await bob.page.screenshot({ path: path.join(artifacts, "demo-bob.png") });

  // A reload within the resume window takes the same seat back (the page keeps the
  // session in sessionStorage), and the other tab never sees the player leave.
  await alice.page.reload();
  await alice.page.waitForFunction(
    () => window.roomshard && ["joined", "failed", "closed"].includes(window.roomshard.state.phase),
    null, { timeout: TIMEOUT });
  const again = await alice.page.evaluate(() => {
    const s = window.roomshard.state;
    return { phase: s.phase, how: s.how, self: s.self, room: s.room, shard: s.shard, error: s.error };
  });
  report("alice resumes after a reload",
    again.phase === "joined" && again.how === "resumed" && again.self === alice.st.self && again.room === alice.st.room,
    { before: alice.st.self, after: again });
  const bobSawLeave = await bob.page.evaluate((id) => window.roomshard.state.leftIds.includes(id), alice.st.self);
  report("bob never saw alice leave", !bobSawLeave, { leftIds: await bob.page.evaluate(() => window.roomshard.state.leftIds) });

  // The status page lists the shards and the demo room with its two players.
  const status = await context.newPage();
  status.on("pageerror", (e) => consoleErrors.push("status: " + e.message));
  await status.goto(`${matchmaker}/`);
  await status.waitForFunction((room) => {
    const rows = Array.from(document.querySelectorAll("#rooms tbody tr"));
    const shards = document.querySelectorAll("#shards tbody tr").length;
    return shards === 3 && rows.some((r) => r.cells[0].textContent === room && r.cells[3].textContent === "2");
  }, alice.st.room, { timeout: TIMEOUT });
  const shardRows = await status.evaluate(() =>
    Array.from(document.querySelectorAll("#shards tbody tr")).map((r) => r.cells[1].textContent));
  report("status page", shardRows.every((h) => h === "healthy"), shardRows);
  await status.screenshot({ path: path.join(artifacts, "status.png"), fullPage: true });
  report("no page errors", consoleErrors.length === 0, consoleErrors);
} catch (e) {
  report("driver", false, String(e && e.stack || e));
  for (const [i, p] of context.pages().entries()) {
    await p.screenshot({ path: path.join(artifacts, `failure-${i}.png`) }).catch(() => {});
  }
} finally {
  await context.close();
}
process.exit(failed ? 1 : 0);
