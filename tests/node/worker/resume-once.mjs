// One resume; prints its outcome. Usage: node resume-once.mjs <url> <credential> <lastSeq>
import { connect, emitAck, out, deadline } from "./common.mjs";

deadline(15000);
const [url, credential, lastSeq] = process.argv.slice(2);
const s = await connect(url);
const ack = await emitAck(s, "resume", { credential, lastSeq: Number(lastSeq) });
out({ check: "resume", ok: true, value: ack.ok ? "resumed" : ack.error.code });
s.close();
out({ done: true });
