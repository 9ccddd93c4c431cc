//! Lua scripts, each kept in a `.lua` file next to the code that runs it and compiled in with
//! `include_str!`. A script runs with EVALSHA: its hash is loaded on first use, and the
//! source is sent again with EVAL when the server has forgotten it (after a restart or
//! SCRIPT FLUSH). The worker's seat scripts and the matchmaker's reserve, view and rooms
//! scripts run through it against a real Redis in their crates' tests.

use fred::bytes_utils::Str;
use fred::clients::Client;
use fred::error::Error;
use fred::interfaces::LuaInterface;
use fred::types::{FromValue, MultipleKeys, Value};
use std::sync::OnceLock;

pub struct LuaScript {
    pub name: &'static str,
    pub source: &'static str,
    sha: OnceLock<Str>,
}

impl LuaScript {
    /// `static SEAT: LuaScript = LuaScript::new("seat", include_str!("seat.lua"));`
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
    pub async fn run<R, K, V>(&self, client: &Client, call: impl Fn() -> (K, V)) -> Result<R, Error>
    where
        R: FromValue,
        K: Into<MultipleKeys> + Send,
        V: TryInto<Value> + Send,
        V::Error: Into<Error> + Send,
    {
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
        match client.evalsha(sha, keys, args).await {
            Err(e) if e.details().starts_with("NOSCRIPT") => {
                let (keys, args) = call();
                client.eval(self.source, keys, args).await
            }
            other => other,
        }
    }
}
