//! Redis Cluster's placement of a key: CRC16 (XMODEM) of its hash tag ([`hash_tag`]),
//! modulo 16384. Only naming uses it: a process needs no connection to know which slot,
//! and so which node, a key or a sharded channel lives in.

use crate::keys::hash_tag;

/// Slots of a Redis Cluster.
pub const SLOTS: u16 = 16_384;

/// CRC16 with polynomial 0x1021 and initial value 0 (XMODEM), as Redis Cluster uses it.
pub fn crc16(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0u16, |crc, b| {
        (0..8).fold(crc ^ (u16::from(*b) << 8), |c, _| {
            if c & 0x8000 != 0 {
                (c << 1) ^ 0x1021
            } else {
                c << 1
            }
        })
    })
}

/// The slot Redis Cluster places `key` (or a sharded channel of that name) in.
pub fn key_slot(key: &str) -> u16 {
    crc16(hash_tag(key).as_bytes()) % SLOTS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_the_ones_redis_computes() {
        // The CRC16/XMODEM check value.
        assert_eq!(crc16(b"123456789"), 0x31c3);
        // CLUSTER KEYSLOT of each, as Redis answers it.
        assert_eq!(key_slot("foo"), 12_182);
        assert_eq!(key_slot("hello"), 866);
        assert_eq!(key_slot("{foo}:anything"), key_slot("foo"));
        assert_eq!(key_slot("{}foo"), crc16(b"{}foo") % SLOTS);
        assert!(key_slot("") < SLOTS);
    }
}
