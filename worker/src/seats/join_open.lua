-- KEYS: room:{room}, rooms, track:{track}, shard:{i}:rooms, room:{room}:resv.
-- ARGV: room, shard, track, capacity, now, deadline (ms).
local t = redis.call('TIME')
if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > tonumber(ARGV[6]) then
  return {-5, 0, ''}
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'schema', '1', 'shard', ARGV[2], 'track', ARGV[3],
    'capacity', ARGV[4], 'players', '0', 'created_at', ARGV[5])
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
  redis.call('SADD', KEYS[3], ARGV[1])
  redis.call('SADD', KEYS[4], ARGV[1])
end
local capacity = tonumber(redis.call('HGET', KEYS[1], 'capacity')) or tonumber(ARGV[4])
local players = tonumber(redis.call('HGET', KEYS[1], 'players')) or 0
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', ARGV[5])
local reserved = redis.call('ZCARD', KEYS[5])
if players + reserved + 1 > capacity then return {-4, players, ''} end
players = redis.call('HINCRBY', KEYS[1], 'players', 1)
return {1, players, redis.call('HGET', KEYS[1], 'track') or ''}
