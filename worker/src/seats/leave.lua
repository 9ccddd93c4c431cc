-- KEYS: room:{room}. Returns the players left, or -1 when the room is gone.
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local players = redis.call('HINCRBY', KEYS[1], 'players', -1)
if players < 0 then
  redis.call('HSET', KEYS[1], 'players', '0')
  players = 0
end
return players
