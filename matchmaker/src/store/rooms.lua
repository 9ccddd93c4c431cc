-- List rooms with their seat counts, in one round trip.
--
-- KEYS[1]  rooms (sorted set) or track:{track} (set)
-- KEYS[2]  lost-rooms
-- ARGV[1]  key prefix roomshard:{set}:
-- ARGV[2]  'zset' or 'set' (the type of KEYS[1])
-- ARGV[3]  at most this many rooms
--
-- Returns a flat list of septets: room, shard, track, capacity, players, reserved, lost.

local prefix = ARGV[1]
local limit = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local names
if ARGV[2] == 'zset' then
  names = redis.call('ZRANGE', KEYS[1], 0, limit - 1)
else
  names = redis.call('SMEMBERS', KEYS[1])
end
local out = {}
local count = 0
for _, room in ipairs(names) do
  if count >= limit then break end
  local f = redis.call('HMGET', prefix .. 'room:' .. room, 'shard', 'track', 'capacity', 'players')
  if f[1] then
    local reserved = redis.call('ZCOUNT', prefix .. 'room:' .. room .. ':resv', '(' .. now, '+inf')
    local lost = redis.call('ZSCORE', KEYS[2], room) and '1' or '0'
    out[#out + 1] = room
    out[#out + 1] = f[1]
    out[#out + 1] = f[2] or ''
    out[#out + 1] = f[3] or '0'
    out[#out + 1] = f[4] or '0'
    out[#out + 1] = tostring(reserved)
    out[#out + 1] = lost
    count = count + 1
  end
end
return out
