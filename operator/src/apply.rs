//! Writes built objects to the API server: server-side apply under one field manager,
//! create-if-absent for the token Secret, and removal of per-shard Services that the
//! set no longer has and of an Ingress it no longer wants.

use crate::build::{self, Inputs, MANAGER, SET_LABEL, service::shard_service_index};
use crate::{Error, Result};
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::{Secret, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

/// Children of one set applied at once.
pub const CONCURRENT_APPLIES: usize = 8;

/// Server-side applies `obj` (which must carry its name) and returns what the server holds.
/// A failure names the child's kind and name.
pub async fn apply<K>(client: &Client, namespace: &str, obj: &K) -> Result<K>
where
    K: Resource<Scope = NamespaceResourceScope>
        + k8s_openapi::Resource
        + Serialize
        + DeserializeOwned
        + Clone
        + Debug,
    K::DynamicType: Default,
{
    let name = obj
        .meta()
        .name
        .clone()
        .ok_or(Error::MissingObjectKey("metadata.name of a child"))?;
    let failed = |source| Error::Apply {
        kind: <K as k8s_openapi::Resource>::KIND,
        name: name.clone(),
        source,
    };
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    // apiVersion and kind are required in an apply body.
    let mut body = serde_json::to_value(obj).map_err(|e| failed(kube::Error::SerdeError(e)))?;
    if let Some(map) = body.as_object_mut() {
        let dt = K::DynamicType::default();
        map.insert("apiVersion".into(), K::api_version(&dt).into());
        map.insert("kind".into(), K::kind(&dt).into());
    }
    api.patch(
        &name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await
    .map_err(failed)
}

/// Creates the token Secret unless it exists. An existing Secret is never changed, so
/// the key in use is never rotated behind anyone's back. Returns whether it was created.
pub async fn ensure_token_secret(client: &Client, inputs: &Inputs<'_>) -> Result<bool> {
    // A fresh random key each time; it is only written when no token Secret exists.
    let secret = build::secret::token_secret(inputs, build::secret::random_token_secret());
    ensure_secret(client, &inputs.valid.namespace, &secret).await
}

/// Creates `secret` unless a Secret of its name exists (an immutable Secret whose name
/// says what it holds, such as the set's Redis Secret). Returns whether it was created.
pub async fn ensure_secret(client: &Client, namespace: &str, secret: &Secret) -> Result<bool> {
    let name = secret
        .metadata
        .name
        .clone()
        .ok_or(Error::MissingObjectKey("metadata.name of a Secret"))?;
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let failed = |source| Error::Apply {
        kind: "Secret",
        name: name.clone(),
        source,
    };
    if api.get_metadata_opt(&name).await.map_err(failed)?.is_some() {
        return Ok(false);
    }
    match api.create(&PostParams::default(), secret).await {
        Ok(_) => Ok(true),
        // Another writer (an earlier leader) was first: keep theirs.
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
        Err(e) => Err(failed(e)),
    }
}

/// Deletes the set's per-shard Services with an index of `keep` or more.
pub async fn delete_shard_services_from(
    client: &Client,
    namespace: &str,
    set: &str,
    keep: u32,
) -> Result<Vec<String>> {
    let api: Api<Service> = Api::namespaced(client.clone(), namespace);
    let selector = format!("{SET_LABEL}={set},roomshard.dev/shard");
    let lp = ListParams::default().labels(&selector);
    let listed = api
        .list_metadata(&lp)
        .await
        .map_err(|source| Error::Remove {
            kind: "Service",
            name: selector.clone(),
            source,
        })?;
    let mut deleted = Vec::new();
    for svc in listed {
        let name = svc.name_any();
        if shard_service_index(set, &name).is_some_and(|i| i >= keep) {
            match api.delete(&name, &DeleteParams::default()).await {
                Ok(_) => deleted.push(name),
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(source) => {
                    return Err(Error::Remove {
                        kind: "Service",
                        name,
                        source,
                    });
                }
            }
        }
    }
    Ok(deleted)
}

/// Deletes the set's Ingress, if it has one (after `spec.ingress.enabled` became false).
/// An Ingress of that name that another owner made is left alone.
pub async fn delete_ingress(client: &Client, namespace: &str, set: &str) -> Result<bool> {
    let api: Api<Ingress> = Api::namespaced(client.clone(), namespace);
    let name = build::names::ingress(set);
    let failed = |source| Error::Remove {
        kind: "Ingress",
        name: name.clone(),
        source,
    };
    let Some(meta) = api.get_metadata_opt(&name).await.map_err(failed)? else {
        return Ok(false);
    };
    if meta.labels().get(SET_LABEL).map(String::as_str) != Some(set) {
        return Ok(false);
    }
    match api.delete(&name, &DeleteParams::default()).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
        Err(e) => Err(failed(e)),
    }
}
