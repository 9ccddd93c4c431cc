//! The files around the chart that CI cannot run (no container engine here): the kind
//! script is valid, shellcheck-clean bash; the Dockerfile builds every binary into a
//! non-root image; the Compose file runs Redis, three shards and a matchmaker.

mod common;

use anyhow::{Context, Result};
use common::{repo, run_ok};
use roomshard_testkit::process::find_program;
use std::process::Command;

#[test]
fn kind_script_is_valid_and_shellcheck_clean() -> Result<()> {
    let script = repo().join("hack/kind-up.sh");
    run_ok(
        "bash -n hack/kind-up.sh",
        Command::new("bash").arg("-n").arg(&script),
    )?;
    let shellcheck = find_program("shellcheck").context(
        "shellcheck is not installed: run hack/install-deps.sh (Debian package shellcheck)",
    )?;
    run_ok(
        "shellcheck hack/kind-up.sh",
        Command::new(shellcheck).arg(&script),
    )?;

    let text = std::fs::read_to_string(&script)?;
    for step in [
        "kind create cluster",
        "docker build",
        "kind load docker-image",
        "helm upgrade --install",
        "examples/roomshardset.yaml",
        "port-forward",
        "/reserve",
    ] {
        assert!(text.contains(step), "hack/kind-up.sh lacks {step}");
    }
    Ok(())
}

/// Every script under hack/ (the local cluster's, the image builder's, the installers')
/// is shellcheck-clean, as CI runs them.
#[test]
fn every_hack_script_is_shellcheck_clean() -> Result<()> {
    let shellcheck = find_program("shellcheck").context(
        "shellcheck is not installed: run hack/install-deps.sh (Debian package shellcheck)",
    )?;
    let mut scripts = Vec::new();
    for dir in ["hack", "hack/lib", "hack/cluster"] {
        for entry in std::fs::read_dir(repo().join(dir))? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "sh") {
                scripts.push(path);
            }
        }
    }
    assert!(scripts.len() >= 10, "{scripts:?}");
    run_ok(
        "shellcheck -x hack/**/*.sh",
        Command::new(shellcheck)
            .arg("-x")
            .current_dir(repo())
            .args(&scripts),
    )?;
    Ok(())
}

#[test]
fn dockerfile_builds_every_binary_into_a_non_root_image() -> Result<()> {
    let text = std::fs::read_to_string(repo().join("Dockerfile"))?;
    for bin in [
        "roomshard-operator",
        "roomshard-worker",
        "roomshard-matchmaker",
        "roomshard-loadtest",
    ] {
        assert!(
            text.contains(&format!("--bin {bin}")),
            "the image lacks {bin}"
        );
    }
    assert!(text.contains("--locked"));
    let stages = text.lines().filter(|l| l.starts_with("FROM ")).count();
    assert_eq!(stages, 2, "a build stage and a runtime stage");
    let user = text
        .lines()
        .rfind(|l| l.starts_with("USER "))
        .context("no USER")?;
    assert_eq!(user, "USER 65532:65532");
    let toolchain = std::fs::read_to_string(repo().join("rust-toolchain.toml"))?;
    let channel = toolchain
        .lines()
        .find_map(|l| l.strip_prefix("channel = "))
        .context("toolchain channel")?
        .trim_matches('"');
    assert!(
        text.contains(&format!("ARG RUST_VERSION={channel}")),
        "the build stage uses the pinned toolchain {channel}"
    );
    Ok(())
}

#[test]
fn compose_runs_redis_three_shards_and_a_matchmaker() -> Result<()> {
    let compose: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(repo().join("docker-compose.yml"))?)?;
    let services = &compose["services"];
    assert!(
        services["redis"]["image"]
            .as_str()
            .is_some_and(|i| i.starts_with("redis:7"))
    );

    // Merge keys (<<) are resolved by Compose; read the environment maps by hand.
    let env = |service: &str, key: &str| -> Option<String> {
        let env = &services[service]["environment"];
        env.get(key)
            .or_else(|| env.get("<<").and_then(|base| base.get(key)))
            .and_then(|v| v.as_str().map(str::to_owned))
    };
    let secret = env("matchmaker", "ROOMSHARD_TOKEN_SECRET").context("matchmaker secret")?;
    for i in 0..3 {
        let worker = format!("worker-{i}");
        assert_eq!(
            env(&worker, "ROOM_SHARD").as_deref(),
            Some(format!("{i}/3").as_str())
        );
        assert_eq!(env(&worker, "PORT"), Some(format!("{}", 3000 + i)));
        assert_eq!(
            env(&worker, "REDIS_URL").as_deref(),
            Some("redis://redis:6379")
        );
        assert_eq!(env(&worker, "ROOMSHARD_TOKEN_SECRET"), Some(secret.clone()));
    }
    assert_eq!(
        env("matchmaker", "REDIS_URL").as_deref(),
        Some("redis://redis:6379")
    );
    Ok(())
}
