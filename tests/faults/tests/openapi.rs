//! The matchmaker's OpenAPI spec (`docs/openapi.yaml`) against the real binary: every path
//! and method it lists is served, an unknown path is a JSON 404, and schemathesis finds no
//! server error other than the documented 503.

use anyhow::{Context, Result, bail};
use roomshard_faults::{keys, start_matchmaker};
use roomshard_protocol::records::Capacity;
use roomshard_testkit::fixtures::write_heartbeats;
use roomshard_testkit::http::send;
use roomshard_testkit::process::Proc;
use roomshard_testkit::redis::RedisServer;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The pinned schemathesis release `hack/install-deps.sh` installs.
const SCHEMATHESIS_VERSION: &str = "4.32.5";

fn spec() -> Result<serde_json::Value> {
    let path = roomshard_testkit::repo_root()
        .join("docs")
        .join("openapi.yaml");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path:?}"))?;
    serde_saphyr::from_str(&text).context("docs/openapi.yaml is not YAML")
}

/// A matchmaker on a real Redis with heartbeats for two shards, so /reserve can succeed.
fn matchmaker(label: &str) -> Result<(RedisServer, Proc)> {
    let redis = RedisServer::start()?;
    write_heartbeats(
        redis.port(),
        &keys(),
        2,
        Capacity {
            rooms_per_shard: 1000,
            players_per_room: 16,
        },
        Duration::from_secs(600),
    )?;
    let dir = roomshard_testkit::scratch_dir(label)?;
    let mut mm = start_matchmaker(&dir, "matchmaker", None, &redis.url(), 2000)?;
    mm.wait_ok("/readyz", Duration::from_secs(30))?;
    Ok((redis, mm))
}

#[test]
fn every_documented_route_is_served() -> Result<()> {
    let spec = spec()?;
    assert!(
        spec["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.")),
        "not an OpenAPI 3 document"
    );
    let (_redis, mm) = matchmaker("faults-openapi-routes")?;
    let paths = spec["paths"].as_object().context("no paths")?;
    let mut checked = Vec::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().context("path item")? {
            let method = method.to_uppercase();
            let body = (method == "POST").then_some("{}");
            let answer = send(mm.port, &method, path, body)?;
            assert!(
                answer.status != 404 && answer.status != 405,
                "{method} {path} is documented but answered {}: {}",
                answer.status,
                answer.body
            );
            let documented = op["responses"]
                .as_object()
                .context("responses")?
                .keys()
                .cloned()
                .collect::<Vec<_>>();
            assert!(
                documented.contains(&answer.status.to_string()),
                "{method} {path} answered {}, not among its documented codes {documented:?}",
                answer.status
            );
            checked.push(format!("{method} {path} {}", answer.status));
        }
    }
    // Every documented error answer uses the one error schema.
    for (name, response) in spec["components"]["responses"]
        .as_object()
        .context("components.responses")?
    {
        assert_eq!(
            response["content"]["application/json"]["schema"]["$ref"].as_str(),
            Some("#/components/schemas/Error"),
            "response {name:?} does not use the error schema"
        );
    }
    // Request bodies refuse unknown fields, as the server does.
    assert_eq!(
        spec["components"]["schemas"]["ReserveRequest"]["additionalProperties"],
        serde_json::Value::Bool(false)
    );
    let unknown = send(mm.port, "GET", "/no/such/route", None)?;
    assert_eq!(unknown.status, 404);
    assert_eq!(
        unknown.json()?["error"]["code"],
        "not_found",
        "{}",
        unknown.body
    );
    let wrong = send(mm.port, "DELETE", "/reserve", None)?;
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.json()?["error"]["code"], "method_not_allowed");
    println!(
        "FIGURES openapi-routes: {} documented operations served ({}); unknown path: JSON 404 \
         not_found; wrong method: JSON 405",
        checked.len(),
        checked.join(", ")
    );
    Ok(())
}

fn schemathesis() -> Result<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .context("neither XDG_CACHE_HOME nor HOME is set")?;
    let bin = cache
        .join("roomshard")
        .join("venv")
        .join("bin")
        .join("schemathesis");
    if !bin.is_file() {
        bail!(
            "{} is missing: run hack/install-deps.sh (it installs schemathesis \
             {SCHEMATHESIS_VERSION} into that virtual environment)",
            bin.display()
        );
    }
    Ok(bin)
}

#[test]
fn schemathesis_finds_no_server_error() -> Result<()> {
    let bin = schemathesis()?;
    let (_redis, mm) = matchmaker("faults-schemathesis")?;
    let dir = roomshard_testkit::scratch_dir("faults-schemathesis-run")?;
    // 503 is documented (no capacity, Redis unavailable); every other 5xx is a failure.
    let config = dir.join("schemathesis.toml");
    std::fs::write(
        &config,
        "[checks.not_a_server_error]\nexpected-statuses = [\"2xx\", \"3xx\", \"4xx\", \"503\"]\n",
    )?;
    let spec = roomshard_testkit::repo_root()
        .join("docs")
        .join("openapi.yaml");
    let mut child = Command::new(&bin)
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(&spec)
        .args(["--url", &mm.url()])
        .args(["--checks", "not_a_server_error"])
        .args(["--max-examples", "50"])
        .args(["--seed", "20240611"])
        .args(["--request-timeout", "5"])
        .args(["--generation-database", "none"])
        .args(["--report", "junit", "--report-dir"])
        .arg(&dir)
        .arg("--no-color")
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting schemathesis")?;
    let mut stdout = child.stdout.take().context("stdout")?;
    let mut stderr = child.stderr.take().context("stderr")?;
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            bail!("schemathesis did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    let summary: Vec<&str> = stdout
        .lines()
        .filter(|l| {
            l.contains("passed")
                || l.contains("failed")
                || l.contains("cases")
                || l.contains("error")
        })
        .collect();
    println!(
        "FIGURES schemathesis: exit {status} in {} ms; {}",
        started.elapsed().as_millis(),
        summary.join(" | ")
    );
    assert!(
        status.success(),
        "schemathesis failed ({status}):\n{stdout}\n{stderr}\n{}",
        mm.logs()
    );
    let server_errors = mm_5xx(mm.port)?;
    assert_eq!(
        server_errors, 0.0,
        "the matchmaker counted 5xx other than 503"
    );
    Ok(())
}

/// 5xx answers other than 503 the matchmaker itself counted.
fn mm_5xx(port: u16) -> Result<f64> {
    let body = send(port, "GET", "/metrics", None)?.body;
    Ok(body
        .lines()
        .filter(|l| l.starts_with("roomshard_matchmaker_http_requests_total"))
        .filter(|l| l.contains("status=\"5") && !l.contains("status=\"503\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum())
}
