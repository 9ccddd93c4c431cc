-- List rooms with their seat counts, in one round trip.
--
-- KEYS[1]  rooms (sorted set) or track:{track} (set)
-- KEYS[2]  lost-rooms
-- ARGV[1]  key prefix roomshard:{set}:
-- ARGV[2]  'zset' or 'set' (the type of KEYS[1])
-- ARGV[3]  at most this many rooms
-- ARGV[4]  offset: rooms of the index to skip (a page's cursor)
--
-- The rooms of the set come in creation order, those of a track in name order.
-- Returns the offset of the next page ('' when this is the last), then a flat list of
-- septets: room, shard, track, capacity, players, reserved, lost.

local prefix = ARGV[1]
local limit = tonumber(ARGV[3])
local offset = tonumber(ARGV[4]) or 0
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local names
if ARGV[2] == 'zset' then
  names = redis.call('ZRANGE', KEYS[1], offset, offset + limit)
else
  local all = redis.call('SMEMBERS', KEYS[1])
  table.sort(all)
  names = {}
  for i = offset + 1, math.min(#all, offset + limit + 1) do
    names[#names + 1] = all[i]
  end
end
local out = {''}
local count = 0
for i, room in ipairs(names) do
  if count >= limit then
    out[1] = string.format('%d', offset + i - 1)
    break
  end
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
