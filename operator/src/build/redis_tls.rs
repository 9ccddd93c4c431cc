//! `spec.redis.tls` in the pods: the Secret mounted read-only where the worker and the
//! matchmaker look for it, and the REDIS_CA_FILE (and client certificate) variables that
//! point there. Without it the pods trust the system roots for `rediss://`.

use super::Inputs;
use super::container::{tmp_mount, tmp_volume};
use super::env::value_env;
use crate::crd::RedisTlsSpec;
use k8s_openapi::api::core::v1::{EnvVar, KeyToPath, SecretVolumeSource, Volume, VolumeMount};

/// Where the Secret is mounted.
pub const MOUNT_PATH: &str = "/etc/roomshard/redis-tls";
const VOLUME: &str = "redis-tls";
const CA_FILE: &str = "ca.crt";
const CERT_FILE: &str = "tls.crt";
const KEY_FILE: &str = "tls.key";
/// Readable by the pod's group (its fsGroup) only.
const FILE_MODE: i32 = 0o440;

fn spec<'a>(inputs: &'a Inputs<'_>) -> Option<&'a RedisTlsSpec> {
    inputs.set.spec.redis.as_ref().and_then(|r| r.tls.as_ref())
}

fn mutual(tls: &RedisTlsSpec) -> bool {
    tls.client_certificate.unwrap_or(false)
}

/// A served pod's volumes: a writable /tmp, and the Secret when the set names one.
pub fn volumes(inputs: &Inputs<'_>) -> Vec<Volume> {
    let mut v = vec![tmp_volume()];
    v.extend(volume(inputs));
    v
}

/// Its container's mounts, matching [`volumes`].
pub fn mounts(inputs: &Inputs<'_>) -> Vec<VolumeMount> {
    let mut m = vec![tmp_mount()];
    m.extend(mount(inputs));
    m
}

fn volume(inputs: &Inputs<'_>) -> Option<Volume> {
    let tls = spec(inputs)?;
    let item = |key: &str, path: &str| KeyToPath {
        key: key.into(),
        path: path.into(),
        mode: None,
    };
    let mut items = vec![item(tls.ca_key.as_deref().unwrap_or(CA_FILE), CA_FILE)];
    if mutual(tls) {
        items.push(item(CERT_FILE, CERT_FILE));
        items.push(item(KEY_FILE, KEY_FILE));
    }
    Some(Volume {
        name: VOLUME.into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(tls.secret_name.clone()),
            items: Some(items),
            default_mode: Some(FILE_MODE),
            optional: Some(false),
        }),
        ..Volume::default()
    })
}

fn mount(inputs: &Inputs<'_>) -> Option<VolumeMount> {
    spec(inputs).map(|_| VolumeMount {
        name: VOLUME.into(),
        mount_path: MOUNT_PATH.into(),
        read_only: Some(true),
        ..VolumeMount::default()
    })
}

/// REDIS_CA_FILE, and the client certificate's pair for mutual TLS.
pub fn env(inputs: &Inputs<'_>) -> Vec<EnvVar> {
    let Some(tls) = spec(inputs) else {
        return Vec::new();
    };
    let file = |name: &str| format!("{MOUNT_PATH}/{name}");
    let mut env = vec![value_env("REDIS_CA_FILE", file(CA_FILE))];
    if mutual(tls) {
        env.push(value_env("REDIS_CLIENT_CERT_FILE", file(CERT_FILE)));
        env.push(value_env("REDIS_CLIENT_KEY_FILE", file(KEY_FILE)));
    }
    env
}

#[cfg(test)]
mod tests {
    use crate::build::fixture::{env, with};
    use serde_json::json;

    #[test]
    fn the_ca_secret_is_mounted_in_both_kinds_of_pod() {
        let spec = json!({"shards": 1, "image": "w", "redis": {
            "url": "rediss://redis:6380", "tls": {"secretName": "redis-ca", "caKey": "bundle.pem",
            "clientCertificate": true}}});
        let (sts, mm) = with(spec, |i| {
            (
                serde_json::to_value(crate::build::statefulset::worker_statefulset(i, 1))
                    .expect("json"),
                serde_json::to_value(crate::build::matchmaker::matchmaker_deployment(i))
                    .expect("json"),
            )
        });
        for pod in [&sts, &mm] {
            let spec = &pod["spec"]["template"]["spec"];
            let vol = spec["volumes"]
                .as_array()
                .expect("volumes")
                .iter()
                .find(|v| v["name"] == "redis-tls")
                .expect("the TLS volume");
            assert_eq!(vol["secret"]["secretName"], "redis-ca");
            assert_eq!(vol["secret"]["items"][0]["key"], "bundle.pem");
            assert_eq!(vol["secret"]["defaultMode"], 0o440);
            let c = &spec["containers"][0];
            let m = c["volumeMounts"]
                .as_array()
                .expect("mounts")
                .iter()
                .find(|m| m["name"] == "redis-tls")
                .expect("mounted");
            assert_eq!(m["readOnly"], true);
            assert_eq!(
                env(c, "REDIS_CA_FILE")["value"],
                "/etc/roomshard/redis-tls/ca.crt"
            );
            assert_eq!(
                env(c, "REDIS_CLIENT_KEY_FILE")["value"],
                "/etc/roomshard/redis-tls/tls.key"
            );
        }
    }
}
