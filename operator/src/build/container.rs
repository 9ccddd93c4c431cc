//! What every Roomshard container shares: its ports and probes, the hardened pod and
//! container security contexts, and a writable /tmp under a read-only root filesystem.

use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, HTTPGetAction,
    PodSecurityContext, Probe, SeccompProfile, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// A container serving clients on `port` (named `port_name`) and, with `ops`, its ops
/// routes on a port of their own (named `ops`): probed on /readyz and /healthz there,
/// hardened, with a writable /tmp. The caller adds what it runs.
pub(crate) fn served_container(port_name: &str, port: i32, ops: Option<i32>) -> Container {
    let tcp = |name: &str, container_port: i32| ContainerPort {
        name: Some(name.into()),
        container_port,
        protocol: Some("TCP".into()),
        ..ContainerPort::default()
    };
    let mut ports = vec![tcp(port_name, port)];
    ports.extend(ops.map(|o| tcp("ops", o)));
    let probed = ops.unwrap_or(port);
    Container {
        ports: Some(ports),
        // Probed every second: a worker that restarts is routed to again as soon as it
        // has registered, which is when the matchmaker starts handing out its seats.
        readiness_probe: Some(http_probe("/readyz", probed, 1, 3)),
        liveness_probe: Some(http_probe("/healthz", probed, 10, 3)),
        security_context: Some(container_security_context()),
        volume_mounts: Some(vec![tmp_mount()]),
        ..Container::default()
    }
}

pub(crate) fn http_probe(path: &str, port: i32, period: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::Int(port),
            scheme: Some("HTTP".into()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(1),
        failure_threshold: Some(failures),
        ..Probe::default()
    }
}

pub(crate) fn pod_security_context() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(65532),
        run_as_group: Some(65532),
        fs_group: Some(65532),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            localhost_profile: None,
        }),
        ..PodSecurityContext::default()
    }
}

pub(crate) fn container_security_context() -> SecurityContext {
    SecurityContext {
        run_as_non_root: Some(true),
        read_only_root_filesystem: Some(true),
        allow_privilege_escalation: Some(false),
        privileged: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            add: None,
        }),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            localhost_profile: None,
        }),
        ..SecurityContext::default()
    }
}

/// A writable /tmp, since the root filesystem is read-only.
pub(crate) fn tmp_volume() -> Volume {
    Volume {
        name: "tmp".into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Volume::default()
    }
}

pub(crate) fn tmp_mount() -> VolumeMount {
    VolumeMount {
        name: "tmp".into(),
        mount_path: "/tmp".into(),
        ..VolumeMount::default()
    }
}
