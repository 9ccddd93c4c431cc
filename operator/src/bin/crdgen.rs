//! Prints the RoomShardSet CustomResourceDefinition as YAML (`crdgen > crds/roomshardset.yaml`).

use kube::CustomResourceExt;
use roomshard_operator::crd::RoomShardSet;

fn main() {
    match serde_saphyr::to_string(&RoomShardSet::crd()) {
        Ok(yaml) => print!("{yaml}"),
        Err(e) => {
            eprintln!("crdgen: cannot render the CRD: {e}");
            std::process::exit(1);
        }
    }
}
