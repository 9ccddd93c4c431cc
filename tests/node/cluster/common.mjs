// Shared by the local cluster's scenarios: a reservation through the ingress, and a
// player that joins the seat it was handed and keeps its view.
import { connectHanded, emitAck, ViewTracker } from "../worker/common.mjs";

export async function reserve(base, body) {
  const started = Date.now();
  const answer = await fetch(`${base}/reserve`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const text = await answer.text();
  if (answer.status !== 200) throw new Error(`reserve answered ${answer.status}: ${text}`);
  return { ...JSON.parse(text), started };
}

// Reserves on fresh tracks until a seat lands on `shard` (or on any shard when it is
// undefined), `tries` at most.
export async function reserveOn(base, shard, player, tries = 40) {
  for (let i = 0; i < tries; i++) {
    const seat = await reserve(base, { track: `t-${player}-${i}`, player: `${player}-${i}` });
    if (shard === undefined || seat.shard === shard) return seat;
  }
  throw new Error(`no seat on shard ${shard} in ${tries} reservations`);
}

// Connects to the URL a seat names, trying again for a few seconds as socket.io-client's
// own reconnection does: a worker restarted a moment ago beats (and is handed seats)
// before its readiness probe passes and the ingress routes to it again.
async function connectRetrying(url, ms = 8000) {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await connectHanded(url);
    } catch (e) {
      if (Date.now() > until) throw new Error(`connect to ${url}: ${e.message}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

// Joins the seat; resolves with {socket, ack, view, firstViewMs} once the first
// view batch after the join arrived (the time counts from the reservation's start).
export async function play(seat, name) {
  const socket = await connectRetrying(seat.url);
  const view = new ViewTracker(socket);
  let firstView = null;
  socket.once("view", () => { firstView = Date.now(); });
  const ack = await emitAck(socket, "join", { room: seat.room, token: seat.token, name });
  if (!ack.ok) throw new Error(`join refused: ${JSON.stringify(ack.error)}`);
  view.init(ack.self, ack.view || []);
  await emitAck(socket, "move", { x: 10, y: 10 });
  const until = Date.now() + 5000;
  while (firstView === null && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  return { socket, ack, view, firstViewMs: firstView === null ? null : firstView - seat.started };
}
