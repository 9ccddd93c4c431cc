//! A Lua script run with EVALSHA, loaded on first use and re-sent with EVAL when the
//! server has forgotten it (after a restart or SCRIPT FLUSH).

use fred::bytes_utils::Str;
use fred::clients::Client;
use fred::error::Error;
use fred::interfaces::LuaInterface;
use fred::types::{FromValue, Key, Value};
use std::sync::OnceLock;

pub struct LuaScript {
    pub name: &'static str,
    pub source: &'static str,
    sha: OnceLock<Str>,
}

impl LuaScript {
    pub const fn new(name: &'static str, source: &'static str) -> Self {
        Self {
            name,
            source,
            sha: OnceLock::new(),
        }
    }

    /// Runs the script. `call` builds its keys and arguments; it is called again only when
    /// the server has forgotten the script, so a normal run builds them once and copies
    /// nothing. The caller puts a deadline around this call.
    pub async fn run<R: FromValue>(
        &self,
        client: &Client,
        call: impl Fn() -> (Vec<Key>, Vec<Value>),
    ) -> Result<R, Error> {
        let sha = match self.sha.get() {
            Some(sha) => sha.clone(),
            None => {
                let sha: Str = client.script_load(self.source).await?;
                // Another task may have won the race; the hash is the same either way.
                let _ = self.sha.set(sha.clone());
                sha
            }
        };
        let (keys, args) = call();
        match client.evalsha(sha, keys, Value::Array(args)).await {
            Err(e) if e.details().starts_with("NOSCRIPT") => {
                let (keys, args) = call();
                client.eval(self.source, keys, Value::Array(args)).await
            }
            other => other,
        }
    }
}

pub static RESERVE: LuaScript = LuaScript::new("reserve", include_str!("reserve.lua"));
pub static VIEW: LuaScript = LuaScript::new("view", include_str!("view.lua"));
pub static ROOMS: LuaScript = LuaScript::new("rooms", include_str!("rooms.lua"));
