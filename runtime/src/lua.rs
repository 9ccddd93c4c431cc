//! Lua scripts, each kept in a `.lua` file next to the code that runs it and compiled in with
//! `include_str!`. A script runs with EVALSHA: its hash is loaded on first use, and the
//! source is sent again with EVAL when the server has forgotten it (after a restart or
//! SCRIPT FLUSH, or on a cluster node that has not seen it yet). A script may start with a
//! prelude of helpers it shares with others (the seat helpers of
//! `roomshard_protocol::seats`); Lua has no includes, so the two are joined once. The
//! worker's seat scripts and the matchmaker's placement scripts run through it against a
//! real Redis in their crates' tests.

use fred::bytes_utils::Str;
use fred::clients::Client;
use fred::error::Error;
use fred::interfaces::LuaInterface;
use fred::types::{FromValue, MultipleKeys, Value};
use std::sync::OnceLock;
use std::time::Duration;

/// Pauses before a script refused with TRYAGAIN is sent again, doubling; the caller's
/// deadline ends the retries.
const TRYAGAIN_FIRST_PAUSE: Duration = Duration::from_millis(2);
const TRYAGAIN_MAX_PAUSE: Duration = Duration::from_millis(50);

pub struct LuaScript {
    pub name: &'static str,
    prelude: &'static str,
    body: &'static str,
    joined: OnceLock<String>,
    sha: OnceLock<Str>,
}

impl LuaScript {
    /// `static SEAT: LuaScript = LuaScript::new("seat", include_str!("seat.lua"));`
    pub const fn new(name: &'static str, source: &'static str) -> Self {
        Self::with_prelude(name, "", source)
    }

    /// A script whose `body` uses the helpers of `prelude`.
    pub const fn with_prelude(
        name: &'static str,
        prelude: &'static str,
        body: &'static str,
    ) -> Self {
        Self {
            name,
            prelude,
            body,
            joined: OnceLock::new(),
            sha: OnceLock::new(),
        }
    }

    /// The text Redis runs: the prelude, then the body.
    pub fn source(&self) -> &str {
        if self.prelude.is_empty() {
            return self.body;
        }
        self.joined
            .get_or_init(|| format!("{}\n{}", self.prelude, self.body))
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
                let sha: Str = client.script_load(self.source()).await?;
                // Another task may have won the race; the hash is the same either way.
                let _ = self.sha.set(sha.clone());
                sha
            }
        };
        let mut pause = TRYAGAIN_FIRST_PAUSE;
        loop {
            let (keys, args) = call();
            let result = match client.evalsha(sha.clone(), keys, args).await {
                Err(e) if e.details().starts_with("NOSCRIPT") => {
                    let (keys, args) = call();
                    client.eval(self.source(), keys, args).await
                }
                other => other,
            };
            match result {
                // The slot of the keys is being moved and they are split between the two
                // nodes for a moment: the script did not run, so it is sent again. fred
                // follows MOVED and ASK itself, but not this.
                Err(e) if e.details().starts_with("TRYAGAIN") => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(TRYAGAIN_MAX_PAUSE);
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static PLAIN: LuaScript = LuaScript::new("plain", "return 1");
    static JOINED: LuaScript = LuaScript::with_prelude(
        "joined",
        "local function one() return 1 end",
        "return one()",
    );

    #[test]
    fn a_prelude_comes_before_the_body() {
        assert_eq!(PLAIN.source(), "return 1");
        assert_eq!(
            JOINED.source(),
            "local function one() return 1 end\nreturn one()"
        );
    }
}
