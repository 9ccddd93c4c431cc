-- Gives a player's seat back (after ledger.lua). KEYS: room:{room}:seats, room:{room}:resv.
-- Returns {players left, index, shard, free, version, first expiry}, or {-1} when the
-- room is gone.
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1} end
local players = redis.call('HINCRBY', KEYS[1], 'players', -1)
if players < 0 then
  redis.call('HSET', KEYS[1], 'players', '0')
  players = 0
end
redis.call('HINCRBY', KEYS[1], 'version', 1)
local shard = redis.call('HGET', KEYS[1], 'shard')
local s = ledger_state()
return {players, ledger_index(), shard or '', s[1], s[2], s[3]}
