-- Takes a seat without a reservation (dev runs), opening the room if absent (after
-- ledger.lua). KEYS: room:{room}:seats, room:{room}:resv.
-- ARGV: room, shard, track, capacity, now, deadline (ms).
-- Returns {1, players, track, opened (1/0), first seat ever (1/0), free, version,
--         first expiry, placement index},
--         {-4, players, ''} when full, {-5, 0, ''} past the deadline,
--         {-6, 0, ''} for a private room, which only a reservation naming it seats.
if ledger_now() > tonumber(ARGV[6]) then
  return {-5, 0, ''}
end
if redis.call('HGET', KEYS[1], 'private') == '1' then
  return {-6, 0, ''}
end
local opened = 0
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'schema', '2', 'shard', ARGV[2], 'track', ARGV[3],
    'capacity', ARGV[4], 'players', '0', 'created_at', ARGV[5],
    'version', string.format('%d', tonumber(ARGV[5]) * 1000))
  opened = 1
end
ledger_trim(ARGV[5])
if tonumber(ledger_state()[1]) < 1 then
  return {-4, tonumber(redis.call('HGET', KEYS[1], 'players')) or 0, ''}
end
local players = redis.call('HINCRBY', KEYS[1], 'players', 1)
redis.call('HINCRBY', KEYS[1], 'version', 1)
local first = redis.call('HSETNX', KEYS[1], 'started', '1')
local s = ledger_state()
return {1, players, redis.call('HGET', KEYS[1], 'track') or '', opened, first, s[1], s[2], s[3],
        ledger_index()}
