-- Keeps one track's placement index (docs/REDIS.md, "Placement index"). All its keys
-- share the track's slot.
--
-- KEYS[1] free (room -> free seats)  KEYS[2] shard (room -> shard)
-- KEYS[3] version (room -> version)  KEYS[4] due (room -> ms)  KEYS[5] rooms (set)
--
-- ARGV 'set', room, shard, free, version, first expiry or 0, room cap (0: none)
--   Records what the room's seats said at `version`; a report older than the one kept
--   changes nothing ('stale'). A room new to the track is refused past the cap ('limit').
-- ARGV 'forget', room, version or ''
--   Takes a closed room out, unless a report newer than `version` is kept ('stale').
--
-- Returns 'ok', 'stale' or 'limit'.

local op, room = ARGV[1], ARGV[2]
local kept = tonumber(redis.call('HGET', KEYS[3], room))
if op == 'set' then
  local version = tonumber(ARGV[5]) or 0
  if kept and kept > version then
    return 'stale'
  end
  local cap = tonumber(ARGV[7]) or 0
  if cap > 0 and redis.call('SISMEMBER', KEYS[5], room) == 0
      and redis.call('SCARD', KEYS[5]) >= cap then
    return 'limit'
  end
  redis.call('ZADD', KEYS[1], ARGV[4], room)
  redis.call('HSET', KEYS[2], room, ARGV[3])
  redis.call('HSET', KEYS[3], room, ARGV[5])
  redis.call('SADD', KEYS[5], room)
  if (tonumber(ARGV[6]) or 0) > 0 then
    redis.call('ZADD', KEYS[4], ARGV[6], room)
  else
    redis.call('ZREM', KEYS[4], room)
  end
  return 'ok'
elseif op == 'forget' then
  if ARGV[3] ~= '' and kept and kept > (tonumber(ARGV[3]) or 0) then
    return 'stale'
  end
  redis.call('ZREM', KEYS[1], room)
  redis.call('HDEL', KEYS[2], room)
  redis.call('HDEL', KEYS[3], room)
  redis.call('ZREM', KEYS[4], room)
  redis.call('SREM', KEYS[5], room)
  return 'ok'
end
return redis.error_reply('index.lua: unknown operation ' .. tostring(op))
