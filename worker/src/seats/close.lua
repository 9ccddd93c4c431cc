-- KEYS: room:{room}, room:{room}:resv, rooms, track:{track}, shard:{shard}:rooms.
-- ARGV: room, now, shard, track. 1 closed, 0 already gone, -1 players, -2 reservations,
-- -3 the record changed under us.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if (tonumber(redis.call('HGET', KEYS[1], 'players')) or 0) > 0 then return -1 end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[2]) > 0 then return -2 end
if redis.call('HGET', KEYS[1], 'shard') ~= ARGV[3] then return -3 end
if (redis.call('HGET', KEYS[1], 'track') or '') ~= ARGV[4] then return -3 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('SREM', KEYS[4], ARGV[1])
redis.call('SREM', KEYS[5], ARGV[1])
return 1
