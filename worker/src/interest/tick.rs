//! One tick of a room's replica: apply the changes queued since the last tick, then work
//! out who must hear of them. Each step is one method, called in order by
//! [`RoomReplica::tick`].

use super::{ChangeRec, Crosser, Entity, Owner, Pending, RoomReplica, TickOutput};
use crate::grid::Cell;
use roomshard_protocol::events::{Moved, ViewBatch};
use roomshard_protocol::room_sync::SyncOp;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};

/// A local observer whose own cell changed this tick: its id, old cell and new cell.
type Crossing = (String, Cell, Cell);

/// What a queued upsert brings: a position, maybe a name, maybe a state.
struct Change {
    x: f32,
    y: f32,
    name: Option<String>,
    state: Option<Value>,
}

impl RoomReplica {
    /// Applies the queued changes and computes the batches of this tick.
    pub fn tick(&mut self) -> TickOutput {
        self.tick += 1;
        let mut out = TickOutput::default();
        let changes = self.apply_pending(&mut out);
        let crossing = self.take_crossers_out_of_their_cells(&changes);
        self.fill_cell_batches(&changes, &mut out.cell_batches);
        for (id, from, to) in crossing {
            let batch = self.crosser_batch(&changes, from, to);
            self.add_observer(&id, to);
            out.crossers.push(Crosser {
                id,
                from,
                to,
                batch,
            });
        }
        out.cell_batches.retain(|_, b| {
            b.tick = self.tick;
            !b.is_empty()
        });
        out
    }

    /// Step 1: applies every queued change to the replica; returns, for each entity that
    /// changed, its cell before and after. Changes of local entities go into
    /// `out.outgoing` for the other workers.
    fn apply_pending(&mut self, out: &mut TickOutput) -> HashMap<String, ChangeRec> {
        let pending = std::mem::take(&mut self.pending);
        let mut changes: HashMap<String, ChangeRec> = HashMap::with_capacity(pending.len());
        for (id, p) in pending {
            let old = self.entities.get(&id).map(|e| e.cell);
            let (new, restated) = match p {
                Pending::Despawn => {
                    if !self.despawn(&id, out) {
                        continue;
                    }
                    (None, false)
                }
                Pending::Upsert {
                    x,
                    y,
                    name,
                    owner,
                    state,
                } => {
                    let change = Change { x, y, name, state };
                    let Some((cell, restated)) = self.upsert(&id, change, owner, out) else {
                        continue;
                    };
                    (Some(cell), restated)
                }
            };
            changes.insert(id, ChangeRec { old, new, restated });
        }
        changes
    }

    /// Removes an entity; false when there was none.
    fn despawn(&mut self, id: &str, out: &mut TickOutput) -> bool {
        let Some(e) = self.entities.remove(id) else {
            return false;
        };
        self.index_remove(e.cell, id);
        if e.owner == Owner::Local {
            out.outgoing.push(SyncOp::gone(id));
        }
        true
    }

    /// Places or updates an entity; its cell and whether its state changed, or None when
    /// nothing changed (or an entity not seen before came without a name).
    fn upsert(
        &mut self,
        id: &str,
        change: Change,
        owner: Owner,
        out: &mut TickOutput,
    ) -> Option<(Cell, bool)> {
        let Change { x, y, name, state } = change;
        let cell = self.grid.cell_of(f64::from(x), f64::from(y));
        let local = owner == Owner::Local;
        let existed = self.entities.contains_key(id);
        // What the others must be told: the new name, and the new state (for an entity
        // not seen before, the state it comes with).
        let (renamed, restated) = match self.entities.get_mut(id) {
            Some(e) => {
                let moved = e.x != x || e.y != y;
                let renamed = name.as_ref().filter(|n| **n != e.name).cloned();
                let restated = state.filter(|s| *s != e.state);
                if !moved && renamed.is_none() && restated.is_none() && e.owner == owner {
                    return None;
                }
                e.x = x;
                e.y = y;
                e.owner = owner;
                if let Some(n) = &renamed {
                    e.name = n.clone();
                }
                if let Some(s) = &restated {
                    e.state = s.clone();
                }
                let prev = e.cell;
                e.cell = cell;
                if prev != cell {
                    self.index_remove(prev, id);
                    self.cells.entry(cell).or_default().insert(id.to_owned());
                }
                (renamed, restated)
            }
            None => {
                let n = name?;
                let state = state.unwrap_or(Value::Null);
                let renamed = Some(n.clone());
                let restated = (!state.is_null()).then(|| state.clone());
                self.entities.insert(
                    id.to_owned(),
                    Entity {
                        x,
                        y,
                        name: n,
                        cell,
                        owner,
                        state,
                    },
                );
                self.cells.entry(cell).or_default().insert(id.to_owned());
                (renamed, restated)
            }
        };
        let changed_state = existed && restated.is_some();
        if local {
            out.outgoing
                .push(SyncOp::at(id, x, y, renamed).with_state(restated));
            if existed {
                out.moved_local.push(id.to_owned());
            }
        }
        Some((cell, changed_state))
    }

    /// Step 2: observers that crossed into another cell leave their old cell's room first
    /// (they get a batch of their own, and join the new cell's room after it).
    fn take_crossers_out_of_their_cells(
        &mut self,
        changes: &HashMap<String, ChangeRec>,
    ) -> Vec<Crossing> {
        let mut crossing: Vec<Crossing> = Vec::new();
        for (id, rec) in changes {
            if let (Some(room_cell), Some(now)) = (self.observers.get(id), rec.new)
                && now != *room_cell
            {
                crossing.push((id.clone(), *room_cell, now));
            }
        }
        for (_, from, _) in &crossing {
            self.remove_observer_from_cell(*from);
        }
        crossing
    }

    /// Step 3: one pass over the changes fills the batches of the observed cells around
    /// them: the neighbourhood of the new position, then the cells around the old one that
    /// it does not cover, so each cell is visited once.
    fn fill_cell_batches(
        &self,
        changes: &HashMap<String, ChangeRec>,
        batches: &mut BTreeMap<Cell, ViewBatch>,
    ) {
        for (id, rec) in changes {
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
                let batch = batches.entry(r).or_default();
                self.classify(id, rec, r, r, batch);
            }
        }
    }

    /// Step 4: the batch of an observer that moved from `from` to `to`: what it newly
    /// sees, what it no longer sees, and what moved in both.
    fn crosser_batch(
        &self,
        changes: &HashMap<String, ChangeRec>,
        from: Cell,
        to: Cell,
    ) -> ViewBatch {
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
        for (cid, rec) in changes {
            if rec.old.is_some_and(|o| self.grid.is_near(o, from)) {
                candidates.insert(cid);
            }
        }
        let mut candidates: Vec<&String> = candidates.into_iter().collect();
        candidates.sort();
        for cid in candidates {
            match changes.get(cid) {
                Some(rec) => self.classify(cid, rec, from, to, &mut batch),
                None => {
                    let Some(e) = self.entities.get(cid) else {
                        continue;
                    };
                    let unchanged = ChangeRec {
                        old: Some(e.cell),
                        new: Some(e.cell),
                        restated: false,
                    };
                    // It concerns the observer only if it comes into view or goes out of it.
                    let (was, is) = self.seen(&unchanged, from, to);
                    if was != is {
                        self.classify(cid, &unchanged, from, to, &mut batch);
                    }
                }
            }
        }
        batch.tick = self.tick;
        batch
    }

    /// Sorts one changed entity into `batch` for an observer that saw the neighbourhood
    /// of `before` and now sees that of `after`.
    fn classify(
        &self,
        id: &str,
        rec: &ChangeRec,
        before: Cell,
        after: Cell,
        batch: &mut ViewBatch,
    ) {
        match self.seen(rec, before, after) {
            (true, true) => {
                if let Some(e) = self.entities.get(id) {
                    batch.moved.push(Moved {
                        id: id.to_owned(),
                        x: e.x,
                        y: e.y,
                        // Only when it changed: an unchanged state is never sent again.
                        state: rec.restated.then(|| e.state.clone()),
                    });
                }
            }
            (false, true) => {
                if let Some(e) = self.entities.get(id) {
                    batch.entered.push(e.view(id));
                }
            }
            (true, false) => batch.left.push(id.to_owned()),
            (false, false) => {}
        }
    }

    /// Whether an observer that saw the neighbourhood of `before` saw the entity, and
    /// whether it sees it from `after`.
    fn seen(&self, rec: &ChangeRec, before: Cell, after: Cell) -> (bool, bool) {
        let was = rec.old.is_some_and(|c| self.grid.is_near(c, before));
        let is = rec.new.is_some_and(|c| self.grid.is_near(c, after));
        (was, is)
    }
}
