//! A Lua script run with EVALSHA, loaded on first use and re-sent with EVAL when the
//! server has forgotten it (after a restart or SCRIPT FLUSH).

use fred::clients::Client;
use fred::error::Error;
use fred::interfaces::LuaInterface;
use fred::types::{FromValue, MultipleKeys, Value};
use std::sync::OnceLock;

pub struct LuaScript {
    pub name: &'static str,
    pub source: &'static str,
    sha: OnceLock<String>,
}

impl LuaScript {
    pub const fn new(name: &'static str, source: &'static str) -> Self {
        Self {
            name,
            source,
            sha: OnceLock::new(),
        }
    }

    /// Runs the script. The caller puts a deadline around this call.
    pub async fn run<R: FromValue>(
        &self,
        client: &Client,
        keys: Vec<String>,
        args: Vec<String>,
    ) -> Result<R, Error> {
        let sha = match self.sha.get() {
            Some(sha) => sha.clone(),
            None => {
                let sha: String = client.script_load(self.source).await?;
                // Another task may have won the race; the hash is the same either way.
                let _ = self.sha.set(sha.clone());
                sha
            }
        };
        let keys = MultipleKeys::from(keys);
        let args = Value::try_from(args)?;
        match client.evalsha(sha, keys.clone(), args.clone()).await {
            Err(e) if e.details().starts_with("NOSCRIPT") => {
                client.eval(self.source, keys, args).await
            }
            other => other,
        }
    }
}

pub static RESERVE: LuaScript = LuaScript::new("reserve", include_str!("reserve.lua"));
pub static VIEW: LuaScript = LuaScript::new("view", include_str!("view.lua"));
pub static ROOMS: LuaScript = LuaScript::new("rooms", include_str!("rooms.lua"));
