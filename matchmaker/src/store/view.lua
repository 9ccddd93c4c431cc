-- Read every registered shard in one round trip.
--
-- KEYS[1]  shards     sorted set: shard index -> last heartbeat (ms)
-- KEYS[2]  draining   set of shard indices
-- ARGV[1]  key prefix roomshard:{set}:
--
-- Returns a flat list: N, then N quads (index, last_seen, heartbeat JSON or '', room count),
-- then the members of the draining set.

local prefix = ARGV[1]
local out = {''}
local listed = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local n = 0
for i = 1, #listed, 2 do
  local s = listed[i]
  out[#out + 1] = s
  out[#out + 1] = listed[i + 1]
  out[#out + 1] = redis.call('GET', prefix .. 'shard:' .. s) or ''
  out[#out + 1] = tostring(redis.call('SCARD', prefix .. 'shard:' .. s .. ':rooms'))
  n = n + 1
end
out[1] = tostring(n)
for _, d in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  out[#out + 1] = d
end
return out
