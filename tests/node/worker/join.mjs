// Joins with each payload of a JSON list, one fresh connection each, and prints the acks.
// Usage: node join.mjs <url> '<json array of join payloads>'
import { connect, emitAck, out, deadline } from "./common.mjs";

deadline(30000);
const [url, list] = process.argv.slice(2);
for (const payload of JSON.parse(list)) {
  const s = await connect(url);
  try { out({ ack: await emitAck(s, "join", payload) }); }
  catch (e) { out({ ack: null, error: String(e.message || e) }); }
  s.close();
}
out({ done: true });
process.exit(0);
