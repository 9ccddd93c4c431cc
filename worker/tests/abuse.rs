//! Hostile Socket.IO input against the real worker binary, on WebSocket and on
//! long-polling: oversized messages, attachment bombs, malformed packets, clients that never
//! read, event floods, and floods of packets the Socket.IO layer drops. Through every phase
//! a room of well-behaved bystanders (half WebSocket, half polling, from
//! tests/node/worker/bystanders.mjs) keeps moving and chatting, and each phase checks that:
//!
//! - every attacker is disconnected or answered with an error; a packet that is dropped
//!   without an answer leaves its connection serving (a request sent after it is answered);
//! - the worker is alive and `/healthz` answers 200;
//! - its resident memory (VmRSS, sampled every 50 ms) grows by less than the phase's bound;
//! - no bystander is disconnected or misses a move, a line of chat or an ack, none waits
//!   more than [`VIEW_GAP_BOUND_MS`] for a view, and their move-to-view latency stays
//!   under [`P99_BOUND_MS`] at the 99th percentile.
//!
//! The figures of each phase are printed (run with `--nocapture`); docs/RELIABILITY.md
//! records a run.

mod common;

use common::raw::{self, Outcome, RawPolling, RawWs};
use common::start_worker;
use roomshard_testkit::metrics::value;
use roomshard_testkit::process::{Proc, wait_until};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// Well-behaved players in the room throughout.
const BYSTANDERS: usize = 4;
/// Bystanders' move-to-view latency, 99th percentile, per phase. A move waits up to one
/// tick (50 ms) for its batch; the rest of the bound is headroom for a loaded 2-core
/// machine running a debug build.
const P99_BOUND_MS: f64 = 1000.0;
/// Longest silence between two `view` batches at one bystander (one arrives every tick
/// while they move).
const VIEW_GAP_BOUND_MS: f64 = 2500.0;
/// Shortest phase: long enough for some 150 bystander moves.
const MIN_PHASE: Duration = Duration::from_secs(4);
/// WebSocket clients that join the busy room and never read.
const NON_READERS_WS: usize = 200;
/// RSS growth allowed while they are connected: about 40 KiB per connection, plus at most
/// 256 KiB of WebSocket write buffer for each blocked one, with headroom.
const NON_READERS_RSS_BOUND_MIB: u64 = 96;
/// Polling clients that join the busy room and never poll.
const NON_READERS_POLLING: usize = 20;
/// The worker's largest message (its default, stated for the attacks that exceed it).
const MAX_MESSAGE: usize = 16 * 1024;
/// Longest `say` in this run: long lines fill a slow reader's buffers fast.
const CHAT_CHARS: usize = 4000;

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn rss_kib(pid: u32) -> u64 {
    roomshard_testkit::process::rss_kib(pid).unwrap_or(0)
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

/// The peak of the worker's RSS while a phase runs, sampled every 50 ms.
struct RssWatch {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<u64>,
}

impl RssWatch {
    fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut peak = rss_kib(pid);
            while !flag.load(Ordering::SeqCst) {
                peak = peak.max(rss_kib(pid));
                std::thread::sleep(Duration::from_millis(50));
            }
            peak.max(rss_kib(pid))
        });
        Self { stop, handle }
    }

    fn peak(self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.join().unwrap_or(0)
    }
}

/// The bystanders' Node process, driven through its standard input.
struct Bystanders {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<Value>,
}

impl Bystanders {
    fn start(url: &str, room: &str) -> Self {
        let dir = roomshard_testkit::node::ensure_installed().expect("node packages");
        let mut child = Command::new("node")
            .arg(dir.join("worker").join("bystanders.mjs"))
            .args([url, room, &BYSTANDERS.to_string(), &CHAT_CHARS.to_string()])
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting node");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && tx.send(v).is_err()
                {
                    return;
                }
            }
        });
        let mut by = Self {
            stdin: child.stdin.take(),
            child,
            lines,
        };
        let ready = by.next(Duration::from_secs(60));
        assert_eq!(ready["ready"], true, "bystanders did not start: {ready}");
        by
    }

    fn next(&mut self, within: Duration) -> Value {
        let line = self
            .lines
            .recv_timeout(within)
            .unwrap_or_else(|e| panic!("no line from the bystanders within {within:?}: {e}"));
        assert!(line.get("fatal").is_none(), "bystanders failed: {line}");
        line
    }

    fn send(&mut self, command: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{command}").expect("writing to the bystanders");
        stdin.flush().expect("flushing");
    }

    /// Starts phase `name`; returns the summary of the phase that just ended.
    fn phase(&mut self, name: &str) -> Value {
        self.send(&format!("phase {name}"));
        self.next(Duration::from_secs(30))
    }

    fn chat(&mut self, per_sec: u32) {
        self.send(&format!("chat {per_sec}"));
    }

    /// Ends the run; returns the summary of the last phase.
    fn end(mut self) -> Value {
        drop(self.stdin.take());
        let last = self.next(Duration::from_secs(30));
        let _ = self.child.wait();
        last
    }
}

impl Drop for Bystanders {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one phase measured.
struct Phase {
    name: String,
    started: Instant,
    rss_start: u64,
    watch: RssWatch,
    bound_mib: u64,
    note: String,
}

/// The run: the worker, the bystanders, and the phase under way.
struct Run {
    worker: Proc,
    by: Option<Bystanders>,
    current: Option<Phase>,
    rows: Vec<String>,
}

impl Run {
    /// Starts a phase whose RSS growth must stay under `bound_mib`.
    fn begin(&mut self, name: &str, bound_mib: u64) {
        self.pace();
        let previous = self.by().phase(name);
        self.close(previous);
        let pid = self.worker.child.pid();
        self.current = Some(Phase {
            name: name.into(),
            started: Instant::now(),
            rss_start: rss_kib(pid),
            watch: RssWatch::start(pid),
            bound_mib,
            note: String::new(),
        });
    }

    fn note(&mut self, note: String) {
        println!("{note}");
        if let Some(p) = self.current.as_mut() {
            if !p.note.is_empty() {
                p.note += "; ";
            }
            p.note += &note;
        }
    }

    fn by(&mut self) -> &mut Bystanders {
        self.by.as_mut().expect("bystanders running")
    }

    /// Lets the phase under way run for at least [`MIN_PHASE`], so that every phase has
    /// enough bystander traffic to judge (pacing, not synchronisation).
    fn pace(&self) {
        if let Some(p) = &self.current {
            std::thread::sleep(MIN_PHASE.saturating_sub(p.started.elapsed()));
        }
    }

    fn finish(mut self) -> Vec<String> {
        self.pace();
        let last = self.by.take().expect("bystanders running").end();
        self.close(last);
        std::mem::take(&mut self.rows)
    }

    /// Checks the phase that just ended against the bystanders' summary of it.
    fn close(&mut self, summary: Value) {
        let Some(phase) = self.current.take() else {
            return;
        };
        let peak = phase.watch.peak();
        let growth = peak.saturating_sub(phase.rss_start);
        let name = &phase.name;
        let w = &mut self.worker;
        assert!(
            w.child.try_status().is_none(),
            "{name}: the worker died:\n{}",
            w.logs()
        );
        assert_eq!(
            roomshard_testkit::http::get(w.port, "/healthz")
                .map(|r| r.status)
                .ok(),
            Some(200),
            "{name}: /healthz"
        );
        let row = format!(
            "{name}: RSS {:.1} -> peak {:.1} MiB (+{:.1}, bound {} MiB); bystanders p50 {} ms, p99 {} ms, max {} ms over {} moves, longest view gap {} ms, {}/{} says acked, {}/{} heard{}{}",
            mib(phase.rss_start),
            mib(peak),
            mib(growth),
            phase.bound_mib,
            summary["p50"],
            summary["p99"],
            summary["max"],
            summary["samples"],
            summary["maxGapMs"],
            summary["saysAcked"],
            summary["saysSent"],
            summary["heard"],
            summary["expectedHeard"],
            if phase.note.is_empty() { "" } else { "; " },
            phase.note,
        );
        println!("{row}");
        assert!(
            growth <= phase.bound_mib * 1024,
            "{name}: RSS grew by {:.1} MiB, over {} MiB",
            mib(growth),
            phase.bound_mib
        );
        assert_eq!(summary["phase"], name.as_str(), "{summary}");
        assert_eq!(
            summary["disconnects"].as_array().map(Vec::len),
            Some(0),
            "{name}: a bystander was disconnected: {summary}"
        );
        assert_eq!(
            summary["connected"].as_u64(),
            Some(BYSTANDERS as u64 + 1),
            "{name}: {summary}"
        );
        let ms = summary["ms"].as_f64().unwrap_or(0.0);
        let samples = summary["samples"].as_f64().unwrap_or(0.0);
        // Ten moves a second each; some are superseded within a tick.
        assert!(
            samples >= ms / 100.0 * BYSTANDERS as f64 * 0.5,
            "{name}: too few moves came back: {summary}"
        );
        let p99 = summary["p99"].as_f64().unwrap_or(f64::INFINITY);
        assert!(
            p99 <= P99_BOUND_MS,
            "{name}: bystander p99 {p99} ms over {P99_BOUND_MS} ms: {summary}"
        );
        assert_eq!(
            summary["lost"], 0,
            "{name}: moves never came back: {summary}"
        );
        assert_eq!(
            summary["unconfirmed"], 0,
            "{name}: moves had not come back when the phase was summed up: {summary}"
        );
        let gap = summary["maxGapMs"].as_f64().unwrap_or(f64::INFINITY);
        assert!(
            gap <= VIEW_GAP_BOUND_MS,
            "{name}: a bystander went {gap} ms without a view: {summary}"
        );
        assert_eq!(
            summary["saysFailed"].as_array().map(Vec::len),
            Some(0),
            "{name}: {summary}"
        );
        assert_eq!(
            summary["saysAcked"], summary["saysSent"],
            "{name}: {summary}"
        );
        assert_eq!(
            summary["heard"], summary["expectedHeard"],
            "{name}: {summary}"
        );
        self.rows.push(row);
    }
}

/// Every attack below must end in one of these, within this long.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

fn expect_closed(what: &str, outcome: anyhow::Result<Outcome>) {
    match outcome {
        Ok(Outcome::Closed) => {}
        other => panic!("{what}: expected the connection to be closed, got {other:?}"),
    }
}

fn expect_answered(what: &str, outcome: anyhow::Result<Outcome>) -> String {
    match outcome {
        Ok(Outcome::Closed) => "closed".into(),
        Ok(Outcome::Error(packet)) => format!("error {}", truncate(&packet, 60)),
        Ok(Outcome::Ignored) => "ignored, connection still serving".into(),
        Err(e) => panic!("{what}: neither closed nor answered with an error: {e}"),
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// a. Messages over the size limit: closed from the WebSocket frame header, before the
/// payload is read; refused polling bodies.
fn oversized(run: &mut Run) {
    let port = run.worker.port;
    for i in 0..10 {
        let mut ws = RawWs::connect(port).expect("connect");
        // Claims 64 MiB, sends 64 KiB: nothing past the header is needed to refuse it.
        let _ = ws.send_partial_frame(raw::TEXT, 64 << 20, 64 * 1024);
        expect_closed(
            &format!("lying 64 MiB frame #{i}"),
            ws.outcome(ANSWER_WITHIN),
        );
    }
    for i in 0..10 {
        let mut ws = RawWs::connect(port).expect("connect");
        let text = format!(r#"42["say",{{"text":"{}"}}]"#, "x".repeat(4 * MAX_MESSAGE));
        let _ = ws.send_text(&text);
        expect_closed(&format!("64 KiB message #{i}"), ws.outcome(ANSWER_WITHIN));
    }
    let mut answers = Vec::new();
    for i in 0..10 {
        let p = RawPolling::connect(port).expect("polling connect");
        let body = format!(r#"42["say",{{"text":"{}"}}]"#, "x".repeat(64 * MAX_MESSAGE));
        answers.push(expect_answered(
            &format!("1 MiB polling body #{i}"),
            p.probed_outcome(body.as_bytes(), ANSWER_WITHIN),
        ));
    }
    answers.dedup();
    run.note(format!(
        "20 oversized WebSocket messages closed; 10 polling bodies of 1 MiB: {answers:?}"
    ));
}

/// b. Attachment bombs: huge declared counts, attachments that never stop coming, binary
/// frames out of place.
fn attachment_bombs(run: &mut Run) {
    let port = run.worker.port;
    let placeholder = r#"["say",{"text":{"_placeholder":true,"num":0}}]"#;
    let mut ws = RawWs::connect(port).expect("connect");
    ws.send_text(&format!("451000000000-{placeholder}"))
        .expect("send");
    expect_closed("a billion attachments", ws.outcome(ANSWER_WITHIN));

    let mut ws = RawWs::connect(port).expect("connect");
    ws.send_binary(&[1, 2, 3]).expect("send");
    expect_closed("a binary frame without a packet", ws.outcome(ANSWER_WITHIN));

    let mut ws = RawWs::connect(port).expect("connect");
    ws.send_text(&format!("452-{placeholder}")).expect("send");
    ws.send_binary(&[0; 16]).expect("send");
    ws.send_text(r#"42["say",{"text":"x"}]"#).expect("send");
    expect_closed(
        "a packet in the middle of attachments",
        ws.outcome(ANSWER_WITHIN),
    );

    // Ten sockets at once send up to 10 MiB of attachments each: five announce 10,000 of
    // them, five announce 4 (within the count) of 16 KiB each (over the size).
    let bombers: Vec<_> = (0..10u32)
        .map(|i| {
            std::thread::spawn(move || {
                let mut ws = RawWs::connect(port).expect("connect");
                let header = if i.is_multiple_of(2) {
                    format!("4510000-{placeholder}")
                } else {
                    format!("454-{placeholder}")
                };
                ws.send_text(&header).expect("send");
                let chunk = vec![0xab; MAX_MESSAGE];
                let mut sent = 0usize;
                while sent < 10 << 20 && ws.send_binary(&chunk).is_ok() {
                    sent += chunk.len();
                }
                expect_closed(
                    &format!("attachment bomber #{i}"),
                    ws.outcome(ANSWER_WITHIN),
                );
                sent
            })
        })
        .collect();
    let sent: Vec<usize> = bombers
        .into_iter()
        .map(|b| b.join().expect("bomber"))
        .collect();

    // A packet within the bounds reaches the handlers, which refuse it.
    let mut ws = RawWs::connect(port).expect("connect");
    ws.send_text(&format!("451-{placeholder}")).expect("send");
    ws.send_binary(&[1, 2, 3]).expect("send");
    let one_ws = expect_answered(
        "one attachment over WebSocket",
        ws.probed_outcome(ANSWER_WITHIN),
    );

    // Over polling: attachments are base64 packets of the payload.
    let p = RawPolling::connect(port).expect("polling connect");
    let one = format!("451-{placeholder}\u{1e}bAQID");
    let one_attachment = expect_answered(
        "one attachment over polling",
        p.probed_outcome(one.as_bytes(), ANSWER_WITHIN),
    );
    let p = RawPolling::connect(port).expect("polling connect");
    let mut outcome = None;
    let mut accepted = 0;
    // 4 announced, 12 KiB a body.
    let b64 = format!("b{}", "A".repeat(MAX_MESSAGE - 8));
    if p.post(format!("454-{placeholder}").as_bytes())
        .expect("post")
        == 200
    {
        while accepted < 700 && p.post(b64.as_bytes()).ok() == Some(200) {
            accepted += 1;
        }
        outcome = Some(p.post(b"3").expect("post") != 200);
    }
    assert_eq!(
        outcome,
        Some(true),
        "a polling attachment bomb must end its session"
    );
    run.note(format!(
        "attachment bombs closed: a billion announced, a stray binary frame, a packet amid attachments, ten WebSocket bombers ({} KiB to {} KiB sent before the close), a polling bomber ({accepted} bodies accepted); one attachment: {one_ws} (WebSocket), {one_attachment} (polling)",
        sent.iter().min().unwrap_or(&0) / 1024,
        sent.iter().max().unwrap_or(&0) / 1024
    ));
}

/// c. Garbage Engine.IO and Socket.IO packets on both transports.
fn malformed(run: &mut Run) {
    let port = run.worker.port;
    let deep = |open: &str, close: &str, n: usize| format!("{}{}", open.repeat(n), close.repeat(n));
    let texts: Vec<(&str, String)> = vec![
        ("empty message", String::new()),
        ("unknown Engine.IO type", "9".into()),
        ("Engine.IO open from a client", "0".into()),
        ("Engine.IO upgrade from a client", "5".into()),
        ("Engine.IO noop from a client", "6".into()),
        ("unknown Socket.IO type", "49".into()),
        ("Socket.IO type and nothing else", "4".into()),
        ("event without payload", "42".into()),
        ("truncated event", r#"42["say",{"text":"#.into()),
        ("invalid JSON", r#"42["say",{"text":]"#.into()),
        ("event as an object", r#"42{"say":1}"#.into()),
        ("event name not a string", "42[1,2]".into()),
        ("empty event array", "42[]".into()),
        (
            "event to an unknown namespace",
            r#"42/admin,["join",{"room":"r"}]"#.into(),
        ),
        ("connect to an unknown namespace", "40/admin,".into()),
        (
            "ack id over 64 bits",
            r#"4299999999999999999999999999["move",{"x":1,"y":1}]"#.into(),
        ),
        ("ack for nothing", r#"43123[{"ok":true}]"#.into()),
        (
            "nested arrays 7000 deep",
            format!(r#"42["say",{}]"#, deep("[", "]", 7000)),
        ),
        (
            "nested objects 3000 deep",
            format!(
                r#"42["move",{}1{}]"#,
                r#"{"a":"#.repeat(3000),
                "}".repeat(3000)
            ),
        ),
        ("number overflow", r#"421["move",{"x":1e999,"y":1}]"#.into()),
        ("unknown event", r#"421["admin",{}]"#.into()),
        ("join with a string", r#"421["join","room"]"#.into()),
        ("disconnect from an unknown namespace", "41/admin,".into()),
    ];
    let mut table = Vec::new();
    for (what, text) in &texts {
        let mut ws = RawWs::connect(port).expect("connect");
        ws.send_text(text).expect("send");
        table.push(format!(
            "ws {what}: {}",
            expect_answered(what, ws.probed_outcome(ANSWER_WITHIN))
        ));
    }
    // Frames no text packet can be.
    let mut ws = RawWs::connect(port).expect("connect");
    ws.send_frame(raw::TEXT, &[0x34, 0x32, 0xff, 0xfe, 0xc3])
        .expect("send");
    table.push(format!(
        "ws text frame not UTF-8: {}",
        expect_answered("non-UTF-8 text frame", ws.probed_outcome(ANSWER_WITHIN))
    ));
    let mut ws = RawWs::connect(port).expect("connect");
    ws.send_frame(0x3, b"reserved opcode").expect("send");
    table.push(format!(
        "ws reserved opcode: {}",
        expect_answered("reserved opcode", ws.probed_outcome(ANSWER_WITHIN))
    ));

    for (what, text) in &texts {
        let p = RawPolling::connect(port).expect("polling connect");
        table.push(format!(
            "polling {what}: {}",
            expect_answered(what, p.probed_outcome(text.as_bytes(), ANSWER_WITHIN))
        ));
    }
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("body not UTF-8", vec![0x34, 0x32, 0xff, 0xfe, 0xc3]),
        ("separators only", vec![0x1e; MAX_MESSAGE / 2]),
        ("base64 garbage", b"b!!!not base64!!!".to_vec()),
    ];
    for (what, body) in &bodies {
        let p = RawPolling::connect(port).expect("polling connect");
        table.push(format!(
            "polling {what}: {}",
            expect_answered(what, p.probed_outcome(body, ANSWER_WITHIN))
        ));
    }
    // A session that does not exist, and a transport that does not.
    for path in [
        "/socket.io/?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA",
        "/socket.io/?EIO=4&transport=carrier-pigeon",
        "/socket.io/?EIO=99&transport=polling",
    ] {
        let (status, _) = raw::http(port, "POST", path, b"40", ANSWER_WITHIN).expect("request");
        assert!((400..500).contains(&status), "{path}: {status}");
    }
    let closed = table.iter().filter(|l| l.ends_with(": closed")).count();
    let ignored = table
        .iter()
        .filter(|l| l.ends_with("still serving"))
        .count();
    println!("malformed packets:\n  {}", table.join("\n  "));
    run.note(format!(
        "{} malformed packets: {closed} closed their connection, {} were answered with an error, {ignored} were dropped without effect",
        table.len(),
        table.len() - closed - ignored
    ));
}

/// d. Clients that join the busy room and never read (they do send a pong every second,
/// which keeps the Engine.IO heartbeat satisfied: only their unread buffers give them away).
fn non_readers(run: &mut Run) {
    let port = run.worker.port;
    let pid = run.worker.child.pid();
    let fds_before = open_fds(pid);
    let baseline = BYSTANDERS as f64 + 1.0;
    let all = baseline + (NON_READERS_WS + NON_READERS_POLLING) as f64;
    let room = "abuse";
    let mut ws: Vec<RawWs> = (0..NON_READERS_WS)
        .map(|i| RawWs::join(port, room, &format!("slow-{i}")).expect("join"))
        .collect();
    let polling: Vec<RawPolling> = (0..NON_READERS_POLLING)
        .map(|i| {
            let p = RawPolling::connect(port).expect("polling connect");
            let join = format!(r#"42["join",{{"room":"{room}","name":"slow-polling-{i}"}}]"#);
            assert_eq!(p.post(join.as_bytes()).expect("join"), 200);
            p
        })
        .collect();
    wait_until(
        "every slow client to be seated",
        Duration::from_secs(30),
        || (value(port, "roomshard_worker_players").ok() == Some(all)).then_some(()),
    )
    .unwrap_or_else(|e| {
        panic!(
            "{e}: {:?} players",
            value(port, "roomshard_worker_players").ok()
        )
    });
    let rss_seated = rss_kib(pid);
    // Now the room gets busy; the slow clients' buffers start to fill. Their sessions are
    // kept alive without reading until the worker has dropped them all.
    run.by().chat(25);
    let busy = Instant::now();
    let mut next_pong = Instant::now();
    let mut next_report = Instant::now();
    let mut ws_gone: Vec<Option<Duration>> = vec![None; ws.len()];
    let mut polling_gone: Vec<Option<Duration>> = vec![None; polling.len()];
    let dropped = wait_until(
        "the slow clients to be dropped",
        Duration::from_secs(120),
        || {
            if Instant::now() >= next_pong {
                next_pong += Duration::from_secs(1);
                // A failed write, or an unknown session, tells when each was dropped.
                for (c, gone) in ws.iter_mut().zip(&mut ws_gone) {
                    if gone.is_none() && !c.blind_send_text("3") {
                        *gone = Some(busy.elapsed());
                    }
                }
                for (p, gone) in polling.iter().zip(&mut polling_gone) {
                    if gone.is_none() && p.post(b"3").ok() != Some(200) {
                        *gone = Some(busy.elapsed());
                    }
                }
            }
            let players = value(port, "roomshard_worker_players").ok()?;
            if Instant::now() >= next_report {
                next_report += Duration::from_secs(5);
                println!(
                    "  {:>5.1} s: {players} players, RSS {:.1} MiB",
                    busy.elapsed().as_secs_f64(),
                    mib(rss_kib(pid))
                );
            }
            (players <= baseline).then(|| busy.elapsed())
        },
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", run.worker.logs()));
    for (p, gone) in polling.iter().zip(&mut polling_gone) {
        if gone.is_none() && p.post(b"3").ok() != Some(200) {
            *gone = Some(dropped);
        }
    }
    run.by().chat(0);
    // Dropped means the connection itself, not only the session: every slow WebSocket
    // sees the end of its stream once it reads what was queued.
    for (i, c) in ws.iter_mut().enumerate() {
        assert!(
            c.drained_to_close(Duration::from_secs(20)).expect("drain"),
            "slow WebSocket #{i} is still open"
        );
    }
    let fds = wait_until(
        "the worker to close their sockets",
        Duration::from_secs(20),
        || {
            let n = open_fds(pid);
            (n <= fds_before + 2).then_some(n)
        },
    )
    .unwrap_or_else(|e| panic!("{e}: {} open, {fds_before} before", open_fds(pid)));
    let last = |gone: &[Option<Duration>]| {
        gone.iter()
            .flatten()
            .max()
            .map_or_else(|| "?".into(), |d| format!("{:.0}", d.as_secs_f64()))
    };
    run.note(format!(
        "{NON_READERS_WS} WebSocket clients that never read and {NON_READERS_POLLING} polling clients that never poll (RSS {:.1} MiB once seated) all dropped {:.1} s after the room got busy (the last WebSocket one by {} s, the last polling one by {} s); open descriptors {fds_before} before, {fds} after",
        mib(rss_seated),
        dropped.as_secs_f64(),
        last(&ws_gone),
        last(&polling_gone),
    ));
}

/// e. Event floods: over the rate limit, answered with `rate_limited`, then closed.
fn floods(run: &mut Run) {
    let port = run.worker.port;
    let flooders: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                let mut ws = RawWs::join(port, "abuse", &format!("flooder-{i}")).expect("join");
                for k in 0..1000 {
                    if ws
                        .send_text(&format!(r#"42["move",{{"x":{},"y":5}}]"#, k % 1000))
                        .is_err()
                    {
                        break;
                    }
                }
                ws.closed_within(ANSWER_WITHIN).expect("read")
            })
        })
        .collect();
    for (i, f) in flooders.into_iter().enumerate() {
        assert!(
            f.join().expect("flooder"),
            "WebSocket flooder #{i} was not closed"
        );
    }
    let p = RawPolling::connect(port).expect("polling connect");
    let moves: Vec<String> = (0..400)
        .map(|k| format!(r#"42["move",{{"x":{},"y":5}}]"#, k % 1000))
        .collect();
    let body = moves.join("\u{1e}");
    assert!(body.len() <= MAX_MESSAGE);
    let mut posts = 0;
    while posts < 20 && p.post(body.as_bytes()).expect("post") == 200 {
        posts += 1;
    }
    assert!(
        p.closed_within(ANSWER_WITHIN).expect("poll"),
        "polling flooder was not closed"
    );
    run.note(format!(
        "4 WebSocket flooders (1000 moves each) and a polling flooder ({posts} bodies of 400 moves) closed"
    ));
}

/// f. Packets the event handlers never see: events to a namespace the client has not
/// joined, and Engine.IO pongs. The Socket.IO layer drops them, under no event rate limit.
fn dropped_packets(run: &mut Run) {
    let port = run.worker.port;
    // Three seconds of them, as fast as one client can send.
    let mut ws = RawWs::connect(port).expect("connect");
    let started = Instant::now();
    let mut sent = 0u64;
    while started.elapsed() < Duration::from_secs(3) {
        let packet = if sent.is_multiple_of(2) {
            r#"42/admin,["join",{"room":"r"}]"#
        } else {
            "3"
        };
        if ws.send_text(packet).is_err() {
            break;
        }
        sent += 1;
    }
    let after = expect_answered("flood of dropped packets", ws.probed_outcome(ANSWER_WITHIN));
    run.note(format!(
        "{sent} packets to an unjoined namespace and pongs in 3 s from one client: {after}"
    ));
}

#[test]
fn hostile_clients_leave_the_worker_and_its_other_clients_unharmed() {
    let worker = start_worker(
        "abuse",
        &[
            ("ROOM_CAPACITY", "400".into()),
            ("MAX_SAY_CHARS", CHAT_CHARS.to_string()),
        ],
    )
    .expect("worker");
    let by = Bystanders::start(&worker.url(), "abuse");
    let mut run = Run {
        worker,
        by: Some(by),
        current: None,
        rows: Vec::new(),
    };
    // Calm first: the bystanders' figures without attackers, for comparison.
    run.begin("calm", 16);
    run.begin("oversized", 16);
    oversized(&mut run);
    run.begin("attachments", 16);
    attachment_bombs(&mut run);
    run.begin("malformed", 16);
    malformed(&mut run);
    run.begin("non-readers", NON_READERS_RSS_BOUND_MIB);
    non_readers(&mut run);
    run.begin("floods", 16);
    floods(&mut run);
    run.begin("dropped-packets", 16);
    dropped_packets(&mut run);
    let rows = run.finish();
    println!("\nsummary:\n  {}", rows.join("\n  "));
}
