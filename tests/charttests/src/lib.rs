//! Checks of Roomshard's deployable artefacts: the Helm chart, the alert rules and the
//! Grafana dashboard.
//!
//! The library holds the pure parts, unit-tested here: reading the dashboard and the rules
//! from the chart's `files/`, pulling `roomshard_…` metric names out of PromQL, and reading
//! names out of the Prometheus text format. The tests under `tests/` drive real helm,
//! kube-apiserver, promtool, Prometheus and the real binaries, through the testkit.

use anyhow::{Context, Result};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The prefix every Roomshard metric carries.
pub const METRIC_PREFIX: &str = "roomshard_";

/// `charts/roomshard` under the repository root `repo`.
pub fn chart_dir(repo: &Path) -> PathBuf {
    repo.join("charts").join("roomshard")
}

/// One query of the dashboard: the panel it belongs to and its PromQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardQuery {
    pub panel: String,
    pub expr: String,
}

/// Every PromQL expression of a Grafana dashboard: panel targets (nested rows included)
/// and templating variables of the query type.
pub fn dashboard_queries(dashboard: &Value) -> Vec<DashboardQuery> {
    fn panels(list: &Value, out: &mut Vec<DashboardQuery>) {
        for panel in list.as_array().into_iter().flatten() {
            let title = panel
                .get("title")
                .and_then(Value::as_str)
                .unwrap_or("(untitled)");
            for target in panel
                .get("targets")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(expr) = target.get("expr").and_then(Value::as_str) {
                    out.push(DashboardQuery {
                        panel: title.to_owned(),
                        expr: expr.to_owned(),
                    });
                }
            }
            if let Some(inner) = panel.get("panels") {
                panels(inner, out);
            }
        }
    }
    let mut out = Vec::new();
    if let Some(list) = dashboard.get("panels") {
        panels(list, &mut out);
    }
    for var in dashboard
        .pointer("/templating/list")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if var.get("type").and_then(Value::as_str) != Some("query") {
            continue;
        }
        let name = var.get("name").and_then(Value::as_str).unwrap_or("?");
        let query = var.get("query").and_then(|q| {
            q.as_str()
                .or_else(|| q.get("query").and_then(Value::as_str))
        });
        if let Some(query) = query {
            out.push(DashboardQuery {
                panel: format!("variable {name}"),
                expr: query.to_owned(),
            });
        }
    }
    out
}

/// One alerting or recording rule of a Prometheus rules file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub name: String,
    pub expr: String,
}

/// Every rule of a Prometheus rules file (`groups: [{name, rules: [...]}]`).
pub fn rules(file: &serde_json::Value) -> Result<Vec<Rule>> {
    let groups = file
        .get("groups")
        .and_then(serde_json::Value::as_array)
        .context("a rules file needs a `groups` list")?;
    let mut out = Vec::new();
    for group in groups {
        for rule in group
            .get("rules")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = rule
                .get("alert")
                .or_else(|| rule.get("record"))
                .and_then(serde_json::Value::as_str)
                .context("a rule without `alert` or `record`")?;
            let expr = rule
                .get("expr")
                .and_then(serde_json::Value::as_str)
                .with_context(|| format!("rule {name} has no string `expr`"))?;
            out.push(Rule {
                name: name.to_owned(),
                expr: expr.to_owned(),
            });
        }
    }
    Ok(out)
}

/// The `roomshard_…` metric names a PromQL expression reads. Names inside string literals
/// (label matchers such as `job="roomshard_x"`) are not metric names and are skipped.
pub fn promql_metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let c = bytes[i];
        if let Some(q) = quote {
            if c == b'\\' {
                i += 2;
                continue;
            }
            if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        if c == b'"' || c == b'\'' || c == b'`' {
            quote = Some(c);
            i += 1;
            continue;
        }
        let starts_word = i == 0 || !is_name_char(bytes[i - 1]);
        if starts_word && expr[i..].starts_with(METRIC_PREFIX) {
            let end = expr[i..]
                .find(|ch: char| !ch.is_ascii() || !is_name_char(ch as u8))
                .map_or(expr.len(), |n| i + n);
            names.insert(expr[i..end].to_owned());
            i = end;
            continue;
        }
        i += 1;
    }
    names
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b':'
}

/// The sample names in a Prometheus text exposition (`name{labels} value` lines), so a
/// histogram `x` shows up as `x_bucket`, `x_sum` and `x_count`.
pub fn exposed_metric_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let end = l.find(|c: char| c == '{' || c.is_whitespace())?;
            Some(l[..end].to_owned())
        })
        .collect()
}

/// The metric families declared by `# TYPE name kind` lines, with their kind.
pub fn declared_metric_types(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            Some((parts.next()?.to_owned(), parts.next()?.to_owned()))
        })
        .collect()
}

/// Percent-encodes a query-string value (RFC 3986 unreserved characters pass through).
pub fn url_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Replaces the dashboard's Grafana variables with values a plain Prometheus accepts:
/// every `$var`/`${var}` label filter matches anything, and `$__rate_interval` becomes
/// `rate_window`.
pub fn concrete_query(expr: &str, rate_window: &str) -> String {
    let mut out = expr
        .replace("$__rate_interval", rate_window)
        .replace("${__rate_interval}", rate_window)
        .replace("$__interval", rate_window);
    for var in ["namespace", "set", "shard", "pod", "job"] {
        out = out
            .replace(&format!("${{{var}:regex}}"), ".*")
            .replace(&format!("${{{var}}}"), ".*")
            .replace(&format!("${var}"), ".*");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promql_names_skip_strings_functions_and_keywords() {
        let expr = r#"histogram_quantile(0.99, sum by (le) (rate(roomshard_matchmaker_reserve_duration_seconds_bucket{job="roomshard_fake"}[5m]))) / on() group_left roomshard_x:ratio"#;
        let names: Vec<_> = promql_metric_names(expr).into_iter().collect();
        assert_eq!(
            names,
            [
                "roomshard_matchmaker_reserve_duration_seconds_bucket",
                "roomshard_x:ratio"
            ]
        );
    }

    #[test]
    fn promql_names_need_a_word_start() {
        assert!(promql_metric_names("my_roomshard_thing").is_empty());
        assert_eq!(
            promql_metric_names("sum(roomshard_worker_rooms)").len(),
            1,
            "a name after a parenthesis counts"
        );
    }

    #[test]
    fn exposition_names_include_histogram_series() {
        let text = "# HELP a_seconds help\n# TYPE a_seconds histogram\na_seconds_bucket{le=\"1\"} 0\na_seconds_sum 0\na_seconds_count 0\nb_total 3\n";
        let names: Vec<_> = exposed_metric_names(text).into_iter().collect();
        assert_eq!(
            names,
            [
                "a_seconds_bucket",
                "a_seconds_count",
                "a_seconds_sum",
                "b_total"
            ]
        );
        assert_eq!(
            declared_metric_types(text),
            [("a_seconds".to_owned(), "histogram".to_owned())]
        );
    }

    #[test]
    fn dashboard_queries_walk_rows_and_variables() {
        let dash = serde_json::json!({
            "panels": [
                {"title": "A", "targets": [{"expr": "roomshard_a"}]},
                {"title": "Row", "type": "row", "panels": [
                    {"title": "B", "targets": [{"expr": "roomshard_b"}, {"refId": "x"}]}
                ]}
            ],
            "templating": {"list": [
                {"type": "datasource", "name": "datasource", "query": "prometheus"},
                {"type": "query", "name": "namespace", "query": {"query": "label_values(roomshard_c, namespace)"}}
            ]}
        });
        let exprs: Vec<_> = dashboard_queries(&dash)
            .into_iter()
            .map(|q| q.expr)
            .collect();
        assert_eq!(
            exprs,
            [
                "roomshard_a",
                "roomshard_b",
                "label_values(roomshard_c, namespace)"
            ]
        );
    }

    #[test]
    fn rules_read_alerts_and_records() -> Result<()> {
        let file: serde_json::Value = serde_saphyr::from_str(
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: roomshard_a > 0\n  - record: r:x\n    expr: sum(roomshard_b)\n",
        )?;
        let names: Vec<_> = rules(&file)?.into_iter().map(|r| r.name).collect();
        assert_eq!(names, ["A", "r:x"]);
        Ok(())
    }

    #[test]
    fn concrete_query_fills_grafana_variables() {
        assert_eq!(
            concrete_query(
                r#"rate(roomshard_a{namespace=~"$namespace",set=~"${set}"}[$__rate_interval])"#,
                "30s"
            ),
            r#"rate(roomshard_a{namespace=~".*",set=~".*"}[30s])"#
        );
    }

    #[test]
    fn url_encoding_escapes_promql() {
        assert_eq!(url_encode("sum(a{b=\"c\"})"), "sum%28a%7Bb%3D%22c%22%7D%29");
    }
}
