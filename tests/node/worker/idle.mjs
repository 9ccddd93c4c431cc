// Opens N idle WebSocket connections, prints {"connected": N}, and holds them until
// stdin closes. Usage: node idle.mjs <url> <n>
import { connect, out } from "./common.mjs";

const [url, nArg] = process.argv.slice(2);
const n = Number(nArg);
const sockets = [];
for (let i = 0; i < n; i += 200) {
  const batch = [];
  for (let j = i; j < Math.min(n, i + 200); j++) batch.push(connect(url));
  sockets.push(...(await Promise.all(batch)));
}
out({ connected: sockets.filter((s) => s.connected).length });
process.stdin.resume();
process.stdin.on("end", () => { for (const s of sockets) s.close(); process.exit(0); });
