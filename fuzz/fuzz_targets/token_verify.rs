//! Reservation tokens: signing and verification.
//!
//! Checked for every input:
//! - an arbitrary string never verifies into claims that are expired or of another
//!   version, and every refusal has a client code;
//! - signed claims verify back to exactly the same claims, or to the precise refusal
//!   (too long, unsupported version, expired) that the claims call for;
//! - any token the matchmaker may sign (claims within its limits) fits the verifier's
//!   length limit;
//! - the same token under another key, with any one byte changed, or cut short, never
//!   verifies, and is refused before its claims are read (malformed or bad signature,
//!   never "expired" or "unsupported version", which would mean the signature passed).

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use roomshard_protocol::token::{
    Claims, MAX_TOKEN_BYTES, MIN_SECRET_BYTES, TOKEN_VERSION, TokenError, TokenKey,
};
use roomshard_protocol::{validate_room_id, validate_set_name};

#[derive(Debug, Arbitrary)]
struct Input {
    secret: Vec<u8>,
    current_version: bool,
    bound: bool,
    version: u32,
    set: String,
    room: String,
    shard: u32,
    player: String,
    exp: u64,
    nonce: String,
    now: u64,
    change_at: usize,
    change_to: u8,
    cut_at: usize,
    other_key_bit: u8,
    raw: String,
}

/// What the matchmaker may put in a token (see its reserve validation).
fn within_matchmaker_limits(c: &Claims) -> bool {
    validate_set_name(&c.set).is_ok()
        && validate_room_id(&c.room).is_ok()
        && c.player.chars().count() <= 64
        && !c.player.chars().any(char::is_control)
        && c.nonce.len() <= 64
        && c.nonce.bytes().all(|b| b.is_ascii_graphic())
}

fn refused_before_claims(result: Result<Claims, TokenError>, what: &str) {
    match result {
        Err(TokenError::Malformed(_) | TokenError::BadSignature) => {}
        other => panic!("{what} gave {other:?}"),
    }
}

fuzz_target!(|input: Input| {
    let mut secret = input.secret;
    secret.resize(secret.len().max(MIN_SECRET_BYTES), 0);
    let Ok(key) = TokenKey::new(secret.clone()) else {
        panic!("a {}-byte secret was refused", secret.len());
    };
    let now = input.now;

    // Arbitrary text.
    match key.verify(&input.raw, now) {
        Ok(c) => {
            assert_eq!(c.v, TOKEN_VERSION);
            assert!(c.exp > now);
            assert!(input.raw.len() <= MAX_TOKEN_BYTES);
        }
        Err(e) => assert!(
            ["token_malformed", "token_invalid", "token_expired"].contains(&e.code()),
            "{e:?}"
        ),
    }

    // A token signed with the key.
    let claims = Claims {
        v: if input.current_version {
            TOKEN_VERSION
        } else {
            input.version
        },
        set: input.set,
        room: input.room,
        shard: input.shard,
        player: input.player,
        bound: input.bound,
        exp: input.exp,
        nonce: input.nonce,
    };
    let token = key.sign(&claims);
    let (payload, sig) = token.split_once('.').unwrap_or_default();
    let b64url = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    assert!(
        !payload.is_empty() && !sig.is_empty() && b64url(payload) && b64url(sig),
        "{token}"
    );
    if within_matchmaker_limits(&claims) {
        assert!(
            token.len() <= MAX_TOKEN_BYTES,
            "a token the matchmaker may sign is {} bytes",
            token.len()
        );
    }
    let verdict = key.verify(&token, now);
    if token.len() > MAX_TOKEN_BYTES {
        assert_eq!(verdict, Err(TokenError::Malformed("too long")));
        return;
    }
    if claims.v != TOKEN_VERSION {
        assert_eq!(verdict, Err(TokenError::UnsupportedVersion(claims.v)));
    } else if claims.exp <= now {
        assert_eq!(
            verdict,
            Err(TokenError::Expired {
                expired_at: claims.exp
            })
        );
    } else {
        assert_eq!(verdict.as_ref(), Ok(&claims));
    }

    // Another key.
    let mut other = secret;
    other[0] ^= input.other_key_bit | 1;
    let Ok(other) = TokenKey::new(other) else {
        panic!("a long enough secret was refused");
    };
    assert_eq!(other.verify(&token, now), Err(TokenError::BadSignature));

    // One byte changed (to another ASCII byte: tokens are text).
    let mut bytes = token.clone().into_bytes();
    let at = input.change_at % bytes.len();
    let to = input.change_to & 0x7f;
    if bytes[at] != to {
        bytes[at] = to;
        if let Ok(changed) = String::from_utf8(bytes) {
            refused_before_claims(key.verify(&changed, now), &format!("{changed:?}"));
        }
    }

    // Cut short.
    let cut = &token[..input.cut_at % token.len()];
    refused_before_claims(key.verify(cut, now), &format!("{cut:?}"));
});
