-- Turns a reservation into a player, in the room's own slot: the last guard on a seat,
-- whatever the matchmaker's view of the shards was when it granted the reservation.
-- KEYS: room:{room}:resv:{nonce}, room:{room}:resv, room:{room}:seats.
-- ARGV: nonce, shard, deadline (ms).
-- Free seats do not change (a reservation becomes a player), so the track's index needs
-- no report.
local t = redis.call('TIME')
if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > tonumber(ARGV[3]) then
  return {-5, 0, ''}
end
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, 0, ''} end
if redis.call('EXISTS', KEYS[3]) == 0 then return {-2, 0, ''} end
if redis.call('HGET', KEYS[3], 'shard') ~= ARGV[2] then return {-3, 0, ''} end
local players = tonumber(redis.call('HGET', KEYS[3], 'players')) or 0
local capacity = tonumber(redis.call('HGET', KEYS[3], 'capacity')) or 0
if players + 1 > capacity then return {-4, players, ''} end
if redis.call('DEL', KEYS[1]) ~= 1 then return {-1, 0, ''} end
redis.call('ZREM', KEYS[2], ARGV[1])
players = redis.call('HINCRBY', KEYS[3], 'players', 1)
-- 1 for the first seat ever taken in the room (its onRoomCreated), 0 after.
local first = redis.call('HSETNX', KEYS[3], 'started', '1')
return {1, players, redis.call('HGET', KEYS[3], 'track') or '', first}
