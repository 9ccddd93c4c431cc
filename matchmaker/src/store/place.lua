-- Picks the room of a track a new seat goes to, in O(log n): the fullest room that still
-- has a seat, on a shard the caller may place on (docs/REDIS.md, "Reserve"). All keys are
-- the track's placement index, in the track's slot.
--
-- KEYS[1] free  KEYS[2] shard  KEYS[3] version  KEYS[4] due  KEYS[5] rooms
-- KEYS[6] openings  KEYS[7] waiting
-- ARGV[1] ttl (ms)         lifetime of a reservation
-- ARGV[2] lease (ms)       how long a room handed out to be read again stays the caller's
-- ARGV[3] due batch        at most this many rooms handed out to be read again
-- ARGV[4] room cap         rooms the track may have, 0 for no cap
-- ARGV[5] X, then X shard indices: the shards the caller's view knows and may not place on
--         (stale, draining); a shard it does not know is left to the grant, which seats
--         only on the shards the caller names there
-- ARGV[6 + X] the caller's nonce  ARGV[7 + X] how long (ms) its opening of a room may last,
--             0 to open without waiting for another request's opening
-- ARGV[8 + X] the seats of a room it would open  ARGV[9 + X] how long (ms) it counts as
--             waiting for a seat without looking again
--
-- The picked room's free count drops by one at once (a hold), so concurrent callers spread
-- over the seats the index knows of; the room's own slot then grants the seat or refuses
-- it, and a refusal is posted back. A hold whose seat never comes makes the room look
-- fuller than it is, so the room falls due to be read again when the reservation it was
-- for would have expired.
--
-- Returns {'pick', room, shard, due...} | {'none', '', '', due...} | {'wait', '', '', due...}
--       | {'limit', '', '', due...}:
-- 'none' when no room has a seat and the caller is to open one (it is then one of the
-- track's openings until it posts the room, or for the given time), 'wait' when the rooms
-- other requests are opening will seat every request waiting (look again in a moment),
-- 'limit' when none has and the track has its cap of rooms. `due` are rooms whose free
-- count may be out of date.
--
-- Openings follow demand: a waiting request opens another room only once the rooms being
-- opened, less their openers' own seats, cannot seat every request waiting. A burst of n
-- requests for rooms of s seats opens about n / s rooms, in parallel, never one each.

local LOOK_AT_MOST = 64
local PAGE = 16

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local batch, cap = tonumber(ARGV[3]), tonumber(ARGV[4]) or 0
local excluded = {}
local count = tonumber(ARGV[5])
for i = 1, count do
  excluded[ARGV[5 + i]] = true
end
local nonce, opening_ms = ARGV[6 + count], tonumber(ARGV[7 + count]) or 0
local seats, waiting_ms = tonumber(ARGV[8 + count]) or 1, tonumber(ARGV[9 + count]) or 0

local due = redis.call('ZRANGE', KEYS[4], '-inf', now, 'BYSCORE', 'LIMIT', 0, batch)
for _, room in ipairs(due) do
  redis.call('ZADD', KEYS[4], now + lease, room)
end

local out = {'none', '', ''}
local offset = 0
while offset < LOOK_AT_MOST and out[1] == 'none' do
  local page = redis.call('ZRANGE', KEYS[1], 1, '+inf', 'BYSCORE', 'LIMIT', offset, PAGE)
  for _, room in ipairs(page) do
    local shard = redis.call('HGET', KEYS[2], room)
    if shard and not excluded[shard] then
      redis.call('ZINCRBY', KEYS[1], -1, room)
      local at = tonumber(redis.call('ZSCORE', KEYS[4], room))
      if not at or at > now + ttl then
        redis.call('ZADD', KEYS[4], now + ttl, room)
      end
      out = {'pick', room, shard}
      break
    end
  end
  if #page < PAGE then
    break
  end
  offset = offset + PAGE
end
if out[1] == 'none' and cap > 0 and redis.call('SCARD', KEYS[5]) >= cap then
  out[1] = 'limit'
end
if out[1] == 'none' and opening_ms > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now)
  redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', now)
  if not redis.call('ZSCORE', KEYS[6], nonce) then
    redis.call('ZADD', KEYS[7], now + waiting_ms, nonce)
    local openers = redis.call('ZCARD', KEYS[6])
    if openers * math.max(seats - 1, 0) >= redis.call('ZCARD', KEYS[7]) then
      out[1] = 'wait'
    end
  end
  if out[1] == 'none' then
    redis.call('ZREM', KEYS[7], nonce)
    redis.call('ZADD', KEYS[6], now + opening_ms, nonce)
  end
elseif nonce and KEYS[7] then
  redis.call('ZREM', KEYS[7], nonce)
end
for _, room in ipairs(due) do
  out[#out + 1] = room
end
return out
