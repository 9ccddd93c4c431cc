//! The sharded pub/sub channels of room sync ([`crate::room_sync`]), grouped in partitions.
//!
//! Each room has a channel of its own, `roomshard:{S:sync:K}:room:R`, so a worker receives
//! the traffic of the rooms it hosts and of no other. The rooms are spread over
//! [`SYNC_PARTITIONS`] partitions by their hash, and all the channels of a partition share
//! its hash tag `S:sync:K`, and so one slot: a worker re-subscribes a whole partition in one
//! `SSUBSCRIBE`, and a Redis node serves whole partitions.
//!
//! A bare partition number as the tag would leave the slots, and so the nodes, to chance
//! (CRC16 of a few digits clusters). Instead partition `p`'s tag number `K` is the smallest
//! number whose tag falls in the `p`-th of [`SYNC_PARTITIONS`] equal ranges of slots: a
//! cluster whose nodes own equal runs of slots (as `redis-cli --cluster create` and
//! `rebalance` leave them) gets the same number of partitions on every node, to within one.
//! The table is computed from the set's scope, so every process of the set finds the same.

use crate::hash::room_hash;
use crate::keys::Keys;
use crate::slot::{SLOTS, key_slot};

/// Partitions of a set's room channels. Every process of a set must use the same number,
/// since it names the channels; a power of two, so that it divides the slots evenly.
pub const SYNC_PARTITIONS: u32 = 128;

/// The room-sync channels of one set.
#[derive(Debug, Clone)]
pub struct SyncChannels {
    keys: Keys,
    /// Partition -> the number in its hash tag.
    tags: Vec<u32>,
}

impl SyncChannels {
    pub fn new(keys: Keys) -> Self {
        Self::with_partitions(keys, SYNC_PARTITIONS)
    }

    /// `partitions` (at least 1, at most the slots) partitions; tests use few.
    pub fn with_partitions(keys: Keys, partitions: u32) -> Self {
        let partitions = partitions.clamp(1, u32::from(SLOTS));
        let tags = partition_tags(partitions, |k| key_slot(&keys.sync_channel(k, "")));
        Self { keys, tags }
    }

    pub fn partitions(&self) -> u32 {
        u32::try_from(self.tags.len()).unwrap_or(u32::MAX)
    }

    /// The partition of `room`.
    pub fn partition_of(&self, room: &str) -> u32 {
        let n = u64::try_from(self.tags.len()).unwrap_or(1).max(1);
        u32::try_from(room_hash(room) % n).unwrap_or(0)
    }

    /// The channel of `room`.
    pub fn channel(&self, room: &str) -> String {
        self.keys
            .sync_channel(self.tag(self.partition_of(room)), room)
    }

    /// The slot of partition `p`'s channels.
    pub fn slot(&self, partition: u32) -> u16 {
        key_slot(&self.keys.sync_channel(self.tag(partition), ""))
    }

    /// The room whose channel is `channel`, if it is one of this set's.
    pub fn room_of<'a>(&self, channel: &'a str) -> Option<&'a str> {
        let (tag, room) = self.keys.parse_sync_channel(channel)?;
        (self.tag(self.partition_of(room)) == tag).then_some(room)
    }

    fn tag(&self, partition: u32) -> u32 {
        let index = usize::try_from(partition).unwrap_or(0);
        self.tags.get(index).copied().unwrap_or(0)
    }
}

/// Partition `p`'s tag number: the smallest `k` whose slot (`slot_of(k)`) lies in the
/// `p`-th of `partitions` equal ranges of slots. A range no `k` below a bound reaches
/// (never seen with CRC16, but a bound keeps the search finite) gets a number past every
/// other partition's.
pub fn partition_tags(partitions: u32, slot_of: impl Fn(u32) -> u16) -> Vec<u32> {
    let n = usize::try_from(partitions).unwrap_or(1).max(1);
    let mut tags: Vec<Option<u32>> = vec![None; n];
    let mut missing = n;
    let bound = partitions.saturating_mul(64).max(1 << 16);
    for k in 0..bound {
        let range = usize::from(slot_of(k)) * n / usize::from(SLOTS);
        if let Some(slot @ None) = tags.get_mut(range) {
            *slot = Some(k);
            missing -= 1;
            if missing == 0 {
                break;
            }
        }
    }
    tags.into_iter()
        .enumerate()
        .map(|(p, t)| t.unwrap_or_else(|| bound + u32::try_from(p).unwrap_or(0)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::hash_tag;

    #[test]
    fn each_partition_lies_in_its_own_range_of_slots() {
        for keys in [
            Keys::new("game").expect("keys"),
            Keys::scoped(Some("team-a"), "game").expect("keys"),
        ] {
            let channels = SyncChannels::new(keys);
            let n = u32::from(SLOTS) / SYNC_PARTITIONS;
            for p in 0..SYNC_PARTITIONS {
                let slot = u32::from(channels.slot(p));
                assert_eq!(slot / n, p, "partition {p} sits in slot {slot}");
            }
        }
    }

    #[test]
    fn nodes_with_equal_runs_of_slots_get_equal_shares_of_partitions() {
        let channels = SyncChannels::new(Keys::new("game").expect("keys"));
        for nodes in [3u32, 5, 16] {
            let mut per_node = vec![0u32; nodes as usize];
            for p in 0..SYNC_PARTITIONS {
                let node = u32::from(channels.slot(p)) * nodes / u32::from(SLOTS);
                per_node[node as usize] += 1;
            }
            let (lo, hi) = (per_node.iter().min(), per_node.iter().max());
            assert!(
                hi.zip(lo).is_some_and(|(h, l)| h - l <= 1),
                "{nodes}: {per_node:?}"
            );
        }
    }

    #[test]
    fn a_rooms_channel_names_it_and_shares_its_partitions_slot() {
        let keys = Keys::new("s").expect("keys");
        let channels = SyncChannels::with_partitions(keys.clone(), 8);
        let chan = channels.channel("r-1");
        assert!(chan.starts_with("roomshard:{s:sync:"), "{chan}");
        assert!(chan.ends_with("}:room:r-1"), "{chan}");
        assert!(keys.owns(&chan));
        assert_eq!(channels.room_of(&chan), Some("r-1"));
        let p = channels.partition_of("r-1");
        assert_eq!(key_slot(&chan), channels.slot(p));
        assert_eq!(
            hash_tag(&chan),
            hash_tag(&keys.sync_channel(channels.tag(p), "x"))
        );
        // Another set's channel, a wrong tag, or something else entirely: not a room's.
        let other = SyncChannels::with_partitions(Keys::new("t").expect("keys"), 8);
        assert_eq!(channels.room_of(&other.channel("r-1")), None);
        let wrong = keys.sync_channel(channels.tag(p) + 100_000, "r-1");
        assert_eq!(channels.room_of(&wrong), None);
        assert_eq!(channels.room_of("roomshard:{s}:sio#/#"), None);
    }

    #[test]
    fn rooms_spread_over_the_partitions() {
        let channels = SyncChannels::new(Keys::new("game").expect("keys"));
        let mut counts = vec![0u32; SYNC_PARTITIONS as usize];
        for i in 0..12_800 {
            counts[channels.partition_of(&format!("room-{i}")) as usize] += 1;
        }
        let max = counts.iter().max().copied().unwrap_or(0);
        assert!(
            max < 160,
            "the busiest partition holds {max} of 12800 rooms"
        );
    }

    #[test]
    fn the_search_stays_finite_when_a_range_is_never_reached() {
        let tags = partition_tags(4, |_| 0);
        assert_eq!(tags[0], 0);
        assert!(tags[1..].iter().all(|&t| t >= 1 << 16));
        assert_eq!(
            partition_tags(0, |k| u16::try_from(k % 16384).unwrap_or(0)).len(),
            1
        );
    }
}
