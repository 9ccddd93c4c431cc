//! Leader election on a coordination.k8s.io/v1 Lease, so two operator replicas are safe:
//! only the holder runs the controller ([`lead`]).

use crate::config::LeaseConfig;
use crate::controller::Context;
use crate::watches;
use kube::Client;
use kube_lease_manager::{LeaseManagerBuilder, LeaseManagerError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tracing::info;

/// A running lease manager: `is_leader` flips as the lease is won and lost.
pub struct Leadership {
    pub is_leader: watch::Receiver<bool>,
    task: tokio::task::JoinHandle<Result<kube_lease_manager::LeaseManager, LeaseManagerError>>,
}

/// Starts competing for the lease (creating it if absent).
pub async fn start(client: Client, config: &LeaseConfig) -> Result<Leadership, LeaseManagerError> {
    let manager = LeaseManagerBuilder::new(client, &config.name)
        .with_namespace(&config.namespace)
        .with_identity(&config.identity)
        .with_duration(config.duration.as_secs().max(1))
        .with_grace(config.grace.as_secs().max(1))
        .with_field_manager(crate::build::MANAGER)
        .build()
        .await?;
    let (is_leader, task) = manager.watch().await;
    Ok(Leadership { is_leader, task })
}

impl Leadership {
    /// Waits until this replica holds the lease; `false` if the manager stopped.
    pub async fn acquired(&mut self) -> bool {
        self.is_leader.wait_for(|l| *l).await.is_ok()
    }

    /// Resolves when this replica no longer holds the lease.
    pub async fn lost(mut rx: watch::Receiver<bool>) {
        let _ = rx.wait_for(|l| !*l).await;
    }

    /// Gives the lease up (at shutdown) so a standby takes over without waiting.
    pub async fn release(self, deadline: Duration) {
        let Leadership { is_leader, task } = self;
        drop(is_leader);
        match tokio::time::timeout(deadline, task).await {
            Ok(Ok(Ok(_))) => tracing::info!("lease released"),
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "lease manager ended with an error"),
            Ok(Err(e)) => tracing::warn!(error = %e, "lease manager task failed"),
            Err(_) => tracing::warn!("lease release timed out"),
        }
    }
}

/// The lease manager stopped, so this replica can never lead again.
#[derive(Debug, thiserror::Error)]
#[error("leader election stopped")]
pub struct ElectionStopped;

/// Runs the controller whenever this replica holds the lease, stopping it when the lease
/// is lost, until `shutdown` resolves.
pub async fn lead(
    leadership: &mut Leadership,
    ctx: Arc<Context>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ElectionStopped> {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            got = leadership.acquired() => {
                if !got {
                    return Err(ElectionStopped);
                }
            }
        }
        info!("acquired the lease; running the controller");
        ctx.metrics.leader.set(1);
        let lost = Leadership::lost(leadership.is_leader.clone());
        let (end_tx, end_rx) = watch::channel(false);
        let mut end_rx2 = end_rx.clone();
        let controller = tokio::spawn(watches::run(ctx.clone(), async move {
            let _ = end_rx2.wait_for(|e| *e).await;
        }));
        let stop = tokio::select! {
            _ = &mut shutdown => true,
            _ = lost => false,
        };
        let _ = end_tx.send(true);
        drop(end_rx);
        let _ = controller.await;
        ctx.metrics.leader.set(0);
        if stop {
            return Ok(());
        }
        info!("lost the lease; controller stopped, waiting to win it again");
    }
}
