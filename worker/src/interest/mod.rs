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
use roomshard_protocol::events::{EntityView, ViewBatch};
use roomshard_protocol::room_sync::SyncOp;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};

mod tick;

#[cfg(test)]
mod tests;

/// Who simulates an entity: this worker, or the worker named.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Owner {
    Local,
    Remote(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    pub x: f32,
    pub y: f32,
    pub name: String,
    pub cell: Cell,
    pub owner: Owner,
    /// The application-defined state; `Null` when it has none.
    pub state: Value,
}

impl Entity {
    /// The entity `id` as a client is shown it.
    fn view(&self, id: &str) -> EntityView {
        EntityView {
            id: id.to_owned(),
            x: self.x,
            y: self.y,
            name: self.name.clone(),
            state: self.state_shown(),
        }
    }

    /// The state as a view carries it: absent when there is none.
    fn state_shown(&self) -> Option<Value> {
        (!self.state.is_null()).then(|| self.state.clone())
    }
}

#[derive(Debug, Clone)]
enum Pending {
    Upsert {
        x: f32,
        y: f32,
        name: Option<String>,
        owner: Owner,
        /// A new state (`Null`: cleared); None keeps the entity's.
        state: Option<Value>,
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

/// Where a changed entity was before the tick and is after it (None: absent), and whether
/// its state changed.
struct ChangeRec {
    old: Option<Cell>,
    new: Option<Cell>,
    restated: bool,
}

/// The replica of one room's entities (local and remote) and its local observers.
pub struct RoomReplica {
    grid: Grid,
    entities: HashMap<String, Entity>,
    cells: HashMap<Cell, HashSet<String>>,
    /// Local observer → the cell whose room its socket is in.
    observers: HashMap<String, Cell>,
    observers_per_cell: HashMap<Cell, usize>,
    pending: HashMap<String, Pending>,
    tick: u64,
}

impl RoomReplica {
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

    /// Where a local player's entity stands and its state, a change queued for the next
    /// tick included (what a handoff carries).
    pub fn local_entity(&self, id: &str) -> Option<(f32, f32, Value)> {
        if !self.observers.contains_key(id) {
            return None;
        }
        let e = self.entities.get(id);
        match self.pending.get(id) {
            Some(Pending::Upsert { x, y, state, .. }) => {
                let state = state.clone().or_else(|| e.map(|e| e.state.clone()));
                Some((*x, *y, state.unwrap_or(Value::Null)))
            }
            _ => e.map(|e| (e.x, e.y, e.state.clone())),
        }
    }

    /// Local observers (players joined through this worker).
    pub fn local_count(&self) -> usize {
        self.observers.len()
    }

    /// Every entity of the room, local and remote, counting the changes queued for the
    /// next tick.
    pub fn entity_count(&self) -> usize {
        let mut n = self.entities.len();
        for (id, change) in &self.pending {
            match (change, self.entities.contains_key(id)) {
                (Pending::Upsert { .. }, false) => n += 1,
                (Pending::Despawn, true) => n -= 1,
                _ => {}
            }
        }
        n
    }

    /// Whether `id` is an entity of the room, counting the joins and leaves queued for the
    /// next tick.
    pub fn is_member(&self, id: &str) -> bool {
        match self.pending.get(id) {
            Some(Pending::Despawn) => false,
            Some(Pending::Upsert { .. }) => true,
            None => self.entities.contains_key(id),
        }
    }

    /// The cells holding local observers whose area of interest holds the entity `id`
    /// where the last tick placed it: the players whose view shows it. Empty for an
    /// entity no view shows yet.
    pub fn observed_cells_around(&self, id: &str) -> Vec<Cell> {
        let Some(e) = self.entities.get(id) else {
            return Vec::new();
        };
        self.grid
            .neighbourhood(e.cell)
            .filter(|c| self.observers_per_cell.contains_key(c))
            .collect()
    }

    /// The cell whose room the local observer `id` is in.
    pub fn observer_cell(&self, id: &str) -> Option<Cell> {
        self.observers.get(id).copied()
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
                out.extend(
                    ids.iter()
                        .filter_map(|id| Some(self.entities.get(id)?.view(id))),
                );
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
                // A player joins without a state, whatever an entity of its id had.
                state: Some(Value::Null),
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
        self.queue_change(id, Some((x, y)), None, &Owner::Local);
    }

    /// A local entity's state changes (`Null`: cleared); only its last state of a tick
    /// counts.
    pub fn set_state_local(&mut self, id: &str, state: Value) {
        if !self.observers.contains_key(id) {
            return;
        }
        self.queue_change(id, None, Some(state), &Owner::Local);
    }

    /// Queues a new position and/or state of an entity `owner` simulates, over what is
    /// queued for it already.
    fn queue_change(
        &mut self,
        id: &str,
        pos: Option<(f32, f32)>,
        state: Option<Value>,
        owner: &Owner,
    ) {
        let pos = pos.map(|(x, y)| self.clamp(x, y));
        match self.pending.get_mut(id) {
            Some(Pending::Upsert {
                x: px,
                y: py,
                owner: o,
                state: ps,
                ..
            }) if o == owner => {
                if let Some((x, y)) = pos {
                    *px = x;
                    *py = y;
                }
                if state.is_some() {
                    *ps = state;
                }
            }
            Some(_) => {}
            None => {
                if let Some(e) = self.entities.get(id).filter(|e| &e.owner == owner) {
                    let (x, y) = pos.unwrap_or((e.x, e.y));
                    self.pending.insert(
                        id.to_owned(),
                        Pending::Upsert {
                            x,
                            y,
                            name: None,
                            owner: owner.clone(),
                            state,
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
                // A spawn after a despawn is a new entity: it has only the state it brings.
                // Over a change queued by the same worker, it keeps that change's state.
                let state = match self.pending.get(&op.id) {
                    Some(Pending::Despawn) => Some(op.state.unwrap_or(Value::Null)),
                    Some(Pending::Upsert {
                        owner: o,
                        state: queued,
                        ..
                    }) if *o == owner => op.state.or_else(|| queued.clone()),
                    _ => op.state,
                };
                self.pending.insert(
                    op.id,
                    Pending::Upsert {
                        x,
                        y,
                        name: Some(name),
                        owner,
                        state,
                    },
                );
            }
            None => self.queue_change(&op.id, Some((x, y)), op.state, &owner),
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
            .map(|(id, e)| {
                SyncOp::at(id.clone(), e.x, e.y, Some(e.name.clone())).with_state(e.state_shown())
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
}
