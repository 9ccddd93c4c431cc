// A seat reserved with a player's JWT is taken only by that player: another player who
// got hold of the token, with its own JWT, with a forged one or with none, is refused on
// every transport, and the refused attempts leave the seat for its owner.
// Usage: node bound-seat.mjs <matchmaker url> <owner JWT> <other player JWT> <JWT signed with another key>
import { connect, emitAck, out, deadline, check } from "../worker/common.mjs";

deadline(30000);
const [matchmaker, ownerJwt, otherJwt, forgedJwt] = process.argv.slice(2);
const code = (ack) => (ack.ok ? "joined" : ack.error.code);

const answer = await fetch(`${matchmaker}/reserve`, {
  method: "POST",
  headers: { "content-type": "application/json", authorization: `Bearer ${ownerJwt}` },
  body: JSON.stringify({ track: "bound" }),
});
const seat = await answer.json();
if (answer.status !== 200) throw new Error(`reserve answered ${answer.status}: ${JSON.stringify(seat)}`);

const attempt = async (transport, identity) => {
  const s = await connect(seat.url, [transport]);
  try {
    const join = { room: seat.room, token: seat.token };
    if (identity !== undefined) join.identity = identity;
    return code(await emitAck(s, "join", join));
  } finally { s.close(); }
};
for (const transport of ["websocket", "polling"]) {
  await check(`${transport}_no_identity`, () => attempt(transport));
  await check(`${transport}_other_player`, () => attempt(transport, otherJwt));
  await check(`${transport}_forged_identity`, () => attempt(transport, forgedJwt));
  await check(`${transport}_garbage_identity`, () => attempt(transport, "x".repeat(100)));
}
await check("owner_joins", async () => {
  const s = await connect(seat.url, ["websocket"]);
  const ack = await emitAck(s, "join", { room: seat.room, token: seat.token, identity: ownerJwt });
  s.close();
  return { code: code(ack), publicId: ack.self };
});
process.exit(0);
