//! The README's run command, `hack/dev.sh`, end to end: it starts its own redis-server,
//! three worker shards and a matchmaker, prints their URLs, serves the status and demo
//! pages, and a Ctrl-C (SIGINT, which its trap turns into a clean stop) ends every
//! process it started. Closing its terminal (SIGHUP, and a terminal that can no longer be
//! written to) stops every process too. The binaries come from the target folder
//! (`ROOMSHARD_BIN_DIR`), so the test does not build again.

mod common;

use roomshard_testkit::bins::binary;
use roomshard_testkit::http::{healthy_shards, send};
use roomshard_testkit::process::wait_until;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A base port with `n` consecutive free ports above it.
fn free_run(n: u16) -> u16 {
    for _ in 0..200 {
        let base = 20_000 + (rand_u16() % 30_000);
        let free = (0..n).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok());
        if free {
            return base;
        }
    }
    panic!("no run of {n} free ports");
}

fn rand_u16() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    (nanos ^ std::process::id()) as u16
}

fn listening(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// Waits until nothing listens on any of `ports`; panics naming what a survivor outlived.
fn wait_ports_closed(ports: &[u16], outlived: &str) {
    for &port in ports {
        wait_until(
            &format!("port {port} to close"),
            Duration::from_secs(5),
            || (!listening(port)).then_some(()),
        )
        .unwrap_or_else(|e| panic!("{e}: a process outlived {outlived}"));
    }
}

/// The folder holding the built worker and matchmaker binaries dev.sh runs.
fn bin_dir() -> PathBuf {
    let dir = binary("roomshard-worker")
        .expect("roomshard-worker is built")
        .parent()
        .expect("bin dir")
        .to_path_buf();
    binary("roomshard-matchmaker").expect("roomshard-matchmaker is built");
    dir
}

/// Collects the lines dev.sh prints into `printed` until its banner's last line.
fn wait_for_banner(rx: &mpsc::Receiver<String>, printed: &mut Vec<String>) -> anyhow::Result<()> {
    wait_until("dev.sh to print its URLs", Duration::from_secs(60), || {
        while let Ok(line) = rx.try_recv() {
            printed.push(line);
        }
        printed
            .iter()
            .any(|l| l.contains("Ctrl-C stops everything"))
            .then_some(())
    })
}

/// `cmd` with dev.sh's environment on its own ports, in a process group of its own, with
/// no input and its standard output piped.
fn dev_env<'a>(
    cmd: &'a mut Command,
    bin_dir: &Path,
    workers: u16,
    matchmaker: u16,
    redis: u16,
) -> &'a mut Command {
    cmd.env_remove("REDIS_URL")
        .env_remove("ROOMSHARD_TOKEN_SECRET")
        .env("ROOMSHARD_BIN_DIR", bin_dir)
        .env("WORKER_BASE_PORT", workers.to_string())
        .env("MATCHMAKER_PORT", matchmaker.to_string())
        .env("REDIS_PORT", redis.to_string())
        .env("RUST_LOG", "warn")
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
}

#[test]
fn dev_script_starts_the_set_and_ctrl_c_stops_everything() {
    let bin_dir = bin_dir();
    assert!(
        roomshard_testkit::process::find_program("redis-server").is_some(),
        "redis-server is not installed: run hack/install-deps.sh"
    );
    let ports = free_run(5);
    let (workers, matchmaker, redis) = (ports, ports + 3, ports + 4);
    let script = roomshard_testkit::repo_root().join("hack").join("dev.sh");
    let mut child = dev_env(
        Command::new("bash").arg(&script),
        &bin_dir,
        workers,
        matchmaker,
        redis,
    )
    .stderr(Stdio::piped())
    .spawn()
    .expect("dev.sh starts");
    let pgid = child.id();
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel::<String>();
    let tx2 = tx.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let err_lines = std::thread::spawn(move || {
        let mut all = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx2.send(format!("[stderr] {line}"));
            all.push(line);
        }
        all
    });

    // Wait for the banner; keep what was printed.
    let mut printed = Vec::new();
    let banner = wait_for_banner(&rx, &mut printed);
    let text = printed.join("\n");
    if banner.is_err() {
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{pgid}")])
            .status();
        panic!("no banner:\n{text}");
    }
    for url in [
        format!("http://127.0.0.1:{matchmaker}/demo"),
        format!("http://127.0.0.1:{matchmaker}/"),
        format!("http://127.0.0.1:{workers}/"),
        format!("http://127.0.0.1:{}/", workers + 2),
    ] {
        assert!(text.contains(&url), "dev.sh prints {url}:\n{text}");
    }
    assert!(text.contains("shard 2/3"), "{text}");

    // The set is live: three healthy shards, a seat, the pages.
    wait_until("three healthy shards", Duration::from_secs(20), || {
        (healthy_shards(matchmaker)? == 3).then_some(())
    })
    .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let seat = send(matchmaker, "POST", "/reserve", Some("{}")).expect("reserve");
    assert_eq!(seat.status, 200, "{}", seat.body);
    let url = seat.json().expect("json")["url"]
        .as_str()
        .map(str::to_owned);
    let shard_urls: Vec<String> = (0..3)
        .map(|i| format!("http://127.0.0.1:{}", workers + i))
        .collect();
    assert!(
        url.as_ref().is_some_and(|u| shard_urls.contains(u)),
        "the seat points at a shard's PUBLIC_URL: {url:?}"
    );
    for (port, path) in [(matchmaker, "/"), (matchmaker, "/demo"), (workers, "/demo")] {
        let page = send(port, "GET", path, None).expect("page");
        assert_eq!(page.status, 200, "{port}{path}");
    }

    // Ctrl-C: SIGINT to the script, as its trap handles a terminal's Ctrl-C.
    let status = Command::new("kill")
        .args(["-s", "INT", "--", &pgid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exited = wait_until(
        "dev.sh to exit after Ctrl-C",
        Duration::from_secs(30),
        || child.try_wait().ok().flatten(),
    );
    if exited.is_err() {
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{pgid}")])
            .status();
        let _ = child.wait();
    }
    let errs = err_lines.join().unwrap_or_default().join("\n");
    assert!(exited.is_ok(), "dev.sh did not stop:\n{text}\n{errs}");
    wait_ports_closed(
        &[workers, workers + 1, workers + 2, matchmaker, redis],
        &format!("dev.sh\n{errs}"),
    );
    assert!(
        errs.contains("dev.sh: stopped"),
        "cleanup ran to its end:\n{errs}"
    );
}

/// The pids of every live descendant of `root`, each with the name of its program.
fn descendants(root: u32) -> Vec<(u32, String)> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some((ppid, true)) = stat(pid) {
            parents.push((pid, ppid));
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    found
        .into_iter()
        .skip(1)
        .map(|pid| (pid, program(pid)))
        .collect()
}

/// A process's parent and whether it still runs (a zombie has stopped: it only waits to be
/// reaped by whoever adopted it).
fn stat(pid: u32) -> Option<(u32, bool)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
    let mut rest = text.get(text.rfind(')')? + 1..)?.split_whitespace();
    let state = rest.next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some((ppid, state != "Z" && state != "X"))
}

/// The file name of the program a process runs (redis-server rewrites its title to
/// `redis-server HOST:PORT`, hence the first word only).
fn program(pid: u32) -> String {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
    let first = String::from_utf8_lossy(argv0);
    let first = first.split_whitespace().next().unwrap_or_default();
    first.rsplit('/').next().unwrap_or_default().to_owned()
}

#[test]
fn dev_script_stops_everything_when_its_terminal_closes() {
    let bin_dir = bin_dir();
    for program in ["redis-server", "script"] {
        assert!(
            roomshard_testkit::process::find_program(program).is_some(),
            "{program} is not installed: run hack/install-deps.sh"
        );
    }
    let ports = free_run(5);
    let (workers, matchmaker, redis) = (ports, ports + 3, ports + 4);
    let script = roomshard_testkit::repo_root().join("hack").join("dev.sh");
    // `script` gives dev.sh a terminal of its own (a pseudo-terminal whose session dev.sh
    // leads); killing `script` closes it, as closing a terminal window does: the kernel
    // sends SIGHUP to dev.sh and its foreground process group, and writes to the terminal
    // fail from then on.
    let shell = format!("exec bash '{}'", script.display());
    let mut terminal = dev_env(
        Command::new("script").args(["-qefc", &shell, "/dev/null"]),
        &bin_dir,
        workers,
        matchmaker,
        redis,
    )
    .stderr(Stdio::null())
    .spawn()
    .expect("script starts dev.sh");
    let stdout = terminal.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut printed = Vec::new();
    let banner = wait_for_banner(&rx, &mut printed);
    let services = descendants(terminal.id());
    let stop_all = |pids: &[(u32, String)]| {
        for (pid, _) in pids {
            let _ = Command::new("kill")
                .args(["-s", "KILL", &pid.to_string()])
                .status();
        }
    };
    let count = |name: &str| services.iter().filter(|(_, p)| p == name).count();
    let started = (
        count("roomshard-worker"),
        count("roomshard-matchmaker"),
        count("redis-server"),
    );
    if banner.is_err() || started != (3, 1, 1) {
        stop_all(&services);
        let _ = terminal.kill();
        let _ = terminal.wait();
        panic!(
            "dev.sh did not start 3 workers, a matchmaker and redis-server: {services:?}\n{}",
            printed.join("\n")
        );
    }

    // The terminal closes.
    let _ = terminal.kill();
    let _ = terminal.wait();
    let gone = wait_until(
        "every process dev.sh started to stop",
        Duration::from_secs(30),
        || {
            services
                .iter()
                .all(|(pid, _)| !stat(*pid).is_some_and(|(_, alive)| alive))
                .then_some(())
        },
    );
    let left: Vec<_> = services
        .iter()
        .filter(|(pid, _)| stat(*pid).is_some_and(|(_, alive)| alive))
        .cloned()
        .collect();
    stop_all(&left);
    assert!(
        gone.is_ok(),
        "still running after the terminal closed: {left:?}"
    );
    wait_ports_closed(
        &[workers, workers + 1, workers + 2, matchmaker, redis],
        "dev.sh's terminal",
    );
}
