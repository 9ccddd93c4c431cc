-- Opens a slot for a new room on the least-loaded of the candidate shards, atomically with
-- what says whether the shard may take it: its heartbeat, the draining set and its room
-- count all live in the set's shard slot (docs/REDIS.md, "Reserve").
--
-- KEYS[1] draining  KEYS[2] all-rooms, then per candidate: shard:{i}, owned:{i}
-- ARGV[1] C, then C triples: shard index, new room id, rooms per shard
--
-- A room already claimed (a retry of the same reservation) is answered again.
-- Returns {shard, room} or {} when no candidate may take a room.

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local pick, pick_rooms = nil, nil
for i = 1, tonumber(ARGV[1]) do
  local shard, room, limit = ARGV[3 * i - 1], ARGV[3 * i], tonumber(ARGV[3 * i + 1])
  local beat, owned = KEYS[1 + 2 * i], KEYS[2 + 2 * i]
  if redis.call('SISMEMBER', owned, room) == 1 then
    return {shard, room}
  end
  if redis.call('EXISTS', beat) == 1 and redis.call('SISMEMBER', KEYS[1], shard) == 0
      and redis.call('ZSCORE', KEYS[2], room) == false then
    local rooms = redis.call('SCARD', owned)
    if rooms < limit and (pick == nil or rooms < pick_rooms) then
      pick, pick_rooms = i, rooms
    end
  end
end
if not pick then
  return {}
end
local shard, room = ARGV[3 * pick - 1], ARGV[3 * pick]
redis.call('SADD', KEYS[2 + 2 * pick], room)
redis.call('ZADD', KEYS[2], now, room)
return {shard, room}
