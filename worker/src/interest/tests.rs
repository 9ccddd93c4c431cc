//! The replica's tests: a few scenarios by hand, and a property test that every simulated
//! client, applying only what it is sent, holds exactly its neighbourhood after every tick.

use super::*;
use proptest::prelude::*;

fn grid() -> Grid {
    Grid::new(60.0, 60.0, 10.0).expect("valid")
}

fn moved_ids(b: &ViewBatch) -> Vec<&str> {
    b.moved.iter().map(|m| m.id.as_str()).collect()
}

fn entered_ids(b: &ViewBatch) -> Vec<&str> {
    b.entered.iter().map(|e| e.id.as_str()).collect()
}

#[test]
fn a_join_is_seen_by_neighbours_only() {
    let mut room = RoomReplica::new(grid());
    room.join_local("a", 5.0, 5.0, "A");
    room.join_local("far", 55.0, 55.0, "F");
    let out = room.tick();
    let near = &out.cell_batches[&Cell { x: 0, y: 0 }];
    assert_eq!(near.entered.len(), 1, "a sees itself only: {near:?}");
    assert_eq!(near.entered[0].id, "a");
    let far = &out.cell_batches[&Cell { x: 5, y: 5 }];
    assert_eq!(entered_ids(far), ["far"]);
    room.join_local("b", 15.0, 5.0, "B");
    let (_, view) = (Cell { x: 1, y: 0 }, room.view_around(Cell { x: 1, y: 0 }));
    assert_eq!(view.len(), 1);
    let out = room.tick();
    assert_eq!(out.cell_batches[&Cell { x: 0, y: 0 }].entered[0].id, "b");
    assert!(!out.cell_batches.contains_key(&Cell { x: 5, y: 5 }));
    assert_eq!(out.outgoing.len(), 1);
}

#[test]
fn moves_are_aggregated_per_tick() {
    let mut room = RoomReplica::new(grid());
    room.join_local("a", 5.0, 5.0, "A");
    room.tick();
    for i in 0..10 {
        room.move_local("a", 5.0 + i as f32 * 0.1, 5.0);
    }
    let out = room.tick();
    let b = &out.cell_batches[&Cell { x: 0, y: 0 }];
    assert_eq!(b.moved.len(), 1);
    assert!((b.moved[0].x - 5.9).abs() < 1e-4);
    assert_eq!(out.moved_local, ["a"]);
}

#[test]
fn a_crosser_gets_the_cells_it_newly_sees() {
    let mut room = RoomReplica::new(grid());
    room.join_local("a", 5.0, 5.0, "A");
    room.join_local("x", 35.0, 5.0, "X");
    room.tick();
    room.move_local("a", 15.0, 5.0);
    let out = room.tick();
    assert_eq!(out.crossers.len(), 1);
    let c = &out.crossers[0];
    assert_eq!((c.from, c.to), (Cell { x: 0, y: 0 }, Cell { x: 1, y: 0 }));
    assert_eq!(moved_ids(&c.batch), ["a"]);
    assert!(c.batch.entered.is_empty(), "x is two cells away: {c:?}");
    room.move_local("a", 25.0, 5.0);
    let out = room.tick();
    let c = &out.crossers[0];
    assert_eq!(entered_ids(&c.batch), ["x"]);
    // x's observers see a enter.
    assert_eq!(out.cell_batches[&Cell { x: 3, y: 0 }].entered[0].id, "a");
}

#[test]
fn remote_entities_and_silent_workers() {
    let mut room = RoomReplica::new(grid());
    room.join_local("a", 5.0, 5.0, "A");
    room.tick();
    let spawn = SyncOp::at("r", 6.0, 6.0, Some("R".into()));
    room.apply_remote("w2", spawn);
    let out = room.tick();
    assert_eq!(out.cell_batches[&Cell { x: 0, y: 0 }].entered[0].id, "r");
    assert!(
        out.outgoing.is_empty(),
        "remote changes are not re-published"
    );
    // A remote worker cannot move or remove a local entity.
    room.apply_remote("w2", SyncOp::gone("a"));
    room.drop_owner("w2");
    let out = room.tick();
    assert_eq!(out.cell_batches[&Cell { x: 0, y: 0 }].left, ["r"]);
    assert!(room.entity("a").is_some());
}

#[derive(Debug, Clone)]
enum Op {
    Join(u8, f32, f32),
    Leave(u8),
    Move(u8, f32, f32),
    Remote(u8, f32, f32),
    RemoteGone(u8),
    DropRemote,
    Tick,
}

fn op() -> impl Strategy<Value = Op> {
    let p = 0.0f32..=60.0;
    prop_oneof![
        2 => (0u8..6, p.clone(), p.clone()).prop_map(|(k, x, y)| Op::Join(k, x, y)),
        1 => (0u8..6).prop_map(Op::Leave),
        4 => (0u8..6, p.clone(), p.clone()).prop_map(|(k, x, y)| Op::Move(k, x, y)),
        2 => (0u8..4, p.clone(), p).prop_map(|(k, x, y)| Op::Remote(k, x, y)),
        1 => (0u8..4).prop_map(Op::RemoteGone),
        1 => Just(Op::DropRemote),
        3 => Just(Op::Tick),
    ]
}

/// What a client holds: id → position.
type ClientView = HashMap<String, (f32, f32)>;

fn apply(view: &mut ClientView, b: &ViewBatch) -> Result<(), TestCaseError> {
    for id in &b.left {
        prop_assert!(view.remove(id).is_some(), "left {id} that was not in view");
    }
    for m in &b.moved {
        prop_assert!(
            view.contains_key(&m.id),
            "moved {} that was not in view",
            m.id
        );
        view.insert(m.id.clone(), (m.x, m.y));
    }
    for e in &b.entered {
        prop_assert!(
            !view.contains_key(&e.id),
            "entered {} already in view",
            e.id
        );
        view.insert(e.id.clone(), (e.x, e.y));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// Clients that apply the join view and every batch sent to their cell's room (or
    /// to them as crossers) hold exactly the entities of their neighbourhood, at their
    /// current positions, after every tick.
    #[test]
    fn clients_converge_to_their_neighbourhood(
        ops in proptest::collection::vec(op(), 1..80),
        reach in 1..=2,
    ) {
        let g = Grid::with_reach(60.0, 60.0, 10.0 * f64::from(reach), reach).expect("valid");
        let mut room = RoomReplica::new(g);
        let mut clients: HashMap<String, (Cell, ClientView)> = HashMap::new();
        let mut truth: HashMap<String, (f32, f32)> = HashMap::new();
        let mut pending_truth: Vec<(String, Option<(f32, f32)>)> = Vec::new();
        for op in ops {
            match op {
                Op::Join(k, x, y) => {
                    let id = format!("l{k}");
                    if clients.contains_key(&id) { continue; }
                    let (cell, view) = room.join_local(&id, x, y, "n");
                    let v = view.into_iter().map(|e| (e.id, (e.x, e.y))).collect();
                    clients.insert(id.clone(), (cell, v));
                    pending_truth.push((id, Some((x, y))));
                }
                Op::Leave(k) => {
                    let id = format!("l{k}");
                    if clients.remove(&id).is_some() {
                        prop_assert!(room.leave_local(&id).is_some());
                        pending_truth.push((id, None));
                    }
                }
                Op::Move(k, x, y) => {
                    let id = format!("l{k}");
                    if clients.contains_key(&id) {
                        room.move_local(&id, x, y);
                        pending_truth.push((id, Some((x, y))));
                    }
                }
                Op::Remote(k, x, y) => {
                    let id = format!("r{k}");
                    room.apply_remote("w", SyncOp::at(id.clone(), x, y, Some("remote".into())));
                    pending_truth.push((id, Some((x, y))));
                }
                Op::RemoteGone(k) => {
                    let id = format!("r{k}");
                    room.apply_remote("w", SyncOp::gone(id.clone()));
                    pending_truth.push((id, None));
                }
                Op::DropRemote => {
                    room.drop_owner("w");
                    let ids: HashSet<String> = truth.keys().chain(pending_truth.iter().map(|(i, _)| i)).filter(|i| i.starts_with('r')).cloned().collect();
                    for id in ids { pending_truth.push((id, None)); }
                }
                Op::Tick => {
                    for (id, p) in pending_truth.drain(..) {
                        match p { Some(p) => { truth.insert(id, p); } None => { truth.remove(&id); } }
                    }
                    let out = room.tick();
                    let crossing: HashMap<&str, &Crosser> = out.crossers.iter().map(|c| (c.id.as_str(), c)).collect();
                    for (id, (cell, view)) in clients.iter_mut() {
                        if let Some(c) = crossing.get(id.as_str()) {
                            prop_assert_eq!(c.from, *cell);
                            apply(view, &c.batch)?;
                            *cell = c.to;
                        } else if let Some(b) = out.cell_batches.get(cell) {
                            apply(view, b)?;
                        }
                    }
                    for (id, (cell, view)) in &clients {
                        let (x, y) = truth[id];
                        prop_assert_eq!(*cell, g.cell_of(f64::from(x), f64::from(y)));
                        let want: HashMap<String, (f32, f32)> = truth.iter()
                            .filter(|(_, (ex, ey))| g.is_near(g.cell_of(f64::from(*ex), f64::from(*ey)), *cell))
                            .map(|(k, v)| (k.clone(), *v)).collect();
                        prop_assert_eq!(view, &want, "client {}", id);
                    }
                }
            }
        }
    }
}
