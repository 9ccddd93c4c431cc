// A joined client that waits for the worker to drain: prints "joined", the draining
// notice, the answer to a join attempted while draining, and the disconnect.
// Usage: node drain.mjs <url> <room>
import { connect, emitAck, waitFor, waitDisconnect, out, deadline } from "./common.mjs";

deadline(30000);
const [url, room] = process.argv.slice(2);
const a = await connect(url);
const b = await connect(url);
const draining = waitFor(a, "draining", () => true, 25000);
const ja = await emitAck(a, "join", { room });
out({ joined: ja.ok });
const notice = await draining;
out({ draining: notice });
const late = await emitAck(b, "join", { room }).catch((e) => ({ error: { code: String(e.message) } }));
out({ late_join: late.ok ? "accepted" : late.error.code });
b.close();
const reason = await waitDisconnect(a, 25000);
out({ disconnected: reason });
process.exit(0);
