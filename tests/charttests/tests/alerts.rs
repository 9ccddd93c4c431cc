//! The alert rules the chart ships: valid for promtool, and each alert covered by a
//! promtool unit test with series that make it fire and series that must not.

mod common;

use anyhow::{Context, Result};
use common::{chart, repo, run_ok};
use roomshard_testkit::process::find_program;
use std::collections::BTreeSet;
use std::process::Command;

fn promtool() -> Result<Command> {
    let bin = find_program("promtool").context(
        "promtool is not installed: run hack/install-deps.sh (Debian package prometheus)",
    )?;
    Ok(Command::new(bin))
}

#[test]
fn promtool_accepts_the_rules() -> Result<()> {
    run_ok(
        "promtool check rules",
        promtool()?
            .args(["check", "rules"])
            .arg(chart().join("files/alerts.yaml")),
    )?;
    Ok(())
}

#[test]
fn promtool_unit_tests_of_every_alert_pass() -> Result<()> {
    let dir = repo().join("tests/charttests/promtool");
    let out = run_ok(
        "promtool test rules",
        promtool()?
            .current_dir(&dir)
            .args(["test", "rules", "alerts_test.yaml"]),
    )?;
    assert!(String::from_utf8_lossy(&out.stdout).contains("SUCCESS"));
    Ok(())
}

#[test]
fn every_alert_is_unit_tested_and_documented() -> Result<()> {
    let rules: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(chart().join("files/alerts.yaml"))?)?;
    let tests: serde_json::Value = serde_saphyr::from_str(&std::fs::read_to_string(
        repo().join("tests/charttests/promtool/alerts_test.yaml"),
    )?)?;

    let mut alerts = BTreeSet::new();
    for group in rules["groups"].as_array().context("groups")? {
        for rule in group["rules"].as_array().context("rules")? {
            let Some(name) = rule["alert"].as_str() else {
                continue;
            };
            alerts.insert(name.to_owned());
            let severity = rule["labels"]["severity"].as_str().unwrap_or("");
            assert!(
                ["warning", "critical"].contains(&severity),
                "{name}: severity {severity:?}"
            );
            for annotation in ["summary", "description"] {
                assert!(
                    rule["annotations"][annotation].is_string(),
                    "{name} lacks annotation {annotation}"
                );
            }
        }
    }
    for needed in [
        "RoomshardShardHeartbeatStale",
        "RoomshardShardsUnhealthy",
        "RoomshardReservationErrors",
        "RoomshardNoCapacity",
        "RoomshardOperatorReconcileErrors",
    ] {
        assert!(alerts.contains(needed), "no alert {needed}");
    }

    // An alert is covered when some test expects it to fire.
    let mut fired = BTreeSet::new();
    for test in tests["tests"].as_array().context("tests")? {
        for case in test["alert_rule_test"].as_array().into_iter().flatten() {
            let expects_alerts = case["exp_alerts"].as_array().is_some_and(|a| !a.is_empty());
            if let (true, Some(name)) = (expects_alerts, case["alertname"].as_str()) {
                fired.insert(name.to_owned());
            }
        }
    }
    let untested: Vec<_> = alerts.difference(&fired).collect();
    assert!(
        untested.is_empty(),
        "alerts never shown firing: {untested:?}"
    );
    Ok(())
}
