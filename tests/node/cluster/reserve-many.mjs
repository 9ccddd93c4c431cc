// Reservations on fresh tracks through the ingress, each joined at the URL it was handed;
// prints how many went to each shard, and fails if any seat cannot be taken.
// Usage: node reserve-many.mjs <ingress url> <count>
import { check, deadline } from "../worker/common.mjs";
import { reserve, play } from "./common.mjs";

deadline(50000);
const [base, count] = process.argv.slice(2);
await check("shards", async () => {
  const by = {};
  for (let i = 0; i < Number(count); i++) {
    const seat = await reserve(base, { track: `many-${Date.now()}-${i}`, player: `many-${i}` });
    const p = await play(seat, `many-${i}`);
    p.socket.close();
    by[seat.shard] = (by[seat.shard] || 0) + 1;
  }
  return by;
});
process.exit(0);
