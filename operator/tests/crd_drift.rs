//! The committed CRD must be exactly what `crdgen` prints from the code.

#[test]
fn committed_crd_matches_crdgen() {
    let crdgen = roomshard_testkit::bins::binary("crdgen").expect("the crdgen binary");
    let out = std::process::Command::new(crdgen)
        .output()
        .expect("crdgen runs");
    assert!(
        out.status.success(),
        "crdgen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = roomshard_testkit::repo_root().join("crds/roomshardset.yaml");
    let committed = std::fs::read_to_string(&path).expect("crds/roomshardset.yaml exists");
    assert!(
        committed == String::from_utf8_lossy(&out.stdout),
        "crds/roomshardset.yaml is stale: run `cargo run -p roomshard-operator --bin crdgen > crds/roomshardset.yaml`"
    );
}
