//! Interest management for one room: a replica of its entities on a grid, the changes
//! queued since the last tick, and, per tick, the view batches that bring every local
//! observer's view up to date.
//!
//! Plain logic, no I/O. The socket layer owns one Socket.IO room per cell; a local
//! observer sits in the room of its own cell, and the batch computed for a cell goes to
//! that room, so one batch serves every observer of the cell. Each change touches at most
//! the cells of the neighbourhoods of its old and new position, whatever the room's population.
//!
//! An observer whose own cell changed during the tick (a crosser) is taken out of its old
//! cell's room before the batches go out, receives its own batch (the entities of the
//! cells it now sees: `entered`; of those it no longer sees: `left`), and is put into its
//! new cell's room afterwards.

use crate::grid::{Cell, Grid};
use roomshard_protocol::events::{EntityView, Moved, ViewBatch};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Who simulates an entity: this worker, or the worker named.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Owner {
    Local,
    Remote(String),
}

/// A change of one entity as carried between workers (and produced for them by a tick).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncOp {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<f32>,
    /// Present when the entity is new (or renamed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The entity left.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gone: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    pub x: f32,
    pub y: f32,
    pub name: String,
    pub cell: Cell,
    pub owner: Owner,
}

#[derive(Debug, Clone)]
enum Pending {
    Upsert {
        x: f32,
        y: f32,
        name: Option<String>,
        owner: Owner,
    },
    Despawn,
}

/// An observer whose own cell changed this tick.
#[derive(Debug, Clone, PartialEq)]
pub struct Crosser {
    pub id: String,
    pub from: Cell,
    pub to: Cell,
    pub batch: ViewBatch,
}

/// What one tick produced.
#[derive(Debug, Default)]
pub struct TickOutput {
    /// Batches for the rooms of cells that hold observers (crossers excluded).
    pub cell_batches: BTreeMap<Cell, ViewBatch>,
    pub crossers: Vec<Crosser>,
    /// Changes of local entities, for the other workers hosting the room.
    pub outgoing: Vec<SyncOp>,
    /// Local entities whose position changed (for latency accounting).
    pub moved_local: Vec<String>,
}

struct ChangeRec {
    old: Option<Cell>,
    new: Option<Cell>,
}

/// The replica of one room's entities and its local observers.
pub struct RoomView {
    grid: Grid,
    entities: HashMap<String, Entity>,
    cells: HashMap<Cell, HashSet<String>>,
    /// Local observer → the cell whose room its socket is in.
    observers: HashMap<String, Cell>,
    observers_per_cell: HashMap<Cell, usize>,
    pending: HashMap<String, Pending>,
    tick: u64,
}

impl RoomView {
    pub fn new(grid: Grid) -> Self {
        Self {
            grid,
            entities: HashMap::new(),
            cells: HashMap::new(),
            observers: HashMap::new(),
            observers_per_cell: HashMap::new(),
            pending: HashMap::new(),
            tick: 0,
        }
    }

    #[cfg(test)]
    pub fn entity(&self, id: &str) -> Option<&Entity> {
        self.entities.get(id)
    }

    /// Local observers (players joined through this worker).
    pub fn local_count(&self) -> usize {
        self.observers.len()
    }

    fn add_observer(&mut self, id: &str, cell: Cell) {
        self.observers.insert(id.to_owned(), cell);
        *self.observers_per_cell.entry(cell).or_default() += 1;
    }

    fn remove_observer_from_cell(&mut self, cell: Cell) {
        if let Some(n) = self.observers_per_cell.get_mut(&cell) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.observers_per_cell.remove(&cell);
            }
        }
    }

    /// The entities of the neighbourhood of `cell` as the replica holds them now.
    pub fn view_around(&self, cell: Cell) -> Vec<EntityView> {
        let mut out = Vec::new();
        for c in self.grid.neighbourhood(cell) {
            if let Some(ids) = self.cells.get(&c) {
                for id in ids {
                    if let Some(e) = self.entities.get(id) {
                        out.push(EntityView {
                            id: id.clone(),
                            x: e.x,
                            y: e.y,
                            name: e.name.clone(),
                        });
                    }
                }
            }
        }
        out
    }

    /// A local player joins at `(x, y)`: it observes from now on (its socket goes into the
    /// returned cell's room) and appears to others at the next tick. Returns the cell and
    /// the view it starts from.
    pub fn join_local(&mut self, id: &str, x: f32, y: f32, name: &str) -> (Cell, Vec<EntityView>) {
        let cell = self.grid.cell_of(f64::from(x), f64::from(y));
        if let Some(old) = self.observers.remove(id) {
            self.remove_observer_from_cell(old);
        }
        self.add_observer(id, cell);
        self.pending.insert(
            id.to_owned(),
            Pending::Upsert {
                x,
                y,
                name: Some(name.to_owned()),
                owner: Owner::Local,
            },
        );
        (cell, self.view_around(cell))
    }

    /// A local player leaves: it stops observing now (its socket leaves the returned
    /// cell's room) and disappears for others at the next tick.
    pub fn leave_local(&mut self, id: &str) -> Option<Cell> {
        let cell = self.observers.remove(id)?;
        self.remove_observer_from_cell(cell);
        self.pending.insert(id.to_owned(), Pending::Despawn);
        Some(cell)
    }

    /// A local entity moves; only its last position of a tick counts.
    pub fn move_local(&mut self, id: &str, x: f32, y: f32) {
        if !self.observers.contains_key(id) {
            return;
        }
        self.queue_move(id, x, y, &Owner::Local);
    }

    fn queue_move(&mut self, id: &str, x: f32, y: f32, owner: &Owner) {
        let (x, y) = self.clamp(x, y);
        match self.pending.get_mut(id) {
            Some(Pending::Upsert {
                x: px,
                y: py,
                owner: o,
                ..
            }) if o == owner => {
                *px = x;
                *py = y;
            }
            Some(_) => {}
            None => {
                if self.entities.get(id).is_some_and(|e| &e.owner == owner) {
                    self.pending.insert(
                        id.to_owned(),
                        Pending::Upsert {
                            x,
                            y,
                            name: None,
                            owner: owner.clone(),
                        },
                    );
                }
            }
        }
    }

    fn clamp(&self, x: f32, y: f32) -> (f32, f32) {
        let fix = |v: f32, max: f64| {
            if v.is_finite() {
                v.clamp(0.0, max as f32)
            } else {
                0.0
            }
        };
        (fix(x, self.grid.width()), fix(y, self.grid.height()))
    }

    /// A change reported by another worker. Local entities are never touched by it.
    pub fn apply_remote(&mut self, owner: &str, op: SyncOp) {
        let owner = Owner::Remote(owner.to_owned());
        if self.observers.contains_key(&op.id)
            || self
                .entities
                .get(&op.id)
                .is_some_and(|e| e.owner == Owner::Local)
        {
            return;
        }
        if op.gone {
            let known = self.entities.get(&op.id).is_some_and(|e| e.owner == owner)
                || matches!(self.pending.get(&op.id), Some(Pending::Upsert { owner: o, .. }) if *o == owner);
            if known {
                self.pending.insert(op.id, Pending::Despawn);
            }
            return;
        }
        let (Some(x), Some(y)) = (op.x, op.y) else {
            return;
        };
        match op.name {
            Some(name) => {
                let (x, y) = self.clamp(x, y);
                self.pending.insert(
                    op.id,
                    Pending::Upsert {
                        x,
                        y,
                        name: Some(name),
                        owner,
                    },
                );
            }
            None => self.queue_move(&op.id, x, y, &owner),
        }
    }

    /// Removes every entity of a worker that fell silent.
    pub fn drop_owner(&mut self, worker: &str) {
        let owner = Owner::Remote(worker.to_owned());
        let ids: Vec<String> = self
            .entities
            .iter()
            .filter(|(_, e)| e.owner == owner)
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            self.pending.insert(id, Pending::Despawn);
        }
        self.pending
            .retain(|_, p| !matches!(p, Pending::Upsert { owner: o, .. } if *o == owner));
    }

    /// The local entities, as spawn operations (the answer to a snapshot request).
    pub fn local_snapshot(&self) -> Vec<SyncOp> {
        self.entities
            .iter()
            .filter(|(_, e)| e.owner == Owner::Local)
            .map(|(id, e)| SyncOp {
                id: id.clone(),
                x: Some(e.x),
                y: Some(e.y),
                name: Some(e.name.clone()),
                gone: false,
            })
            .collect()
    }

    fn index_remove(&mut self, cell: Cell, id: &str) {
        if let Some(set) = self.cells.get_mut(&cell) {
            set.remove(id);
            if set.is_empty() {
                self.cells.remove(&cell);
            }
        }
    }

    /// Applies the queued changes and computes the batches of this tick.
    pub fn tick(&mut self) -> TickOutput {
        self.tick += 1;
        let mut out = TickOutput::default();
        let pending = std::mem::take(&mut self.pending);
        let mut changes: HashMap<String, ChangeRec> = HashMap::with_capacity(pending.len());
        for (id, p) in pending {
            let old = self.entities.get(&id).map(|e| e.cell);
            match p {
                Pending::Despawn => {
                    let Some(e) = self.entities.remove(&id) else {
                        continue;
                    };
                    self.index_remove(e.cell, &id);
                    if e.owner == Owner::Local {
                        out.outgoing.push(SyncOp {
                            id: id.clone(),
                            x: None,
                            y: None,
                            name: None,
                            gone: true,
                        });
                    }
                    changes.insert(id, ChangeRec { old, new: None });
                }
                Pending::Upsert { x, y, name, owner } => {
                    let cell = self.grid.cell_of(f64::from(x), f64::from(y));
                    let local = owner == Owner::Local;
                    let renamed;
                    match self.entities.get_mut(&id) {
                        Some(e) => {
                            let moved = e.x != x || e.y != y;
                            renamed = name.as_ref().filter(|n| **n != e.name).cloned();
                            if !moved && renamed.is_none() && e.owner == owner {
                                continue;
                            }
                            e.x = x;
                            e.y = y;
                            e.owner = owner;
                            if let Some(n) = &renamed {
                                e.name = n.clone();
                            }
                            let prev = e.cell;
                            e.cell = cell;
                            if prev != cell {
                                self.index_remove(prev, &id);
                                self.cells.entry(cell).or_default().insert(id.clone());
                            }
                        }
                        None => {
                            let Some(n) = name else {
                                continue;
                            };
                            renamed = Some(n.clone());
                            self.entities.insert(
                                id.clone(),
                                Entity {
                                    x,
                                    y,
                                    name: n,
                                    cell,
                                    owner,
                                },
                            );
                            self.cells.entry(cell).or_default().insert(id.clone());
                        }
                    }
                    if local {
                        out.outgoing.push(SyncOp {
                            id: id.clone(),
                            x: Some(x),
                            y: Some(y),
                            name: renamed,
                            gone: false,
                        });
                        if old.is_some() {
                            out.moved_local.push(id.clone());
                        }
                    }
                    changes.insert(
                        id,
                        ChangeRec {
                            old,
                            new: Some(cell),
                        },
                    );
                }
            }
        }

        // Observers that crossed into another cell leave their old cell's room first.
        let mut crossing: Vec<(String, Cell, Cell)> = Vec::new();
        for (id, rec) in &changes {
            if let (Some(room_cell), Some(now)) = (self.observers.get(id), rec.new)
                && now != *room_cell
            {
                crossing.push((id.clone(), *room_cell, now));
            }
        }
        for (_, from, _) in &crossing {
            self.remove_observer_from_cell(*from);
        }

        // One pass over the changes fills the batches of the observed cells around them:
        // the neighbourhood of the new position, then the cells around the old one that it
        // does not cover, so each cell is visited once.
        for (id, rec) in &changes {
            let around_new = rec.new.into_iter().flat_map(|c| self.grid.neighbourhood(c));
            let around_old_only = rec
                .old
                .into_iter()
                .flat_map(|c| self.grid.neighbourhood(c))
                .filter(|r| !rec.new.is_some_and(|n| self.grid.is_near(n, *r)));
            for r in around_new.chain(around_old_only) {
                if !self.observers_per_cell.contains_key(&r) {
                    continue;
                }
                let batch = out.cell_batches.entry(r).or_default();
                self.classify(id, rec, rec.old, r, r, batch);
            }
        }

        for (id, from, to) in crossing {
            let mut batch = ViewBatch::default();
            let mut candidates: HashSet<&String> = HashSet::new();
            for c in self
                .grid
                .neighbourhood(to)
                .chain(self.grid.neighbourhood(from))
            {
                if let Some(ids) = self.cells.get(&c) {
                    candidates.extend(ids.iter());
                }
            }
            for (cid, rec) in &changes {
                if rec.old.is_some_and(|o| self.grid.is_near(o, from)) {
                    candidates.insert(cid);
                }
            }
            let mut candidates: Vec<&String> = candidates.into_iter().collect();
            candidates.sort();
            for cid in candidates {
                match changes.get(cid) {
                    Some(rec) => self.classify(cid, rec, rec.old, from, to, &mut batch),
                    None => {
                        let Some(e) = self.entities.get(cid) else {
                            continue;
                        };
                        let unchanged = ChangeRec {
                            old: Some(e.cell),
                            new: Some(e.cell),
                        };
                        self.classify_static(cid, &unchanged, from, to, &mut batch);
                    }
                }
            }
            batch.tick = self.tick;
            out.crossers.push(Crosser {
                id: id.clone(),
                from,
                to,
                batch,
            });
            self.observers.insert(id, to);
            *self.observers_per_cell.entry(to).or_default() += 1;
        }

        out.cell_batches.retain(|_, b| {
            b.tick = self.tick;
            !b.is_empty()
        });
        out
    }

    /// Sorts one changed entity into `batch` for an observer that saw the neighbourhood
    /// of `before` and now sees that of `after`.
    fn classify(
        &self,
        id: &str,
        rec: &ChangeRec,
        old: Option<Cell>,
        before: Cell,
        after: Cell,
        batch: &mut ViewBatch,
    ) {
        let was = old.is_some_and(|c| self.grid.is_near(c, before));
        let is = rec.new.is_some_and(|c| self.grid.is_near(c, after));
        match (was, is) {
            (true, true) => {
                if let Some(e) = self.entities.get(id) {
                    batch.moved.push(Moved {
                        id: id.to_owned(),
                        x: e.x,
                        y: e.y,
                    });
                }
            }
            (false, true) => {
                if let Some(e) = self.entities.get(id) {
                    batch.entered.push(EntityView {
                        id: id.to_owned(),
                        x: e.x,
                        y: e.y,
                        name: e.name.clone(),
                    });
                }
            }
            (true, false) => batch.left.push(id.to_owned()),
            (false, false) => {}
        }
    }

    /// Like [`Self::classify`] for an entity that did not change this tick.
    fn classify_static(
        &self,
        id: &str,
        rec: &ChangeRec,
        before: Cell,
        after: Cell,
        batch: &mut ViewBatch,
    ) {
        let was = rec.old.is_some_and(|c| self.grid.is_near(c, before));
        let is = rec.new.is_some_and(|c| self.grid.is_near(c, after));
        if was != is {
            self.classify(id, rec, rec.old, before, after, batch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn grid() -> Grid {
        Grid::new(60.0, 60.0, 10.0).expect("valid")
    }

    #[test]
    fn a_join_is_seen_by_neighbours_only() {
        let mut room = RoomView::new(grid());
        room.join_local("a", 5.0, 5.0, "A");
        room.join_local("far", 55.0, 55.0, "F");
        let out = room.tick();
        let near = &out.cell_batches[&Cell { x: 0, y: 0 }];
        assert_eq!(near.entered.len(), 1, "a sees itself only: {near:?}");
        assert_eq!(near.entered[0].id, "a");
        let far = &out.cell_batches[&Cell { x: 5, y: 5 }];
        assert_eq!(
            far.entered
                .iter()
                .map(|e| e.id.as_str())
                .collect::<Vec<_>>(),
            ["far"]
        );
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
        let mut room = RoomView::new(grid());
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
        let mut room = RoomView::new(grid());
        room.join_local("a", 5.0, 5.0, "A");
        room.join_local("x", 35.0, 5.0, "X");
        room.tick();
        room.move_local("a", 15.0, 5.0);
        let out = room.tick();
        assert_eq!(out.crossers.len(), 1);
        let c = &out.crossers[0];
        assert_eq!((c.from, c.to), (Cell { x: 0, y: 0 }, Cell { x: 1, y: 0 }));
        assert_eq!(
            c.batch
                .moved
                .iter()
                .map(|m| m.id.as_str())
                .collect::<Vec<_>>(),
            ["a"]
        );
        assert!(c.batch.entered.is_empty(), "x is two cells away: {c:?}");
        room.move_local("a", 25.0, 5.0);
        let out = room.tick();
        let c = &out.crossers[0];
        assert_eq!(
            c.batch
                .entered
                .iter()
                .map(|m| m.id.as_str())
                .collect::<Vec<_>>(),
            ["x"]
        );
        // x's observers see a enter.
        assert_eq!(out.cell_batches[&Cell { x: 3, y: 0 }].entered[0].id, "a");
    }

    #[test]
    fn remote_entities_and_silent_workers() {
        let mut room = RoomView::new(grid());
        room.join_local("a", 5.0, 5.0, "A");
        room.tick();
        let spawn = SyncOp {
            id: "r".into(),
            x: Some(6.0),
            y: Some(6.0),
            name: Some("R".into()),
            gone: false,
        };
        room.apply_remote("w2", spawn);
        let out = room.tick();
        assert_eq!(out.cell_batches[&Cell { x: 0, y: 0 }].entered[0].id, "r");
        assert!(
            out.outgoing.is_empty(),
            "remote changes are not re-published"
        );
        // A remote worker cannot move or remove a local entity.
        room.apply_remote(
            "w2",
            SyncOp {
                id: "a".into(),
                x: None,
                y: None,
                name: None,
                gone: true,
            },
        );
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
            let mut room = RoomView::new(g);
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
                        room.apply_remote("w", SyncOp { id: id.clone(), x: Some(x), y: Some(y), name: Some("remote".into()), gone: false });
                        pending_truth.push((id, Some((x, y))));
                    }
                    Op::RemoteGone(k) => {
                        let id = format!("r{k}");
                        room.apply_remote("w", SyncOp { id: id.clone(), x: None, y: None, name: None, gone: true });
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
}
