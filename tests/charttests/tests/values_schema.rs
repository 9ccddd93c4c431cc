//! `values.yaml` and `values.schema.json` describe the same values: every key of
//! values.yaml has a schema property and every property a key, their types agree, and the
//! comment above each key is, word for word, its schema description. values.yaml is the
//! source: after changing a key or its comment there, make the schema say the same.
//!
//! The walk goes as deep as the schema does: an object the schema leaves open (a
//! Kubernetes security context, an annotation map) is checked as one value.

use anyhow::{Context, Result};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Schema properties without a key in values.yaml, each with the reason.
const SCHEMA_ONLY: &[(&str, &str)] = &[
    ("global", "Helm passes a parent chart's global values"),
    ("resources.claims", "optional, no default"),
    ("redis.resources.claims", "optional, no default"),
];

/// The comment block right above each mapping key, by dotted path: its lines joined by
/// spaces, helm-docs' leading `-- ` marker dropped. A blank line ends a block; keys inside
/// list items are not visited.
fn comments(yaml: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut parents: Vec<(usize, String)> = Vec::new();
    let mut block: Vec<&str> = Vec::new();
    for line in yaml.lines() {
        let text = line.trim_start();
        let indent = line.len() - text.len();
        if let Some(comment) = text.strip_prefix('#') {
            block.push(comment.strip_prefix(' ').unwrap_or(comment));
            continue;
        }
        let above = std::mem::take(&mut block);
        if text.starts_with('-') {
            continue;
        }
        let Some((key, _)) = text.split_once(':') else {
            continue;
        };
        while parents.last().is_some_and(|(i, _)| *i >= indent) {
            parents.pop();
        }
        let path: Vec<&str> = parents
            .iter()
            .map(|(_, k)| k.as_str())
            .chain([key])
            .collect();
        let path = path.join(".");
        if !above.is_empty() {
            let joined = above.join(" ");
            let description = joined.strip_prefix("-- ").unwrap_or(&joined);
            out.insert(path.clone(), description.to_owned());
        }
        parents.push((indent, key.to_owned()));
    }
    out
}

/// The JSON Schema type names `value` satisfies.
fn types_of(value: &Value) -> &'static [&'static str] {
    match value {
        Value::Null => &["null"],
        Value::Bool(_) => &["boolean"],
        Value::Number(n) if n.is_i64() || n.is_u64() => &["integer", "number"],
        Value::Number(_) => &["number"],
        Value::String(_) => &["string"],
        Value::Array(_) => &["array"],
        Value::Object(_) => &["object"],
    }
}

/// Every disagreement between `values` (at `path`) and the object schema `schema`.
fn drift(
    values: &Map<String, Value>,
    schema: &Value,
    path: &str,
    comments: &BTreeMap<String, String>,
    problems: &mut Vec<String>,
) {
    let empty = Map::new();
    let properties = schema["properties"].as_object().unwrap_or(&empty);
    for (key, value) in values {
        let at = format!("{path}{key}");
        let Some(property) = properties.get(key) else {
            problems.push(format!("{at}: in values.yaml, not in the schema"));
            continue;
        };
        let declared: Vec<&str> = match &property["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !types_of(value).iter().any(|t| declared.contains(t)) {
            problems.push(format!(
                "{at}: values.yaml holds {value}, the schema's type is {declared:?}"
            ));
        }
        match (comments.get(&at), property["description"].as_str()) {
            (None, _) => problems.push(format!("{at}: no comment above it in values.yaml")),
            (Some(comment), description) if description != Some(comment.as_str()) => {
                problems.push(format!(
                    "{at}: values.yaml says {comment:?}, the schema says {description:?}"
                ));
            }
            _ => {}
        }
        if let (Some(inner), true) = (value.as_object(), property.get("properties").is_some()) {
            drift(inner, property, &format!("{at}."), comments, problems);
        }
    }
    for key in properties.keys() {
        let at = format!("{path}{key}");
        if !values.contains_key(key) && !SCHEMA_ONLY.iter().any(|(p, _)| *p == at) {
            problems.push(format!("{at}: in the schema, not in values.yaml"));
        }
    }
}

fn check(values_yaml: &str, schema: &Value) -> Result<Vec<String>> {
    let values: Value = serde_saphyr::from_str(values_yaml).context("values.yaml is not YAML")?;
    let values = values.as_object().context("values.yaml is not a mapping")?;
    let mut problems = Vec::new();
    drift(values, schema, "", &comments(values_yaml), &mut problems);
    Ok(problems)
}

#[test]
fn values_yaml_and_values_schema_json_agree() -> Result<()> {
    let chart = roomshard_testkit::repo_root()
        .join("charts")
        .join("roomshard");
    let values = std::fs::read_to_string(chart.join("values.yaml"))?;
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(chart.join("values.schema.json"))?)?;
    let problems = check(&values, &schema)?;
    assert!(
        problems.is_empty(),
        "values.yaml and values.schema.json drift:\n{}",
        problems.join("\n")
    );
    Ok(())
}

#[test]
fn drift_is_found_in_keys_types_and_descriptions() -> Result<()> {
    let values = "\
# Header, not attached to any key.

# -- Port of the thing,
# on two lines.
port: 80
# The section.
section:
  # -- Kept.
  kept: true
  # -- Said one way.
  renamed: x
list:
  - name: not-a-key
";
    let schema = serde_json::json!({
        "properties": {
            "port": {"type": "string", "description": "Port of the thing, on two lines."},
            "section": {
                "type": "object",
                "description": "The section.",
                "properties": {
                    "kept": {"type": "boolean", "description": "Kept."},
                    "renamed": {"type": "string", "description": "Said another way."},
                    "gone": {"type": "string", "description": "Only in the schema."}
                }
            },
            "list": {"type": "array"}
        }
    });
    let mut problems = check(values, &schema)?;
    problems.sort();
    assert_eq!(
        problems,
        [
            "list: no comment above it in values.yaml",
            "port: values.yaml holds 80, the schema's type is [\"string\"]",
            "section.gone: in the schema, not in values.yaml",
            "section.renamed: values.yaml says \"Said one way.\", the schema says \
             Some(\"Said another way.\")",
        ]
    );
    Ok(())
}
