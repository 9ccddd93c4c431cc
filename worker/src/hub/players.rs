//! The players joined through this worker, by public id. A player's public id is made at
//! join and is never a Socket.IO or Engine.IO session id; the socket that carries the
//! player now is kept beside it, and changes when the player resumes on a new connection.
//! While its connection is down (inside the resume window) a player has no socket and
//! keeps its seat, its entity and its id.

use super::room::{HostedRoom, lock};
use socketioxide::socket::Sid;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One player joined through this worker.
pub struct Player {
    pub id: String,
    pub track: String,
    pub room: Arc<HostedRoom>,
    pub profile: Profile,
    /// Serialises everything that moves the player between sockets: a disconnect, a
    /// resume, the window's expiry and a leave.
    pub link: tokio::sync::Mutex<Link>,
}

/// Which connection carries a player.
pub struct Link {
    /// The socket now; None while the player is away.
    pub socket: Option<Sid>,
    /// What the player's current resume credential must carry.
    pub nonce: String,
    /// Changed by every disconnect and resume, so an expiry scheduled for an earlier
    /// absence does nothing.
    pub generation: u64,
    /// The player left (or its window ran out); nothing may bring it back.
    pub gone: bool,
}

/// Who a player is and where it plays.
pub struct Seated {
    pub id: String,
    pub track: String,
    pub room: Arc<HostedRoom>,
    pub profile: Profile,
}

/// What the hooks are told of a player: its name, the subject of the JWT its seat was
/// bound to, and what `onJoin` attached.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub name: String,
    pub subject: Option<String>,
    pub metadata: Option<serde_json::Value>,
}

impl Player {
    /// The player as a hook request names it.
    pub fn hook_view(&self) -> roomshard_protocol::hooks::HookPlayer {
        roomshard_protocol::hooks::HookPlayer {
            id: self.id.clone(),
            name: self.profile.name.clone(),
            subject: self.profile.subject.clone(),
            metadata: self.profile.metadata.clone(),
        }
    }
}

impl Player {
    /// A player just joined on `socket`, its first credential carrying `nonce`.
    pub fn new(seated: Seated, socket: Sid, nonce: String) -> Self {
        Self {
            id: seated.id,
            track: seated.track,
            room: seated.room,
            profile: seated.profile,
            link: tokio::sync::Mutex::new(Link {
                socket: Some(socket),
                nonce,
                generation: 0,
                gone: false,
            }),
        }
    }
}

/// A fresh public player id: 96 random bits, hex, with a prefix that no session id has.
pub fn new_player_id() -> String {
    let (a, b): (u64, u32) = (rand::random(), rand::random());
    format!("p{a:016x}{b:08x}")
}

#[derive(Default)]
pub struct Players {
    players: Mutex<HashMap<String, Arc<Player>>>,
    /// The socket of each connected player, read by every tick.
    sockets: Mutex<HashMap<String, Sid>>,
}

impl Players {
    pub fn insert(&self, player: Arc<Player>) {
        lock(&self.players).insert(player.id.clone(), player);
    }

    pub fn get(&self, id: &str) -> Option<Arc<Player>> {
        lock(&self.players).get(id).cloned()
    }

    /// Forgets `player` (and its socket), unless another player took its id meanwhile.
    pub fn remove(&self, player: &Arc<Player>) {
        let mut players = lock(&self.players);
        if players
            .get(&player.id)
            .is_some_and(|p| Arc::ptr_eq(p, player))
        {
            players.remove(&player.id);
        }
        drop(players);
        lock(&self.sockets).remove(&player.id);
    }

    /// The player `id` is carried by `socket` from now on (None: away).
    pub fn set_socket(&self, id: &str, socket: Option<Sid>) {
        let mut sockets = lock(&self.sockets);
        match socket {
            Some(sid) => sockets.insert(id.to_owned(), sid),
            None => sockets.remove(id),
        };
    }

    /// The socket of the player `id`, when it is connected.
    pub fn socket_of(&self, id: &str) -> Option<Sid> {
        lock(&self.sockets).get(id).copied()
    }

    /// Every player, for a shutdown that lets them all go.
    pub fn all(&self) -> Vec<Arc<Player>> {
        lock(&self.players).values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::Grid;

    #[test]
    fn player_ids_are_fresh_and_never_look_like_session_ids() {
        let a = new_player_id();
        let b = new_player_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 25);
        assert!(a.starts_with('p') && a[1..].chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn sockets_follow_the_player_and_go_with_it() {
        let grid = Grid::with_reach(100.0, 100.0, 10.0, 1).expect("grid");
        let room = Arc::new(HostedRoom::new("r", "t", grid, 4));
        let players = Players::default();
        let sid = Sid::new();
        let seated = Seated {
            id: "p1".into(),
            track: "t".into(),
            room,
            profile: Profile::default(),
        };
        let p = Arc::new(Player::new(seated, sid, "nonce".into()));
        players.insert(p.clone());
        players.set_socket("p1", Some(sid));
        assert_eq!(players.socket_of("p1"), Some(sid));
        players.set_socket("p1", None);
        assert_eq!(players.socket_of("p1"), None);
        players.set_socket("p1", Some(sid));
        players.remove(&p);
        assert!(players.get("p1").is_none());
        assert_eq!(players.socket_of("p1"), None);
    }
}
