//! What a worker does about its shard's rooms before it serves anyone: a process that
//! stopped without closing its rooms (killed, out of memory, its node gone) left their
//! players counted. The new process of the shard has seated nobody yet, so it forgets
//! those players, keeps the rooms' live reservations for their holders, posts the seats to
//! the placement index and closes the rooms that are left empty. It runs once, before the
//! Socket.IO listener accepts its first connection, so no join can race it.

use super::{CloseOutcome, RedisSeats, texts};
use fred::types::Value;
use roomshard_protocol::seats::{LEDGER_LUA, parse_truth};
use roomshard_runtime::lua::LuaScript;

static RESET: LuaScript = LuaScript::with_prelude("reset", LEDGER_LUA, include_str!("reset.lua"));

/// What the start found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reconciled {
    /// Rooms whose players were forgotten.
    pub rooms: usize,
    /// Players forgotten across them.
    pub players: u64,
    /// Rooms closed, left empty.
    pub closed: usize,
}

impl RedisSeats {
    /// Forgets the players an earlier process of this shard left counted (see the module),
    /// but for the rooms in `handed_over`: their players are this process's now
    /// ([`crate::handoff`]).
    pub async fn forget_earlier_players(
        &self,
        handed_over: &std::collections::HashSet<String>,
    ) -> Result<Reconciled, roomshard_runtime::redis::RedisError> {
        let r = &self.registry;
        let mut done = Reconciled::default();
        let rooms = r
            .call(
                "reset",
                fred::interfaces::SetsInterface::smembers::<Vec<String>, _>(
                    &r.client,
                    r.keys.shard_rooms(self.shard),
                ),
            )
            .await?;
        for room in rooms.into_iter().filter(|r| !handed_over.contains(r)) {
            let keys = vec![r.keys.room(&room), r.keys.room_reservations(&room)];
            let args = vec![self.shard.to_string()];
            let reply = r
                .call(
                    "reset",
                    RESET.run::<Value, _, _>(&r.client, || (keys.clone(), args.clone())),
                )
                .await?;
            let Some(mut fields) = texts(reply) else {
                continue;
            };
            let forgotten: u64 = match fields.len() {
                7 => fields.pop().and_then(|f| f.parse().ok()).unwrap_or(0),
                _ => 0,
            };
            let Ok(Some((track, seats))) = parse_truth(&fields) else {
                continue;
            };
            if forgotten > 0 {
                done.rooms += 1;
                done.players += forgotten;
            }
            self.post(&room, &track, &seats).await;
            if self.close_if_empty(&room, &track).await == CloseOutcome::Closed {
                done.closed += 1;
            }
        }
        Ok(done)
    }
}
