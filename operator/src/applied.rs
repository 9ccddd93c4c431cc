//! What the operator last applied for each set, so that a reconcile its own writes
//! triggered skips the apply.
//!
//! Applying a set's children starts a watch event per child, and each event asks for
//! another reconcile of the set. That reconcile would build the same children and apply
//! them again: about sixteen server-side applies that change nothing. So each apply pass
//! records a fingerprint of what it built and, per child, the stamp the API server
//! returned: the generation where the kind has one (a StatefulSet's status changes do not
//! move it), the resourceVersion where it does not (Services, ConfigMaps). A watch event
//! for a child whose stamp differs from the recorded one (someone else changed it), or a
//! child's deletion, marks the set dirty; the next reconcile applies again. A reconcile
//! whose children fingerprint the same and whose set is clean only observes and writes
//! status.
//!
//! The record is this process's memory: a new leader starts empty and applies once. It
//! also ages: a set that keeps reconciling (its shards beat) applies again after
//! [`MAX_AGE`], which repairs a child the operator does not watch (the shard-count
//! ConfigMap) without a pass per event.

use crate::crd::RoomShardSet;
use kube::api::ObjectMeta;
use kube::runtime::reflector::ObjectRef;
use serde::Serialize;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a finished pass is trusted.
pub const MAX_AGE: Duration = Duration::from_secs(300);

/// A child as the API server returned it: its generation, else its resourceVersion.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stamp {
    Generation(i64),
    Version(String),
}

impl Stamp {
    fn of(meta: &ObjectMeta) -> Option<Self> {
        match (meta.generation, &meta.resource_version) {
            (Some(g), _) if g > 0 => Some(Self::Generation(g)),
            (_, Some(v)) => Some(Self::Version(v.clone())),
            _ => None,
        }
    }
}

#[derive(Debug, Default)]
struct Entry {
    /// Set when a pass finished with nothing changed behind it.
    fingerprint: Option<u64>,
    at: Option<Instant>,
    stamps: HashMap<(&'static str, String), Stamp>,
    dirty: bool,
}

/// The applied record of every set.
#[derive(Debug, Default)]
pub struct Applied {
    sets: Mutex<HashMap<ObjectRef<RoomShardSet>, Entry>>,
}

/// A fingerprint of everything a pass would apply.
pub fn fingerprint<T: Serialize>(children: &T) -> u64 {
    let mut h = DefaultHasher::new();
    // Serialization of built objects does not fail; an empty body still hashes.
    serde_json::to_vec(children)
        .unwrap_or_default()
        .hash(&mut h);
    h.finish()
}

impl Applied {
    fn with<R>(&self, f: impl FnOnce(&mut HashMap<ObjectRef<RoomShardSet>, Entry>) -> R) -> R {
        let mut sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut sets)
    }

    /// True when the last pass for `set` applied exactly `fingerprint` and nothing has
    /// changed its children since.
    pub fn unchanged(&self, set: &ObjectRef<RoomShardSet>, fingerprint: u64) -> bool {
        self.with(|sets| {
            sets.get(set).is_some_and(|e| {
                !e.dirty
                    && e.fingerprint == Some(fingerprint)
                    && e.at.is_some_and(|at| at.elapsed() < MAX_AGE)
            })
        })
    }

    /// A pass for `set` begins: what was recorded no longer holds.
    pub fn begin(&self, set: &ObjectRef<RoomShardSet>) {
        self.with(|sets| {
            sets.insert(set.clone(), Entry::default());
        });
    }

    /// The pass applied a child of `kind`; `meta` is what the API server returned.
    pub fn record(&self, set: &ObjectRef<RoomShardSet>, kind: &'static str, meta: &ObjectMeta) {
        let (Some(name), Some(stamp)) = (meta.name.clone(), Stamp::of(meta)) else {
            return;
        };
        self.with(|sets| {
            sets.entry(set.clone())
                .or_default()
                .stamps
                .insert((kind, name), stamp);
        });
    }

    /// The pass ended having applied `fingerprint`. Unless a child changed during it, the
    /// next reconcile of an unchanged set skips the apply.
    pub fn finish(&self, set: &ObjectRef<RoomShardSet>, fingerprint: u64) {
        self.with(|sets| {
            let e = sets.entry(set.clone()).or_default();
            if !e.dirty {
                e.fingerprint = Some(fingerprint);
                e.at = Some(Instant::now());
            }
        });
    }

    /// Forgets `set` (its pass failed, or it is being deleted).
    pub fn forget(&self, set: &ObjectRef<RoomShardSet>) {
        self.with(|sets| {
            sets.remove(set);
        });
    }

    /// A watch event for a child of `kind`: a deletion, or a stamp other than the one the
    /// last pass recorded, marks its set dirty. A child the pass has not recorded (the
    /// pass is still running, or it is not ours) changes nothing.
    pub fn seen(&self, kind: &'static str, meta: &ObjectMeta, deleted: bool) {
        let Some(set) = owner(meta) else { return };
        let Some(name) = meta.name.clone() else {
            return;
        };
        self.with(|sets| {
            let Some(e) = sets.get_mut(&set) else { return };
            let recorded = e.stamps.get(&(kind, name));
            let changed = match (recorded, Stamp::of(meta)) {
                (Some(_), _) if deleted => true,
                (Some(r), Some(s)) => *r != s,
                (Some(_), None) => true,
                (None, _) => false,
            };
            if changed {
                e.dirty = true;
            }
        });
    }
}

/// The RoomShardSet that controls the object of `meta`.
fn owner(meta: &ObjectMeta) -> Option<ObjectRef<RoomShardSet>> {
    let ns = meta.namespace.as_deref()?;
    meta.owner_references
        .as_ref()?
        .iter()
        .find(|o| o.controller == Some(true) && o.kind == "RoomShardSet")
        .map(|o| ObjectRef::new(&o.name).within(ns))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

    fn child(name: &str, generation: Option<i64>, version: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.into()),
            namespace: Some("ns".into()),
            generation,
            resource_version: Some(version.into()),
            owner_references: Some(vec![OwnerReference {
                api_version: "roomshard.dev/v1alpha1".into(),
                kind: "RoomShardSet".into(),
                name: "game".into(),
                uid: "u".into(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..ObjectMeta::default()
        }
    }

    fn game() -> ObjectRef<RoomShardSet> {
        ObjectRef::new("game").within("ns")
    }

    fn pass(a: &Applied, fp: u64, children: &[(&'static str, ObjectMeta)]) {
        a.begin(&game());
        for (kind, meta) in children {
            a.record(&game(), kind, meta);
        }
        a.finish(&game(), fp);
    }

    #[test]
    fn its_own_writes_leave_a_set_unchanged() {
        let a = Applied::default();
        assert!(!a.unchanged(&game(), 1), "nothing applied yet");
        let sts = child("game-worker", Some(1), "10");
        let svc = child("game-shard-0", None, "11");
        pass(
            &a,
            1,
            &[("StatefulSet", sts.clone()), ("Service", svc.clone())],
        );
        a.seen("StatefulSet", &sts, false);
        a.seen("Service", &svc, false);
        assert!(a.unchanged(&game(), 1));
        assert!(!a.unchanged(&game(), 2), "a new spec builds other children");
        // A StatefulSet's status moves its resourceVersion, not its generation.
        a.seen("StatefulSet", &child("game-worker", Some(1), "12"), false);
        assert!(a.unchanged(&game(), 1));
    }

    #[test]
    fn a_change_by_someone_else_or_a_deletion_makes_it_dirty() {
        let a = Applied::default();
        let sts = child("game-worker", Some(1), "10");
        let svc = child("game-shard-0", None, "11");
        pass(
            &a,
            1,
            &[("StatefulSet", sts.clone()), ("Service", svc.clone())],
        );
        a.seen("Service", &child("game-shard-0", None, "15"), false);
        assert!(!a.unchanged(&game(), 1), "an edited Service");

        pass(
            &a,
            1,
            &[("StatefulSet", sts.clone()), ("Service", svc.clone())],
        );
        a.seen("StatefulSet", &child("game-worker", Some(2), "16"), false);
        assert!(!a.unchanged(&game(), 1), "an edited StatefulSet spec");

        pass(
            &a,
            1,
            &[("StatefulSet", sts.clone()), ("Service", svc.clone())],
        );
        a.seen("Service", &svc, true);
        assert!(!a.unchanged(&game(), 1), "a deleted Service");
    }

    #[test]
    fn a_change_during_a_pass_keeps_the_next_pass() {
        let a = Applied::default();
        a.begin(&game());
        let svc = child("game-shard-0", None, "11");
        a.record(&game(), "Service", &svc);
        a.seen("Service", &child("game-shard-0", None, "12"), false);
        a.finish(&game(), 1);
        assert!(!a.unchanged(&game(), 1));
    }

    #[test]
    fn children_of_no_set_or_unrecorded_change_nothing() {
        let a = Applied::default();
        let sts = child("game-worker", Some(1), "10");
        pass(&a, 1, &[("StatefulSet", sts)]);
        let mut orphan = child("other", Some(1), "3");
        orphan.owner_references = None;
        a.seen("StatefulSet", &orphan, true);
        a.seen("Service", &child("game-shard-9", None, "4"), false);
        assert!(a.unchanged(&game(), 1));
        a.forget(&game());
        assert!(!a.unchanged(&game(), 1));
    }
}
