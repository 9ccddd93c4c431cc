-- Ends a request's opening of its track's next room (place.lua): the room is in the
-- track's index now, or will not be. Another request's opening is left alone.
--
-- KEYS[1] opening  ARGV[1] the request's nonce
-- Returns 1 when the opening was the request's and is ended, 0 otherwise.

if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
