//! The shipped nginx example (docs/examples/nginx.conf) in front of three worker shards
//! and the matchmaker: `/shard/{i}/socket.io/` must reach shard i over WebSocket (the
//! upgrade passes through) and over long polling, and the matchmaker behind `/` must hand
//! out URLs that route back through the proxy to the shard it chose.
//!
//! The test's config is the example with its ports replaced, so what ships is what runs.

mod common;

use anyhow::{Context, Result, bail};
use common::{Stack, StackOptions};
use roomshard_loadtest::sio::{Client, Packet, parse_frame};
use roomshard_testkit::http::{BOUND, request, send};
use roomshard_testkit::process::{ChildGuard, find_program, free_port, wait_until};
use serde_json::{Value, json};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

/// The example's addresses, in the order the test replaces them.
const EXAMPLE_WORKERS: [&str; 3] = ["127.0.0.1:3000", "127.0.0.1:3001", "127.0.0.1:3002"];
const EXAMPLE_LISTEN: &str = "127.0.0.1:8088";
const EXAMPLE_MATCHMAKER: &str = "127.0.0.1:8080";

/// docs/examples/nginx.conf with its ports replaced. Fails when the example no longer
/// names one of the addresses (the test would then test something else).
fn render_config(workers: &[u16], listen: u16, matchmaker: u16) -> Result<String> {
    let path = roomshard_testkit::repo_root()
        .join("docs")
        .join("examples")
        .join("nginx.conf");
    let mut text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut swaps: Vec<(&str, String)> = EXAMPLE_WORKERS
        .iter()
        .zip(workers)
        .map(|(from, port)| (*from, format!("127.0.0.1:{port}")))
        .collect();
    swaps.push((EXAMPLE_LISTEN, format!("127.0.0.1:{listen}")));
    swaps.push((EXAMPLE_MATCHMAKER, format!("127.0.0.1:{matchmaker}")));
    // Two passes through placeholders, so a new port can never be mistaken for an old one.
    for (n, (from, _)) in swaps.iter().enumerate() {
        let in_directives = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .any(|l| l.contains(from));
        if !in_directives {
            bail!("{} no longer routes to {from}", path.display());
        }
        text = text.replace(from, &format!("@@ADDRESS{n}@@"));
    }
    for (n, (_, to)) in swaps.iter().enumerate() {
        text = text.replace(&format!("@@ADDRESS{n}@@"), to);
    }
    Ok(text)
}

struct Nginx {
    port: u16,
    child: ChildGuard,
    dir: std::path::PathBuf,
}

impl Nginx {
    fn start(config: &str, port: u16) -> Result<Self> {
        let bin = find_program("nginx").context(
            "nginx is not installed: run hack/install-deps.sh (apt-get install nginx-light)",
        )?;
        let dir = roomshard_testkit::scratch_dir("nginx")?;
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, config)?;
        let check = Command::new(&bin)
            .arg("-t")
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&conf)
            .output()?;
        if !check.status.success() {
            bail!(
                "nginx -t refused the example:\n{}",
                String::from_utf8_lossy(&check.stderr)
            );
        }
        let mut cmd = Command::new(&bin);
        cmd.arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&conf)
            .args(["-g", "daemon off;"]);
        let mut child = ChildGuard::spawn("nginx", cmd, &dir.join("nginx.log"))?;
        wait_until("nginx to listen", Duration::from_secs(10), || {
            if child.try_status().is_some() {
                return Some(false);
            }
            TcpStream::connect(("127.0.0.1", port)).ok().map(|_| true)
        })?
        .then_some(())
        .with_context(|| {
            format!(
                "nginx exited:\n{}",
                std::fs::read_to_string(dir.join("nginx.log")).unwrap_or_default()
            )
        })?;
        Ok(Self { port, child, dir })
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(self.dir.join("nginx.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // nginx's master ends its workers on SIGTERM; SIGKILL would orphan them.
        let _ = self.child.signal("TERM");
        let _ = self.child.wait_exit(Duration::from_secs(5));
    }
}

/// Connects over WebSocket through `base`, joins `room` (with `token` when given) and
/// returns the client and the join ack.
async fn ws_join(base: &str, room: &str, token: Option<&str>) -> Result<(Client, Value)> {
    // A join through the proxy has once gone unanswered for 10 s in a full suite run (not
    // reproduced alone; see RELIABILITY.md). One fresh attempt keeps this test about routing.
    match ws_join_once(base, room, token).await {
        Ok(joined) => Ok(joined),
        Err(first) => {
            eprintln!("join through {base} failed once ({first:#}); retrying");
            ws_join_once(base, room, token).await
        }
    }
}

async fn ws_join_once(base: &str, room: &str, token: Option<&str>) -> Result<(Client, Value)> {
    let mut client = tokio::time::timeout(Duration::from_secs(10), Client::connect(base))
        .await
        .context("WebSocket connect timed out")??;
    let mut body = json!({ "room": room, "name": "through-nginx" });
    if let Some(t) = token {
        body["token"] = json!(t);
    }
    let id = client.emit_with_ack("join", &body).await?;
    let ack = tokio::time::timeout(Duration::from_secs(10), client.wait_ack(id, |_| {}))
        .await
        .context("no join ack")??;
    Ok((client, ack))
}

/// An Engine.IO v4 long-polling session through the proxy: handshake, namespace
/// connect, one `join` with an ack. Plain HTTP requests, no WebSocket at all.
struct Polling {
    port: u16,
    path: String,
    sid: String,
}

impl Polling {
    fn open(port: u16, prefix: &str) -> Result<Self> {
        let path = format!("{prefix}/socket.io/?EIO=4&transport=polling");
        let r = request(port, "GET", &path, None, b"", BOUND)?;
        if r.status != 200 {
            bail!("polling handshake answered {}: {}", r.status, r.body);
        }
        let open = r
            .body
            .strip_prefix('0')
            .context("no Engine.IO open packet")?;
        let open: Value = serde_json::from_str(open).context("open packet JSON")?;
        let sid = open["sid"].as_str().context("no sid")?.to_owned();
        Ok(Self { port, path, sid })
    }

    fn url(&self) -> String {
        format!("{}&sid={}", self.path, self.sid)
    }

    fn send(&self, packet: &str) -> Result<()> {
        let r = request(
            self.port,
            "POST",
            &self.url(),
            Some("text/plain;charset=UTF-8"),
            packet.as_bytes(),
            BOUND,
        )?;
        if r.status != 200 {
            bail!("polling POST answered {}: {}", r.status, r.body);
        }
        Ok(())
    }

    /// The packets of one long-poll, answering pings.
    fn poll(&self) -> Result<Vec<String>> {
        let r = request(self.port, "GET", &self.url(), None, b"", BOUND)?;
        if r.status != 200 {
            bail!("polling GET answered {}: {}", r.status, r.body);
        }
        let packets: Vec<String> = r.body.split('\u{1e}').map(str::to_owned).collect();
        if packets.iter().any(|p| p == "2") {
            self.send("3")?;
        }
        Ok(packets)
    }

    /// Polls until `pick` accepts a packet, within `deadline`.
    fn wait_for<T>(
        &self,
        deadline: Duration,
        mut pick: impl FnMut(&str) -> Option<T>,
    ) -> Result<T> {
        let start = Instant::now();
        while start.elapsed() < deadline {
            for p in self.poll()? {
                if let Some(v) = pick(&p) {
                    return Ok(v);
                }
            }
        }
        bail!("no expected packet within {deadline:?}")
    }
}

#[test]
fn nginx_example_routes_each_shard_path_to_its_worker() {
    let nginx_port = free_port().expect("port");
    let worker_ports: Vec<u16> = (0..3).map(|_| free_port().expect("port")).collect();
    let mm_port = free_port().expect("port");
    let config = render_config(&worker_ports, nginx_port, mm_port).expect("the example renders");
    let stack = Stack::start(
        "e2e-nginx",
        StackOptions {
            public_url: Some(Box::new(move |i, _| {
                format!("http://127.0.0.1:{nginx_port}/shard/{i}")
            })),
            // Direct joins through each shard path need no reservation; the reserved join
            // below still presents (and has checked) its token.
            require_token: Some(false),
            worker_ports: Some(worker_ports.clone()),
            matchmaker_port: Some(mm_port),
            ..StackOptions::default()
        },
    )
    .expect("the set starts");
    let nginx = Nginx::start(&config, nginx_port).expect("nginx starts with the example");
    let context = || format!("{}\n--- nginx ---\n{}", stack.logs(), nginx.logs());
    let proxy = format!("http://127.0.0.1:{}", nginx.port);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    // WebSocket through /shard/{i}: each lands on shard i.
    rt.block_on(async {
        for i in 0..3u32 {
            let base = format!("{proxy}/shard/{i}");
            let (client, ack) = ws_join(&base, &format!("nginx-ws-{i}"), None)
                .await
                .unwrap_or_else(|e| panic!("join through {base}: {e:#}\n{}", context()));
            assert_eq!(ack["ok"], true, "{ack}\n{}", context());
            assert_eq!(ack["shard"], i, "{base} reached the wrong shard: {ack}");
            client.close().await;
        }
    });

    // Long polling through /shard/2: the same routing without the upgrade.
    let polling =
        Polling::open(nginx.port, "/shard/2").unwrap_or_else(|e| panic!("{e:#}\n{}", context()));
    polling.send("40").expect("namespace connect");
    polling
        .wait_for(Duration::from_secs(10), |p| {
            p.starts_with("40").then_some(())
        })
        .expect("namespace connected over polling");
    polling
        .send(r#"421["join",{"room":"nginx-polling"}]"#)
        .expect("join sent");
    let ack = polling
        .wait_for(Duration::from_secs(10), |p| match parse_frame(p) {
            Ok(Packet::Ack { id: 1, data }) => Some(data),
            _ => None,
        })
        .unwrap_or_else(|e| panic!("{e:#}\n{}", context()));
    assert_eq!(ack["ok"], true, "{ack}");
    assert_eq!(ack["shard"], 2, "polling through /shard/2 reached: {ack}");
    polling.send("41").expect("disconnect");

    // The matchmaker behind `/` hands out URLs through the proxy, and they route back to
    // the shard it chose.
    let reserved = send(
        nginx.port,
        "POST",
        "/reserve",
        Some(r#"{"track":"nginx","player":"p1"}"#),
    )
    .expect("POST /reserve through nginx");
    assert_eq!(reserved.status, 200, "{}\n{}", reserved.body, context());
    let seat = reserved.json().expect("reservation JSON");
    let shard = seat["shard"].as_u64().expect("shard");
    let url = seat["url"].as_str().expect("url").to_owned();
    assert_eq!(url, format!("{proxy}/shard/{shard}"), "{seat}");
    rt.block_on(async {
        let (client, ack) = ws_join(
            &url,
            seat["room"].as_str().expect("room"),
            seat["token"].as_str(),
        )
        .await
        .unwrap_or_else(|e| panic!("reserved join through {url}: {e:#}\n{}", context()));
        assert_eq!(ack["ok"], true, "{ack}\n{}", context());
        assert_eq!(ack["shard"], shard, "{ack}");
        assert_eq!(ack["room"], seat["room"], "{ack}");
        client.close().await;
    });

    // A shard the map does not name is a 404 from the proxy, not a wrong worker.
    let missing = request(
        nginx.port,
        "GET",
        "/shard/7/socket.io/?EIO=4&transport=polling",
        None,
        b"",
        BOUND,
    )
    .expect("request");
    assert_eq!(missing.status, 404, "{}", missing.body);
}
