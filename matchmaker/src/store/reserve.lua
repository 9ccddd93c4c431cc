-- Reserve one seat, atomically. See docs/REDIS.md ("Seat accounting").
--
-- KEYS[1]  track:{track}   the rooms of the requested track
-- KEYS[2]  draining        shards that take no new seats
-- ARGV[1]  key prefix      roomshard:{set}:
-- ARGV[2]  ttl (ms)        lifetime of the reservation
-- ARGV[3]  nonce           names the reservation (resv:{nonce})
-- ARGV[4]  track
-- ARGV[5]  room            a named room, or '' to place anywhere in the track
-- ARGV[6]  idempotency key, or ''
-- ARGV[7]  player, or ''
-- ARGV[8]  E, then E triples: shard index, worker name, url   (eligible shards)
-- then     C, then C quads:   shard index, new room id, rooms per shard, seats per room
--                             (where a new room may go, best first)
-- then     player cap         unexpired reservations one player may hold, 0 for no cap
-- then     track room cap     rooms the track may have, 0 for no cap
--
-- The idempotency key arrives scoped to its caller ("{scope}:{key}").
--
-- Returns {'ok', room, track, shard, expires_at, nonce, reused, worker, url, player}
--      or {'err', code} with code room_not_found | room_full | shard_unavailable | no_capacity
--                            | track_room_limit
--      or {'err', 'player_limit', expiry of the player's oldest reservation}.

local prefix = ARGV[1]
local ttl = tonumber(ARGV[2])
local nonce = ARGV[3]
local track = ARGV[4]
local named = ARGV[5]
local idem = ARGV[6]
local player = ARGV[7]

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

-- A retry with the same idempotency key gets the reservation it already has.
if idem ~= '' then
  local prior = redis.call('GET', prefix .. 'idem:' .. idem)
  if prior then
    local raw = redis.call('GET', prefix .. 'resv:' .. prior)
    if raw then
      local ok, r = pcall(cjson.decode, raw)
      if ok and type(r) == 'table' and r.room and r.shard and r.expires_at then
        return {'ok', r.room, r.track or '', string.format('%d', r.shard),
                string.format('%d', r.expires_at), prior, '1', r.worker or '', r.url or '',
                r.player or ''}
      end
    end
  end
end

local pos = 8
local eligible = {}
local n = tonumber(ARGV[pos]); pos = pos + 1
for _ = 1, n do
  eligible[ARGV[pos]] = {worker = ARGV[pos + 1], url = ARGV[pos + 2]}
  pos = pos + 3
end
local candidates = {}
local c = tonumber(ARGV[pos]); pos = pos + 1
for i = 1, c do
  candidates[i] = {shard = ARGV[pos], room = ARGV[pos + 1],
                   limit = tonumber(ARGV[pos + 2]), seats = tonumber(ARGV[pos + 3])}
  pos = pos + 4
end
local player_cap = tonumber(ARGV[pos]) or 0
local track_cap = tonumber(ARGV[pos + 1]) or 0

-- A player holds at most player_cap unexpired reservations (player:{player}:resv, scored
-- by expiry).
local player_key = prefix .. 'player:' .. player .. ':resv'
if player ~= '' and player_cap > 0 then
  redis.call('ZREMRANGEBYSCORE', player_key, '-inf', now)
  if redis.call('ZCARD', player_key) >= player_cap then
    local oldest = redis.call('ZRANGE', player_key, 0, 0, 'WITHSCORES')
    return {'err', 'player_limit', oldest[2] or string.format('%d', now + ttl)}
  end
end

-- live: eligible to the caller, still beating and not draining now.
local status = {}
local function shard_status(s)
  local known = status[s]
  if known then return known end
  if redis.call('EXISTS', prefix .. 'shard:' .. s) == 0 then
    known = 'dead'
  elseif not eligible[s] or redis.call('SISMEMBER', KEYS[2], s) == 1 then
    known = 'off'
  else
    known = 'live'
  end
  status[s] = known
  return known
end

-- Seats taken: players plus unexpired reservations. Counting leaves expired ones in place
-- (a read); the room that gets the seat is trimmed when it does.
local function seats_used(room, players)
  return players + redis.call('ZCOUNT', prefix .. 'room:' .. room .. ':resv', '(' .. now, '+inf')
end

local function grant(room, shard, room_track)
  local expires_at = now + ttl
  local rk = prefix .. 'room:' .. room .. ':resv'
  redis.call('ZREMRANGEBYSCORE', rk, '-inf', now)
  redis.call('ZADD', rk, expires_at, nonce)
  if redis.call('PTTL', rk) < ttl then
    redis.call('PEXPIRE', rk, ttl)
  end
  local info = eligible[shard]
  local record = cjson.encode({
    schema = 1, nonce = nonce, room = room, track = room_track, shard = tonumber(shard),
    player = player, worker = info.worker, url = info.url, token = '', expires_at = expires_at})
  redis.call('SET', prefix .. 'resv:' .. nonce, record, 'PX', ttl)
  if idem ~= '' then
    redis.call('SET', prefix .. 'idem:' .. idem, nonce, 'PX', ttl)
  end
  if player ~= '' and player_cap > 0 then
    redis.call('ZADD', player_key, expires_at, nonce)
    if redis.call('PTTL', player_key) < ttl then
      redis.call('PEXPIRE', player_key, ttl)
    end
  end
  return {'ok', room, room_track, shard, string.format('%d', expires_at), nonce, '0',
          info.worker, info.url, player}
end

if named ~= '' then
  local f = redis.call('HMGET', prefix .. 'room:' .. named, 'shard', 'capacity', 'players', 'track')
  if not f[1] then
    return {'err', 'room_not_found'}
  end
  local st = shard_status(f[1])
  if st ~= 'live' then
    if st == 'dead' then
      redis.call('ZADD', prefix .. 'lost-rooms', 'NX', now, named)
    end
    return {'err', 'shard_unavailable'}
  end
  local cap, players = tonumber(f[2]) or 0, tonumber(f[3]) or 0
  if players >= cap or seats_used(named, players) >= cap then
    return {'err', 'room_full'}
  end
  return grant(named, f[1], f[4] or '')
end

-- Fill the fullest room that still has a seat.
local best, best_shard, best_used = nil, nil, -1
for _, room in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local f = redis.call('HMGET', prefix .. 'room:' .. room, 'shard', 'capacity', 'players')
  if not f[1] then
    -- The room was closed; its index entry is stale.
    redis.call('SREM', KEYS[1], room)
  else
    local cap, players = tonumber(f[2]) or 0, tonumber(f[3]) or 0
    local st = shard_status(f[1])
    if st == 'live' then
      -- A room full of players has no seat whatever its reservations: skip the count.
      if players < cap then
        local used = seats_used(room, players)
        if used < cap and used > best_used then
          best, best_shard, best_used = room, f[1], used
        end
      end
    elseif st == 'dead' then
      redis.call('ZADD', prefix .. 'lost-rooms', 'NX', now, room)
    end
  end
end
if best then
  return grant(best, best_shard, track)
end

-- Otherwise a new room on the least-loaded live shard with a free room slot, if the track
-- may have another (the loop above dropped the index entries of closed rooms).
if track_cap > 0 and redis.call('SCARD', KEYS[1]) >= track_cap then
  return {'err', 'track_room_limit'}
end
local pick, pick_rooms = nil, nil
for _, cand in ipairs(candidates) do
  if shard_status(cand.shard) == 'live' and cand.seats > 0 then
    local rooms = redis.call('SCARD', prefix .. 'shard:' .. cand.shard .. ':rooms')
    if rooms < cand.limit and (pick == nil or rooms < pick_rooms)
        and redis.call('EXISTS', prefix .. 'room:' .. cand.room) == 0 then
      pick, pick_rooms = cand, rooms
    end
  end
end
if not pick then
  return {'err', 'no_capacity'}
end
redis.call('HSET', prefix .. 'room:' .. pick.room, 'schema', '1', 'shard', pick.shard,
           'track', track, 'capacity', pick.seats, 'players', '0', 'created_at', now)
redis.call('ZADD', prefix .. 'rooms', now, pick.room)
redis.call('SADD', KEYS[1], pick.room)
redis.call('SADD', prefix .. 'shard:' .. pick.shard .. ':rooms', pick.room)
return grant(pick.room, pick.shard, track)
