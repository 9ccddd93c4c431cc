//! The operator against a real kube-apiserver + etcd, real kubectl and a real Redis.
//!
//! One control plane serves every scenario (each start costs seconds). There is no
//! controller-manager: StatefulSets create no Pods and garbage collection does not run,
//! so the test patches StatefulSet status where it needs ready replicas and asserts owner
//! references rather than cascade deletion.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, PodTemplateSpec, Secret, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::Api;
use kube::{Client, ResourceExt};
use roomshard_operator::controller::{Config, Context};
use roomshard_operator::crd::DrainStatus;
use roomshard_operator::metrics::Metrics;
use roomshard_operator::watches;
use roomshard_protocol::Keys;
use roomshard_testkit::control_plane::ControlPlane;
use roomshard_testkit::process::{free_port, wait_until_async};
use roomshard_testkit::redis::RedisServer;
use std::sync::Arc;
use std::time::Duration;

mod support;
use support::*;

/// The shards marked draining in Redis.
fn draining_marks(redis: &RedisServer, keys: &Keys) -> Vec<String> {
    redis
        .query(&["SMEMBERS", &keys.draining()])
        .expect("smembers")
        .texts()
}

/// The names of every key in Redis.
fn all_keys(redis: &RedisServer) -> Vec<String> {
    redis.query(&["KEYS", "*"]).expect("keys").texts()
}

/// `kubectl scale` the set down to `replicas`, then waits for the drain in its status.
async fn scale_until_drain(
    cp: &ControlPlane,
    client: &Client,
    name: &str,
    replicas: i32,
) -> DrainStatus {
    let (ok, out) = kubectl(
        cp,
        &[
            "scale",
            &format!("rss/{name}"),
            &format!("--replicas={replicas}"),
        ],
    );
    assert!(ok, "{out}");
    wait_until_async(&format!("{name}'s drain in status"), WAIT, || async {
        get_set(client, name).await?.status?.drain
    })
    .await
    .expect("drain recorded")
}

async fn wait_service_removed(services: &Api<Service>, name: &str) {
    wait_until_async(&format!("Service {name} removed"), WAIT, || async {
        services
            .get_opt(name)
            .await
            .ok()
            .flatten()
            .is_none()
            .then_some(())
    })
    .await
    .expect("shard service removed");
}

async fn pod_template(statefulsets: &Api<StatefulSet>, name: &str) -> PodTemplateSpec {
    statefulsets
        .get(name)
        .await
        .expect("sts")
        .spec
        .expect("spec")
        .template
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_against_a_real_api_server() {
    let cp = ControlPlane::start().expect("control plane");
    let redis = RedisServer::start().expect("redis");
    let dir = roomshard_testkit::scratch_dir("operator-cluster").expect("scratch");
    let client = cp.client().await.expect("client");

    // The CRD installs, and the API server enforces its validation.
    cp.install_crd()
        .expect("the CRD installs and is established");
    let refusals = [
        ("zero", set_yaml("zero", 0, ""), "shards"),
        ("huge", set_yaml("huge", 5000, ""), "shards"),
        (
            "noimage",
            format!(
                "apiVersion: roomshard.dev/v1alpha1\nkind: RoomShardSet\nmetadata:\n  name: noimage\n  namespace: {NS}\nspec:\n  shards: 2\n"
            ),
            "spec.image: Required value",
        ),
        (
            "nourl",
            set_yaml("nourl", 2, "  publicUrl: wss://play.example.com/\n"),
            "publicUrl must contain the placeholder {shard}",
        ),
    ];
    for (name, yaml, needle) in &refusals {
        let (ok, out) = apply_yaml(&cp, &dir, name, yaml);
        assert!(!ok, "{name} was accepted: {out}");
        assert!(out.contains(needle), "{name}: {out}");
        println!("refused {name}: {}", out.trim());
    }
    let (_, out) = apply_yaml(&cp, &dir, "zero", &set_yaml("zero", 0, ""));
    assert!(out.contains("shards must be between 1 and 1024"), "{out}");

    // The operator, in-process, with short intervals.
    let metrics = Arc::new(Metrics::new().expect("metrics"));
    let config = Config {
        default_redis_url: Some(redis.url()),
        namespace: None,
        cleanup_budget: Duration::from_secs(2),
        resync: Duration::from_secs(2),
        drain_poll: Duration::from_millis(300),
        // The operator's default hooks (the chart's operator.defaultHooks): every set
        // without spec.hooks gets them.
        defaults: roomshard_operator::build::Defaults {
            hooks: serde_json::from_str(r#"{"onJoin":{"url":"http://backend.games:8080/join"}}"#)
                .expect("hooks"),
            ..Default::default()
        },
        ..Config::default()
    };
    let ctx = Arc::new(Context::new(
        client.clone(),
        metrics.clone(),
        config,
        "test".into(),
    ));
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let operator = tokio::spawn(watches::run(ctx, async move {
        let _ = stop_rx.wait_for(|s| *s).await;
    }));

    // A set applied with kubectl gets every child, each owned by the set.
    let (ok, out) = apply_yaml(
        &cp,
        &dir,
        "game",
        &set_yaml(
            "game",
            3,
            "  publicUrl: wss://play.example.com/shard/{shard}\n  service:\n    annotations:\n      service.beta.kubernetes.io/aws-load-balancer-backend-protocol: tcp\n",
        ),
    );
    assert!(ok, "{out}");
    wait_replicas(&client, "game", 3).await;
    let set = get_set(&client, "game").await.expect("set");
    let uid = set.uid().expect("uid");
    assert!(
        set.finalizers()
            .iter()
            .any(|f| f == "roomshard.dev/redis-state")
    );
    let owned_by_set =
        |refs: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference]| {
            refs.iter()
                .any(|r| r.uid == uid && r.controller == Some(true) && r.kind == "RoomShardSet")
        };
    let services: Api<Service> = Api::namespaced(client.clone(), NS);
    for name in [
        "game",
        "game-headless",
        "game-shard-0",
        "game-shard-1",
        "game-shard-2",
        "game-matchmaker",
    ] {
        let svc = wait_until_async(&format!("Service {name}"), WAIT, || async {
            services.get_opt(name).await.ok().flatten()
        })
        .await
        .expect("service");
        assert!(owned_by_set(svc.owner_references()), "{name} not owned");
    }
    let client_svc = services.get("game").await.expect("client svc");
    let spec = client_svc.spec.clone().expect("spec");
    assert_eq!(spec.type_.as_deref(), Some("LoadBalancer"));
    assert_eq!(spec.session_affinity.as_deref(), Some("ClientIP"));
    assert_eq!(
        client_svc
            .annotations()
            .get("service.beta.kubernetes.io/aws-load-balancer-backend-protocol")
            .map(String::as_str),
        Some("tcp")
    );
    let sts: Api<StatefulSet> = Api::namespaced(client.clone(), NS);
    assert!(owned_by_set(
        sts.get("game").await.expect("sts").owner_references()
    ));
    let pdb: Api<PodDisruptionBudget> = Api::namespaced(client.clone(), NS);
    assert!(owned_by_set(
        pdb.get("game").await.expect("pdb").owner_references()
    ));
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), NS);
    let mm = deploys.get("game-matchmaker").await.expect("matchmaker");
    assert!(owned_by_set(mm.owner_references()));
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    let token = secrets.get("game-token").await.expect("token secret");
    assert!(owned_by_set(token.owner_references()));
    let token_value = token.data.clone().expect("data")["token-secret"].0.clone();
    assert_eq!(token_value.len(), 64);

    // Status: observedGeneration, selector, conditions.
    let set = wait_until_async("status of game", WAIT, || async {
        get_set(&client, "game").await.filter(|s| {
            s.status.as_ref().and_then(|st| st.observed_generation) == s.metadata.generation
                && condition(s, "Ready").is_some()
        })
    })
    .await
    .expect("status");
    let status = set.status.clone().expect("status");
    assert_eq!(
        status.selector,
        "app.kubernetes.io/component=worker,roomshard.dev/set=game"
    );
    assert_eq!(
        condition(&set, "Ready").map(|c| c.status.as_str()),
        Some("False")
    );
    assert_eq!(
        condition(&set, "Degraded").map(|c| c.status.as_str()),
        Some("False")
    );

    // A spec change reaches the children; the token Secret is never rewritten.
    let (ok, out) = kubectl(
        &cp,
        &[
            "patch",
            "rss",
            "game",
            "--type=merge",
            "-p",
            r#"{"spec":{"image":"registry.example/roomshard:2","matchmaker":{"replicas":3}}}"#,
        ],
    );
    assert!(ok, "{out}");
    wait_until_async("new image in the StatefulSet", WAIT, || async {
        let s = sts.get("game").await.ok()?;
        let image = s.spec?.template.spec?.containers.first()?.image.clone()?;
        (image == "registry.example/roomshard:2").then_some(())
    })
    .await
    .expect("image updated");
    wait_until_async("matchmaker replicas 3", WAIT, || async {
        let d = deploys.get("game-matchmaker").await.ok()?;
        (d.spec?.replicas == Some(3)).then_some(())
    })
    .await
    .expect("matchmaker updated");
    let token_after = secrets
        .get("game-token")
        .await
        .expect("token")
        .data
        .expect("data")["token-secret"]
        .0
        .clone();
    assert_eq!(token_after, token_value, "token secret must not rotate");

    // kubectl scale goes through the scale subresource to spec.shards. The total moves
    // in the shard-count ConfigMap; the pod template, and so the running pods, stay.
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), NS);
    let template_before = pod_template(&statefulsets, "game").await;
    // The set names no hooks: its workers get the operator's.
    let hooks = template_before
        .spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.env.as_ref())
        .and_then(|env| env.iter().find(|e| e.name == "HOOKS"))
        .and_then(|e| e.value.clone())
        .expect("HOOKS from the operator's default");
    let hooks: serde_json::Value = serde_json::from_str(&hooks).expect("HOOKS is JSON");
    assert_eq!(
        hooks["onJoin"]["url"], "http://backend.games:8080/join",
        "{hooks}"
    );
    let (ok, out) = kubectl(&cp, &["scale", "rss/game", "--replicas=5"]);
    assert!(ok, "{out}");
    wait_replicas(&client, "game", 5).await;
    let template_after = pod_template(&statefulsets, "game").await;
    assert_eq!(
        template_before, template_after,
        "scaling changed the pod template"
    );
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), NS);
    let shard_count = config_maps
        .get("game-shards")
        .await
        .expect("shard-count ConfigMap");
    assert_eq!(
        shard_count
            .data
            .unwrap_or_default()
            .get("total")
            .map(String::as_str),
        Some("5")
    );
    assert_eq!(
        shard_count.metadata.owner_references.unwrap_or_default()[0].kind,
        "RoomShardSet"
    );
    assert_eq!(get_set(&client, "game").await.expect("set").spec.shards, 5);
    wait_until_async("Service game-shard-4", WAIT, || async {
        services.get_opt("game-shard-4").await.ok().flatten()
    })
    .await
    .expect("shard 4 service");
    fake_ready(&client, "game", 5).await;
    wait_until_async("Ready=True with 5 ready", WAIT, || async {
        let s = get_set(&client, "game").await?;
        (s.status.as_ref()?.ready_replicas == 5 && condition(&s, "Ready")?.status == "True")
            .then_some(())
    })
    .await
    .expect("ready");

    // Heartbeats show in status.
    let keys = Keys::scoped(Some(NS), "game").expect("keys");
    for i in 0..5 {
        beat(&redis, &keys, i, 5, 0);
    }
    beat(&redis, &keys, 0, 5, 7);
    wait_until_async("players from heartbeats", WAIT, || async {
        let st = get_set(&client, "game").await?.status?;
        (st.players == 7
            && st.rooms == 5
            && st.shards.len() == 5
            && st.shards.iter().all(|s| s.ready))
        .then_some(())
    })
    .await
    .expect("heartbeats in status");

    // Scale-down with empty shards finishes as soon as their workers report that they
    // are draining (a worker does on its next heartbeat after the mark): 5 -> 4.
    let (ok, out) = kubectl(&cp, &["scale", "rss/game", "--replicas=4"]);
    assert!(ok, "{out}");
    beat_draining(&redis, &keys, 4, 5, 0);
    wait_replicas(&client, "game", 4).await;
    wait_service_removed(&services, "game-shard-4").await;

    // Drain 4 -> 2: replicas stay at 4 while shards 2 and 3 have players.
    beat(&redis, &keys, 2, 4, 3);
    beat(&redis, &keys, 3, 4, 1);
    let drain = scale_until_drain(&cp, &client, "game", 2).await;
    assert_eq!((drain.from, drain.to), (4, 2));
    let members = draining_marks(&redis, &keys);
    assert!(
        members.contains(&"2".into()) && members.contains(&"3".into()),
        "{members:?}"
    );
    // Several drain polls later the shards are still there.
    let before = metrics.reconciles.get();
    wait_until_async("a few more reconciles", WAIT, || async {
        (metrics.reconciles.get() >= before + 3).then_some(())
    })
    .await
    .expect("reconciles");
    assert_eq!(
        sts_replicas(&client, "game").await,
        Some(4),
        "scaled down with players left"
    );
    let st = get_set(&client, "game")
        .await
        .expect("set")
        .status
        .expect("status");
    assert_eq!(
        condition_status(&st, "Progressing"),
        Some(("True".into(), "Draining".into()))
    );
    assert!(st.shards[3].draining && !st.shards[1].draining);
    beat_draining(&redis, &keys, 2, 4, 0);
    assert_eq!(sts_replicas(&client, "game").await, Some(4));
    // Empty, but its last heartbeat predates the mark: it may have missed a join.
    let before = metrics.reconciles.get();
    beat(&redis, &keys, 3, 4, 0);
    wait_until_async("a few more reconciles", WAIT, || async {
        (metrics.reconciles.get() >= before + 3).then_some(())
    })
    .await
    .expect("reconciles");
    assert_eq!(sts_replicas(&client, "game").await, Some(4));
    beat_draining(&redis, &keys, 3, 4, 0);
    wait_replicas(&client, "game", 2).await;
    wait_until_async("drain cleared", WAIT, || async {
        let st = get_set(&client, "game").await?.status?;
        st.drain.is_none().then_some(())
    })
    .await
    .expect("drain cleared");
    // The drained shards stay closed while their pods go; each worker removes its own
    // mark when it deregisters, and a scale-up removes the marks of the shards it brings
    // back.
    let members = draining_marks(&redis, &keys);
    assert!(
        members.contains(&"2".into()) && members.contains(&"3".into()),
        "{members:?}"
    );
    for name in ["game-shard-2", "game-shard-3"] {
        wait_service_removed(&services, name).await;
    }
    let (ok, out) = kubectl(&cp, &["scale", "rss/game", "--replicas=3"]);
    assert!(ok, "{out}");
    wait_replicas(&client, "game", 3).await;
    let members = draining_marks(&redis, &keys);
    assert!(
        !members.contains(&"2".into()) && members.contains(&"3".into()),
        "{members:?}"
    );

    // Drain timeout: players never leave, the deadline ends it.
    let fast = Keys::scoped(Some(NS), "fast").expect("keys");
    let (ok, out) = apply_yaml(
        &cp,
        &dir,
        "fast",
        &set_yaml("fast", 3, "  drain:\n    timeoutSeconds: 2\n"),
    );
    assert!(ok, "{out}");
    wait_replicas(&client, "fast", 3).await;
    beat(&redis, &fast, 2, 3, 9);
    let drain = scale_until_drain(&cp, &client, "fast", 2).await;
    assert_eq!(drain.deadline_ms - drain.started_at_ms, 2000);
    wait_replicas(&client, "fast", 2).await;
    let now = i64::try_from(roomshard_protocol::now_ms()).expect("now");
    assert!(now >= drain.deadline_ms, "scaled down before the deadline");
    let heartbeat_left = redis.query(&["GET", &fast.shard(2)]).expect("get");
    assert!(
        heartbeat_left
            .as_text()
            .is_some_and(|hb| hb.contains("\"players\":9")),
        "the players were still there: {heartbeat_left:?}"
    );

    // Redis unreachable: Degraded with a reason, children still applied, deletion bounded.
    let dead = format!("redis://127.0.0.1:{}", free_port().expect("port"));
    let (ok, out) = apply_yaml(
        &cp,
        &dir,
        "lost",
        &set_yaml("lost", 1, &format!("  redis:\n    url: {dead}\n")),
    );
    assert!(ok, "{out}");
    wait_replicas(&client, "lost", 1).await;
    wait_until_async("Degraded=RedisUnavailable", WAIT, || async {
        let s = get_set(&client, "lost").await?;
        let c = condition(&s, "Degraded")?;
        (c.status == "True" && c.reason == "RedisUnavailable").then_some(())
    })
    .await
    .expect("degraded");
    let (ok, out) = kubectl(&cp, &["delete", "rss/lost", "--timeout=30s"]);
    assert!(ok, "{out}");
    assert!(get_set(&client, "lost").await.is_none());

    // Deleting a set runs the finalizer (its Redis keys go) and completes.
    assert_eq!(
        redis.query(&["EXISTS", &keys.shard(0)]).expect("exists"),
        roomshard_testkit::resp::Reply::Int(1)
    );
    let (ok, out) = kubectl(&cp, &["delete", "rss/game", "--timeout=30s"]);
    assert!(ok, "{out}");
    assert!(get_set(&client, "game").await.is_none());
    let left = all_keys(&redis);
    assert!(
        !left.iter().any(|k| keys.owns(k)),
        "game keys left: {left:?}"
    );
    // No garbage collector runs here; the children still name the deleted owner.
    assert!(owned_by_set(
        sts.get("game").await.expect("sts").owner_references()
    ));

    let text = metrics.render();
    assert!(
        text.contains("roomshard_operator_reconciles_total"),
        "{text}"
    );
    println!("reconciles: {}", metrics.reconciles.get());
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(10), operator).await;
}

fn condition_status(
    st: &roomshard_operator::crd::RoomShardSetStatus,
    t: &str,
) -> Option<(String, String)> {
    st.conditions
        .iter()
        .find(|c| c.type_ == t)
        .map(|c| (c.status.clone(), c.reason.clone()))
}
