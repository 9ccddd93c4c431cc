//! Scale-down with live players: a RoomShardSet of 3 shards scaled to 2 while players are
//! in a room on shard 2. The real operator runs against a real API server; the control
//! plane has no kubelet, so the test plays it: it runs one real worker per StatefulSet
//! replica with the environment the pod template gives it (fields, the shard-count
//! ConfigMap and the token Secret resolved as the kubelet would), runs the matchmaker from
//! its Deployment the same way, and SIGTERMs a worker when the StatefulSet drops its pod.
//!
//! Phase 1, players stay: shard 2 is marked draining, its players are told and keep
//! playing, new seats go elsewhere, and the StatefulSet keeps 3 replicas until the drain
//! deadline; no player of shard 2 is disconnected before it; the shard stays closed while
//! its pod is being removed; its worker exits cleanly on SIGTERM. Phase 2, players leave
//! early: the scale-down completes well before the deadline. Players on shards 0 and 1
//! notice nothing throughout.

use anyhow::{Context, Result, bail, ensure};
use roomshard_faults::{Player, ms, reserve};
use roomshard_testkit::bins::command;
use roomshard_testkit::control_plane::ControlPlane;
use roomshard_testkit::http::room_shards;
use roomshard_testkit::process::Proc;
use roomshard_testkit::process::{ChildGuard, free_port, wait_until};
use roomshard_testkit::redis::RedisServer;
use roomshard_testkit::resp::query;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::BufReader;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SET: &str = "drain";
const NS: &str = "default";
/// Drain deadline of the phase where players stay.
const DRAIN_SECONDS: u64 = 8;
/// Drain deadline of the phase where players leave: far enough to tell the two apart.
const LONG_DRAIN_SECONDS: u64 = 60;
/// How long the test, as a slow kubelet, waits between the StatefulSet dropping pod 2 and
/// terminating it; the shard must stay closed meanwhile.
const KUBELET_DELAY: Duration = Duration::from_millis(2500);

fn get_json(cp: &ControlPlane, kind: &str, name: &str) -> Result<Value> {
    Ok(serde_json::from_str(&cp.kubectl_ok(&[
        "get", kind, name, "-n", NS, "-o", "json",
    ])?)?)
}

fn now_ms() -> u64 {
    roomshard_protocol::now_ms()
}

/// Three consecutive free ports on loopback: the set's port plays the container port and
/// shard i listens on `base + i`, as a host running the pods side by side maps them.
fn consecutive_ports() -> Result<u16> {
    for _ in 0..50 {
        let base = free_port()?;
        if base > u16::MAX - 3 {
            continue;
        }
        let free = (0..3).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok());
        if free {
            return Ok(base);
        }
    }
    bail!("no three consecutive free ports")
}

/// The StatefulSet's replicas as a watch reports them, with when each version arrived.
struct Watch {
    child: Child,
    seen: Arc<Mutex<Vec<(Instant, u64, i64)>>>,
}

impl Watch {
    fn statefulset(cp: &ControlPlane, name: &str) -> Result<Self> {
        let mut child = cp
            .kubectl()
            .args([
                "get",
                "statefulset",
                name,
                "-n",
                NS,
                "--watch",
                "--output-watch-events",
                "-o",
                "json",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting kubectl get --watch")?;
        let stdout = child.stdout.take().context("watch stdout")?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        std::thread::spawn(move || {
            let stream = serde_json::Deserializer::from_reader(BufReader::new(stdout));
            for event in stream.into_iter::<Value>() {
                let Ok(event) = event else { break };
                if let Some(replicas) = event["object"]["spec"]["replicas"].as_i64()
                    && let Ok(mut seen) = sink.lock()
                {
                    seen.push((Instant::now(), now_ms(), replicas));
                }
            }
        });
        Ok(Self { child, seen })
    }

    fn history(&self) -> Vec<(Instant, u64, i64)> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The first report of `replicas` after `since`.
    fn wait_for(
        &self,
        replicas: i64,
        since: Instant,
        deadline: Duration,
    ) -> Result<(Instant, u64)> {
        wait_until(
            &format!("the StatefulSet to ask for {replicas} replicas"),
            deadline,
            || {
                self.history()
                    .into_iter()
                    .find(|(at, _, r)| *at >= since && *r == replicas)
                    .map(|(at, wall, _)| (at, wall))
            },
        )
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The test's kubelet: resolves a pod template's environment the way the kubelet does.
struct Kubelet<'a> {
    cp: &'a ControlPlane,
    dir: PathBuf,
}

impl Kubelet<'_> {
    /// `$(NAME)` references to variables defined earlier are expanded; others stay.
    fn expand(value: &str, env: &[(String, String)]) -> String {
        let mut out = value.to_owned();
        for (name, v) in env {
            out = out.replace(&format!("$({name})"), v);
        }
        out
    }

    fn env(&self, container: &Value, pod: &str, index: u32) -> Result<Vec<(String, String)>> {
        let mut env: Vec<(String, String)> = Vec::new();
        for var in container["env"].as_array().context("container env")? {
            let name = var["name"].as_str().context("env name")?.to_owned();
            let value = if let Some(v) = var["value"].as_str() {
                Self::expand(v, &env)
            } else if let Some(path) = var["valueFrom"]["fieldRef"]["fieldPath"].as_str() {
                match path {
                    "metadata.name" => pod.to_owned(),
                    "metadata.namespace" => NS.to_owned(),
                    "metadata.labels['apps.kubernetes.io/pod-index']" => index.to_string(),
                    other => bail!("field {other} is not known to the test's kubelet"),
                }
            } else if let Some(r) = var["valueFrom"].get("configMapKeyRef") {
                let cm = get_json(self.cp, "configmap", r["name"].as_str().context("name")?)?;
                cm["data"][r["key"].as_str().context("key")?]
                    .as_str()
                    .with_context(|| format!("ConfigMap key {r}"))?
                    .to_owned()
            } else if let Some(r) = var["valueFrom"].get("secretKeyRef") {
                let key = r["key"].as_str().context("key")?;
                self.cp.kubectl_ok(&[
                    "get",
                    "secret",
                    r["name"].as_str().context("name")?,
                    "-n",
                    NS,
                    "-o",
                    &format!("go-template={{{{index .data \"{key}\" | base64decode}}}}"),
                ])?
            } else {
                bail!("env {name} has a source the test's kubelet does not know: {var}");
            };
            env.push((name, value));
        }
        Ok(env)
    }

    /// Starts the pod of `index` from the first container of `template`, with the
    /// container's port mapped to `port` on loopback. Pods on one loopback cannot each
    /// have the ops port of their template, so the ops routes share `port`, as they do in
    /// a local run.
    fn run(&self, template: &Value, pod: &str, index: u32, port: u16) -> Result<Proc> {
        let container = &template["spec"]["containers"][0];
        let program = container["command"][0]
            .as_str()
            .context("the container has no command")?;
        let mut env = self.env(container, pod, index)?;
        env.retain(|(name, _)| name != "OPS_PORT");
        let mut cmd = command(program)?;
        cmd.envs(env)
            .env("PORT", port.to_string())
            .env("BIND", "127.0.0.1")
            .env("BIND_ADDRESS", "127.0.0.1");
        Proc::spawn(pod, cmd, port, &self.dir, pod)
    }
}

fn operator(cp: &ControlPlane, dir: &Path, redis: &str) -> Result<ChildGuard> {
    let mut cmd = command("roomshard-operator")?;
    cmd.envs(cp.env())
        .env("POD_NAME", "operator")
        .env("REDIS_URL", redis)
        .env("WATCH_NAMESPACE", NS)
        .env("METRICS_ADDRESS", "127.0.0.1")
        .env("METRICS_PORT", free_port()?.to_string())
        .env("LEASE_NAMESPACE", NS)
        .env("LEASE_DURATION_SECONDS", "5")
        .env("LEASE_GRACE_SECONDS", "2")
        .env("DRAIN_POLL_SECONDS", "1");
    ChildGuard::spawn("operator", cmd, &dir.join("operator.log"))
}

fn set_draining(redis: &RedisServer, shard: u32) -> Result<bool> {
    let k = roomshard_protocol::Keys::scoped(Some(NS), SET)?;
    Ok(query(
        redis.port(),
        &["SISMEMBER", &k.draining(), &shard.to_string()],
    )?
    .as_int()
        == Some(1))
}

fn reserve_ok(port: u16, body: Value) -> Result<Value> {
    let answer = reserve(port, &body)?;
    ensure!(
        answer.status == 200,
        "/reserve {body} answered {}: {}",
        answer.status,
        answer.body
    );
    answer.json()
}

fn shard_of(r: &Value) -> Result<u32> {
    r["shard"]
        .as_u64()
        .and_then(|s| u32::try_from(s).ok())
        .with_context(|| format!("no shard in {r}"))
}

fn join(r: &Value, name: &str) -> Result<Player> {
    let field = |f: &str| r[f].as_str().with_context(|| format!("no {f} in {r}"));
    Player::join(field("url")?, field("room")?, Some(field("token")?), name)
}

/// Reserves fresh tracks until one lands on `shard` (new rooms go to the least-loaded
/// shard, so this takes at most a few).
fn room_on(mm: u16, shard: u32, label: &str) -> Result<Value> {
    for i in 0..12 {
        let r = reserve_ok(mm, json!({ "track": format!("{label}{i}") }))?;
        if shard_of(&r)? == shard {
            return Ok(r);
        }
    }
    bail!("no room landed on shard {shard}")
}

/// Disconnects a player reported, as (wall ms, reason).
fn disconnects(p: &Player) -> Vec<(u64, String)> {
    p.lines()
        .iter()
        .filter(|s| s.line["ev"] == "disconnect")
        .map(|s| {
            (
                s.line["at"].as_u64().unwrap_or(0),
                s.line["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn got_draining(p: &Player) -> bool {
    p.lines().iter().any(|s| s.line["ev"] == "draining")
}

/// Both players of a room still see each other move.
fn still_playing(a: &Player, b: &Player) -> Result<()> {
    let since = Instant::now();
    a.wait_sees_move(&b.id()?, since, Duration::from_secs(10))?;
    b.wait_sees_move(&a.id()?, since, Duration::from_secs(10))?;
    Ok(())
}

/// The recorded drain in the set's status: (from, to, deadline ms).
/// Waits until the set's status records a drain: its from, to and deadline.
fn wait_drain_recorded(cp: &ControlPlane, what: &str) -> Result<(i64, i64, u64)> {
    wait_until(
        &format!("{what} to be recorded in status"),
        Duration::from_secs(15),
        || drain_status(cp).ok().flatten(),
    )
}

/// Waits until each of `players` is told its shard drains.
fn wait_told_of_drain(players: &[Player]) -> Result<()> {
    for p in players {
        p.wait_for(
            &format!("{} to be told of the drain", p.name),
            Duration::from_secs(10),
            |s| s.line["ev"] == "draining",
        )?;
    }
    Ok(())
}

fn drain_status(cp: &ControlPlane) -> Result<Option<(i64, i64, u64)>> {
    let set = get_json(cp, "roomshardset", SET)?;
    let d = &set["status"]["drain"];
    if d.is_null() {
        return Ok(None);
    }
    Ok(Some((
        d["from"].as_i64().context("from")?,
        d["to"].as_i64().context("to")?,
        d["deadlineMs"].as_u64().context("deadlineMs")?,
    )))
}

/// A join with `token` on worker `url` must be refused as draining.
fn join_refused_draining(r: &Value, name: &str) -> Result<()> {
    let field = |f: &str| r[f].as_str().with_context(|| format!("no {f} in {r}"));
    let p = Player::spawn(field("url")?, field("room")?, Some(field("token")?), name)?;
    let answer = p.join_answer(Duration::from_secs(10))?;
    ensure!(
        answer.line["ok"] == false && answer.line["error"] == "draining",
        "a join on the draining shard: {}",
        answer.line
    );
    Ok(())
}

/// Reserves that must all land off `shard`.
fn reserves_avoid(mm: u16, shard: u32, tracks: &[String]) -> Result<usize> {
    for track in tracks {
        let r = reserve_ok(mm, json!({ "track": track }))?;
        ensure!(
            shard_of(&r)? != shard,
            "a seat on draining shard {shard}: {r}"
        );
    }
    Ok(tracks.len())
}

#[test]
fn scale_down_waits_for_players_or_the_deadline() -> Result<()> {
    let test_started = Instant::now();
    let cp = ControlPlane::start()?;
    let redis = RedisServer::start()?;
    let dir = roomshard_testkit::scratch_dir("faults-scale-down")?;
    cp.install_crd()?;
    let _operator = operator(&cp, &dir, &redis.url())?;

    let base = consecutive_ports()?;
    let manifest = dir.join("set.yaml");
    // No proxy routes by shard here: each shard has its own port, and the query names the
    // shard (the template must contain `{shard}`).
    std::fs::write(
        &manifest,
        format!(
            "apiVersion: roomshard.dev/v1alpha1\nkind: RoomShardSet\nmetadata:\n  name: {SET}\n  \
             namespace: {NS}\nspec:\n  shards: 3\n  image: roomshard:test\n  port: {base}\n  \
             publicUrl: \"http://127.0.0.1:{{port}}/?shard={{shard}}\"\n  \
             heartbeatIntervalSeconds: 1\n  drain:\n    timeoutSeconds: {DRAIN_SECONDS}\n"
        ),
    )?;
    cp.kubectl_ok(&["apply", "-f", manifest.to_str().context("path")?])?;
    wait_until(
        "the operator to write the StatefulSet, ConfigMap and Secret",
        Duration::from_secs(60),
        || {
            let sts = get_json(&cp, "statefulset", SET).ok()?;
            get_json(&cp, "configmap", &format!("{SET}-shards")).ok()?;
            get_json(&cp, "secret", &format!("{SET}-token")).ok()?;
            get_json(&cp, "deployment", &format!("{SET}-matchmaker")).ok()?;
            (sts["spec"]["replicas"] == 3).then_some(())
        },
    )?;
    let sts = get_json(&cp, "statefulset", SET)?;
    let template = sts["spec"]["template"].clone();
    let watch = Watch::statefulset(&cp, SET)?;
    let kubelet = Kubelet {
        cp: &cp,
        dir: dir.clone(),
    };

    // The pods, then the matchmaker from its Deployment.
    let mut pods: BTreeMap<u32, Proc> = BTreeMap::new();
    for i in 0..3u32 {
        let pod = kubelet.run(
            &template,
            &format!("{SET}-{i}"),
            i,
            base + u16::try_from(i)?,
        )?;
        pods.insert(i, pod);
    }
    for pod in pods.values_mut() {
        pod.wait_ok("/readyz", Duration::from_secs(30))?;
    }
    let mm_template =
        get_json(&cp, "deployment", &format!("{SET}-matchmaker"))?["spec"]["template"].clone();
    let mut mm = kubelet.run(
        &mm_template,
        &format!("{SET}-matchmaker-0"),
        0,
        free_port()?,
    )?;
    mm.wait_ok("/readyz", Duration::from_secs(30))?;
    wait_until(
        "the matchmaker to see 3 healthy shards",
        Duration::from_secs(15),
        || {
            let healthy = room_shards(mm.port)?
                .iter()
                .filter(|s| s["healthy"] == true && s["draining"] == false)
                .count();
            (healthy == 3).then_some(())
        },
    )?;

    // Rooms: two players each on shards 0 and 1, three on shard 2, and a spare seat on
    // shard 2 for a join after the drain starts.
    let mut stay = Vec::new();
    for shard in 0..2u32 {
        let first = room_on(mm.port, shard, &format!("stay{shard}-"))?;
        let second = reserve_ok(mm.port, json!({ "room": first["room"] }))?;
        stay.push((
            join(&first, &format!("s{shard}-a"))?,
            join(&second, &format!("s{shard}-b"))?,
        ));
    }
    let first = room_on(mm.port, 2, "doomed-")?;
    let doomed_room = first["room"].as_str().context("room")?.to_owned();
    let mut doomed = vec![join(&first, "s2-a")?];
    for name in ["s2-b", "s2-c"] {
        doomed.push(join(
            &reserve_ok(mm.port, json!({ "room": doomed_room }))?,
            name,
        )?);
    }
    let spare = reserve_ok(mm.port, json!({ "room": doomed_room }))?;
    for (a, b) in &stay {
        still_playing(a, b)?;
    }
    still_playing(&doomed[0], &doomed[1])?;

    // Phase 1: scale to 2 with the players staying.
    let scaled = Instant::now();
    cp.kubectl_ok(&["scale", &format!("rss/{SET}"), "--replicas=2", "-n", NS])?;
    let marked = wait_until(
        "shard 2 to be marked draining in Redis",
        Duration::from_secs(15),
        || set_draining(&redis, 2).ok()?.then(Instant::now),
    )?;
    let (from, to, deadline) = wait_drain_recorded(&cp, "the drain")?;
    ensure!((from, to) == (3, 2), "drain {from} -> {to}");
    wait_told_of_drain(&doomed)?;
    let told = Instant::now();
    let avoided = reserves_avoid(
        mm.port,
        2,
        &(0..6)
            .map(|i| format!("after{i}"))
            .chain(std::iter::once(
                first["track"].as_str().context("track")?.to_owned(),
            ))
            .collect::<Vec<_>>(),
    )?;
    let named = reserve(mm.port, &json!({ "room": doomed_room }))?;
    ensure!(
        named.status == 503,
        "a seat in the draining room: {} {}",
        named.status,
        named.body
    );
    join_refused_draining(&spare, "late-1")?;
    still_playing(&doomed[0], &doomed[2])?;

    // The StatefulSet keeps pod 2 until the deadline; the players stay connected.
    let (shrunk, shrunk_wall) = watch
        .wait_for(2, scaled, Duration::from_secs(DRAIN_SECONDS + 20))
        .map_err(|e| anyhow::anyhow!("{e:#}: watch saw {:?}", watch.history()))?;
    ensure!(
        shrunk_wall >= deadline,
        "the StatefulSet shrank {} ms before the drain deadline",
        deadline - shrunk_wall
    );
    let early: Vec<_> = watch
        .history()
        .into_iter()
        .filter(|(at, _, r)| *at >= scaled && *at < shrunk && *r != 3)
        .collect();
    ensure!(
        early.is_empty(),
        "replicas changed during the drain: {early:?}"
    );
    for p in &doomed {
        let d = disconnects(p);
        ensure!(
            d.is_empty(),
            "{} disconnected during the drain: {d:?}",
            p.name
        );
    }

    // A slow kubelet: until pod 2 is terminated the shard stays closed.
    let hold = Instant::now();
    let mut probes = 0;
    // One probe every 100 ms: the draining set, and a reservation (one track, so the
    // probes fill a room rather than open one each).
    while hold.elapsed() < KUBELET_DELAY {
        ensure!(
            set_draining(&redis, 2)?,
            "shard 2 left the draining set before its pod was terminated"
        );
        reserves_avoid(mm.port, 2, &["hold".to_owned()])?;
        probes += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    join_refused_draining(&spare, "late-2")?;

    // Pod 2 goes: SIGTERM, and a clean exit within the termination grace period.
    let mut pod2 = pods.remove(&2).context("pod 2")?;
    let termed = Instant::now();
    pod2.child.signal("TERM")?;
    let status = pod2
        .child
        .wait_exit(Duration::from_secs(30))
        .map_err(|e| anyhow::anyhow!("{e:#}\n{}", pod2.logs()))?;
    ensure!(
        status.success(),
        "worker 2 exited with {status}\n{}",
        pod2.logs()
    );
    let exited = termed.elapsed();
    let mut latest_disconnect = 0;
    for p in &doomed {
        p.wait_for(
            &format!("{} to be disconnected", p.name),
            Duration::from_secs(5),
            |s| s.line["ev"] == "disconnect",
        )?;
        for (at, _) in disconnects(p) {
            ensure!(
                at >= deadline,
                "{} disconnected {} ms before the deadline",
                p.name,
                deadline - at
            );
            latest_disconnect = latest_disconnect.max(at);
        }
    }
    let k = roomshard_protocol::Keys::scoped(Some(NS), SET)?;
    ensure!(
        query(redis.port(), &["EXISTS", &k.shard(2)])?.as_int() == Some(0),
        "shard 2's heartbeat outlived its worker"
    );
    ensure!(
        !set_draining(&redis, 2)?,
        "shard 2 is still marked draining"
    );
    let cm = get_json(&cp, "configmap", &format!("{SET}-shards"))?;
    ensure!(cm["data"]["total"] == "2", "shard total {}", cm["data"]);
    ensure!(
        cp.kubectl_ok(&["get", "service", &format!("{SET}-shard-2"), "-n", NS])
            .is_err(),
        "shard 2's Service outlived the drain"
    );
    let now_template = get_json(&cp, "statefulset", SET)?["spec"]["template"].clone();
    ensure!(
        now_template == template,
        "the pod template changed: the shards that stay would be restarted"
    );
    for (a, b) in &stay {
        still_playing(a, b)?;
    }
    let phase1 = scaled.elapsed();

    // Phase 2: back to 3 shards, then down to 2 with a long deadline; the players leave.
    let grown = Instant::now();
    cp.kubectl_ok(&[
        "patch",
        "rss",
        SET,
        "-n",
        NS,
        "--type=merge",
        "-p",
        &json!({"spec": {"shards": 3, "drain": {"timeoutSeconds": LONG_DRAIN_SECONDS}}})
            .to_string(),
    ])?;
    watch.wait_for(3, grown, Duration::from_secs(15))?;
    wait_until(
        "the shard total to be 3 again",
        Duration::from_secs(15),
        || {
            let cm = get_json(&cp, "configmap", &format!("{SET}-shards")).ok()?;
            (cm["data"]["total"] == "3").then_some(())
        },
    )?;
    let mut pod2 = kubelet.run(&template, &format!("{SET}-2"), 2, base + 2)?;
    pod2.wait_ok("/readyz", Duration::from_secs(30))?;
    wait_until(
        "the matchmaker to see shard 2 healthy and open",
        Duration::from_secs(15),
        || {
            room_shards(mm.port)?
                .iter()
                .any(|s| s["shard"] == 2 && s["healthy"] == true && s["draining"] == false)
                .then_some(())
        },
    )?;
    let second = room_on(mm.port, 2, "leaving-")?;
    let mut leaving = vec![join(&second, "l-a")?];
    leaving.push(join(
        &reserve_ok(mm.port, json!({ "room": second["room"] }))?,
        "l-b",
    )?);
    still_playing(&leaving[0], &leaving[1])?;

    let scaled2 = Instant::now();
    cp.kubectl_ok(&["scale", &format!("rss/{SET}"), "--replicas=2", "-n", NS])?;
    let (_, _, deadline2) = wait_drain_recorded(&cp, "the second drain")?;
    wait_told_of_drain(&leaving)?;
    let left = Instant::now();
    for p in &mut leaving {
        p.leave()?;
    }
    let (shrunk2, shrunk2_wall) = watch
        .wait_for(2, scaled2, Duration::from_secs(20))
        .map_err(|e| anyhow::anyhow!("{e:#}: watch saw {:?}", watch.history()))?;
    ensure!(
        shrunk2_wall < deadline2,
        "the second drain ran to its deadline although the players left"
    );
    pod2.child.signal("TERM")?;
    let termed2 = Instant::now();
    let status = pod2.child.wait_exit(Duration::from_secs(30))?;
    ensure!(
        status.success(),
        "worker 2 exited with {status}\n{}",
        pod2.logs()
    );
    let exited2 = termed2.elapsed();

    // Shards 0 and 1 never noticed.
    for (a, b) in &stay {
        still_playing(a, b)?;
        for p in [a, b] {
            ensure!(disconnects(p).is_empty(), "{} was disconnected", p.name);
            ensure!(!got_draining(p), "{} was told of a drain", p.name);
        }
    }
    for pod in pods.values_mut() {
        ensure!(pod.child.try_status().is_none(), "{} exited", pod.name);
    }

    println!(
        "FIGURES scale-down: phase 1 (players stay, deadline {DRAIN_SECONDS} s): shard 2 marked \
         draining {} ms after `kubectl scale`, its 3 players told within {} ms; {avoided} \
         reserves and the draining room by name kept off shard 2, a join there refused \
         `draining`; StatefulSet 3 -> 2 {} ms after the scale, {} ms after the deadline; 0 \
         disconnects before it; shard closed through a {} ms kubelet delay ({probes} probes); \
         worker 2 exited 0 {} ms after SIGTERM, players disconnected {} ms after the deadline; \
         phase 1 took {} ms. Phase 2 (players leave, deadline {LONG_DRAIN_SECONDS} s): \
         StatefulSet 3 -> 2 {} ms after they left, {} s before the deadline; worker 2 exited 0 \
         {} ms after SIGTERM. Shards 0 and 1: 0 disconnects, 0 drain notices, moves seen \
         throughout. Whole test {} ms",
        ms(marked - scaled),
        ms(told - scaled),
        ms(shrunk - scaled),
        shrunk_wall.saturating_sub(deadline),
        ms(KUBELET_DELAY),
        ms(exited),
        latest_disconnect.saturating_sub(deadline),
        ms(phase1),
        ms(shrunk2 - left),
        deadline2.saturating_sub(shrunk2_wall) / 1000,
        ms(exited2),
        ms(test_started.elapsed()),
    );
    Ok(())
}
