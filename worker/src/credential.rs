//! The resume credential: proof, signed by this worker, that a connection is the client a
//! player joined with. It names the set, room, shard and player, the worker process that
//! issued it (its epoch), and a nonce that the player's record must still hold: every
//! resume rotates the nonce, so a credential works once.
//!
//! It is signed in the reservation token's form with a key derived from the token secret
//! for this one purpose, so a reservation token never passes as a credential nor the
//! reverse.

use crate::error::Rejection;
use roomshard_protocol::events::codes;
use roomshard_protocol::token::{TokenKey, new_nonce};
use serde::{Deserialize, Serialize};

/// Credential format written by this release.
pub const CREDENTIAL_VERSION: u32 = 1;
const KEY_LABEL: &str = "roomshard resume credential v1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResumeClaims {
    pub v: u32,
    pub set: String,
    pub room: String,
    pub shard: u32,
    pub player: String,
    /// The issuing worker process.
    pub epoch: String,
    pub nonce: String,
}

/// Issues and checks this worker's credentials.
pub struct Credentials {
    key: TokenKey,
    set: String,
    shard: u32,
    epoch: String,
    /// Earlier processes of this shard whose players were handed over to this one.
    handed_over: std::sync::Mutex<Vec<String>>,
}

impl Credentials {
    /// With the token secret shared by the set, or (a development run without one) a key
    /// of this process alone. The epoch is new with every process.
    pub fn new(token_key: Option<&TokenKey>, set: &str, shard: u32) -> Self {
        let key = token_key.map_or_else(TokenKey::random, |k| k.derive(KEY_LABEL));
        Self {
            key,
            set: set.to_owned(),
            shard,
            epoch: new_nonce(),
            handed_over: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// This process's epoch, which every credential it issues names.
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// Honours the credentials of the earlier process `epoch`, whose players this process
    /// took over (a handoff): each still needs the nonce the player's record holds.
    pub fn accept_handed_over(&self, epoch: &str) {
        let mut e = self.handed_over.lock().unwrap_or_else(|p| p.into_inner());
        if !e.iter().any(|x| x == epoch) {
            e.push(epoch.to_owned());
        }
    }

    /// A credential for `player` of `room`, good while the player's record holds `nonce`.
    pub fn issue(&self, room: &str, player: &str, nonce: &str) -> String {
        self.key.sign_json(&ResumeClaims {
            v: CREDENTIAL_VERSION,
            set: self.set.clone(),
            room: room.to_owned(),
            shard: self.shard,
            player: player.to_owned(),
            epoch: self.epoch.clone(),
            nonce: nonce.to_owned(),
        })
    }

    /// The claims of a credential this worker can honour, or the refusal: forged or for
    /// another set (`resume_invalid`), another shard (`shard_changed`), or an earlier
    /// process of this shard (`resume_expired`).
    pub fn open(&self, credential: &str) -> Result<ResumeClaims, Rejection> {
        let claims: ResumeClaims = self.key.open_json(credential).map_err(|e| {
            Rejection::new(
                codes::RESUME_INVALID,
                format!("resume credential refused: {e}"),
            )
        })?;
        if claims.v != CREDENTIAL_VERSION || claims.set != self.set {
            return Err(Rejection::new(
                codes::RESUME_INVALID,
                "resume credential is not for this set",
            ));
        }
        if claims.shard != self.shard {
            return Err(Rejection::new(
                codes::SHARD_CHANGED,
                format!(
                    "the credential is for shard {}, this is shard {}; reserve again",
                    claims.shard, self.shard
                ),
            ));
        }
        let handed_over = || {
            self.handed_over
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains(&claims.epoch)
        };
        if claims.epoch != self.epoch && !handed_over() {
            return Err(Rejection::new(
                codes::RESUME_EXPIRED,
                "the worker restarted since; reserve again",
            ));
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roomshard_protocol::token::{Claims, TOKEN_VERSION};

    fn secret() -> TokenKey {
        TokenKey::new(b"0123456789abcdef0123456789abcdef".to_vec()).expect("long enough")
    }

    #[test]
    fn issued_credentials_open_with_their_claims() {
        let c = Credentials::new(Some(&secret()), "s", 2);
        let cred = c.issue("r1", "p1", "n1");
        let claims = c.open(&cred).expect("valid");
        assert_eq!((claims.room.as_str(), claims.player.as_str()), ("r1", "p1"));
        assert_eq!(claims.nonce, "n1");
    }

    #[test]
    fn tampered_or_foreign_credentials_are_refused_with_their_code() {
        let c = Credentials::new(Some(&secret()), "s", 2);
        let cred = c.issue("r1", "p1", "n1");
        let mut tampered = cred.clone();
        tampered.insert(3, 'x');
        assert_eq!(
            c.open(&tampered).map_err(|e| e.code),
            Err(codes::RESUME_INVALID)
        );
        assert_eq!(c.open("").map_err(|e| e.code), Err(codes::RESUME_INVALID));
        let other_set = Credentials::new(Some(&secret()), "t", 2);
        assert_eq!(
            other_set.open(&cred).map_err(|e| e.code),
            Err(codes::RESUME_INVALID)
        );
        let other_shard = Credentials::new(Some(&secret()), "s", 3);
        assert_eq!(
            other_shard.open(&cred).map_err(|e| e.code),
            Err(codes::SHARD_CHANGED)
        );
        let restarted = Credentials::new(Some(&secret()), "s", 2);
        assert_eq!(
            restarted.open(&cred).map_err(|e| e.code),
            Err(codes::RESUME_EXPIRED)
        );
        // Unless the earlier process handed its players over to this one.
        restarted.accept_handed_over(c.epoch());
        assert_eq!(
            restarted.open(&cred).map(|cl| cl.player),
            Ok("p1".to_owned())
        );
    }

    #[test]
    fn a_reservation_token_is_no_credential() {
        let key = secret();
        let token = key.sign(&Claims {
            v: TOKEN_VERSION,
            set: "s".into(),
            room: "r1".into(),
            shard: 2,
            player: "p1".into(),
            bound: false,
            exp: u64::MAX,
            nonce: "n1".into(),
        });
        let c = Credentials::new(Some(&key), "s", 2);
        assert_eq!(
            c.open(&token).map_err(|e| e.code),
            Err(codes::RESUME_INVALID)
        );
    }
}
