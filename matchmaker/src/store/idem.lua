-- What an idempotency key stands for, changed only by the request that holds it
-- (docs/REDIS.md, "Idempotency"). KEYS[1] idem:{scope}:{key}, in its own slot.
--
-- The value is 'w <nonce>' while a reservation is being made, 'w <nonce> <plan...>' once
-- its room is chosen, and 'g <nonce> <plan...>' once it is granted. A 'w' value lives for
-- a short lease, renewed by each step, so a request that died leaves the key to a retry.
--
-- ARGV 'claim', nonce, the value seen ('' for none), lease (ms): takes the key if it
--      still holds what was seen. Returns {'mine'} or {'taken', value}.
-- ARGV 'plan', nonce, plan, lease (ms) | 'grant', nonce, plan, ttl (ms) | 'drop', nonce:
--      for the holder only. Returns {'mine'} or {'lost', value}.

local cur = redis.call('GET', KEYS[1]) or ''
local op, nonce = ARGV[1], ARGV[2]
if op == 'claim' then
  if cur ~= ARGV[3] then
    return {'taken', cur}
  end
  redis.call('SET', KEYS[1], 'w ' .. nonce, 'PX', ARGV[4])
  return {'mine'}
end
local mine = 'w ' .. nonce
if cur ~= mine and string.sub(cur, 1, #mine + 1) ~= mine .. ' ' then
  return {'lost', cur}
end
if op == 'plan' then
  redis.call('SET', KEYS[1], mine .. ' ' .. ARGV[3], 'PX', ARGV[4])
elseif op == 'grant' then
  redis.call('SET', KEYS[1], 'g ' .. nonce .. ' ' .. ARGV[3], 'PX', ARGV[4])
elseif op == 'drop' then
  redis.call('DEL', KEYS[1])
else
  return redis.error_reply('idem.lua: unknown operation ' .. tostring(op))
end
return {'mine'}
