//! Shared by the worker's integration tests: start the real binary and run the Node
//! scenario scripts under tests/node/worker. Everything else comes from the testkit.
#![allow(dead_code)]

pub mod raw;

use anyhow::Result;
use roomshard_testkit::node::{self, NodeProc};
use roomshard_testkit::process::{Proc, free_port};
use std::process::Command;
use std::time::Duration;

pub const SECRET: &str = "test-secret-0123456789abcdef";

/// The worker binary on loopback with `envs`, its environment otherwise clean.
pub fn worker_command(envs: &[(&str, String)]) -> Result<Command> {
    let mut cmd = roomshard_testkit::bins::command("roomshard-worker")?;
    cmd.env("BIND_ADDRESS", "127.0.0.1");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    Ok(cmd)
}

/// Starts a worker and waits until /readyz answers 200.
pub fn start_worker(label: &str, envs: &[(&str, String)]) -> Result<Proc> {
    start_worker_on(label, envs, free_port()?)
}

/// Starts a worker on `port` (the address an earlier one had) and waits until /readyz
/// answers 200.
pub fn start_worker_on(label: &str, envs: &[(&str, String)], port: u16) -> Result<Proc> {
    let mut all = envs.to_vec();
    all.push(("PORT", port.to_string()));
    let dir = roomshard_testkit::scratch_dir(label)?;
    let mut worker = Proc::spawn(label, worker_command(&all)?, port, &dir, "worker")?;
    worker.wait_ok("/readyz", Duration::from_secs(20))?;
    Ok(worker)
}

/// Runs `tests/node/worker/<script>` to its end and returns its JSON lines.
pub fn run_node(
    script: &str,
    args: &[String],
    deadline: Duration,
) -> Result<Vec<serde_json::Value>> {
    node::run(&format!("worker/{script}"), args, deadline)
}

/// Starts `tests/node/worker/<script>` in the background.
pub fn spawn_node(script: &str, args: &[String]) -> Result<NodeProc> {
    node::spawn(&format!("worker/{script}"), args, false)
}
