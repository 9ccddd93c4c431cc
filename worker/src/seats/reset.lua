-- A room of this shard as a process that just started finds it (after ledger.lua): nobody
-- is seated here yet, so the players an earlier process of the shard counted are gone.
-- Reservations stay: their holders may still join. KEYS: room:{room}:seats,
-- room:{room}:resv. ARGV: shard.
-- Returns {'room', shard, index, free, version, first expiry, players forgotten}, or
-- {'gone'} for a room that no longer exists or is not this shard's.
if redis.call('HGET', KEYS[1], 'shard') ~= ARGV[1] then
  return {'gone'}
end
local forgotten = tonumber(redis.call('HGET', KEYS[1], 'players')) or 0
if forgotten ~= 0 then
  redis.call('HSET', KEYS[1], 'players', '0')
  redis.call('HINCRBY', KEYS[1], 'version', 1)
end
ledger_trim(ledger_now())
local s = ledger_state()
return {'room', ARGV[1], ledger_index(), s[1], s[2], s[3], string.format('%d', forgotten)}
