//! A room's seats and a track's placement index, as the worker and the matchmaker share
//! them (docs/REDIS.md, "Seats" and "Placement index").
//!
//! A room's seats live in the room's own slot; the index of the rooms of a track with a
//! free seat lives in the track's slot. No script touches both, so a script that changes
//! a room's seats reports what they became (free seats, a version that grows with every
//! change, the first expiry of a live reservation) and its caller posts that to the index
//! with [`INDEX_LUA`]. The index keeps the newest report per room. It may lag the room;
//! the room is the authority that refuses a seat it does not have.
//!
//! The scripts are text here; running them is the processes' business.

/// Helpers prepended to every script that reads or changes a room's seats.
pub const LEDGER_LUA: &str = include_str!("seats/ledger.lua");
/// Reads a room's seats again (after [`LEDGER_LUA`]).
pub const TRUTH_LUA: &str = include_str!("seats/truth.lua");
/// Records a room's seats in its track's index, or takes a closed room out.
pub const INDEX_LUA: &str = include_str!("seats/index.lua");

/// What a room's seats said when a script read or changed them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomSeats {
    pub shard: u32,
    pub free: u32,
    pub version: u64,
    /// When a live reservation first expires (ms), 0 when none is live: the index reads
    /// the room again then, as that frees a seat nobody reports.
    pub next_expiry_ms: u64,
}

impl RoomSeats {
    /// Reads `free, version, first expiry` (the reply tail of a seats script) of a room of
    /// `shard`.
    pub fn parse(shard: &str, tail: &[String]) -> Result<Self, String> {
        let [free, version, expiry] = tail else {
            return Err(format!("{} seat figures instead of 3", tail.len()));
        };
        let whole = |v: &str, what: &str| {
            v.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(|f| f.max(0.0) as u64)
                .ok_or_else(|| format!("{what} {v:?} is not a number"))
        };
        Ok(Self {
            shard: shard
                .parse()
                .map_err(|_| format!("shard {shard:?} is not a shard index"))?,
            free: u32::try_from(whole(free, "free seats")?).unwrap_or(u32::MAX),
            version: whole(version, "version")?,
            next_expiry_ms: whole(expiry, "expiry")?,
        })
    }

    /// ARGV of [`INDEX_LUA`] recording these seats for `room`; `room_cap` (0: none) refuses
    /// a room new to the track once it has that many.
    pub fn index_args(&self, room: &str, room_cap: u32) -> Vec<String> {
        vec![
            "set".to_owned(),
            room.to_owned(),
            self.shard.to_string(),
            self.free.to_string(),
            self.version.to_string(),
            self.next_expiry_ms.to_string(),
            room_cap.to_string(),
        ]
    }
}

/// ARGV of [`INDEX_LUA`] taking `room` out of its track's index, unless a report newer
/// than `version` (when known) is kept.
pub fn forget_args(room: &str, version: Option<u64>) -> Vec<String> {
    vec![
        "forget".to_owned(),
        room.to_owned(),
        version.map(|v| v.to_string()).unwrap_or_default(),
    ]
}

/// What [`INDEX_LUA`] answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexOutcome {
    Recorded,
    /// A newer report was already kept.
    Stale,
    /// The track has as many rooms as its cap allows.
    Limit,
}

impl IndexOutcome {
    pub fn parse(reply: &str) -> Result<Self, String> {
        match reply {
            "ok" => Ok(Self::Recorded),
            "stale" => Ok(Self::Stale),
            "limit" => Ok(Self::Limit),
            other => Err(format!("unknown index reply {other:?}")),
        }
    }
}

/// What [`TRUTH_LUA`] read of a room: `None` when it is gone, else its track and seats.
pub fn parse_truth(reply: &[String]) -> Result<Option<(String, RoomSeats)>, String> {
    match reply {
        [gone] if gone == "gone" => Ok(None),
        [tag, shard, track, tail @ ..] if tag == "room" => {
            Ok(Some((track.clone(), RoomSeats::parse(shard, tail)?)))
        }
        other => Err(format!("unexpected room reply of {} items", other.len())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn seat_reports_parse_and_become_index_arguments() {
        let seats =
            RoomSeats::parse("2", &s(&["3", "1700000000000001", "1700000030000"])).expect("parses");
        assert_eq!(
            seats,
            RoomSeats {
                shard: 2,
                free: 3,
                version: 1_700_000_000_000_001,
                next_expiry_ms: 1_700_000_030_000
            }
        );
        assert_eq!(
            seats.index_args("r", 0),
            s(&[
                "set",
                "r",
                "2",
                "3",
                "1700000000000001",
                "1700000030000",
                "0"
            ])
        );
        assert_eq!(forget_args("r", None), s(&["forget", "r", ""]));
        assert_eq!(forget_args("r", Some(9)), s(&["forget", "r", "9"]));
        assert!(RoomSeats::parse("x", &s(&["1", "1", "0"])).is_err());
        assert!(RoomSeats::parse("1", &s(&["1", "1"])).is_err());
        assert!(RoomSeats::parse("1", &s(&["many", "1", "0"])).is_err());
        // Negative or fractional figures from a hand-edited record are clamped, not fatal.
        let odd = RoomSeats::parse("0", &s(&["-2", "1.5", "0"])).expect("parses");
        assert_eq!((odd.free, odd.version), (0, 1));
    }

    #[test]
    fn truth_and_index_replies_parse() {
        assert_eq!(parse_truth(&s(&["gone"])), Ok(None));
        let (track, seats) = parse_truth(&s(&["room", "1", "ctf", "0", "7", "0"]))
            .expect("parses")
            .expect("a room");
        assert_eq!((track.as_str(), seats.shard, seats.version), ("ctf", 1, 7));
        assert!(parse_truth(&s(&["room", "1"])).is_err());
        assert_eq!(IndexOutcome::parse("stale"), Ok(IndexOutcome::Stale));
        assert!(IndexOutcome::parse("what").is_err());
    }
}
