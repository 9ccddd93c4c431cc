//! docs/OPERATOR.md against the generated CRD: every field of the RoomShardSet schema
//! (spec and status) has a row in the reference tables, and every row names a field the
//! CRD really has. Embedded Kubernetes types whose fields are passed through untouched
//! (affinity, tolerations) are documented as one row each.

use std::collections::BTreeSet;

/// Schema paths documented as a whole; their nested fields are Kubernetes' own.
const PASSED_THROUGH: &[&str] = &["spec.podTemplate.affinity", "spec.podTemplate.tolerations"];

fn walk(node: &serde_json::Value, path: &str, out: &mut BTreeSet<String>) {
    if let Some(props) = node.get("properties").and_then(|p| p.as_object()) {
        for (name, child) in props {
            let child_path = if path.is_empty() {
                name.to_owned()
            } else {
                format!("{path}.{name}")
            };
            // `spec` and `status` themselves are the tables, not rows.
            if !path.is_empty() {
                out.insert(child_path.clone());
            }
            if !PASSED_THROUGH.contains(&child_path.as_str()) {
                walk(child, &child_path, out);
            }
        }
    }
    if let Some(items) = node.get("items") {
        walk(items, &format!("{path}[]"), out);
    }
}

fn crd_paths() -> BTreeSet<String> {
    let path = roomshard_testkit::repo_root()
        .join("crds")
        .join("roomshardset.yaml");
    let text = std::fs::read_to_string(&path).expect("crds/roomshardset.yaml");
    let crd: serde_json::Value = serde_saphyr::from_str(&text).expect("CRD YAML");
    let versions = crd["spec"]["versions"].as_array().expect("versions");
    let mut paths = BTreeSet::new();
    for v in versions {
        walk(&v["schema"]["openAPIV3Schema"], "", &mut paths);
    }
    paths
}

fn operator_md() -> String {
    let path = roomshard_testkit::repo_root()
        .join("docs")
        .join("OPERATOR.md");
    std::fs::read_to_string(&path).expect("docs/OPERATOR.md")
}

/// The field paths named in the first cell of the reference tables' rows.
fn table_paths(doc: &str) -> BTreeSet<String> {
    doc.lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`'))
        .map(|(path, _)| path.to_owned())
        .filter(|p| p.starts_with("spec") || p.starts_with("status"))
        .collect()
}

/// The paths of `paths` that `other` lacks.
fn not_in<'a>(paths: &'a BTreeSet<String>, other: &BTreeSet<String>) -> Vec<&'a String> {
    paths.iter().filter(|p| !other.contains(*p)).collect()
}

#[test]
fn every_crd_field_is_documented() {
    let crd = crd_paths();
    assert!(
        crd.contains("spec.shards") && crd.contains("status.conditions[].reason"),
        "the schema walk found the fields: {crd:?}"
    );
    let missing = not_in(&crd, &table_paths(&operator_md()));
    assert!(
        missing.is_empty(),
        "fields of crds/roomshardset.yaml without a row in docs/OPERATOR.md: {missing:#?}"
    );
}

#[test]
fn every_documented_field_is_in_the_crd() {
    let crd = crd_paths();
    let rows = table_paths(&operator_md());
    assert!(rows.len() > 40, "the tables were found: {rows:?}");
    let unknown = not_in(&rows, &crd);
    assert!(
        unknown.is_empty(),
        "docs/OPERATOR.md documents fields crds/roomshardset.yaml lacks: {unknown:#?}"
    );
}

#[test]
fn table_rows_state_type_default_and_meaning() {
    for line in operator_md().lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
        assert_eq!(cells.len(), 4, "field, type, default, meaning: {line}");
        assert!(
            cells.iter().all(|c| !c.trim().is_empty()),
            "an empty cell: {line}"
        );
    }
}
