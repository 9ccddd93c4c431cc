-- Marks a room of this shard as draining, or not (after ledger.lua): a draining room
-- takes no reservation, and its track's index counts no free seat in it.
-- KEYS: room:{room}:seats, room:{room}:resv. ARGV: '1' or '0', shard.
-- Returns {'room', shard, index, free, version, first expiry}, or {'gone'} for a room
-- that no longer exists or is not this shard's.
if redis.call('HGET', KEYS[1], 'shard') ~= ARGV[2] then
  return {'gone'}
end
if (redis.call('HGET', KEYS[1], 'draining') or '0') ~= ARGV[1] then
  redis.call('HSET', KEYS[1], 'draining', ARGV[1])
  redis.call('HINCRBY', KEYS[1], 'version', 1)
end
ledger_trim(ledger_now())
local s = ledger_state()
return {'room', ARGV[2], ledger_index(), s[1], s[2], s[3]}
