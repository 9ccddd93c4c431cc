//! The Redis boundary: every read and write of the matchmaker goes through [`Store`], each
//! under a deadline. Callers see domain values and [`RedisError`], never Redis types, so
//! another store (e.g. in-process, for development) can sit behind the same methods.
//! The scripts are the `.lua` files beside this one; each touches one slot (docs/REDIS.md,
//! "Key layout"), so a reservation is a few of them in turn ([`reserve`]).

mod args;
mod calls;
mod idem;
mod reservation;
mod reserve;
mod rooms;
mod view;

pub use args::{NewRoom, ShardArgs};
pub use calls::{GrantReply, Placed, parse_grant, parse_place};
pub use idem::{KeyState, Plan};
pub use reservation::{Granted, Refusal, ReserveRequest};
pub use rooms::{RoomRow, parse_rooms};
pub use view::{BadRecord, parse_view};

use fred::clients::Client;
use fred::interfaces::ClientLike;
use roomshard_protocol::Keys;
use roomshard_protocol::seats::LEDGER_LUA;
use roomshard_runtime::lua::LuaScript;
pub use roomshard_runtime::redis::RedisError;
use roomshard_runtime::redis::{ClientOptions, RedisTls, within};
use std::future::Future;
use std::time::Duration;

pub static PLACE: LuaScript = LuaScript::new("place", include_str!("place.lua"));
pub static GRANT: LuaScript =
    LuaScript::with_prelude("grant", LEDGER_LUA, include_str!("grant.lua"));
pub static OPENED: LuaScript = LuaScript::new("opened", include_str!("opened.lua"));
pub static CLAIM: LuaScript = LuaScript::new("claim", include_str!("claim.lua"));
pub static IDEM: LuaScript = LuaScript::new("idem", include_str!("idem.lua"));
pub static PLAYER: LuaScript = LuaScript::new("player", include_str!("player.lua"));

#[derive(Clone)]
pub struct Store {
    client: Client,
    keys: Keys,
    deadline: Duration,
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
            "3", "0", "1700", hb, "5000", "4", "1", "1800", "", "-2", "0", "2", "9", "garbage",
            "100", "1", "1", "2",
        ]);
        let (reports, bad) = parse_view(&flat).expect("parses");
        assert_eq!(reports.len(), 3);
        assert_eq!(
            reports[0].heartbeat.as_ref().map(|h| h.pod.as_str()),
            Some("p0")
        );
        assert_eq!(reports[0].rooms, 4);
        assert_eq!(reports[0].last_seen_ms, 1700);
        assert_eq!(reports[0].heartbeat_ttl_ms, Some(5000));
        assert_eq!(reports[1].heartbeat_ttl_ms, None);
        assert!(!reports[0].in_draining_set);
        assert!(reports[1].heartbeat.is_none() && reports[1].in_draining_set);
        assert!(reports[2].heartbeat.is_none() && reports[2].in_draining_set);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].shard, 2);
        assert!(parse_view(&s(&["2", "0"])).is_err());
        assert!(parse_view(&s(&[])).is_err());
    }

    #[test]
    fn rooms_reply_parses() {
        let rows =
            parse_rooms(&s(&["r1", "0", "t", "8", "-1", "2", "1", r#"{"m":1}"#])).expect("ok");
        assert_eq!(rows[0].players, 0);
        assert!(rows[0].lost);
        assert_eq!(rows[0].metadata, r#"{"m":1}"#);
        assert!(parse_rooms(&s(&["r1"])).is_err());
    }
}
