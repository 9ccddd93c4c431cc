// Hostile resumes and session theft: none takes over another player's session, and none
// leaves a half-resumed player.
// Usage: node resume-attacks.mjs <url of shard 0> <url of shard 1>
//   (both workers of one set, with one token secret)
import http from "node:http";
import { connect, emitAck, waitFor, waitDisconnect, out, deadline, check } from "./common.mjs";

deadline(40000);
const [url, otherShard] = process.argv.slice(2);
const room = `attacks-${process.pid}`;
const code = (ack) => (ack.ok ? "resumed" : ack.error.code);
const resumeFrom = async (target, credential, lastSeq) => {
  const s = await connect(target);
  try { return code(await emitAck(s, "resume", { credential, lastSeq })); }
  finally { s.close(); }
};

const victim = await connect(url, ["polling"]);
const jv = await emitAck(victim, "join", { room, name: "victim" });
const attacker = await connect(url);
const ja = await emitAck(attacker, "join", { room, name: "attacker" });

// 1. The victim's public id is not its session: the attacker read it from presence and
//    tries it as an Engine.IO sid on every transport.
const base = `${url}/socket.io/?EIO=4`;
const poll = await fetch(`${base}&transport=polling&sid=${encodeURIComponent(jv.self)}`);
const pollBody = await poll.text();
await check("sid_poll_get", async () => ({ status: poll.status, leaks: pollBody.includes("said") || pollBody.includes("view") }));
const post = await fetch(`${base}&transport=polling&sid=${encodeURIComponent(jv.self)}`, {
  method: "POST", headers: { "content-type": "text/plain;charset=UTF-8" },
  body: '42["say",{"text":"spoofed"}]',
});
await check("sid_poll_post", async () => post.status);
const upgrade = await new Promise((resolve) => {
  const req = http.get(`${base}&transport=websocket&sid=${encodeURIComponent(jv.self)}`, {
    headers: { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" },
  });
  req.on("upgrade", (res, socket) => { socket.destroy(); resolve(res.statusCode); });
  req.on("response", (res) => { res.resume(); resolve(res.statusCode); });
  req.on("error", (e) => resolve(String(e)));
});
await check("sid_ws_upgrade", async () => upgrade);
const spoofHeard = waitFor(attacker, "said", (m) => m.text === "spoofed", 800).then(() => true, () => false);
await check("spoofed_chat_never_spoken", async () => await spoofHeard);

// 2. Credentials that are not the victim's to use.
const [payload, sig] = jv.resume.split(".");
const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, "base64url")), player: ja.self })).toString("base64url");
const flip = (s) => s.slice(0, 4) + (s[4] === "A" ? "B" : "A") + s.slice(5);
await check("forged_random", async () => resumeFrom(url, "eyJ2IjoxfQ.AAAA", 0));
await check("tampered_signature", async () => resumeFrom(url, `${payload}.${flip(sig)}`, 0));
await check("claims_swapped_for_another_player", async () => resumeFrom(url, `${forged}.${sig}`, 0));
await check("reservation_shaped_garbage", async () => resumeFrom(url, "x".repeat(5000), 0));
await check("another_shard", async () => resumeFrom(otherShard, jv.resume, 0));
await check("last_seq_never_sent", async () => resumeFrom(url, jv.resume, 1_000_000));
await check("victim_still_playing", async () => (await emitAck(victim, "say", { text: "still me" })).ok);

// 3. The owner's own resume from a second connection while the first still looks alive
//    (a drop the server has not noticed): the new one takes the player over, the old one
//    is closed, and nobody saw a leave.
const lefts = [];
attacker.on("presence", (p) => { if (p.left.includes(jv.self)) lefts.push(p); });
const oldClosed = waitDisconnect(victim, 5000);
const second = await connect(url);
const took = await emitAck(second, "resume", { credential: jv.resume, lastSeq: jv.seq });
await check("takeover", async () => ({ ok: took.ok, sameId: took.self === jv.self, oldClosed: Boolean(await oldClosed) }));

// 4. Two resumes race for the session with one credential: exactly one wins.
const away = waitFor(attacker, "presence", (p) => (p.away ?? []).includes(jv.self), 5000);
second.close();
await away;
const racers = await Promise.all([connect(url), connect(url)]);
const results = await Promise.all(racers.map((s) => emitAck(s, "resume", { credential: took.resume, lastSeq: took.seq })));
const winner = racers[results.findIndex((r) => r.ok)];
const loser = racers[results.findIndex((r) => !r.ok)];
await check("race", async () => results.map(code).sort());
await check("race_loser_has_no_player", async () => loser ? (await emitAck(loser, "say", { text: "x" })).error.code : "no loser");
await check("race_winner_plays", async () => winner ? (await emitAck(winner, "say", { text: "won" })).ok : "no winner");
await check("nobody_saw_a_leave", async () => lefts.length);
const last = results.find((r) => r.ok);
for (const s of racers) s.close();
attacker.close();
// The credential now held, for the caller to present to this shard's next process.
out({ check: "held", ok: true, value: { credential: last && last.resume, lastSeq: last && last.seq } });
out({ done: true });
