-- Closes a room left empty, in its own slot. KEYS: room:{room}:seats, room:{room}:resv.
-- ARGV: room, now, shard, track. Returns {1, version} closed, {0} already gone,
-- {-1} players, {-2} reservations, {-3} the record changed under us. The caller then
-- takes the room out of its track's index (with that version) and the set's registries.
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
if (tonumber(redis.call('HGET', KEYS[1], 'players')) or 0) > 0 then return {-1} end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[2]) > 0 then return {-2} end
if redis.call('HGET', KEYS[1], 'shard') ~= ARGV[3] then return {-3} end
if (redis.call('HGET', KEYS[1], 'track') or '') ~= ARGV[4] then return {-3} end
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('DEL', KEYS[1], KEYS[2])
return {1, version}
