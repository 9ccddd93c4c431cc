//! Certificates made at test time with the `openssl` command: a throwaway certificate
//! authority and the certificates it signs, for loopback servers and their clients. The
//! files live in a scratch folder and are removed with it; no key is ever kept.

use crate::process::find_program;
use anyhow::{Context, Result, anyhow, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A certificate authority of one test: its certificate (what a client trusts) and key.
pub struct TestCa {
    dir: PathBuf,
    name: String,
    pub cert: PathBuf,
    key: PathBuf,
}

/// A certificate signed by a [`TestCa`], with its key.
#[derive(Debug, Clone)]
pub struct CertPair {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TestCa {
    /// A new CA named `name`, its files in a fresh scratch folder.
    pub fn generate(name: &str) -> Result<Self> {
        let dir = crate::scratch_dir(&format!("ca-{name}"))?;
        let cert = dir.join("ca.pem");
        let key = dir.join("ca.key");
        openssl(&dir, |c| {
            c.args(["req", "-x509", "-nodes", "-days", "2"])
                .args(EC_KEY)
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&cert)
                .args(["-subj", &format!("/CN=Roomshard test CA {name}")])
                .args(["-addext", "basicConstraints=critical,CA:TRUE"])
                .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
        })?;
        Ok(Self {
            dir,
            name: name.to_owned(),
            cert,
            key,
        })
    }

    /// A certificate for `127.0.0.1` and `localhost`, good for a server and a client.
    pub fn issue(&self, label: &str) -> Result<CertPair> {
        let key = self.dir.join(format!("{label}.key"));
        let csr = self.dir.join(format!("{label}.csr"));
        let cert = self.dir.join(format!("{label}.pem"));
        let ext = self.dir.join(format!("{label}.ext"));
        std::fs::write(
            &ext,
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n\
             basicConstraints=critical,CA:FALSE\n\
             keyUsage=critical,digitalSignature\n\
             extendedKeyUsage=serverAuth,clientAuth\n",
        )?;
        openssl(&self.dir, |c| {
            c.args(["req", "-new", "-nodes"])
                .args(EC_KEY)
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&csr)
                .args(["-subj", &format!("/CN={label}.{}", self.name)]);
        })?;
        openssl(&self.dir, |c| {
            c.args(["x509", "-req", "-days", "2", "-in"])
                .arg(&csr)
                .arg("-CA")
                .arg(&self.cert)
                .arg("-CAkey")
                .arg(&self.key)
                .arg("-CAcreateserial")
                .arg("-extfile")
                .arg(&ext)
                .arg("-out")
                .arg(&cert);
        })?;
        Ok(CertPair { cert, key })
    }
}

impl Drop for TestCa {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const EC_KEY: [&str; 4] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

fn openssl(dir: &Path, args: impl FnOnce(&mut Command)) -> Result<()> {
    let bin = find_program("openssl")
        .ok_or_else(|| anyhow!("openssl is not installed: apt-get install openssl"))?;
    let mut cmd = Command::new(bin);
    cmd.current_dir(dir);
    args(&mut cmd);
    let out = cmd.output().context("running openssl")?;
    if !out.status.success() {
        bail!(
            "openssl {:?} failed: {}",
            cmd.get_args().collect::<Vec<_>>(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
