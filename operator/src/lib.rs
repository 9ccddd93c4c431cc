//! The Roomshard operator: reconciles `RoomShardSet` resources into sharded Socket.IO
//! workers, their Services, a PodDisruptionBudget and the matchmaker.
//!
//! A reconcile ([`controller`]) runs `validate` (pure) → observe (the StatefulSet, and
//! Redis through `redis_state`) → `drain::plan` (pure; its marks written to Redis) →
//! `build/*` (pure) → `apply` → `status::compute` (pure) and the status patch. [`config`]
//! holds the flags; [`leader`] runs the controller only while this replica holds the Lease.

pub mod applied;
pub mod apply;
pub mod autoscale;
pub mod build;
pub mod config;
pub mod controller;
pub mod crd;
pub mod drain;
pub mod events;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod redis_state;
pub mod rollout;
pub mod set_redis;
pub mod status;
pub mod validate;
pub mod watches;

/// Everything a reconcile can fail with; each variant names the step, and the child
/// where there is one.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Observe: reading the current state of a child.
    #[error("reading {kind} {name}: {source}")]
    Observe {
        kind: &'static str,
        name: String,
        #[source]
        source: kube::Error,
    },

    /// Apply: writing a child (server-side apply, or creating the token Secret).
    #[error("applying {kind} {name}: {source}")]
    Apply {
        kind: &'static str,
        name: String,
        #[source]
        source: kube::Error,
    },

    /// Apply: removing a child the set no longer has (or listing them).
    #[error("removing {kind} {name}: {source}")]
    Remove {
        kind: &'static str,
        name: String,
        #[source]
        source: kube::Error,
    },

    /// Status: writing the set's status subresource.
    #[error("writing the status of RoomShardSet {name}: {source}")]
    Status {
        name: String,
        #[source]
        source: kube::Error,
    },

    #[error("object has no {0}")]
    MissingObjectKey(&'static str),

    #[error("Redis: {0}")]
    Redis(#[source] redis_state::RedisError),

    #[error("Redis URL secret {name}/{key}: {detail}")]
    RedisSecret {
        name: String,
        key: String,
        detail: String,
    },

    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every value [`Error::metric_label`] can return, so the failure counter starts at zero
/// for each and `rate()` sees the first failure.
pub const FAILURE_REASONS: &[&str] = &[
    "conflict",
    "api_error",
    "kube_client",
    "missing_object_key",
    "redis",
    "redis_secret",
    "finalizer",
];

impl Error {
    /// A short, bounded label for the failure counter. A failed Kubernetes call is labelled
    /// by what the API server said, whichever step and child it was (the log names them).
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Observe { source, .. }
            | Error::Apply { source, .. }
            | Error::Remove { source, .. }
            | Error::Status { source, .. } => match source {
                kube::Error::Api(s) if s.code == 409 => "conflict",
                kube::Error::Api(_) => "api_error",
                _ => "kube_client",
            },
            Error::MissingObjectKey(_) => "missing_object_key",
            Error::Redis(_) => "redis",
            Error::RedisSecret { .. } => "redis_secret",
            Error::Finalizer(inner) => match inner.as_ref() {
                kube::runtime::finalizer::Error::ApplyFailed(e)
                | kube::runtime::finalizer::Error::CleanupFailed(e) => e.metric_label(),
                _ => "finalizer",
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_labels_are_bounded() {
        assert_eq!(
            Error::MissingObjectKey("uid").metric_label(),
            "missing_object_key"
        );
        let inner = Error::MissingObjectKey("x");
        let e = Error::Finalizer(Box::new(kube::runtime::finalizer::Error::ApplyFailed(
            inner,
        )));
        assert_eq!(e.metric_label(), "missing_object_key");
        assert!(e.to_string().contains("finalizer"));
        let not_json = serde_json::from_str::<serde_json::Value>("{").expect_err("invalid");
        let apply = Error::Apply {
            kind: "StatefulSet",
            name: "game".into(),
            source: kube::Error::SerdeError(not_json),
        };
        assert_eq!(apply.metric_label(), "kube_client");
        assert!(apply.to_string().starts_with("applying StatefulSet game: "));
        for label in [
            Error::MissingObjectKey("x").metric_label(),
            e.metric_label(),
            apply.metric_label(),
        ] {
            assert!(FAILURE_REASONS.contains(&label), "{label}");
        }
    }
}
