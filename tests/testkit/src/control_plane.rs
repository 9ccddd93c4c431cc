//! A real Kubernetes control plane for tests: etcd and kube-apiserver on free loopback
//! ports, with an admin kubeconfig for `kube::Client`, `kubectl` and `helm`.
//!
//! The binaries come from `KUBEBUILDER_ASSETS` when set (an envtest-style folder holding
//! `etcd`, `kube-apiserver`, `kubectl` and, for chart tests, `helm`), else from
//! `hack/install-control-plane.sh`, which builds them from their Go modules once into a
//! cache outside the repository and prints the folder. There is no controller-manager or
//! scheduler: objects are stored and validated, but StatefulSets create no Pods and
//! garbage collection does not run.

use crate::process::{ChildGuard, free_port, wait_until};
use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

const ADMIN_TOKEN: &str = "roomshard-test-admin-token";

/// etcd and kube-apiserver, both killed when dropped.
pub struct ControlPlane {
    assets: PathBuf,
    dir: PathBuf,
    kubeconfig: PathBuf,
    server: String,
    // Field order is drop order: the API server stops before its store.
    apiserver: ChildGuard,
    etcd: ChildGuard,
}

static ASSETS: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// The folder of control-plane binaries, built on first use.
pub fn assets() -> Result<PathBuf> {
    ASSETS
        .get_or_init(|| locate_assets().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn locate_assets() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("KUBEBUILDER_ASSETS") {
        let dir = PathBuf::from(dir);
        if dir.join("kube-apiserver").is_file() && dir.join("etcd").is_file() {
            return Ok(dir);
        }
        bail!(
            "KUBEBUILDER_ASSETS={} lacks etcd or kube-apiserver",
            dir.display()
        );
    }
    let script = crate::repo_root()
        .join("hack")
        .join("install-control-plane.sh");
    let out = Command::new("bash")
        .arg(&script)
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        bail!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let dir = stdout
        .lines()
        .last()
        .map(|l| PathBuf::from(l.trim()))
        .context("install-control-plane.sh printed no folder")?;
    Ok(dir)
}

fn openssl(args: &[&str], dir: &Path) -> Result<()> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .context("running openssl (install the openssl package)")?;
    if !out.status.success() {
        bail!("openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

impl ControlPlane {
    /// Starts etcd and kube-apiserver and waits until the API server is ready.
    pub fn start() -> Result<Self> {
        let assets = assets()?;
        let dir = crate::scratch_dir("control-plane")?;

        let client_port = free_port()?;
        let peer_port = free_port()?;
        let etcd_url = format!("http://127.0.0.1:{client_port}");
        let mut etcd_cmd = Command::new(assets.join("etcd"));
        etcd_cmd.arg("--data-dir").arg(dir.join("etcd")).args([
            "--listen-client-urls",
            &etcd_url,
            "--advertise-client-urls",
            &etcd_url,
            "--listen-peer-urls",
            &format!("http://127.0.0.1:{peer_port}"),
            "--initial-advertise-peer-urls",
            &format!("http://127.0.0.1:{peer_port}"),
            "--initial-cluster",
            &format!("default=http://127.0.0.1:{peer_port}"),
            "--unsafe-no-fsync",
            "--quota-backend-bytes",
            "2147483648",
        ]);
        let etcd = ChildGuard::spawn("etcd", etcd_cmd, &dir.join("etcd.log"))?;

        openssl(&["genrsa", "-out", "sa.key", "2048"], &dir)?;
        openssl(&["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"], &dir)?;
        std::fs::write(
            dir.join("tokens.csv"),
            format!("{ADMIN_TOKEN},admin,admin-uid,\"system:masters\"\n"),
        )?;

        let port = free_port()?;
        let mut api_cmd = Command::new(assets.join("kube-apiserver"));
        api_cmd
            .args([
                "--etcd-servers",
                &etcd_url,
                "--bind-address",
                "127.0.0.1",
                "--advertise-address",
                "127.0.0.1",
                "--secure-port",
                &port.to_string(),
                "--authorization-mode",
                "RBAC",
                "--service-cluster-ip-range",
                "10.96.0.0/16",
                "--service-account-issuer",
                "https://kubernetes.default.svc",
                "--api-audiences",
                "https://kubernetes.default.svc",
                "--disable-admission-plugins",
                "ServiceAccount",
                "--allow-privileged=true",
                "--endpoint-reconciler-type",
                "none",
                "--enable-priority-and-fairness=false",
                "--v",
                "1",
            ])
            .arg("--cert-dir")
            .arg(dir.join("certs"))
            .arg("--token-auth-file")
            .arg(dir.join("tokens.csv"))
            .arg("--service-account-key-file")
            .arg(dir.join("sa.pub"))
            .arg("--service-account-signing-key-file")
            .arg(dir.join("sa.key"));
        let apiserver =
            ChildGuard::spawn("kube-apiserver", api_cmd, &dir.join("kube-apiserver.log"))?;

        let server = format!("https://127.0.0.1:{port}");
        let kubeconfig = dir.join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {server}\n    insecure-skip-tls-verify: true\nusers:\n- name: admin\n  user:\n    token: {ADMIN_TOKEN}\ncontexts:\n- name: test\n  context:\n    cluster: test\n    user: admin\n    namespace: default\ncurrent-context: test\n"
            ),
        )?;

        let mut plane = Self {
            assets,
            dir,
            kubeconfig,
            server,
            apiserver,
            etcd,
        };
        plane.wait_ready(Duration::from_secs(90))?;
        Ok(plane)
    }

    fn wait_ready(&mut self, deadline: Duration) -> Result<()> {
        let log = self.dir.join("kube-apiserver.log");
        let mut last = String::new();
        let result = wait_until("kube-apiserver /readyz", deadline, || {
            if let Some(status) = self.apiserver.try_status() {
                last = format!("kube-apiserver exited with {status}");
                return Some(Err(()));
            }
            let out = self
                .kubectl()
                .args(["get", "--raw", "/readyz"])
                .output()
                .ok()?;
            if out.status.success() {
                return Some(Ok(()));
            }
            last = String::from_utf8_lossy(&out.stderr).into_owned();
            None
        });
        match result {
            Ok(Ok(())) => {}
            _ => {
                let tail = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: String = tail
                    .lines()
                    .rev()
                    .take(30)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("\n");
                bail!("kube-apiserver did not become ready: {last}\n--- log tail ---\n{tail}");
            }
        }
        // The default namespace is created by a post-start hook; wait for it too.
        wait_until("the default namespace", deadline, || {
            let out = self
                .kubectl()
                .args(["get", "namespace", "default"])
                .output()
                .ok()?;
            out.status.success().then_some(())
        })
    }

    /// The admin kubeconfig (token auth, TLS verification off: the serving cert is
    /// self-signed and throwaway).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// `https://127.0.0.1:PORT`.
    pub fn server_url(&self) -> &str {
        &self.server
    }

    /// The folder holding etcd, kube-apiserver, kubectl and helm.
    pub fn assets(&self) -> &Path {
        &self.assets
    }

    /// A `kube::Client` authenticated as cluster admin.
    pub async fn client(&self) -> Result<kube::Client> {
        let raw = kube::config::Kubeconfig::read_from(&self.kubeconfig)?;
        let config = kube::Config::from_custom_kubeconfig(raw, &Default::default()).await?;
        Ok(kube::Client::try_from(config)?)
    }

    fn tool(&self, name: &str) -> Command {
        let bundled = self.assets.join(name);
        let program = if bundled.is_file() {
            bundled
        } else {
            PathBuf::from(name)
        };
        let mut cmd = Command::new(program);
        cmd.env("KUBECONFIG", &self.kubeconfig);
        cmd
    }

    /// The real `kubectl`, pointed at this control plane.
    pub fn kubectl(&self) -> Command {
        let mut cmd = self.tool("kubectl");
        cmd.arg("--kubeconfig").arg(&self.kubeconfig);
        cmd
    }

    /// Runs `kubectl ARGS` against this control plane; its standard output, or its
    /// standard error as the error.
    pub fn kubectl_ok(&self, args: &[&str]) -> Result<String> {
        let out = self
            .kubectl()
            .args(args)
            .output()
            .context("running kubectl")?;
        if !out.status.success() {
            bail!("kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs `kubectl ARGS` against this control plane with `input` on its standard input;
    /// its whole output, whether it succeeded or not.
    pub fn kubectl_with_input(&self, args: &[&str], input: &str) -> Result<Output> {
        let mut child = self
            .kubectl()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("running kubectl")?;
        child
            .stdin
            .take()
            .context("kubectl stdin")?
            .write_all(input.as_bytes())?;
        Ok(child.wait_with_output()?)
    }

    /// Installs the RoomShardSet CRD (`crds/roomshardset.yaml`) and waits until the API
    /// server serves it. Polls rather than `kubectl wait`, which fails outright when asked
    /// before the CRD has any status.
    pub fn install_crd(&self) -> Result<()> {
        let crd = crate::repo_root().join("crds").join("roomshardset.yaml");
        let crd = crd.to_str().context("the CRD path is not UTF-8")?;
        self.kubectl_ok(&["apply", "-f", crd])?;
        wait_until(
            "the RoomShardSet CRD to be established",
            Duration::from_secs(30),
            || {
                let status = self
                    .kubectl_ok(&[
                        "get",
                        "crd",
                        "roomshardsets.roomshard.dev",
                        "-o",
                        "jsonpath={.status.conditions[?(@.type==\"Established\")].status}",
                    ])
                    .ok()?;
                (status.trim() == "True").then_some(())
            },
        )
    }

    /// The real `helm`, pointed at this control plane.
    pub fn helm(&self) -> Command {
        let mut cmd = self.tool("helm");
        cmd.arg("--kubeconfig").arg(&self.kubeconfig);
        let home = self.dir.join("helm-home");
        cmd.env("HELM_CACHE_HOME", home.join("cache"))
            .env("HELM_CONFIG_HOME", home.join("config"))
            .env("HELM_DATA_HOME", home.join("data"));
        cmd
    }

    /// Environment for a child process (such as the operator) that should use this
    /// control plane through `KUBECONFIG`.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![(
            "KUBECONFIG".to_owned(),
            self.kubeconfig.display().to_string(),
        )]
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        self.apiserver.kill();
        self.etcd.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
