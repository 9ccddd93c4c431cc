// Reservations on fresh tracks through the ingress; prints how many went to each shard.
// Usage: node reserve-many.mjs <ingress url> <count>
import { check, deadline } from "../worker/common.mjs";
import { reserve } from "./common.mjs";

deadline(50000);
const [base, count] = process.argv.slice(2);
await check("shards", async () => {
  const by = {};
  for (let i = 0; i < Number(count); i++) {
    const seat = await reserve(base, { track: `many-${Date.now()}-${i}`, player: `many-${i}` });
    by[seat.shard] = (by[seat.shard] || 0) + 1;
  }
  return by;
});
process.exit(0);
