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

#[test]
fn state_is_sent_on_enter_and_when_it_changes_only() {
    let mut room = RoomReplica::new(grid());
    room.join_local("a", 5.0, 5.0, "A");
    room.join_local("b", 6.0, 5.0, "B");
    room.tick();
    room.set_state_local("a", serde_json::json!({"hp": 3}));
    let out = room.tick();
    let b = &out.cell_batches[&Cell { x: 0, y: 0 }];
    assert_eq!(b.moved.len(), 1, "a state change alone is an update: {b:?}");
    assert_eq!(b.moved[0].state, Some(serde_json::json!({"hp": 3})));
    assert_eq!(
        out.outgoing,
        [SyncOp::at("a", 5.0, 5.0, None).with_state(Some(serde_json::json!({"hp": 3})))]
    );
    // The same state again changes nothing; a move alone carries no state.
    room.set_state_local("a", serde_json::json!({"hp": 3}));
    assert!(room.tick().cell_batches.is_empty());
    room.move_local("a", 7.0, 5.0);
    let out = room.tick();
    assert_eq!(out.cell_batches[&Cell { x: 0, y: 0 }].moved[0].state, None);
    // Whoever sees it enter gets its state; a remote worker gets it with the spawn.
    room.join_local("c", 25.0, 5.0, "C");
    room.tick();
    room.move_local("c", 15.0, 5.0);
    let out = room.tick();
    let entered = &out.crossers[0].batch.entered;
    let a = entered
        .iter()
        .find(|e| e.id == "a")
        .expect("a enters c's view");
    assert_eq!(a.state, Some(serde_json::json!({"hp": 3})));
    assert!(
        entered
            .iter()
            .find(|e| e.id == "b")
            .is_some_and(|e| e.state.is_none())
    );
    let snap = room.local_snapshot();
    let a = snap.iter().find(|o| o.id == "a").expect("a");
    assert_eq!(a.state, Some(serde_json::json!({"hp": 3})));
    // Cleared: sent as null, then absent.
    room.set_state_local("a", Value::Null);
    let out = room.tick();
    let b = &out.cell_batches[&Cell { x: 0, y: 0 }];
    assert_eq!(b.moved[0].state, Some(Value::Null));
}

#[test]
fn remote_states_follow_the_remote_entity() {
    let mut room = RoomReplica::new(grid());
    room.join_local("a", 5.0, 5.0, "A");
    room.tick();
    let spawn = SyncOp::at("r", 6.0, 6.0, Some("R".into())).with_state(Some(serde_json::json!(1)));
    room.apply_remote("w2", spawn);
    let out = room.tick();
    assert_eq!(
        out.cell_batches[&Cell { x: 0, y: 0 }].entered[0].state,
        Some(serde_json::json!(1))
    );
    room.apply_remote(
        "w2",
        SyncOp::at("r", 6.0, 6.0, None).with_state(Some(serde_json::json!(2))),
    );
    let out = room.tick();
    assert_eq!(
        out.cell_batches[&Cell { x: 0, y: 0 }].moved[0].state,
        Some(serde_json::json!(2))
    );
    // A remote worker cannot set a local entity's state.
    room.apply_remote(
        "w2",
        SyncOp::at("a", 5.0, 5.0, None).with_state(Some(serde_json::json!(9))),
    );
    room.tick();
    assert_eq!(room.entity("a").map(|e| e.state.clone()), Some(Value::Null));
}

#[derive(Debug, Clone)]
enum Op {
    Join(u8, f32, f32),
    Leave(u8),
    Move(u8, f32, f32),
    State(u8, u8),
    Remote(u8, f32, f32),
    RemoteState(u8, f32, f32, u8),
    RemoteGone(u8),
    DropRemote,
    Tick,
}

/// A few states, `null` (none) among them.
fn state_of(s: u8) -> Value {
    if s == 0 {
        Value::Null
    } else {
        serde_json::json!({"s": s})
    }
}

fn op() -> impl Strategy<Value = Op> {
    let p = 0.0f32..=60.0;
    prop_oneof![
        2 => (0u8..6, p.clone(), p.clone()).prop_map(|(k, x, y)| Op::Join(k, x, y)),
        1 => (0u8..6).prop_map(Op::Leave),
        4 => (0u8..6, p.clone(), p.clone()).prop_map(|(k, x, y)| Op::Move(k, x, y)),
        2 => (0u8..6, 0u8..3).prop_map(|(k, s)| Op::State(k, s)),
        2 => (0u8..4, p.clone(), p.clone()).prop_map(|(k, x, y)| Op::Remote(k, x, y)),
        1 => (0u8..4, p.clone(), p, 0u8..3).prop_map(|(k, x, y, s)| Op::RemoteState(k, x, y, s)),
        1 => (0u8..4).prop_map(Op::RemoteGone),
        1 => Just(Op::DropRemote),
        3 => Just(Op::Tick),
    ]
}

/// What a client holds: id → position and state.
type ClientView = HashMap<String, (f32, f32, Value)>;

fn apply(view: &mut ClientView, b: &ViewBatch) -> Result<(), TestCaseError> {
    for id in &b.left {
        prop_assert!(view.remove(id).is_some(), "left {id} that was not in view");
    }
    for m in &b.moved {
        let held = view.get(&m.id);
        prop_assert!(held.is_some(), "moved {} that was not in view", m.id);
        let held = held.map(|h| h.2.clone()).unwrap_or_default();
        if let Some(s) = &m.state {
            prop_assert!(*s != held, "{}'s state {s} sent again unchanged", m.id);
        }
        let state = m.state.clone().unwrap_or(held);
        view.insert(m.id.clone(), (m.x, m.y, state));
    }
    for e in &b.entered {
        prop_assert!(
            !view.contains_key(&e.id),
            "entered {} already in view",
            e.id
        );
        prop_assert!(
            e.state != Some(Value::Null),
            "an entity without state shows none"
        );
        view.insert(
            e.id.clone(),
            (e.x, e.y, e.state.clone().unwrap_or_default()),
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// Clients that apply the join view and every batch sent to their cell's room (or
    /// to them as crossers) hold exactly the entities of their neighbourhood, at their
    /// current positions and with their current states, after every tick; a state is
    /// never sent to a client that holds it already.
    #[test]
    fn clients_converge_to_their_neighbourhood(
        ops in proptest::collection::vec(op(), 1..80),
        reach in 1..=2,
    ) {
        let g = Grid::with_reach(60.0, 60.0, 10.0 * f64::from(reach), reach).expect("valid");
        let mut room = RoomReplica::new(g);
        let mut clients: HashMap<String, (Cell, ClientView)> = HashMap::new();
        // What the room holds once the changes queued so far are applied by the next tick.
        let mut truth: HashMap<String, (f32, f32, Value)> = HashMap::new();
        for op in ops {
            match op {
                Op::Join(k, x, y) => {
                    let id = format!("l{k}");
                    if clients.contains_key(&id) { continue; }
                    let (cell, view) = room.join_local(&id, x, y, "n");
                    let v = view.into_iter().map(|e| (e.id, (e.x, e.y, e.state.unwrap_or_default()))).collect();
                    clients.insert(id.clone(), (cell, v));
                    truth.insert(id, (x, y, Value::Null));
                }
                Op::Leave(k) => {
                    let id = format!("l{k}");
                    if clients.remove(&id).is_some() {
                        prop_assert!(room.leave_local(&id).is_some());
                        truth.remove(&id);
                    }
                }
                Op::Move(k, x, y) => {
                    let id = format!("l{k}");
                    if clients.contains_key(&id) {
                        room.move_local(&id, x, y);
                        if let Some(t) = truth.get_mut(&id) { (t.0, t.1) = (x, y); }
                    }
                }
                Op::State(k, s) => {
                    let id = format!("l{k}");
                    if clients.contains_key(&id) {
                        room.set_state_local(&id, state_of(s));
                        if let Some(t) = truth.get_mut(&id) { t.2 = state_of(s); }
                    }
                }
                Op::Remote(k, x, y) => {
                    let id = format!("r{k}");
                    room.apply_remote("w", SyncOp::at(id.clone(), x, y, Some("remote".into())));
                    let state = truth.get(&id).map(|t| t.2.clone()).unwrap_or_default();
                    truth.insert(id, (x, y, state));
                }
                Op::RemoteState(k, x, y, s) => {
                    let id = format!("r{k}");
                    let op = SyncOp::at(id.clone(), x, y, None).with_state(Some(state_of(s)));
                    room.apply_remote("w", op);
                    if let Some(t) = truth.get_mut(&id) { *t = (x, y, state_of(s)); }
                }
                Op::RemoteGone(k) => {
                    let id = format!("r{k}");
                    room.apply_remote("w", SyncOp::gone(id.clone()));
                    truth.remove(&id);
                }
                Op::DropRemote => {
                    room.drop_owner("w");
                    truth.retain(|id, _| !id.starts_with('r'));
                }
                Op::Tick => {
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
                        let (x, y, _) = truth[id];
                        prop_assert_eq!(*cell, g.cell_of(f64::from(x), f64::from(y)));
                        let want: ClientView = truth.iter()
                            .filter(|(_, (ex, ey, _))| g.is_near(g.cell_of(f64::from(*ex), f64::from(*ey)), *cell))
                            .map(|(k, v)| (k.clone(), v.clone())).collect();
                        prop_assert_eq!(view, &want, "client {}", id);
                    }
                }
            }
        }
    }
}
