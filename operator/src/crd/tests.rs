use super::*;
use crate::build::fixture::names;
use kube::CustomResourceExt;

#[test]
fn crd_names_and_subresources() {
    let crd = serde_json::to_value(RoomShardSet::crd()).expect("crd serializes");
    assert_eq!(crd["metadata"]["name"], "roomshardsets.roomshard.dev");
    assert_eq!(crd["spec"]["names"]["shortNames"][0], "rss");
    assert_eq!(crd["spec"]["scope"], "Namespaced");
    let v = &crd["spec"]["versions"][0];
    assert_eq!(v["name"], "v1alpha1");
    assert_eq!(
        v["subresources"]["scale"]["specReplicasPath"],
        ".spec.shards"
    );
    assert_eq!(
        v["subresources"]["scale"]["statusReplicasPath"],
        ".status.replicas"
    );
    assert_eq!(
        v["subresources"]["scale"]["labelSelectorPath"],
        ".status.selector"
    );
    assert!(v["subresources"]["status"].is_object());
    assert_eq!(
        names(&v["additionalPrinterColumns"]),
        [
            "Shards", "Ready", "Updated", "Rollout", "Rooms", "Players", "Age"
        ]
    );
}

#[test]
fn schema_requires_shards_and_image_and_has_cel_rules() {
    let crd = serde_json::to_value(RoomShardSet::crd()).expect("crd serializes");
    let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    let required: Vec<&str> = spec["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(|r| r.as_str())
        .collect();
    assert!(required.contains(&"shards") && required.contains(&"image"));
    assert_eq!(spec["properties"]["shards"]["minimum"].as_f64(), Some(1.0));
    assert_eq!(
        spec["properties"]["shards"]["maximum"].as_f64(),
        Some(1024.0)
    );
    let text = spec.to_string();
    assert!(text.contains("self.contains('{shard}')"), "{text}");
    let types = &spec["properties"]["service"]["properties"]["type"]["enum"];
    for t in ["ClusterIP", "NodePort", "LoadBalancer"] {
        assert!(
            types.as_array().is_some_and(|a| a.iter().any(|v| v == t)),
            "{types}"
        );
    }
}

#[test]
fn defaults_apply_when_fields_are_absent() {
    let spec: RoomShardSetSpec =
        serde_json::from_value(serde_json::json!({"shards": 3, "image": "img"}))
            .expect("minimal spec");
    assert_eq!(spec.port(), 3000);
    assert_eq!(spec.heartbeat_interval_ms(), 2000);
    assert_eq!(spec.drain_timeout_seconds(), 300);
    assert_eq!(spec.matchmaker_replicas(), 2);
    assert_eq!(spec.matchmaker_image(), "img");
}
