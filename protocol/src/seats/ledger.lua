-- The seats of one room, as every script that reads or changes them sees them
-- (docs/REDIS.md, "Seats"). Such a script takes the room's seats hash as KEYS[1] and its
-- reservations as KEYS[2], both in the room's own slot.
--
-- free = capacity - players - live reservations, never below 0, and 0 while the room's
-- worker drains. `version` grows with every change of free, so the track's placement
-- index keeps the newest report of it.

local function ledger_now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Drops the reservations that expired by `now`; a seat freed that way is a change.
local function ledger_trim(now)
  local n = redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if n > 0 then
    redis.call('HINCRBY', KEYS[1], 'version', 1)
  end
  return n
end

-- {free, version, first expiry of a live reservation or 0}, as the index takes them.
local function ledger_state()
  local f = redis.call('HMGET', KEYS[1], 'capacity', 'players', 'version', 'draining')
  local free = (tonumber(f[1]) or 0) - (tonumber(f[2]) or 0) - redis.call('ZCARD', KEYS[2])
  if free < 0 or f[4] == '1' then
    free = 0
  end
  local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {string.format('%d', free), f[3] or '0', first[2] or '0'}
end


-- The placement index the room's seats are reported to: the `index` its reservation
-- opened it with (a room with metadata, docs/REDIS.md "Metadata"), else its track.
local function ledger_index()
  local f = redis.call('HMGET', KEYS[1], 'index', 'track')
  if f[1] and f[1] ~= '' then
    return f[1]
  end
  return f[2] or ''
end
