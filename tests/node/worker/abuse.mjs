// Abuse a worker: an oversized message (over one transport) and an event flood. The
// offender must be disconnected; a bystander must stay connected and served.
// Usage: node abuse.mjs <url> <oversize-ws|oversize-polling|flood> <bytes> [repeat]
import { connect, emitAck, waitFor, waitDisconnect, out, deadline } from "./common.mjs";

deadline(60000);
const [url, mode, bytesArg, repeatArg] = process.argv.slice(2);
const bytes = Number(bytesArg), repeat = Number(repeatArg || 1);
const room = `abuse-${process.pid}`;
const bystander = await connect(url);
await emitAck(bystander, "join", { room, name: "bystander" });

const reasons = [];
let rateLimited = false;
if (mode === "flood") {
  const a = await connect(url);
  await emitAck(a, "join", { room, name: "flooder" });
  a.on("error", (e) => { if (e.code === "rate_limited") rateLimited = true; });
  const gone = waitDisconnect(a, 10000);
  for (let i = 0; i < 5000 && a.connected; i++) a.emit("move", { x: i % 1000, y: 1 });
  reasons.push(await gone);
} else {
  const transports = mode === "oversize-polling" ? ["polling"] : ["websocket"];
  const text = "x".repeat(bytes);
  for (let i = 0; i < repeat; i++) {
    const a = await connect(url, transports);
    const gone = waitDisconnect(a, 10000);
    a.emit("say", { text });
    reasons.push(await gone);
  }
}
const ack = await emitAck(bystander, "say", { text: "still here" }).catch((e) => ({ ok: false, error: String(e) }));
out({ reasons, rateLimited, bystanderConnected: bystander.connected, bystanderSay: ack.ok === true });
bystander.close();
process.exit(0);
