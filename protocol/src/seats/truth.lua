-- Reads a room's seats again for the placement index (after ledger.lua).
--
-- KEYS[1]  room:{room}:seats   KEYS[2]  room:{room}:resv
--
-- Returns {'gone'} for a room that no longer exists, else
--         {'room', shard, track, free, version, first expiry or 0}.

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'gone'}
end
ledger_trim(ledger_now())
local f = redis.call('HMGET', KEYS[1], 'shard', 'track')
local s = ledger_state()
return {'room', f[1] or '', f[2] or '', s[1], s[2], s[3]}
