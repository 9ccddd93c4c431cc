-- Closes a room left empty, in its own slot. KEYS: room:{room}:seats, room:{room}:resv.
-- ARGV: room, now, shard, track (or the room's placement index, as a report named it).
-- Returns {1, version, index} closed, {0} already gone, {-1} players, {-2} reservations,
-- {-3} the record changed under us. The caller then takes the room out of that placement
-- index (with that version) and the set's registries.
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
if (tonumber(redis.call('HGET', KEYS[1], 'players')) or 0) > 0 then return {-1} end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[2]) > 0 then return {-2} end
local f = redis.call('HMGET', KEYS[1], 'shard', 'track', 'index')
if f[1] ~= ARGV[3] then return {-3} end
local track = f[2] or ''
local index = (f[3] and f[3] ~= '') and f[3] or track
if track ~= ARGV[4] and index ~= ARGV[4] then return {-3} end
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('DEL', KEYS[1], KEYS[2])
return {1, version, index}
