// The game's backend: a tiny HTTP server the workers call as their onJoin and onEvent
// hooks (docs/PROTOCOL.md, "Server hooks"). It keeps one Round per room and is the only
// one who decides who is "it".
//
// Usage: PORT=4000 [HOOK_SECRET=...] node examples/tag/backend.mjs
import { createServer } from "node:http";
import { createHmac, timingSafeEqual } from "node:crypto";
import { Round } from "./rules.mjs";

const port = Number(process.env.PORT || 4000);
const secret = process.env.HOOK_SECRET || "";
const rounds = new Map();
const roundOf = (room) => {
  if (!rounds.has(room)) rounds.set(room, new Round());
  return rounds.get(room);
};

// With HOOK_SECRET, a request must carry the workers' HMAC of its body.
function signed(req, body) {
  if (!secret) return true;
  const want = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
  const got = String(req.headers["x-roomshard-signature"] || "");
  return got.length === want.length && timingSafeEqual(Buffer.from(got), Buffer.from(want));
}

function onJoin(req) {
  const state = roundOf(req.room).join(req.player.id);
  return { version: 1, state, metadata: { role: state.it ? "it" : "runner" } };
}

function onEvent(req) {
  if (req.event !== "tag") return { version: 1, reject: { code: "unknown_event" } };
  const { target, seen } = req.data || {};
  const out = roundOf(req.room).tag(req.player.id, target, seen);
  if (out.refuse) return { version: 1, reject: { code: out.refuse } };
  return {
    version: 1,
    reply: out.verdict,
    emit: [{ event: "tagged", scope: "room", data: out.verdict }],
  };
}

const routes = { "/hooks/join": onJoin, "/hooks/event": onEvent };

const server = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    return;
  }
  const handle = routes[req.url];
  if (req.method !== "POST" || !handle) {
    res.writeHead(404).end();
    return;
  }
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    if (!signed(req, body)) {
      res.writeHead(401).end();
      return;
    }
    let answer;
    try {
      answer = handle(JSON.parse(body.toString("utf8")));
    } catch {
      res.writeHead(400).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
  });
});

server.listen(port, "127.0.0.1", () => {
  console.log(JSON.stringify({ listening: port }));
});
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
