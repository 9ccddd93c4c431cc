//! The decoders of the client's event payloads (`join`, `resume`, `move`, `say`, custom
//! events): every field checked against the protocol and the configured limits. Plain
//! logic, fuzzed by `fuzz/fuzz_targets/worker_payloads.rs`.

use crate::attached::{Attached, Bins};
use crate::error::Rejection;
use crate::grid::Grid;
use roomshard_protocol::events::{
    JoinRequest, MAX_IDENTITY_BYTES, MoveRequest, ResumeRequest, SayRequest, StateRequest, codes,
};
use roomshard_protocol::game_events::{Addressed, EventDecl};
use roomshard_protocol::token::MAX_TOKEN_BYTES;
use serde_json::Value;

fn bad(message: impl Into<String>) -> Rejection {
    Rejection::new(codes::BAD_REQUEST, message)
}

/// A display name: trimmed, non-empty, at most `max` characters, no control characters.
pub fn validate_name(name: &str, max: usize) -> Result<String, Rejection> {
    let name = name.trim();
    if name.is_empty() {
        return Err(bad("name must not be empty"));
    }
    let len = name.chars().count();
    if len > max {
        return Err(Rejection::new(
            codes::TOO_LARGE,
            format!("name is {len} characters long; at most {max} are allowed"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(bad("name must not contain control characters"));
    }
    Ok(name.to_owned())
}

/// Payloads are JSON objects (serde would also take a positional array).
fn object<'a>(payload: &'a Value, what: &str) -> Result<&'a Value, Rejection> {
    if payload.is_object() {
        Ok(payload)
    } else {
        Err(bad(format!("{what} expects a JSON object")))
    }
}

/// `join {room, token?, name?}`.
pub fn parse_join(payload: &Value, max_name: usize) -> Result<JoinRequest, Rejection> {
    let payload = object(payload, "join")?;
    let mut req: JoinRequest = serde_json::from_value(payload.clone()).map_err(|e| {
        bad(format!(
            "join expects {{\"room\": string, \"token\"?: string, \"name\"?: string, \"identity\"?: string}}: {e}"
        ))
    })?;
    roomshard_protocol::validate_room_id(&req.room).map_err(|e| bad(e.to_string()))?;
    if let Some(name) = &req.name {
        req.name = Some(validate_name(name, max_name)?);
    }
    if req
        .identity
        .as_ref()
        .is_some_and(|i| i.is_empty() || i.len() > MAX_IDENTITY_BYTES)
    {
        return Err(bad(format!(
            "identity must be 1 to {MAX_IDENTITY_BYTES} bytes long"
        )));
    }
    Ok(req)
}

/// `resume {credential, lastSeq}`: a credential of bounded length and a whole number.
pub fn parse_resume(payload: &Value) -> Result<ResumeRequest, Rejection> {
    let payload = object(payload, "resume")?;
    let req: ResumeRequest = serde_json::from_value(payload.clone()).map_err(|e| {
        bad(format!(
            "resume expects {{\"credential\": string, \"lastSeq\": non-negative integer}}: {e}"
        ))
    })?;
    if req.credential.is_empty() || req.credential.len() > MAX_TOKEN_BYTES {
        return Err(bad(format!(
            "credential must be 1 to {MAX_TOKEN_BYTES} bytes long"
        )));
    }
    Ok(req)
}

/// `move {x, y}`: finite numbers inside the world.
pub fn parse_move(payload: &Value, grid: &Grid) -> Result<(f32, f32), Rejection> {
    let payload = object(payload, "move")?;
    let req: MoveRequest = serde_json::from_value(payload.clone()).map_err(|e| {
        bad(format!(
            "move expects {{\"x\": number, \"y\": number, \"state\"?: any}}: {e}"
        ))
    })?;
    if !grid.contains(req.x, req.y) {
        return Err(Rejection::new(
            codes::OUT_OF_BOUNDS,
            format!(
                "({}, {}) is outside the world 0..={} x 0..={}",
                req.x,
                req.y,
                grid.width(),
                grid.height()
            ),
        ));
    }
    Ok((f32_at_most(req.x), f32_at_most(req.y)))
}

/// The largest f32 not above `v`, the precision positions are kept in. A plain cast rounds
/// to nearest, which can step past the world's edge (0.3 becomes 0.30000001) and turns
/// anything above `f32::MAX` into infinity; rounding down keeps a point inside the world
/// inside it, and finite.
fn f32_at_most(v: f64) -> f32 {
    let nearest = v as f32;
    if f64::from(nearest) > v {
        nearest.next_down()
    } else {
        nearest
    }
}

/// The `state` a `move` may carry: `Some` when it is there (`null` clears the state),
/// at most `max` bytes of JSON text.
pub fn parse_move_state(payload: &Value, max: usize) -> Result<Option<Value>, Rejection> {
    let Some(state) = payload.get("state") else {
        return Ok(None);
    };
    check_state_size(state, max)?;
    Ok(Some(state.clone()))
}

/// `state {state}`: the entity's new state (`null` clears it), at most `max` bytes.
pub fn parse_state(payload: &Value, max: usize) -> Result<Value, Rejection> {
    let payload = object(payload, "state")?;
    let req: StateRequest = serde_json::from_value(payload.clone())
        .map_err(|e| bad(format!("state expects {{\"state\": any JSON}}: {e}")))?;
    check_state_size(&req.state, max)?;
    Ok(req.state)
}

fn check_state_size(state: &Value, max: usize) -> Result<(), Rejection> {
    let size = serde_json::to_vec(state).map_or(usize::MAX, |v| v.len());
    if size > max {
        return Err(Rejection::new(
            codes::TOO_LARGE,
            format!("state is {size} bytes of JSON; at most {max} are allowed"),
        ));
    }
    Ok(())
}

/// `say {text}`: non-empty, at most `max` characters.
pub fn parse_say(payload: &Value, max: usize) -> Result<String, Rejection> {
    let payload = object(payload, "say")?;
    let req: SayRequest = serde_json::from_value(payload.clone())
        .map_err(|e| bad(format!("say expects {{\"text\": string}}: {e}")))?;
    let len = req.text.chars().count();
    if len == 0 || req.text.trim().is_empty() {
        return Err(bad("text must not be empty"));
    }
    if len > max {
        return Err(Rejection::new(
            codes::TOO_LARGE,
            format!("text is {len} characters long; at most {max} are allowed"),
        ));
    }
    if req.text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(bad("text must not contain control characters"));
    }
    Ok(req.text)
}

/// Longest player id a `player` event may name (public ids are 25 characters).
pub const MAX_PLAYER_ID_CHARS: usize = 64;

/// A custom event as Socket.IO delivered it: `raw` is the packet's JSON array (the event
/// name, then at most one payload; none is `null`), `bins` its attachments.
pub fn parse_custom(raw: &str, bins: Bins) -> Result<Attached, Rejection> {
    let args: Vec<Value> =
        serde_json::from_str(raw).map_err(|_| bad("the event is not a Socket.IO event array"))?;
    if args.len() > 2 {
        return Err(bad(format!(
            "a custom event carries one payload; this one has {}",
            args.len() - 1
        )));
    }
    let json = args.into_iter().nth(1).unwrap_or(Value::Null);
    Ok(Attached { json, bins })
}

/// A custom event's payload within its declared `maxBytes`.
pub fn check_event_size(payload: &Attached, decl: &EventDecl) -> Result<(), Rejection> {
    let size = payload.size();
    let max = usize::try_from(decl.max_bytes).unwrap_or(usize::MAX);
    if size > max {
        return Err(Rejection::new(
            codes::TOO_LARGE,
            format!(
                "{:?} payloads are at most {max} bytes; this one is {size}",
                decl.name
            ),
        ));
    }
    Ok(())
}

/// A `player` event's payload `{to, data?}`: the receiver's public id and what it gets.
pub fn parse_addressed(payload: Value) -> Result<(String, Value), Rejection> {
    object(&payload, "a player event")?;
    let a: Addressed = serde_json::from_value(payload).map_err(|e| {
        bad(format!(
            "a player event expects {{\"to\": player id, \"data\"?: any}}: {e}"
        ))
    })?;
    if a.to.is_empty() || a.to.chars().count() > MAX_PLAYER_ID_CHARS {
        return Err(bad(format!(
            "to must be a player id of 1 to {MAX_PLAYER_ID_CHARS} characters"
        )));
    }
    Ok((a.to, a.data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn state_payloads() {
        assert_eq!(parse_move_state(&json!({"x": 1, "y": 2}), 16), Ok(None));
        assert_eq!(
            parse_move_state(&json!({"x": 1, "y": 2, "state": {"hp": 3}}), 16),
            Ok(Some(json!({"hp": 3})))
        );
        assert_eq!(
            parse_move_state(&json!({"x": 1, "y": 2, "state": null}), 16),
            Ok(Some(Value::Null))
        );
        assert_eq!(
            parse_move_state(&json!({"x": 1, "y": 2, "state": "x".repeat(20)}), 16)
                .map_err(|e| e.code),
            Err(codes::TOO_LARGE)
        );
        assert_eq!(
            parse_state(&json!({"state": [1, 2]}), 16),
            Ok(json!([1, 2]))
        );
        assert_eq!(
            parse_state(&json!({"state": "x".repeat(20)}), 16).map_err(|e| e.code),
            Err(codes::TOO_LARGE)
        );
        for bad in [json!({}), json!({"state": 1, "extra": 2}), json!([1])] {
            assert_eq!(
                parse_state(&bad, 16).map_err(|e| e.code),
                Err(codes::BAD_REQUEST),
                "{bad}"
            );
        }
    }

    #[test]
    fn custom_event_payloads() {
        let none = Bins::default();
        let p = parse_custom(r#"["shoot",{"dx":1}]"#, none.clone()).expect("one payload");
        assert_eq!(p.json, json!({"dx": 1}));
        assert_eq!(
            parse_custom(r#"["ping"]"#, none.clone())
                .expect("none")
                .json,
            Value::Null
        );
        for raw in [r#"["x",1,2]"#, r#"{"x":1}"#, "nope"] {
            assert_eq!(
                parse_custom(raw, none.clone()).map_err(|e| e.code),
                Err(codes::BAD_REQUEST),
                "{raw}"
            );
        }
        let decl = EventDecl {
            name: "shoot".into(),
            scope: roomshard_protocol::game_events::Scope::Nearby,
            max_bytes: 8,
            per_second: 1,
        };
        assert!(check_event_size(&p, &decl).is_ok());
        let big = parse_custom(r#"["shoot","0123456789"]"#, none).expect("parses");
        assert_eq!(
            check_event_size(&big, &decl).map_err(|e| e.code),
            Err(codes::TOO_LARGE)
        );
    }

    #[test]
    fn addressed_payloads() {
        assert_eq!(
            parse_addressed(json!({"to": "p1", "data": [1]})),
            Ok(("p1".to_owned(), json!([1])))
        );
        assert_eq!(
            parse_addressed(json!({"to": "p1"})),
            Ok(("p1".to_owned(), Value::Null))
        );
        for bad in [
            json!({"data": 1}),
            json!({"to": 5}),
            json!({"to": ""}),
            json!({"to": "x".repeat(65)}),
            json!({"to": "p1", "extra": 1}),
            json!("p1"),
        ] {
            assert_eq!(
                parse_addressed(bad.clone()).map_err(|e| e.code),
                Err(codes::BAD_REQUEST),
                "{bad}"
            );
        }
    }

    #[test]
    fn join_payloads() {
        assert!(parse_join(&json!({"room": "r1"}), 32).is_ok());
        assert_eq!(
            parse_join(&json!({"room": "r1", "name": "  Ann "}), 32)
                .expect("ok")
                .name
                .as_deref(),
            Some("Ann")
        );
        for bad in [
            json!(null),
            json!("r1"),
            json!({"room": 5}),
            json!({"room": "a b"}),
            json!({"room": "r", "extra": 1}),
            json!({"room": "r", "name": "x\u{0007}"}),
        ] {
            let e = parse_join(&bad, 32).expect_err("bad");
            assert_eq!(e.code, codes::BAD_REQUEST, "{bad}: {e:?}");
        }
        let e = parse_join(&json!({"room": "r", "name": "n".repeat(33)}), 32).expect_err("long");
        assert_eq!(e.code, codes::TOO_LARGE);
    }

    #[test]
    fn resume_payloads() {
        let ok = parse_resume(&json!({"credential": "a.b", "lastSeq": 7})).expect("valid");
        assert_eq!((ok.credential.as_str(), ok.last_seq), ("a.b", 7));
        for bad in [
            json!({"credential": "a.b"}),
            json!({"credential": "a.b", "lastSeq": -1}),
            json!({"credential": "a.b", "lastSeq": 1.5}),
            json!({"credential": 3, "lastSeq": 0}),
            json!({"credential": "", "lastSeq": 0}),
            json!({"credential": "x".repeat(MAX_TOKEN_BYTES + 1), "lastSeq": 0}),
            json!({"credential": "a.b", "lastSeq": 0, "extra": 1}),
            json!(["a.b", 0]),
        ] {
            assert_eq!(
                parse_resume(&bad).map_err(|e| e.code),
                Err(codes::BAD_REQUEST),
                "{bad}"
            );
        }
    }

    #[test]
    fn move_payloads() {
        let g = Grid::new(100.0, 50.0, 10.0).expect("grid");
        assert_eq!(parse_move(&json!({"x": 1, "y": 2.5}), &g), Ok((1.0, 2.5)));
        assert_eq!(
            parse_move(&json!({"x": 101, "y": 0}), &g).map_err(|e| e.code),
            Err(codes::OUT_OF_BOUNDS)
        );
        assert_eq!(
            parse_move(&json!({"x": -1, "y": 0}), &g).map_err(|e| e.code),
            Err(codes::OUT_OF_BOUNDS)
        );
        for bad in [
            json!({"x": null, "y": 0}),
            json!({"x": "1", "y": 0}),
            json!([1, 2]),
            json!({}),
        ] {
            assert_eq!(
                parse_move(&bad, &g).map_err(|e| e.code),
                Err(codes::BAD_REQUEST),
                "{bad}"
            );
        }
    }

    #[test]
    fn move_keeps_accepted_positions_finite_and_inside_in_f32() {
        // Found by fuzzing: in a world wider than f32 can count, a cast made this infinite.
        let wide = Grid::new(1e39, 4e38, 1e36).expect("grid");
        let (x, y) = parse_move(&json!({"x": 5.1e38, "y": 0.1}), &wide).expect("inside");
        assert!(
            x.is_finite() && wide.contains(f64::from(x), f64::from(y)),
            "({x}, {y})"
        );
        // An edge f32 cannot hold exactly: a cast rounded 0.3 up, past it.
        let narrow = Grid::new(0.3, 100.1, 0.1).expect("grid");
        let (x, y) = parse_move(&json!({"x": 0.3, "y": 100.1}), &narrow).expect("on the edge");
        assert!(narrow.contains(f64::from(x), f64::from(y)), "({x}, {y})");
        assert_eq!(f32_at_most(0.0), 0.0);
        assert_eq!(f32_at_most(2.5), 2.5);
        assert_eq!(f32_at_most(f64::MAX), f32::MAX);
    }

    #[test]
    fn say_payloads() {
        assert_eq!(parse_say(&json!({"text": "hi"}), 10), Ok("hi".into()));
        assert_eq!(
            parse_say(&json!({"text": ""}), 10).map_err(|e| e.code),
            Err(codes::BAD_REQUEST)
        );
        assert_eq!(
            parse_say(&json!({"text": "x".repeat(11)}), 10).map_err(|e| e.code),
            Err(codes::TOO_LARGE)
        );
        assert_eq!(
            parse_say(&json!({"txt": "x"}), 10).map_err(|e| e.code),
            Err(codes::BAD_REQUEST)
        );
    }
}
