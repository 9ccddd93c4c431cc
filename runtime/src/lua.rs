//! Lua scripts, each kept in a `.lua` file next to the code that runs it and compiled in with
//! `include_str!`. A script runs with EVALSHA: its hash is loaded on first use, and the
//! source is sent again with EVAL when the server has forgotten it (after a restart or
//! SCRIPT FLUSH).

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

#[cfg(test)]
mod tests {
    use super::*;
    use fred::prelude::{ClientLike, Config};
    use roomshard_testkit::redis::RedisServer;

    static ECHO: LuaScript = LuaScript::new("echo", "return {KEYS[1], ARGV[1]}");

    #[tokio::test]
    async fn runs_and_survives_a_script_flush() {
        let redis = RedisServer::start().expect("redis-server");
        let config = Config::from_url(&redis.url()).expect("url");
        let client = fred::prelude::Builder::from_config(config)
            .build()
            .expect("client");
        client.init().await.expect("connects");
        let calls = std::sync::atomic::AtomicU32::new(0);
        let call = || {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            (vec!["k"], vec!["a"])
        };
        let got: Vec<String> = ECHO.run(&client, call).await.expect("runs");
        assert_eq!(got, ["k", "a"]);
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);

        redis.command("SCRIPT FLUSH").expect("flush");
        let got: Vec<String> = ECHO.run(&client, call).await.expect("runs again");
        assert_eq!(got, ["k", "a"]);
        assert_eq!(
            calls.load(std::sync::atomic::Ordering::SeqCst),
            3,
            "a forgotten script is sent again with its arguments rebuilt"
        );
        let _ = client.quit().await;
    }
}
