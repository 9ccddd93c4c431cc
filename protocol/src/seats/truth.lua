-- Reads a room's seats again for the placement index (after ledger.lua).
--
-- KEYS[1]  room:{room}:seats   KEYS[2]  room:{room}:resv
--
-- Returns {'gone'} for a room that no longer exists, else
--         {'room', shard, index, free, version, first expiry or 0}: `index` is the
--         placement index the room belongs to (its track, or its metadata's).

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'gone'}
end
ledger_trim(ledger_now())
local shard = redis.call('HGET', KEYS[1], 'shard')
local s = ledger_state()
return {'room', shard or '', ledger_index(), s[1], s[2], s[3]}
