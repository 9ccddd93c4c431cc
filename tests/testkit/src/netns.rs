//! A network namespace joined to the root namespace by veth pairs, for tests that cut one
//! process off from another (a partition) while the test keeps reaching it.
//!
//! Each pair gets a private /30 (`10.213.B.4i+1` on the root side, `10.213.B.4i+2` inside),
//! with `B` chosen so that no address of the host already uses it. The namespace and its
//! links are removed when the guard drops, also when the test panics; namespaces left by
//! a test that was killed outright are removed by the next one. Needs root (`ip netns`).

use crate::process::find_program;
use anyhow::{Context, Result, bail};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Names of namespaces made here start with this, then the owning process id.
const PREFIX: &str = "roomshard-";

/// One veth pair between the root namespace and the test's namespace.
#[derive(Debug, Clone)]
pub struct Link {
    /// The interface in the root namespace.
    pub root_if: String,
    /// The interface inside the namespace.
    pub ns_if: String,
    pub root_addr: Ipv4Addr,
    pub ns_addr: Ipv4Addr,
}

/// A network namespace with its links; deleted when dropped. Drop the processes started
/// in it first.
pub struct Netns {
    name: String,
    ip: PathBuf,
    links: Vec<Link>,
}

fn run(ip: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new(ip)
        .args(args)
        .output()
        .with_context(|| format!("running ip {}", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "ip {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Removes namespaces of earlier test processes that no longer run.
fn remove_stale(ip: &Path) {
    let Ok(list) = run(ip, &["netns", "list"]) else {
        return;
    };
    for line in list.lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        if !pid.is_empty()
            && pid.bytes().all(|b| b.is_ascii_digit())
            && !Path::new("/proc").join(pid).exists()
        {
            let _ = run(ip, &["netns", "del", name]);
        }
    }
}

/// A third octet no address of the host uses under 10.213.0.0/16.
fn free_block(ip: &Path, seed: u32) -> Result<u8> {
    let used = run(ip, &["-4", "-o", "addr", "show"])?;
    (0..256u32)
        .filter_map(|k| u8::try_from((seed + k * 37) % 256).ok())
        .find(|b| !used.contains(&format!("10.213.{b}.")))
        .context("every 10.213.B.0/24 block is in use")
}

impl Netns {
    /// Creates a namespace with `links` veth pairs to the root namespace, every interface
    /// up (loopback inside too).
    pub fn create(links: usize) -> Result<Self> {
        let ip = find_program("ip").context("ip (iproute2) is not installed")?;
        if links == 0 || links > 60 {
            bail!("between 1 and 60 links, not {links}");
        }
        remove_stale(&ip);
        let pid = std::process::id();
        let n = crate::process::next_id();
        let name = format!("{PREFIX}{pid}-{n}");
        run(&ip, &["netns", "add", &name]).with_context(
            || "creating a network namespace needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN)",
        )?;
        // From here on the guard cleans up whatever was made.
        let mut ns = Self {
            name,
            ip,
            links: Vec::new(),
        };
        let block = free_block(&ns.ip, pid.wrapping_add(u32::try_from(n % 256)?))?;
        for i in 0..links {
            let base = u8::try_from(4 * i).context("link index")?;
            let link = Link {
                root_if: format!("rs{pid:x}x{n}v{i}"),
                ns_if: format!("veth{i}"),
                root_addr: Ipv4Addr::new(10, 213, block, base + 1),
                ns_addr: Ipv4Addr::new(10, 213, block, base + 2),
            };
            if link.root_if.len() > 15 {
                bail!("interface name {} is too long", link.root_if);
            }
            run(
                &ns.ip,
                &[
                    "link",
                    "add",
                    &link.root_if,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    &link.ns_if,
                    "netns",
                    &ns.name,
                ],
            )?;
            ns.links.push(link.clone());
            run(
                &ns.ip,
                &[
                    "addr",
                    "add",
                    &format!("{}/30", link.root_addr),
                    "dev",
                    &link.root_if,
                ],
            )?;
            run(&ns.ip, &["link", "set", &link.root_if, "up"])?;
            ns.exec_ip(&[
                "addr",
                "add",
                &format!("{}/30", link.ns_addr),
                "dev",
                &link.ns_if,
            ])?;
            ns.exec_ip(&["link", "set", &link.ns_if, "up"])?;
        }
        ns.exec_ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    fn exec_ip(&self, args: &[&str]) -> Result<String> {
        let mut all = vec!["netns", "exec", &self.name, "ip"];
        all.extend_from_slice(args);
        run(&self.ip, &all)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Link `i` as made by [`Netns::create`].
    pub fn link(&self, i: usize) -> &Link {
        &self.links[i]
    }

    /// A command that runs `program` inside the namespace (`ip netns exec`, which execs
    /// the program in place, so the child's pid is the program's).
    pub fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(&self.ip);
        cmd.args(["netns", "exec", &self.name]).arg(program);
        cmd
    }

    /// Takes the root side of link `i` down (`up = false`): packets on it are dropped
    /// silently, as in a partition, and established connections stay open. Up again
    /// restores it.
    pub fn set_link(&self, i: usize, up: bool) -> Result<()> {
        let link = self.links.get(i).context("no such link")?;
        run(
            &self.ip,
            &["link", "set", &link.root_if, if up { "up" } else { "down" }],
        )?;
        Ok(())
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting one end of a pair deletes both.
        for link in &self.links {
            let _ = run(&self.ip, &["link", "del", &link.root_if]);
        }
        let _ = run(&self.ip, &["netns", "del", &self.name]);
    }
}
