//! Connection caps: at most so many client connections at once, and so many from one IP
//! address. A connection over a cap is closed as it is accepted, before any byte of it is
//! read. The count is of TCP connections: a WebSocket player holds one, a polling player
//! two or three (its long poll, its sends and the upgrade).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Default)]
struct Counts {
    total: u32,
    per_ip: HashMap<IpAddr, u32>,
}

/// The open connections, counted against the caps.
#[derive(Clone)]
pub struct Slots {
    counts: Arc<Mutex<Counts>>,
    max_total: u32,
    /// 0: no limit.
    max_per_ip: u32,
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Total,
    PerIp,
}

impl Refused {
    pub fn as_str(self) -> &'static str {
        match self {
            Refused::Total => "max_connections",
            Refused::PerIp => "max_connections_per_ip",
        }
    }
}

/// One open connection; its slot is given back when dropped.
pub struct Slot {
    counts: Arc<Mutex<Counts>>,
    ip: IpAddr,
}

fn lock(m: &Mutex<Counts>) -> MutexGuard<'_, Counts> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Slots {
    pub fn new(max_total: u32, max_per_ip: u32) -> Self {
        Self {
            counts: Arc::new(Mutex::new(Counts::default())),
            max_total,
            max_per_ip,
        }
    }

    /// A slot for a connection from `ip`, unless that would pass a cap.
    pub fn take(&self, ip: IpAddr) -> Result<Slot, Refused> {
        let mut c = lock(&self.counts);
        if c.total >= self.max_total {
            return Err(Refused::Total);
        }
        let n = c.per_ip.entry(ip).or_default();
        if self.max_per_ip > 0 && *n >= self.max_per_ip {
            return Err(Refused::PerIp);
        }
        *n += 1;
        c.total += 1;
        Ok(Slot {
            counts: self.counts.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut c = lock(&self.counts);
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.per_ip.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.per_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn per_ip_and_total_caps_hold_and_slots_come_back() {
        let slots = Slots::new(3, 2);
        let a1 = slots.take(ip(1)).expect("first");
        let _a2 = slots.take(ip(1)).expect("second");
        assert_eq!(slots.take(ip(1)).err(), Some(Refused::PerIp));
        let _b1 = slots.take(ip(2)).expect("another address");
        assert_eq!(slots.take(ip(3)).err(), Some(Refused::Total));
        drop(a1);
        let _a3 = slots.take(ip(1)).expect("a slot came back");
        assert_eq!(lock(&slots.counts).per_ip.len(), 2);
    }

    #[test]
    fn zero_per_ip_means_no_per_ip_limit() {
        let slots = Slots::new(10, 0);
        let held: Vec<Slot> = (0..10).map(|_| slots.take(ip(1)).expect("slot")).collect();
        assert_eq!(slots.take(ip(1)).err(), Some(Refused::Total));
        drop(held);
        assert!(lock(&slots.counts).per_ip.is_empty());
    }
}
