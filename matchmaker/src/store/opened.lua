-- Ends a request's opening of its track's next room (place.lua): the room is in the
-- track's index now, or will not be. Other requests' openings are left alone.
--
-- KEYS[1] openings  ARGV[1] the request's nonce
-- Returns 1 when the request held an opening and it is ended, 0 otherwise.

return redis.call('ZREM', KEYS[1], ARGV[1])
