//! The canary pods of a set: the one of the target revision, seen as a [`PodView`], and the
//! create and delete calls that keep exactly the one the plan asks for.

use super::{PodView, pod_state};
use crate::build::canary::{COMPONENT, REVISION_LABEL, canary_pod};
use crate::crd::RoomShardSet;
use crate::validate::ValidSet;
use crate::{Error, Result};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, PostParams};
use kube::{Resource, ResourceExt};
use tracing::info;

pub struct Canaries {
    /// The canary of the target revision, with its readiness and revision as the planner
    /// takes them (the revision label is the canary's own).
    pub current: Option<PodView>,
    /// Every canary pod's name and the revision it proves.
    all: Vec<(String, Option<String>)>,
}

impl Canaries {
    pub async fn list(pods: &Api<Pod>, set: &str, target: &str) -> Result<Self> {
        let listed = super::list_pods(pods, set, COMPONENT).await?;
        let revision = |p: &Pod| p.labels().get(REVISION_LABEL).cloned();
        let current = listed
            .iter()
            .find(|p| revision(p).as_deref() == Some(target))
            .map(|p| PodView {
                revision: revision(p),
                ..pod_state(p)
            });
        let all = listed.iter().map(|p| (p.name_any(), revision(p))).collect();
        Ok(Self { current, all })
    }

    /// Creates the target revision's canary when `wanted` and it is missing; deletes every
    /// other canary (all of them when not `wanted`).
    pub async fn keep(
        &self,
        pods: &Api<Pod>,
        set: &RoomShardSet,
        valid: &ValidSet,
        sts: &StatefulSet,
        target: &str,
        wanted: bool,
    ) -> Result<()> {
        for (name, revision) in &self.all {
            if wanted && revision.as_deref() == Some(target) {
                continue;
            }
            match pods.delete(name, &DeleteParams::default()).await {
                Ok(_) => info!(pod = %name, "canary deleted"),
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(source) => {
                    return Err(Error::Remove {
                        kind: "Pod",
                        name: name.clone(),
                        source,
                    });
                }
            }
        }
        if !wanted || self.current.is_some() {
            return Ok(());
        }
        // The template is the target revision's only once the StatefulSet controller saw it.
        let observed = sts.status.as_ref().and_then(|s| s.observed_generation);
        let (Some(spec), Some(owner)) = (
            sts.spec
                .as_ref()
                .filter(|_| observed == sts.metadata.generation),
            set.controller_owner_ref(&()),
        ) else {
            return Ok(());
        };
        let pod = canary_pod(&valid.name, &valid.namespace, target, &spec.template, owner);
        let name = pod.name_any();
        match pods.create(&PostParams::default(), &pod).await {
            Ok(_) => info!(pod = %name, revision = target, "canary created"),
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(source) => {
                return Err(Error::Apply {
                    kind: "Pod",
                    name,
                    source,
                });
            }
        }
        Ok(())
    }
}
