//! Which shard owns a room.
//!
//! `shard_for_room(room, n) = jump_consistent_hash(room_hash(room), n)` where
//! `room_hash` is 64-bit FNV-1a over the room id's UTF-8 bytes followed by the SplitMix64
//! finaliser (FNV alone leaves the high bits of short, similar ids poorly mixed, and jump
//! hash consumes the key through a linear congruential generator). Every step is integer
//! or IEEE-754 double arithmetic with a fixed seed, so the result is the same in every
//! process, on every platform and in every release; golden values in the tests pin it.
//!
//! Jump consistent hash (Lamping and Veach, 2014) moves only about `1/(n+1)` of rooms when
//! `n` grows by one. Live rooms never move anyway: a room's shard is recorded in Redis when
//! it is created, and this function only names the shard for new rooms.

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// 64-bit FNV-1a.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_OFFSET, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(FNV_PRIME)
    })
}

/// The SplitMix64 finaliser: a bijective avalanche of all 64 bits.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The fixed 64-bit hash of a room id.
pub fn room_hash(room_id: &str) -> u64 {
    mix64(fnv1a64(room_id.as_bytes()))
}

/// Jump consistent hash: a bucket in `0..buckets` for `key`. `buckets == 0` yields 0.
pub fn jump_consistent_hash(mut key: u64, buckets: u32) -> u32 {
    let mut b: i64 = -1;
    let mut j: i64 = 0;
    while j < i64::from(buckets) {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        // The quotient is at most 2^31 * (b + 1), far inside f64's exact-integer range.
        j = ((b + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    u32::try_from(b.max(0)).unwrap_or(0)
}

/// The shard that a new room `room_id` is created on, in a set of `total` shards.
pub fn shard_for_room(room_id: &str, total: u32) -> u32 {
    jump_consistent_hash(room_hash(room_id), total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fnv_matches_reference_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn golden_values_are_pinned() {
        // Computed by an independent implementation of the documented algorithm.
        // Changing any of these moves rooms between shards for every deployed set.
        let golden: &[(&str, u32, u32)] = &[
            ("lobby", 1, 0),
            ("lobby", 3, GOLDEN_LOBBY_3),
            ("arena-42", 7, GOLDEN_ARENA_7),
            ("r-00000001", 64, GOLDEN_R1_64),
            ("ünïcødé", 1024, GOLDEN_UNICODE_1024),
        ];
        for (room, total, want) in golden {
            assert_eq!(shard_for_room(room, *total), *want, "{room} of {total}");
        }
        assert_eq!(room_hash("lobby"), GOLDEN_LOBBY_HASH);
    }

    const GOLDEN_LOBBY_HASH: u64 = 0x9cef_5397_b504_887d;
    const GOLDEN_LOBBY_3: u32 = 0;
    const GOLDEN_ARENA_7: u32 = 2;
    const GOLDEN_R1_64: u32 = 21;
    const GOLDEN_UNICODE_1024: u32 = 598;

    #[test]
    fn buckets_are_uniform() {
        const IDS: u32 = 100_000;
        for total in [1u32, 2, 3, 7, 64, 1024] {
            let mut counts = vec![0u32; total as usize];
            for i in 0..IDS {
                let shard = shard_for_room(&format!("room-{i}"), total);
                counts[shard as usize] += 1;
            }
            let expected = f64::from(IDS) / f64::from(total);
            // Chi-squared against the uniform distribution; the bound is far above the
            // 99.9th percentile for these degrees of freedom.
            let chi2: f64 = counts
                .iter()
                .map(|c| (f64::from(*c) - expected).powi(2) / expected)
                .sum();
            let dof = f64::from(total.saturating_sub(1)).max(1.0);
            let bound = dof + 6.0 * (2.0 * dof).sqrt() + 10.0;
            assert!(chi2 < bound, "total {total}: chi2 {chi2} >= {bound}");
        }
    }

    #[test]
    fn growing_by_one_moves_about_one_in_n_plus_one() {
        const IDS: u32 = 100_000;
        for total in [1u32, 2, 3, 7, 64, 1023] {
            let moved = (0..IDS)
                .filter(|i| {
                    let room = format!("room-{i}");
                    shard_for_room(&room, total) != shard_for_room(&room, total + 1)
                })
                .count() as f64;
            let expected = f64::from(IDS) / f64::from(total + 1);
            assert!(
                (moved - expected).abs() < expected * 0.1 + 50.0,
                "{total}->{}: moved {moved}, expected about {expected}",
                total + 1
            );
        }
    }

    proptest! {
        #[test]
        fn always_in_range(room in ".{0,64}", total in 1u32..=4096) {
            prop_assert!(shard_for_room(&room, total) < total);
        }

        #[test]
        fn moves_only_to_the_new_shard(room in "[a-z0-9-]{1,32}", total in 1u32..=1024) {
            let before = shard_for_room(&room, total);
            let after = shard_for_room(&room, total + 1);
            prop_assert!(after == before || after == total);
        }
    }

    #[test]
    fn zero_buckets_is_zero() {
        assert_eq!(jump_consistent_hash(12345, 0), 0);
    }
}
