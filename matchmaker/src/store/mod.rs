//! The Redis boundary: every read and write of the matchmaker goes through [`Store`], each
//! under a deadline. Callers see domain values and [`RedisError`], never Redis types, so
//! another store (e.g. in-process, for development) can sit behind the same methods.
//! The scripts are the `.lua` files beside this one.

mod reserve;
mod rooms;
mod view;

pub use reserve::{Granted, NewRoom, Refusal, ReserveRequest, ShardArgs, parse_reserve};
pub use rooms::{RoomRow, parse_rooms};
pub use view::{BadRecord, parse_view};

use fred::bytes_utils::Str;
use fred::clients::Client;
use fred::interfaces::ClientLike;
use fred::types::Key;
use roomshard_protocol::Keys;
use roomshard_runtime::lua::LuaScript;
pub use roomshard_runtime::redis::RedisError;
use roomshard_runtime::redis::{ClientOptions, RedisTls, within};
use std::future::Future;
use std::time::Duration;

pub static RESERVE: LuaScript = LuaScript::new("reserve", include_str!("reserve.lua"));
pub static VIEW: LuaScript = LuaScript::new("view", include_str!("view.lua"));
pub static ROOMS: LuaScript = LuaScript::new("rooms", include_str!("rooms.lua"));

#[derive(Clone)]
pub struct Store {
    client: Client,
    keys: Keys,
    deadline: Duration,
    prefix: Str,
    draining: Key,
}

impl Store {
    /// Starts connecting in the background; calls fail with a timeout until Redis answers,
    /// so the process starts (and reports not ready) while Redis is away.
    pub fn connect(
        url: &str,
        keys: Keys,
        deadline: Duration,
        tls: &RedisTls,
    ) -> Result<Self, RedisError> {
        let options = ClientOptions {
            connect_timeout: deadline.max(Duration::from_millis(250)),
            // A command is sent once: replaying a reserve after a reconnect could hold a
            // seat nobody receives.
            max_command_attempts: 1,
            unresponsive_after: Some(deadline.saturating_mul(4).max(Duration::from_secs(1))),
            // Commands wait for a reconnection (within their deadline) instead of failing
            // at once.
            fail_fast: false,
            reconnect_delays_ms: (50, 1_000),
            tls: tls.clone(),
            ..ClientOptions::new(deadline)
        };
        let client = options.connect_in_background(url)?;
        Ok(Self {
            client,
            prefix: Str::from(keys.prefix()),
            draining: Key::from(keys.draining()),
            keys,
            deadline,
        })
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The deadline of every call.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    async fn call<T>(
        &self,
        op: &'static str,
        fut: impl Future<Output = Result<T, fred::error::Error>>,
    ) -> Result<T, RedisError> {
        within(self.deadline, op, fut).await
    }

    pub async fn ping(&self) -> Result<(), RedisError> {
        self.call("ping", self.client.ping::<String>(None))
            .await
            .map(|_| ())
    }
}

fn num<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
    s.parse::<T>()
        .map_err(|_| format!("{what} {s:?} is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn view_reply_parses_and_reports_bad_heartbeats() {
        let hb = r#"{"index":0,"total":2,"pod":"p0"}"#;
        let flat = s(&[
            "3", "0", "1700", hb, "4", "1", "1800", "", "0", "2", "9", "garbage", "1", "1", "2",
        ]);
        let (reports, bad) = parse_view(&flat).expect("parses");
        assert_eq!(reports.len(), 3);
        assert_eq!(
            reports[0].heartbeat.as_ref().map(|h| h.pod.as_str()),
            Some("p0")
        );
        assert_eq!(reports[0].rooms, 4);
        assert_eq!(reports[0].last_seen_ms, 1700);
        assert!(!reports[0].in_draining_set);
        assert!(reports[1].heartbeat.is_none() && reports[1].in_draining_set);
        assert!(reports[2].heartbeat.is_none() && reports[2].in_draining_set);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].shard, 2);
        assert!(parse_view(&s(&["2", "0"])).is_err());
        assert!(parse_view(&s(&[])).is_err());
    }

    #[test]
    fn reserve_reply_parses() {
        let ok =
            parse_reserve(&s(&["ok", "r", "t", "2", "99", "n", "1", "w", "u", "p"])).expect("ok");
        assert_eq!(
            ok.map(|g| (g.shard, g.expires_at, g.reused)),
            Ok((2, 99, true))
        );
        assert_eq!(
            parse_reserve(&s(&["err", "room_full"])),
            Ok(Err(Refusal::RoomFull))
        );
        assert!(parse_reserve(&s(&["err", "what"])).is_err());
        assert!(parse_reserve(&s(&["ok"])).is_err());
    }

    #[test]
    fn rooms_reply_parses() {
        let rows = parse_rooms(&s(&["r1", "0", "t", "8", "-1", "2", "1"])).expect("ok");
        assert_eq!(rows[0].players, 0);
        assert!(rows[0].lost);
        assert!(parse_rooms(&s(&["r1"])).is_err());
    }
}
