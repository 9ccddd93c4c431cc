//! Input limits: the per-socket event rate limiter and the validation of every payload.
//! Plain logic; the socket layer turns a [`Rejection`] into an ack error or an `error`
//! event.

use crate::grid::Grid;
use roomshard_protocol::events::{JoinRequest, MoveRequest, SayRequest, codes};
use serde_json::Value;
use std::time::Instant;

/// Why an event was refused: a code from `protocol::events::codes` and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: &'static str,
    pub message: String,
}

impl Rejection {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// The verdict of the rate limiter on one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Refused; `notify` is true for the first refusal of a burst (tell the client once,
    /// not for every event it floods).
    Refuse {
        notify: bool,
    },
    /// The socket kept sending far over its rate: close it.
    Disconnect,
}

/// A token bucket of events, plus a decaying count of refusals that ends abusive sockets.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    burst: f64,
    per_sec: f64,
    tokens: f64,
    strikes: f64,
    strike_limit: f64,
    strike_decay_per_sec: f64,
    last: Instant,
    refusing: bool,
}

impl RateLimiter {
    pub fn new(burst: u32, per_sec: u32, disconnect_after: u32, now: Instant) -> Self {
        Self {
            burst: f64::from(burst.max(1)),
            per_sec: f64::from(per_sec.max(1)),
            tokens: f64::from(burst.max(1)),
            strikes: 0.0,
            strike_limit: f64::from(disconnect_after.max(1)),
            strike_decay_per_sec: f64::from(per_sec.max(4)) / 4.0,
            last: now,
            refusing: false,
        }
    }

    pub fn check(&mut self, now: Instant) -> Verdict {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + dt * self.per_sec).min(self.burst);
        self.strikes = (self.strikes - dt * self.strike_decay_per_sec).max(0.0);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.refusing = false;
            return Verdict::Allow;
        }
        self.strikes += 1.0;
        if self.strikes >= self.strike_limit {
            return Verdict::Disconnect;
        }
        let notify = !self.refusing;
        self.refusing = true;
        Verdict::Refuse { notify }
    }
}

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
            "join expects {{\"room\": string, \"token\"?: string, \"name\"?: string}}: {e}"
        ))
    })?;
    roomshard_protocol::validate_room_id(&req.room).map_err(|e| bad(e.to_string()))?;
    if let Some(name) = &req.name {
        req.name = Some(validate_name(name, max_name)?);
    }
    Ok(req)
}

/// `move {x, y}`: finite numbers inside the world.
pub fn parse_move(payload: &Value, grid: &Grid) -> Result<(f32, f32), Rejection> {
    let payload = object(payload, "move")?;
    let req: MoveRequest = serde_json::from_value(payload.clone()).map_err(|e| {
        bad(format!(
            "move expects {{\"x\": number, \"y\": number}}: {e}"
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    #[test]
    fn bucket_allows_burst_then_rate() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(5, 10, 1000, t0);
        for _ in 0..5 {
            assert_eq!(rl.check(t0), Verdict::Allow);
        }
        assert_eq!(rl.check(t0), Verdict::Refuse { notify: true });
        assert_eq!(rl.check(t0), Verdict::Refuse { notify: false });
        // 100 ms refills one token.
        assert_eq!(rl.check(t0 + Duration::from_millis(100)), Verdict::Allow);
        assert_eq!(
            rl.check(t0 + Duration::from_millis(100)),
            Verdict::Refuse { notify: true }
        );
    }

    #[test]
    fn sustained_abuse_disconnects_but_bursts_do_not() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(10, 20, 50, t0);
        // A client at its sustained rate is never cut off.
        for i in 0..1000u64 {
            let v = rl.check(t0 + Duration::from_millis(i * 50));
            assert_eq!(v, Verdict::Allow, "event {i}");
        }
        // A flood is.
        let t1 = t0 + Duration::from_secs(60);
        let mut verdict = Verdict::Allow;
        for i in 0..200u64 {
            verdict = rl.check(t1 + Duration::from_micros(i * 100));
            if verdict == Verdict::Disconnect {
                break;
            }
        }
        assert_eq!(verdict, Verdict::Disconnect);
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
