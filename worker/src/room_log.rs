//! A room's event log: every room event (chat, presence, `room` custom events) this worker
//! delivered to the room, numbered per room, the newest kept in a bounded ring. A resume
//! replays the events after the client's last seen number from here, or finds that the
//! ring no longer reaches back that far.

use crate::attached::Bins;
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::Arc;

/// One delivered room event: its number, its Socket.IO event name, its payload (with
/// `seq`) and the binary attachments the payload holds placeholders of.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    pub seq: u64,
    pub event: String,
    pub data: Arc<Value>,
    pub bins: Bins,
}

/// Why the events after a `lastSeq` cannot be replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreplayable {
    /// Events after `lastSeq` were already dropped from the ring.
    Gap { oldest: u64 },
    /// `lastSeq` is a number this room never sent.
    Ahead { last: u64 },
}

pub struct RoomLog {
    /// The number of the newest event; 0 before the first.
    last: u64,
    ring: VecDeque<Logged>,
    capacity: usize,
}

impl RoomLog {
    pub fn new(capacity: usize) -> Self {
        Self {
            last: 0,
            ring: VecDeque::with_capacity(capacity.min(64)),
            capacity,
        }
    }

    /// The number of the newest event (0: none yet).
    pub fn last_seq(&self) -> u64 {
        self.last
    }

    /// Numbers an event, keeps it (with its attachments), and returns its payload with
    /// `seq` set. A payload that is not a JSON object is carried as
    /// `{"data": payload, "seq": n}`.
    pub fn push(&mut self, event: &str, data: Value, bins: &Bins) -> Arc<Value> {
        self.last += 1;
        let mut data = match data {
            Value::Object(map) => map,
            other => {
                let mut map = serde_json::Map::new();
                map.insert("data".into(), other);
                map
            }
        };
        data.insert("seq".into(), Value::from(self.last));
        let data = Arc::new(Value::Object(data));
        if self.capacity > 0 {
            if self.ring.len() == self.capacity {
                self.ring.pop_front();
            }
            self.ring.push_back(Logged {
                seq: self.last,
                event: event.to_owned(),
                data: data.clone(),
                bins: bins.clone(),
            });
        }
        data
    }

    /// Every event after `last_seq`, oldest first.
    /// The kept events without binary attachments, oldest first, that run unbroken up to
    /// the newest: what a handoff carries to the next process of the shard.
    pub fn handed_over(&self) -> Vec<(u64, String, Value)> {
        let from = self
            .ring
            .iter()
            .rposition(|e| !e.bins.is_empty())
            .map_or(0, |i| i + 1);
        self.ring
            .iter()
            .skip(from)
            .map(|e| (e.seq, e.event.clone(), (*e.data).clone()))
            .collect()
    }

    /// A log handed over by an earlier process: numbering goes on after `last`, and the
    /// `events` (oldest first, ending at `last`) replay as though delivered here.
    pub fn restored(capacity: usize, last: u64, events: Vec<(u64, String, Value)>) -> Self {
        let mut log = Self::new(capacity);
        log.last = last;
        let mut expected = last.saturating_add(1);
        for (seq, event, data) in events.into_iter().rev() {
            // Only a run that ends at `last` without a hole can replay.
            if seq.saturating_add(1) != expected || log.ring.len() >= capacity {
                break;
            }
            expected = seq;
            log.ring.push_front(Logged {
                seq,
                event,
                data: Arc::new(data),
                bins: Bins::default(),
            });
        }
        log
    }

    pub fn since(&self, last_seq: u64) -> Result<Vec<Logged>, Unreplayable> {
        if last_seq > self.last {
            return Err(Unreplayable::Ahead { last: self.last });
        }
        if last_seq == self.last {
            return Ok(Vec::new());
        }
        // The oldest number still kept; with an empty ring, the next to be sent.
        let oldest = self.ring.front().map_or(self.last + 1, |e| e.seq);
        if last_seq + 1 < oldest {
            return Err(Unreplayable::Gap { oldest });
        }
        Ok(self
            .ring
            .iter()
            .filter(|e| e.seq > last_seq)
            .cloned()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn none() -> Bins {
        Bins::default()
    }

    fn seqs(events: &[Logged]) -> Vec<u64> {
        events.iter().map(|e| e.seq).collect()
    }

    #[test]
    fn numbers_each_event_and_stamps_its_payload() {
        let mut log = RoomLog::new(8);
        assert_eq!(log.last_seq(), 0);
        let d = log.push("said", json!({"from": "a", "text": "hi"}), &none());
        assert_eq!(*d, json!({"from": "a", "text": "hi", "seq": 1}));
        let d = log.push("said", json!("odd"), &none());
        assert_eq!(*d, json!({"data": "odd", "seq": 2}));
        assert_eq!(log.last_seq(), 2);
    }

    #[test]
    fn replays_exactly_what_came_after_last_seq() {
        let mut log = RoomLog::new(8);
        for _ in 0..5 {
            log.push("presence", json!({}), &none());
        }
        assert_eq!(seqs(&log.since(0).expect("all")), vec![1, 2, 3, 4, 5]);
        assert_eq!(seqs(&log.since(3).expect("two")), vec![4, 5]);
        assert!(log.since(5).expect("none").is_empty());
        assert_eq!(log.since(6), Err(Unreplayable::Ahead { last: 5 }));
    }

    #[test]
    fn a_full_ring_drops_the_oldest_and_reports_the_gap() {
        let mut log = RoomLog::new(3);
        for _ in 0..5 {
            log.push("said", json!({}), &none());
        }
        assert_eq!(seqs(&log.since(2).expect("3..=5 kept")), vec![3, 4, 5]);
        assert_eq!(log.since(1), Err(Unreplayable::Gap { oldest: 3 }));
        assert_eq!(log.since(0), Err(Unreplayable::Gap { oldest: 3 }));
    }

    #[test]
    fn without_a_ring_only_an_up_to_date_client_resumes() {
        let mut log = RoomLog::new(0);
        assert!(log.since(0).expect("nothing sent yet").is_empty());
        log.push("said", json!({}), &none());
        assert!(log.since(1).expect("saw it").is_empty());
        assert_eq!(log.since(0), Err(Unreplayable::Gap { oldest: 2 }));
    }

    #[test]
    fn a_handed_over_log_replays_in_the_next_process() {
        let mut log = RoomLog::new(8);
        for i in 0..4 {
            log.push("said", json!({"i": i}), &none());
        }
        let events = log.handed_over();
        assert_eq!(events.len(), 4);
        let next = RoomLog::restored(8, log.last_seq(), events);
        assert_eq!(next.last_seq(), 4);
        assert_eq!(seqs(&next.since(2).expect("replays")), [3, 4]);
        assert_eq!(next.since(4).expect("nothing missed"), vec![]);
        // Nothing handed over: only a client that missed nothing resumes.
        let bare = RoomLog::restored(8, 4, vec![]);
        assert_eq!(bare.since(3), Err(Unreplayable::Gap { oldest: 5 }));
        assert_eq!(bare.since(4), Ok(vec![]));
        // A hole in what was handed over keeps only the run that ends at the last.
        let holey = RoomLog::restored(
            8,
            4,
            vec![(1, "said".into(), json!({})), (4, "said".into(), json!({}))],
        );
        assert_eq!(seqs(&holey.since(3).expect("replays")), [4]);
    }
}
