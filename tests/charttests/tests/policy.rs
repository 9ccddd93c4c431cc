//! The chart's bounds on what a RoomShardSet may ask for, enforced by a real
//! kube-apiserver through the chart's ValidatingAdmissionPolicy: a set outside them is
//! refused with a message naming the field, a set inside them is accepted.

mod common;

use anyhow::{Result, bail};
use common::{apply_roomshardset_crd, run_ok, template};
use roomshard_testkit::control_plane::ControlPlane;
use roomshard_testkit::process::wait_until;
use serde_json::{Value, json};
use std::time::Duration;

const NS: &str = "games";

/// A set named `name` with `spec` merged over a minimal valid one.
fn set(name: &str, spec: Value) -> String {
    let mut base = json!({"shards": 2, "image": "ghcr.io/studio/roomshard:1"});
    if let (Some(b), Some(extra)) = (base.as_object_mut(), spec.as_object()) {
        for (k, v) in extra {
            b.insert(k.clone(), v.clone());
        }
    }
    json!({"apiVersion": "roomshard.dev/v1alpha1", "kind": "RoomShardSet",
           "metadata": {"name": name, "namespace": NS}, "spec": base})
    .to_string()
}

/// `kubectl create` of a set: Ok, or the API server's refusal.
fn create(plane: &ControlPlane, manifest: &str) -> Result<std::result::Result<(), String>> {
    let out = plane.kubectl_with_input(&["create", "-f", "-"], manifest)?;
    Ok(if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    })
}

#[test]
fn a_set_outside_the_charts_bounds_is_refused_naming_the_field() -> Result<()> {
    let plane = ControlPlane::start()?;
    apply_roomshardset_crd(&plane)?;
    run_ok(
        "namespace",
        plane.kubectl().args(["create", "namespace", NS]),
    )?;
    let policy = template(
        "roomshard-system",
        &[
            "--show-only",
            "templates/policy.yaml",
            "--set",
            "policy.maxShards=4",
            "--set",
            "policy.allowedImageRegistries={ghcr.io/studio/}",
            "--set",
            "policy.allowLoadBalancer=false",
            "--set",
            "policy.allowServiceAnnotations=false",
            "--set",
            "policy.hooks.requireHttps=true",
            "--set",
            "policy.hooks.allowedUrlPrefixes={https://backend.games.svc/}",
            "--set",
            "policy.hooks.maxTimeoutMs=3000",
        ],
    )?;
    let out = plane.kubectl_with_input(&["apply", "-f", "-"], &policy)?;
    if !out.status.success() {
        bail!(
            "the policy was refused: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The API server takes a moment to start enforcing a new policy.
    let mut probe = 0;
    wait_until("the policy to be enforced", Duration::from_secs(30), || {
        probe += 1;
        let manifest = set(&format!("probe-{probe}"), json!({"shards": 5}));
        create(&plane, &manifest).ok()?.err()
    })?;

    let refused = [
        (json!({"shards": 5}), "spec.shards must be at most 4"),
        (json!({"image": "evil.example/miner:1"}), "spec.image"),
        (
            json!({"matchmaker": {"image": "docker.io/other/mm:1"}}),
            "spec.matchmaker.image",
        ),
        (
            json!({"resources": {"limits": {"cpu": "16"}}}),
            "spec.resources.limits.cpu must be at most 4",
        ),
        (
            json!({"resources": {"requests": {"memory": "64Gi"}}}),
            "spec.resources.requests.memory must be at most 8Gi",
        ),
        (
            json!({"matchmaker": {"resources": {"limits": {"memory": "32Gi"}}}}),
            "spec.matchmaker.resources.limits.memory must be at most 8Gi",
        ),
        (
            json!({"service": {"type": "LoadBalancer"}}),
            "spec.service.type LoadBalancer",
        ),
        (
            json!({"service": {"annotations": {"service.beta.kubernetes.io/aws-load-balancer-internal": "false"}}}),
            "spec.service.annotations",
        ),
        (
            json!({"hooks": {"onJoin": {"url": "http://backend.games.svc/join"}}}),
            "spec.hooks URLs must be https://",
        ),
        (
            json!({"hooks": {"onEvent": {"url": "https://elsewhere.example/event"}}}),
            "policy.hooks.allowedUrlPrefixes",
        ),
        (
            json!({"hooks": {"onRoomCreated": {"url": "https://me:pw@backend.games.svc/x"}}}),
            "no user info",
        ),
        (
            json!({"hooks": {"onRoomClosed": {"url": "https://backend.games.svc/a b"}}}),
            "no user info and no spaces",
        ),
        (
            json!({"hooks": {"onJoin": {"url": "https://backend.games.svc/join",
                                        "timeoutMs": 20000}}}),
            "timeoutMs must be at most 3000",
        ),
        (
            json!({"hooks": {"onJoin": {"url": "https://backend.games.svc/join",
                                        "maxConcurrency": 1000}}}),
            "maxConcurrency must be at most 256",
        ),
        (
            json!({"hooks": {"onJoin": {"url": "ftp://backend.games.svc/join"}}}),
            "spec.hooks.onJoin.url",
        ),
    ];
    for (i, (spec, needle)) in refused.iter().enumerate() {
        match create(&plane, &set(&format!("bad-{i}"), spec.clone()))? {
            Ok(()) => bail!("{spec} was accepted"),
            Err(e) => assert!(e.contains(needle), "{spec}: {e}"),
        }
    }
    let inside = json!({"shards": 4, "matchmaker": {"image": "ghcr.io/studio/mm:1"},
                        "resources": {"limits": {"cpu": "2", "memory": "1Gi"},
                                      "requests": {"cpu": "500m"}},
                        "hooks": {"onJoin": {"url": "https://backend.games.svc/join",
                                             "timeoutMs": 2000, "maxConcurrency": 64},
                                  "onRoomClosed": {"url": "https://backend.games.svc/closed?from=roomshard"}}});
    if let Err(e) = create(&plane, &set("good", inside))? {
        bail!("a set inside the bounds was refused: {e}");
    }
    Ok(())
}
