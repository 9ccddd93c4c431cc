-- Grants one seat of one room, atomically in the room's slot (after ledger.lua): the
-- authority on whether the room has a seat, whatever the track's index said.
--
-- KEYS[1] room:{room}:seats  KEYS[2] room:{room}:resv  KEYS[3] room:{room}:resv:{nonce}
-- ARGV[1] room  ARGV[2] nonce  ARGV[3] ttl (ms)  ARGV[4] player, or ''
-- ARGV[5] '1' to open the room first (a new room), then ARGV[6] track, ARGV[7] shard,
--         ARGV[8] seats, ARGV[9] placement index, ARGV[10] metadata (stored form, or ''),
--         ARGV[11] private ('1'/'0'); '0' otherwise
-- ARGV[12] E, then E triples: shard index, worker name, url (the shards the caller's view
--          lets take seats)
--
-- A reservation already granted under this nonce is answered again, so a retry of the
-- same reservation never takes a second seat.
--
-- Returns {'ok', track, index, shard, expires_at, worker, url, free, version, first expiry}
--      or {'err', code, index, shard, free, version, first expiry} with code
--         room_full | shard_unavailable | draining
--      or {'err', 'room_not_found'}.

local room, nonce, ttl, player = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local now = ledger_now()

local function answer(record)
  local s = ledger_state()
  local index = ledger_index()
  if index == '' then
    index = record.track or ''
  end
  return {'ok', record.track or '', index, string.format('%d', record.shard or 0),
          string.format('%d', record.expires_at or 0), record.worker or '', record.url or '',
          s[1], s[2], s[3]}
end

local held = redis.call('GET', KEYS[3])
if held then
  local ok, record = pcall(cjson.decode, held)
  if ok and type(record) == 'table' then
    return answer(record)
  end
end

if ARGV[5] == '1' and redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'schema', '2', 'shard', ARGV[7], 'track', ARGV[6],
             'capacity', ARGV[8], 'players', '0', 'created_at', now,
             'version', string.format('%d', now * 1000))
  if ARGV[9] ~= '' and ARGV[9] ~= ARGV[6] then
    redis.call('HSET', KEYS[1], 'index', ARGV[9])
  end
  if ARGV[10] ~= '' then
    redis.call('HSET', KEYS[1], 'metadata', ARGV[10], 'private', ARGV[11])
  end
end

local f = redis.call('HMGET', KEYS[1], 'shard', 'track', 'draining')
if not f[1] then
  return {'err', 'room_not_found'}
end
local function refuse(code)
  local s = ledger_state()
  return {'err', code, ledger_index(), f[1], s[1], s[2], s[3]}
end

local eligible = {}
local pos = 13
for _ = 1, tonumber(ARGV[12]) do
  eligible[ARGV[pos]] = {ARGV[pos + 1], ARGV[pos + 2]}
  pos = pos + 3
end
local info = eligible[f[1]]
if not info then
  return refuse('shard_unavailable')
end
if f[3] == '1' then
  return refuse('draining')
end
ledger_trim(now)
if tonumber(ledger_state()[1]) < 1 then
  return refuse('room_full')
end

local expires_at = now + ttl
redis.call('ZADD', KEYS[2], expires_at, nonce)
if redis.call('PTTL', KEYS[2]) < ttl then
  redis.call('PEXPIRE', KEYS[2], ttl)
end
local record = {schema = 1, nonce = nonce, room = room, track = f[2] or '',
                shard = tonumber(f[1]), player = player, worker = info[1], url = info[2],
                token = '', expires_at = expires_at}
redis.call('SET', KEYS[3], cjson.encode(record), 'PX', ttl)
redis.call('HINCRBY', KEYS[1], 'version', 1)
return answer(record)
