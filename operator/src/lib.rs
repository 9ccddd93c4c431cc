//! The Roomshard operator: reconciles `RoomShardSet` resources into sharded Socket.IO
//! workers, their Services, a PodDisruptionBudget and the matchmaker.
//!
//! Reconcile runs `validate` → `build/*` (pure) → `apply` → `drain` → `status`; Redis is
//! read through `redis_state`; `leader` makes sure only one replica runs the controller.

pub mod apply;
pub mod build;
pub mod controller;
pub mod crd;
pub mod drain;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod redis_state;
pub mod status;
pub mod validate;

/// Everything a reconcile can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API call failed: {0}")]
    Kube(#[source] kube::Error),

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

impl From<kube::Error> for Error {
    fn from(e: kube::Error) -> Self {
        Error::Kube(e)
    }
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
    /// A short, bounded label for the failure counter.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Kube(kube::Error::Api(s)) if s.code == 409 => "conflict",
            Error::Kube(kube::Error::Api(_)) => "api_error",
            Error::Kube(_) => "kube_client",
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
        for label in [
            Error::MissingObjectKey("x").metric_label(),
            e.metric_label(),
        ] {
            assert!(FAILURE_REASONS.contains(&label), "{label}");
        }
    }
}
