//! Records read back from Redis: shard heartbeats, reservations and room hashes.
//!
//! Checked for every input:
//! - decoding arbitrary bytes gives a record or an error that names the record, never a
//!   panic;
//! - a decoded heartbeat is consistent (`index < total`), and every decoded record
//!   encodes and decodes back to itself;
//! - a field added by a later release does not change what a record decodes to;
//! - records built from arbitrary values (the structured reading of the same bytes)
//!   round-trip through their stored form.

#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use roomshard_protocol::records::{
    Capacity, RecordError, Reservation, RoomRecord, SCHEMA, ShardHeartbeat,
};
use serde_json::Value;
use std::collections::HashMap;

fn names(err: &RecordError, record: &str) {
    let text = err.to_string();
    assert!(text.starts_with(record), "{record}: {text}");
}

/// The same JSON object with one more, unknown, field.
fn with_future_field(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut value: Value = serde_json::from_slice(bytes).ok()?;
    value
        .as_object_mut()?
        .insert("field_from_a_later_release".into(), Value::from(1));
    serde_json::to_vec(&value).ok()
}

fn check_heartbeat(bytes: &[u8]) {
    match ShardHeartbeat::decode(bytes) {
        Ok(hb) => {
            assert!(hb.index < hb.total, "{hb:?}");
            assert_eq!(
                ShardHeartbeat::decode(hb.encode().as_bytes()).as_ref(),
                Ok(&hb)
            );
            if let Some(extended) = with_future_field(bytes) {
                assert_eq!(ShardHeartbeat::decode(&extended), Ok(hb));
            }
        }
        Err(e) => names(&e, "shard heartbeat"),
    }
}

fn check_reservation(bytes: &[u8]) {
    match Reservation::decode(bytes) {
        Ok(r) => {
            assert_eq!(Reservation::decode(r.encode().as_bytes()).as_ref(), Ok(&r));
            if let Some(extended) = with_future_field(bytes) {
                assert_eq!(Reservation::decode(&extended), Ok(r));
            }
        }
        Err(e) => names(&e, "reservation"),
    }
}

fn fields_of(room: &RoomRecord) -> HashMap<String, String> {
    room.to_fields()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

fn check_room_fields(fields: &HashMap<String, String>) {
    match RoomRecord::from_fields(fields) {
        Ok(room) => {
            assert_eq!(
                RoomRecord::from_fields(&fields_of(&room)).as_ref(),
                Ok(&room)
            );
            assert_eq!(fields.get("track").cloned().unwrap_or_default(), room.track);
        }
        Err(e) => names(&e, "room"),
    }
}

#[derive(Debug, Arbitrary)]
struct Built {
    index: u32,
    total: u32,
    pod: String,
    url: String,
    version: String,
    times: (u64, u64, u64, u64),
    load: (u32, u32, u32, u32),
    tracks: Vec<String>,
    draining: bool,
    reservation: (
        String,
        String,
        String,
        u32,
        String,
        String,
        String,
        String,
        u64,
    ),
    room: (u32, String, u32, u32, u64),
}

fn check_built(b: Built) {
    let total = b.total.max(1);
    let hb = ShardHeartbeat {
        schema: SCHEMA,
        index: b.index % total,
        total,
        pod: b.pod,
        url: b.url,
        version: b.version,
        started_at: b.times.0,
        seq: b.times.1,
        sent_at: b.times.2,
        interval_ms: b.times.3,
        rooms: b.load.0,
        players: b.load.1,
        capacity: Capacity {
            rooms_per_shard: b.load.2,
            players_per_room: b.load.3,
        },
        tracks: b.tracks,
        draining: b.draining,
        handoff: false,
    };
    assert_eq!(ShardHeartbeat::decode(hb.encode().as_bytes()), Ok(hb));

    let (nonce, room, track, shard, player, worker, url, token, expires_at) = b.reservation;
    let r = Reservation {
        schema: SCHEMA,
        nonce,
        room,
        track,
        shard,
        player,
        worker,
        url,
        token,
        expires_at,
    };
    assert_eq!(Reservation::decode(r.encode().as_bytes()), Ok(r));

    let (shard, track, capacity, players, created_at) = b.room;
    let room = RoomRecord {
        shard,
        track,
        capacity,
        players,
        created_at,
    };
    assert_eq!(RoomRecord::from_fields(&fields_of(&room)), Ok(room));
}

fuzz_target!(|data: &[u8]| {
    check_heartbeat(data);
    check_reservation(data);
    // A room hash as HGETALL returns it; here read from a JSON object of strings.
    if let Ok(fields) = serde_json::from_slice::<HashMap<String, String>>(data) {
        check_room_fields(&fields);
    }
    if let Ok(built) = Built::arbitrary(&mut Unstructured::new(data)) {
        check_built(built);
    }
});
