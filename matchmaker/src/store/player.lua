-- A player's unexpired reservations, for MAX_RESERVATIONS_PER_PLAYER.
-- KEYS[1] player:{player}:resv (nonce -> expiry), in the player's own slot.
--
-- ARGV 'hold', nonce, ttl (ms), cap: counts one more reservation unless the player holds
--      the cap. Returns {'ok'} or {'full', expiry of the oldest}.
-- ARGV 'release', nonce: a reservation that was not granted after all. Returns {'ok'}.

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[1] == 'release' then
  redis.call('ZREM', KEYS[1], ARGV[2])
  return {'ok'}
end
local ttl, cap = tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= cap then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {'full', oldest[2] or string.format('%d', now + ttl)}
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return {'ok'}
