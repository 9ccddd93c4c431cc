//! `ROOM_SHARD=<index>/<total>` parsing, and which shard a room hashes to.
//!
//! Checked for every input:
//! - the parser accepts exactly what an independent reading of the documented form
//!   (`ROOM_SHARD` in worker/README.md) accepts
//!   (ASCII digits, one `/`, `index < total <= MAX_SHARDS`), with the same numbers;
//! - an accepted identity prints in canonical form (leading zeros dropped) and parses back
//!   to itself, and `ShardId::new` agrees;
//! - a refusal explains itself and names the variable;
//! - `shard_for_room` stays below the shard count, and growing the count by one either
//!   keeps a room where it was or moves it to the new shard (the jump hash promise).

#![no_main]

use libfuzzer_sys::fuzz_target;
use roomshard_protocol::{MAX_SHARDS, ShardId, ShardIdError, shard_for_room};

/// A whole number written in ASCII digits, saturated at `u64::MAX` (far above any u32).
fn digits_value(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let significant = s.trim_start_matches('0');
    if significant.len() > 19 {
        return Some(u64::MAX);
    }
    Some(
        significant
            .bytes()
            .fold(0u64, |n, b| n * 10 + u64::from(b - b'0')),
    )
}

/// The documented form of `ROOM_SHARD` (worker/README.md), read independently of the parser.
fn contract(input: &str) -> Option<(u32, u32)> {
    let (index, total) = input.split_once('/')?;
    let index = digits_value(index)?;
    let total = digits_value(total)?;
    if total == 0 || total > u64::from(MAX_SHARDS) || index >= total {
        return None;
    }
    Some((u32::try_from(index).ok()?, u32::try_from(total).ok()?))
}

fn canonical(input: &str) -> String {
    let strip = |s: &str| {
        let t = s.trim_start_matches('0');
        if t.is_empty() {
            "0".to_owned()
        } else {
            t.to_owned()
        }
    };
    match input.split_once('/') {
        Some((i, t)) => format!("{}/{}", strip(i), strip(t)),
        None => input.to_owned(),
    }
}

fn check_parse(input: &str) {
    let parsed = input.parse::<ShardId>();
    let expected = contract(input);
    match (&parsed, expected) {
        (Ok(id), Some((index, total))) => {
            assert_eq!((id.index(), id.total()), (index, total), "{input:?}");
            assert!(id.index() < id.total() && id.total() <= MAX_SHARDS);
            let shown = id.to_string();
            assert_eq!(shown, canonical(input), "{input:?} displays as {shown:?}");
            assert_eq!(shown.parse::<ShardId>().as_ref(), Ok(id), "{shown:?}");
            assert_eq!(ShardId::new(index, total).as_ref(), Ok(id));
        }
        (Err(e), None) => {
            assert!(!e.to_string().is_empty());
            assert_eq!(matches!(e, ShardIdError::Empty), input.is_empty());
            let msg = e.for_variable("ROOM_SHARD");
            assert!(msg.starts_with("ROOM_SHARD is invalid: "), "{msg}");
            assert!(msg.contains("ROOM_SHARD=<index>/<total>"), "{msg}");
        }
        (got, want) => panic!("{input:?}: parser gave {got:?}, the contract says {want:?}"),
    }
}

fn check_placement(room: &str, totals: &[u32]) {
    for &total in totals {
        let shard = shard_for_room(room, total);
        assert!(shard < total, "{room:?} placed on {shard} of {total}");
        if total < MAX_SHARDS {
            let grown = shard_for_room(room, total + 1);
            assert!(
                grown == shard || grown == total,
                "{room:?}: {shard} of {total} became {grown} of {}",
                total + 1
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    check_parse(&input);
    let mut totals = vec![1, 2, 3, 16, MAX_SHARDS - 1, MAX_SHARDS];
    if let Ok(id) = input.parse::<ShardId>() {
        totals.push(id.total());
    }
    check_placement(&input, &totals);
});
