// Hooks that fail: a worker (C) whose onJoin is down and fails open, and whose onEvent
// always answers 500 and fails closed, with a breaker of 3 failures; a worker (D) whose
// onJoin is down and fails closed; a worker (E) whose failing onEvent fails open.
// Usage: node hooks-failure.mjs <urlC> <urlD> <urlE> <room>
import { connect, emitAck, out, deadline, check } from "./common.mjs";

deadline(40000);
const [urlC, urlD, urlE, room] = process.argv.slice(2);

async function join(url, name) {
  const socket = await connect(url);
  const ack = await emitAck(socket, "join", { room, name });
  return { socket, ack };
}
const outcome = (ack) => (ack.ok ? "accepted" : `${ack.error.code} ${(/\(([a-z_]+)\)/.exec(ack.error.message) || [])[1]}`);

const c = await join(urlC, "c1");
await check("down_join_hook_fails_open", async () => outcome(c.ack));
await check("failing_event_hook_opens_its_breaker", async () => {
  const seen = [];
  for (let i = 0; i < 5; i++) seen.push(outcome(await emitAck(c.socket, "act", { i })));
  return seen;
});

const d = await join(urlD, "d1");
await check("down_join_hook_fails_closed", async () => outcome(d.ack));
d.socket.close();

const e = await join(urlE, "e1");
await check("failing_event_hook_fails_open", async () => {
  if (!e.ack.ok) throw new Error(`join: ${JSON.stringify(e.ack)}`);
  return outcome(await emitAck(e.socket, "act", { i: 1 }));
});

for (const p of [c, e]) p.socket.close();
out({ done: true });
process.exit(0);
