//! The test kit's own smoke tests: the real services start and answer.

use fred::prelude::*;
use fred::types::RespVersion;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ObjectMeta, PostParams};
use roomshard_testkit::control_plane::ControlPlane;
use roomshard_testkit::redis::RedisServer;
use roomshard_testkit::resp::Reply;
use std::time::Duration;

#[tokio::test]
async fn redis_round_trips_a_key_through_fred() -> anyhow::Result<()> {
    let server = RedisServer::start()?;
    let config = Config::from_url(&server.url())?;
    let client = Builder::from_config(config)
        .with_config(|c| c.version = RespVersion::RESP3)
        .build()?;
    client.init().await?;
    let _: () = client
        .set(
            "roomshard:{t}:k",
            "v",
            Some(Expiration::EX(60)),
            None,
            false,
        )
        .await?;
    let got: String = client.get("roomshard:{t}:k").await?;
    assert_eq!(got, "v");
    client.quit().await?;
    Ok(())
}

#[test]
fn redis_freezes_and_restarts_empty() -> anyhow::Result<()> {
    let mut server = RedisServer::start()?;
    assert_eq!(server.query(&["SET", "a", "1"])?, Reply::Text("OK".into()));
    server.freeze()?;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port()))?;
    stream.set_read_timeout(Some(Duration::from_millis(300)))?;
    std::io::Write::write_all(&mut stream, b"PING\r\n")?;
    let mut buf = [0u8; 16];
    assert!(
        std::io::Read::read(&mut stream, &mut buf).is_err(),
        "a frozen server must not answer"
    );
    server.thaw()?;
    server.restart()?;
    assert!(server.query(&["GET", "a"])?.is_nil(), "restart loses data");
    Ok(())
}

#[tokio::test]
async fn kube_apiserver_creates_and_reads_back_a_namespace() -> anyhow::Result<()> {
    let plane = ControlPlane::start()?;
    let client = plane.client().await?;
    let namespaces: Api<Namespace> = Api::all(client);
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some("roomshard-smoke".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    namespaces.create(&PostParams::default(), &ns).await?;
    let read = namespaces.get("roomshard-smoke").await?;
    assert_eq!(read.metadata.name.as_deref(), Some("roomshard-smoke"));
    assert!(read.metadata.uid.is_some(), "stored objects get a uid");

    let out = plane
        .kubectl()
        .args(["get", "namespace", "roomshard-smoke", "-o", "name"])
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "namespace/roomshard-smoke"
    );
    Ok(())
}
