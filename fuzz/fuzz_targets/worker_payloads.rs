//! The worker's event payloads: `join`, `move` and `say`, as a client may send them.
//!
//! The input is read as JSON (what Socket.IO hands the handlers) and given to every decoder,
//! under a few world sizes and limits, including awkward ones the configuration accepts.
//! Checked for every input:
//! - a refusal carries one of the codes the client is told about, never a panic;
//! - an accepted `join` names a valid room id and, if any, a trimmed, non-empty name
//!   within the limit and free of control characters; sending it again gives the same;
//! - an accepted `move` is a finite position inside the world (edges included) in the
//!   precision the worker keeps, and sending that position again gives the same;
//! - an accepted `say` is within the limit, not blank, with no control character but
//!   newline;
//! - `validate_name` on the raw text keeps the same promises and is idempotent.

#![no_main]

use libfuzzer_sys::fuzz_target;
use roomshard_protocol::events::codes;
use roomshard_protocol::validate_room_id;
use roomshard_worker::grid::Grid;
use roomshard_worker::payload::{parse_join, parse_move, parse_say, validate_name};
use serde_json::{Value, json};

/// Worlds the configuration accepts: the default, one whose edges are not exact in f32,
/// and one wider than f32 can count.
const WORLDS: [(f64, f64, f64); 4] = [
    (1000.0, 1000.0, 100.0),
    (1000.0, 600.0, 100.0),
    (0.3, 100.1, 0.1),
    (1e39, 4e38, 1e36),
];

const LIMITS: [usize; 3] = [1, 32, 280];

fn check_name(name: &str, max: usize) {
    assert_eq!(name, name.trim(), "{name:?} is not trimmed");
    assert!(!name.is_empty());
    assert!(name.chars().count() <= max, "{name:?} is over {max}");
    assert!(!name.chars().any(char::is_control), "{name:?}");
}

fn check_join(payload: &Value, max: usize) {
    match parse_join(payload, max) {
        Ok(req) => {
            assert!(validate_room_id(&req.room).is_ok(), "{req:?}");
            if let Some(name) = &req.name {
                check_name(name, max);
            }
            let again = serde_json::to_value(&req).unwrap_or(Value::Null);
            assert_eq!(parse_join(&again, max).as_ref(), Ok(&req), "{again}");
        }
        Err(e) => assert!(
            [codes::BAD_REQUEST, codes::TOO_LARGE].contains(&e.code),
            "{e:?}"
        ),
    }
}

fn check_move(payload: &Value, grid: &Grid) {
    match parse_move(payload, grid) {
        Ok((x, y)) => {
            let (xf, yf) = (f64::from(x), f64::from(y));
            assert!(
                x.is_finite() && y.is_finite() && grid.contains(xf, yf),
                "{payload} gave ({x}, {y}), outside 0..={} x 0..={}",
                grid.width(),
                grid.height()
            );
            assert_eq!(parse_move(&json!({"x": xf, "y": yf}), grid), Ok((x, y)));
        }
        Err(e) => assert!(
            [codes::BAD_REQUEST, codes::OUT_OF_BOUNDS].contains(&e.code),
            "{e:?}"
        ),
    }
}

fn check_say(payload: &Value, max: usize) {
    match parse_say(payload, max) {
        Ok(text) => {
            let len = text.chars().count();
            assert!((1..=max).contains(&len), "{len} characters, limit {max}");
            assert!(!text.trim().is_empty());
            assert!(
                !text.chars().any(|c| c.is_control() && c != '\n'),
                "{text:?}"
            );
        }
        Err(e) => assert!(
            [codes::BAD_REQUEST, codes::TOO_LARGE].contains(&e.code),
            "{e:?}"
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for max in LIMITS {
        if let Ok(name) = validate_name(&text, max) {
            check_name(&name, max);
            assert_eq!(validate_name(&name, max).as_ref(), Ok(&name));
        }
    }
    let Ok(payload) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    for max in LIMITS {
        check_join(&payload, max);
        check_say(&payload, max);
    }
    for (width, height, radius) in WORLDS {
        let Ok(grid) = Grid::new(width, height, radius) else {
            panic!("the world {width} x {height} / {radius} was refused");
        };
        check_move(&payload, &grid);
    }
});
