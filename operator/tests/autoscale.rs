//! Occupancy autoscaling against a real kube-apiserver and a real Redis: the test writes
//! the heartbeats a set's workers would, and watches the operator write `spec.shards`.

use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, ListParams};
use roomshard_operator::controller::Config;
use roomshard_operator::crd::AutoscaleStatus;
use roomshard_protocol::Keys;
use roomshard_testkit::control_plane::ControlPlane;
use roomshard_testkit::metrics::Scrape;
use roomshard_testkit::process::wait_until_async;
use roomshard_testkit::redis::RedisServer;
use std::time::{Duration, Instant};

mod support;
use support::*;

/// 5 rooms of 10: 50 seats a shard; the target is half of them.
const SET: &str = "  heartbeatIntervalSeconds: 1\n  capacity:\n    roomsPerShard: 5\n    playersPerRoom: 10\n  drain:\n    timeoutSeconds: 30\n  autoscale:\n    minShards: 1\n    maxShards: 3\n    targetOccupancy: 0.5\n    scaleDownDelaySeconds: 2\n";

async fn autoscale_status(client: &kube::Client) -> Option<AutoscaleStatus> {
    get_set(client, "auto").await?.status?.autoscale
}

async fn wait_shards(client: &kube::Client, want: i32) -> Duration {
    let started = Instant::now();
    wait_until_async(&format!("spec.shards = {want}"), WAIT, || async {
        (get_set(client, "auto").await?.spec.shards == want).then_some(())
    })
    .await
    .expect("the autoscaler's decision");
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_scales_a_set_by_occupancy() {
    let cp = ControlPlane::start().expect("control plane");
    let redis = RedisServer::start().expect("redis");
    let dir = roomshard_testkit::scratch_dir("operator-autoscale").expect("scratch");
    let client = cp.client().await.expect("client");
    cp.install_crd().expect("the CRD installs");

    // The API server refuses bounds that cannot hold.
    let bad = [
        (
            "inverted",
            set_yaml(
                "inverted",
                1,
                "  autoscale:\n    minShards: 3\n    maxShards: 2\n",
            ),
            "autoscale.minShards must not be larger than autoscale.maxShards",
        ),
        (
            "outside",
            set_yaml(
                "outside",
                5,
                "  autoscale:\n    minShards: 1\n    maxShards: 3\n",
            ),
            "with autoscale, shards must stay between autoscale.minShards and autoscale.maxShards",
        ),
        (
            "target",
            set_yaml(
                "target",
                1,
                "  autoscale:\n    minShards: 1\n    maxShards: 3\n    targetOccupancy: 1.5\n",
            ),
            "targetOccupancy",
        ),
    ];
    for (name, yaml, needle) in &bad {
        let (ok, out) = apply_yaml(&cp, &dir, name, yaml);
        assert!(!ok, "{name} was accepted");
        assert!(out.contains(needle), "{name}: {out}");
    }

    let (metrics, stop, operator) = start_operator(
        &client,
        &redis,
        Config {
            resync: Duration::from_secs(2),
            drain_poll: Duration::from_millis(300),
            ..Config::default()
        },
    );
    let (ok, out) = apply_yaml(&cp, &dir, "auto", &set_yaml("auto", 1, SET));
    assert!(ok, "{out}");
    wait_replicas(&client, "auto", 1).await;
    fake_ready(&client, "auto", 1).await;
    let keys = Keys::scoped(Some(NS), "auto").expect("keys");

    // 10 of 50 seats: no change, and the status says why.
    beat(&redis, &keys, 0, 1, 10);
    wait_until_async("occupancy in status", WAIT, || async {
        autoscale_status(&client)
            .await
            .filter(|a| a.occupancy_percent == 20 && a.desired_shards == 1)
    })
    .await
    .expect("the autoscaler's view");

    // 45 of 50 (90 %, over the 50 % target): 45 players need 2 shards of 25.
    beat(&redis, &keys, 0, 1, 45);
    let up = wait_shards(&client, 2).await;
    wait_replicas(&client, "auto", 2).await;
    println!("scale-up decided {} ms after the heartbeat", up.as_millis());
    assert!(
        up < Duration::from_secs(3),
        "one heartbeat interval, give or take: {up:?}"
    );
    let st = wait_until_async("the decision in status", WAIT, || async {
        autoscale_status(&client).await.filter(|a| a.decisions >= 1)
    })
    .await
    .expect("status");
    assert_eq!(st.decisions, 1);
    assert!(st.last_decision.contains("over the 50% target"), "{st:?}");
    fake_ready(&client, "auto", 2).await;

    // A manual scale outside the bounds is refused; inside them it stands until the
    // autoscaler's next decision.
    let (ok, out) = kubectl(&cp, &["scale", "rss/auto", "--replicas=5"]);
    assert!(!ok, "scaled past maxShards: {out}");
    assert!(out.contains("autoscale.maxShards"), "{out}");

    // The load drops: one step down after the delay, through the drain.
    beat(&redis, &keys, 0, 2, 0);
    beat(&redis, &keys, 1, 2, 0);
    wait_until_async("the drain of shard 1", WAIT, || async {
        get_set(&client, "auto").await?.status?.drain
    })
    .await
    .expect("a drain");
    assert_eq!(
        get_set(&client, "auto").await.map(|s| s.spec.shards),
        Some(1)
    );
    beat_draining(&redis, &keys, 1, 2, 0);
    wait_replicas(&client, "auto", 1).await;
    let st = wait_until_async("the second decision in status", WAIT, || async {
        autoscale_status(&client).await.filter(|a| a.decisions >= 2)
    })
    .await
    .expect("status");
    assert_eq!(st.decisions, 2, "{st:?}");

    // At minShards with no load, reconciles go on (one a heartbeat) and decide nothing.
    let reconciles = |m: &roomshard_operator::metrics::Metrics| {
        Scrape::from_text(m.render())
            .value("roomshard_operator_reconciles_total")
            .unwrap_or(0.0)
    };
    let from = reconciles(&metrics);
    wait_until_async("five more reconciles", WAIT, || async {
        (reconciles(&metrics) >= from + 5.0).then_some(())
    })
    .await
    .expect("reconciles at the heartbeat interval");
    let st = autoscale_status(&client).await.expect("status");
    assert_eq!(st.decisions, 2, "no flapping: {st:?}");
    let rendered = Scrape::from_text(metrics.render());
    for (direction, want) in [("up", 1.0), ("down", 1.0)] {
        let name =
            format!("roomshard_operator_autoscale_decisions_total{{direction=\"{direction}\"}}");
        assert_eq!(rendered.value(&name).ok(), Some(want), "{name}");
    }

    // Every decision is an Event with its reason.
    let events: Api<Event> = Api::namespaced(client.clone(), NS);
    let reasons: Vec<String> = events
        .list(&ListParams::default().fields("involvedObject.name=auto"))
        .await
        .expect("events")
        .items
        .into_iter()
        .filter_map(|e| e.reason)
        .collect();
    assert!(reasons.iter().any(|r| r == "ScaledUp"), "{reasons:?}");
    assert!(reasons.iter().any(|r| r == "ScaledDown"), "{reasons:?}");

    let _ = stop.send(true);
    let _ = operator.await;
}
