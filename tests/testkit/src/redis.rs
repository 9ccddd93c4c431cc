//! A throwaway `redis-server` on a free loopback port, with no persistence; optionally
//! speaking only TLS on that port ([`ServerTls`]) and with ACL users ([`AclUser`]).

use crate::process::{ChildGuard, find_program, free_port, wait_until};
use crate::resp::Reply;
use crate::tls::CertPair;
use anyhow::{Context, Result, anyhow};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The password of the `default` user when a server has [`RedisOptions::users`]: the
/// tests administer the server as it, the code under test connects as its own user.
pub const ADMIN_PASSWORD: &str = "roomshard-test-admin-password";

/// How a server is started beyond the defaults.
#[derive(Debug, Clone, Default)]
pub struct RedisOptions {
    /// TLS only: the port speaks TLS, the plain port is off, and the tests reach the server
    /// through a Unix socket in its folder.
    pub tls: Option<ServerTls>,
    /// ACL users besides `default`, which then needs [`ADMIN_PASSWORD`].
    pub users: Vec<AclUser>,
}

/// The TLS side of a server: its certificate, the CA it checks client certificates with,
/// and whether a client must show one.
#[derive(Debug, Clone)]
pub struct ServerTls {
    pub server: CertPair,
    pub ca: PathBuf,
    pub auth_clients: AuthClients,
}

/// `--tls-auth-clients`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthClients {
    /// A client certificate is required (mutual TLS).
    Yes,
    /// A client may show a certificate; if it does, it must be valid.
    Optional,
    /// Client certificates are not asked for.
    No,
}

/// An ACL user: `rules` as `ACL SETUSER` takes them after `on >password`, for example
/// `~roomshard:* &* +@all` or `~other:* +get`.
#[derive(Debug, Clone)]
pub struct AclUser {
    pub name: String,
    pub password: String,
    pub rules: String,
}

/// The Unix socket of a TLS server, in its folder.
const SOCKET: &str = "redis.sock";

/// A running `redis-server`, killed when dropped.
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    child: ChildGuard,
    starts: u32,
    /// Addresses listened on besides 127.0.0.1.
    also: Vec<IpAddr>,
    options: RedisOptions,
}

impl RedisServer {
    /// Starts a server and waits until it answers PING.
    pub fn start() -> Result<Self> {
        Self::start_also_on(&[])
    }

    /// Starts a server that also listens on `also` (addresses of this host, such as the
    /// root side of a [`crate::netns::Netns`] link), for clients in other namespaces.
    pub fn start_also_on(also: &[IpAddr]) -> Result<Self> {
        Self::start_inner(also, RedisOptions::default())
    }

    /// Starts a server with TLS and/or ACL users on 127.0.0.1.
    pub fn start_with(options: RedisOptions) -> Result<Self> {
        Self::start_inner(&[], options)
    }

    fn start_inner(also: &[IpAddr], options: RedisOptions) -> Result<Self> {
        let dir = crate::scratch_dir("redis")?;
        let port = free_port()?;
        let child = Self::spawn(port, &dir, 0, also, &options)?;
        let server = Self {
            port,
            dir,
            child,
            starts: 1,
            also: also.to_vec(),
            options,
        };
        server.wait_ready(Duration::from_secs(10))?;
        Ok(server)
    }

    fn spawn(
        port: u16,
        dir: &Path,
        n: u32,
        also: &[IpAddr],
        options: &RedisOptions,
    ) -> Result<ChildGuard> {
        let bin = find_program("redis-server").ok_or_else(|| {
            anyhow!("redis-server is not installed: run hack/install-deps.sh (apt-get install redis-server)")
        })?;
        let mut bind = vec!["127.0.0.1".to_owned()];
        bind.extend(also.iter().map(IpAddr::to_string));
        let mut cmd = Command::new(bin);
        match &options.tls {
            None => cmd.args(["--port", &port.to_string()]),
            Some(tls) => cmd
                .args(["--port", "0", "--tls-port", &port.to_string()])
                .arg("--tls-cert-file")
                .arg(&tls.server.cert)
                .arg("--tls-key-file")
                .arg(&tls.server.key)
                .arg("--tls-ca-cert-file")
                .arg(&tls.ca)
                .args([
                    "--tls-auth-clients",
                    match tls.auth_clients {
                        AuthClients::Yes => "yes",
                        AuthClients::Optional => "optional",
                        AuthClients::No => "no",
                    },
                ])
                .arg("--unixsocket")
                .arg(dir.join(SOCKET))
                .args(["--unixsocketperm", "700"]),
        };
        if !options.users.is_empty() {
            cmd.args(["--requirepass", ADMIN_PASSWORD]);
            for user in &options.users {
                cmd.args(["--user", &user.name, "on", &format!(">{}", user.password)])
                    .args(user.rules.split_whitespace());
            }
        }
        cmd.arg("--bind")
            .args(&bind)
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--protected-mode",
                // Protected mode refuses clients that are not on loopback.
                if also.is_empty() { "yes" } else { "no" },
                "--dir",
            ])
            .arg(dir);
        ChildGuard::spawn("redis-server", cmd, &dir.join(format!("redis-{n}.log")))
    }

    /// `redis://127.0.0.1:PORT`, or `rediss://` for a TLS server.
    pub fn url(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme(), self.port)
    }

    /// [`Self::url`] with the user and password of an ACL user.
    pub fn url_as(&self, user: &str, password: &str) -> String {
        format!(
            "{}://{user}:{password}@127.0.0.1:{}",
            self.scheme(),
            self.port
        )
    }

    fn scheme(&self) -> &'static str {
        if self.options.tls.is_some() {
            "rediss"
        } else {
            "redis"
        }
    }

    /// `redis://ADDR:PORT`, for a client that reaches the server on `addr`.
    pub fn url_at(&self, addr: IpAddr) -> String {
        format!("redis://{addr}:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// One command through the raw RESP client ([`crate::resp::query`]).
    /// A TLS server is reached through its Unix socket; one with ACL users as `default`.
    pub fn query(&self, args: &[&str]) -> Result<Reply> {
        let password = (!self.options.users.is_empty()).then_some(ADMIN_PASSWORD);
        if self.options.tls.is_some() {
            crate::resp::query_unix(&self.dir.join(SOCKET), password, args)
        } else {
            crate::resp::query_auth(self.port, password, args)
        }
    }

    /// Whether `key` exists.
    pub fn exists(&self, key: &str) -> Result<bool> {
        Ok(self.query(&["EXISTS", key])? == Reply::Int(1))
    }

    fn wait_ready(&self, deadline: Duration) -> Result<()> {
        wait_until("redis-server to answer PING", deadline, || {
            self.query(&["PING"])
                .ok()
                .filter(|r| r.as_text() == Some("PONG"))
        })
        .map(|_| ())
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing is answered.
    pub fn freeze(&self) -> Result<()> {
        self.child.signal("STOP")
    }

    /// Thaws a frozen server (SIGCONT).
    pub fn thaw(&self) -> Result<()> {
        self.child.signal("CONT")
    }

    /// Kills the server; it loses all data (no persistence).
    pub fn kill(&mut self) {
        self.child.kill();
    }

    /// Starts the server again on the same port, empty, and waits until it answers.
    pub fn restart(&mut self) -> Result<()> {
        self.child.kill();
        self.child = Self::spawn(self.port, &self.dir, self.starts, &self.also, &self.options)
            .context("restarting redis-server")?;
        self.starts += 1;
        self.wait_ready(Duration::from_secs(10))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.child.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
