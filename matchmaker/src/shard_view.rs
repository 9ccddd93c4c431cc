//! The shard view: every registered shard as placement judged it at one read, kept and
//! shared by every reservation planned with it, and read again at most once at a time.

use crate::error::AppError;
use crate::metrics::Metrics;
use crate::placement::{self, Defaults, NEW_ROOM_CANDIDATES, ShardState};
use crate::store::{ShardArgs, Store};
use roomshard_protocol::UrlTemplate;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Every registered shard as placement judged it at `fetched_at`, with what every
/// reservation planned with it shares: the eligible shards as the scripts receive them, and
/// where new rooms may go.
///
/// The scripts that grant seats cannot read a shard's heartbeat (it lives in another
/// slot), so they take the view's word for it: the view says a shard is gone from the
/// moment its heartbeat record, as read, would have expired ([`ShardView::eligible_at`]),
/// which is when Redis drops it unless the shard beats again.
#[derive(Debug)]
pub struct ShardView {
    pub states: Vec<ShardState>,
    /// When the read that produced it started: it reflects every write made before.
    pub fetched_at: Instant,
    pub eligible: ShardArgs,
    /// Shards that may take a new room, best first (indices into `states`).
    pub new_room_shards: Vec<usize>,
    /// When each eligible shard's heartbeat record runs out, as read.
    expires: Vec<(u32, Instant)>,
}

impl ShardView {
    pub fn new(states: Vec<ShardState>, fetched_at: Instant) -> Self {
        let eligible = ShardArgs::new(
            states
                .iter()
                .filter(|s| s.eligible())
                .map(|s| (s.shard, s.worker.as_str(), s.url.as_str())),
            states.iter().filter(|s| !s.eligible()).map(|s| s.shard),
        );
        let new_room_shards = placement::new_room_candidates(&states, NEW_ROOM_CANDIDATES)
            .into_iter()
            .filter_map(|c| states.iter().position(|s| s.shard == c.shard))
            .collect();
        let mut expires: Vec<(u32, Instant)> = states
            .iter()
            .filter(|s| s.eligible())
            .map(|s| {
                let left = Duration::from_millis(s.heartbeat_ttl_ms.unwrap_or(0));
                (s.shard, fetched_at.checked_add(left).unwrap_or(fetched_at))
            })
            .collect();
        // Looked up by shard for every reservation.
        expires.sort_unstable_by_key(|(shard, _)| *shard);
        Self {
            states,
            fetched_at,
            eligible,
            new_room_shards,
            expires,
        }
    }

    /// The eligible shards whose heartbeat record has not run out by `now`.
    pub fn eligible_at(&self, now: Instant) -> ShardArgs {
        self.eligible.filtered(|shard| {
            self.expires
                .binary_search_by_key(&shard, |(s, _)| *s)
                .is_ok_and(|i| self.expires[i].1 > now)
        })
    }

    /// Whether a reservation could be planned differently with `other`: another set of
    /// eligible shards, or another name, address, size or room limit for one of them.
    pub fn plans_differently(&self, other: &ShardView) -> bool {
        fn key(v: &ShardView) -> impl Iterator<Item = (u32, u32, &str, &str, bool, (u32, u32))> {
            v.states.iter().filter(|s| s.eligible()).map(|s| {
                (
                    s.shard,
                    s.total,
                    s.worker.as_str(),
                    s.url.as_str(),
                    s.has_room_slot(),
                    (s.capacity.rooms_per_shard, s.capacity.players_per_room),
                )
            })
        }
        !key(self).eq(key(other))
    }
}

/// Where clients are sent when a heartbeat carries no URL of its own.
#[derive(Debug, Clone)]
pub struct PublicUrls {
    /// `PUBLIC_URL`, with its `{shard}`, `{pod}` and `{port}` placeholders.
    pub template: UrlTemplate,
    /// The port of shard 0 for `{port}`.
    pub worker_base_port: u16,
}

/// Reads shard views from Redis, keeps the latest, and hands out the turn of whoever
/// reads the next one.
pub struct ShardViews {
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    defaults: Defaults,
    urls: PublicUrls,
    current: RwLock<Option<Arc<ShardView>>>,
    last_failure: RwLock<Option<Instant>>,
    refreshing: tokio::sync::Mutex<()>,
}

impl ShardViews {
    pub fn new(
        store: Arc<Store>,
        metrics: Arc<Metrics>,
        defaults: Defaults,
        urls: PublicUrls,
    ) -> Self {
        Self {
            store,
            metrics,
            defaults,
            urls,
            current: RwLock::new(None),
            last_failure: RwLock::new(None),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// How often the view is read again: once per heartbeat interval, as often as the
    /// shards write what it is made of.
    pub fn refresh_interval(&self) -> Duration {
        Duration::from_millis(self.defaults.heartbeat_interval_ms.max(100))
    }

    /// Reads the shards once per interval, so reservations plan with a kept view instead
    /// of reading every heartbeat each time, and the shard gauges stay current even when
    /// nobody is reserving: dashboards and alerts see a shard go stale.
    pub async fn keep_fresh(self: Arc<Self>) {
        let mut tick = tokio::time::interval(self.refresh_interval());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.refresh().await {
                e.record(&self.metrics);
            }
        }
    }

    /// Reads every registered shard from Redis, judges it now, updates the shard gauges and
    /// keeps the result as the view reservations plan with.
    pub async fn refresh(&self) -> Result<Arc<ShardView>, AppError> {
        let started = Instant::now();
        let (reports, bad) = self.store.shard_reports().await.inspect_err(|_| {
            self.failed(Instant::now());
        })?;
        for b in &bad {
            tracing::warn!(shard = b.shard, detail = %b.detail, "undecodable heartbeat treated as absent");
        }
        self.metrics.bad_records.inc_by(bad.len() as u64);
        let now_ms = roomshard_protocol::now_ms();
        let states = placement::assess(&reports, now_ms, &self.defaults, |index, hb| {
            placement::public_url(
                &self.urls.template,
                &hb.url,
                index,
                &hb.pod,
                self.urls.worker_base_port,
            )
        });
        self.metrics.known_shards.set(states.len() as i64);
        self.metrics
            .healthy_shards
            .set(states.iter().filter(|s| s.eligible()).count() as i64);
        let view = Arc::new(ShardView::new(states, started));
        self.keep(&view);
        Ok(view)
    }

    /// The view a reservation plans with: the kept one, read at most one interval ago
    /// while the background refresh runs, or a new read when it is older than two.
    pub async fn recent(&self) -> Result<Arc<ShardView>, AppError> {
        let max_age = self.refresh_interval().saturating_mul(2);
        if let Some(view) = self.current()
            && view.fetched_at.elapsed() < max_age
        {
            return Ok(view);
        }
        let since = Instant::now()
            .checked_sub(max_age)
            .unwrap_or_else(Instant::now);
        self.read_since(since).await
    }

    /// A view read from Redis after `since`: the kept one if it is that recent, else one
    /// new read shared by every request that asks at the same time. A read that failed
    /// while a caller waited fails that caller too, instead of each trying in turn.
    pub async fn read_since(&self, since: Instant) -> Result<Arc<ShardView>, AppError> {
        let asked = Instant::now();
        let deadline = self.store.deadline().saturating_mul(2);
        let Ok(_turn) = tokio::time::timeout(deadline, self.refreshing.lock()).await else {
            return Err(AppError::RedisUnavailable);
        };
        if let Some(view) = self.current()
            && view.fetched_at >= since
        {
            return Ok(view);
        }
        if self.failed_since(asked) {
            return Err(AppError::RedisUnavailable);
        }
        self.refresh().await
    }

    fn current(&self) -> Option<Arc<ShardView>> {
        self.current.read().ok().and_then(|v| v.clone())
    }

    /// Keeps `view` unless a view read later is already kept.
    fn keep(&self, view: &Arc<ShardView>) {
        if let Ok(mut current) = self.current.write()
            && current
                .as_ref()
                .is_none_or(|c| c.fetched_at <= view.fetched_at)
        {
            *current = Some(view.clone());
        }
    }

    /// Records a read that failed (`at`: when it gave up).
    fn failed(&self, at: Instant) {
        if let Ok(mut last) = self.last_failure.write() {
            *last = Some(last.map_or(at, |l| l.max(at)));
        }
    }

    fn failed_since(&self, since: Instant) -> bool {
        self.last_failure
            .read()
            .ok()
            .and_then(|l| *l)
            .is_some_and(|at| at >= since)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(i: u32, eligible: bool) -> ShardState {
        ShardState::test(i, 3).healthy(eligible).load(1, 2)
    }

    #[test]
    fn views_plan_differently_only_when_placement_could_change() {
        let now = Instant::now();
        let base = ShardView::new(vec![shard(0, true), shard(1, false)], now);
        assert_eq!(base.eligible.shards(), vec![0]);
        assert_eq!(base.new_room_shards, vec![0]);

        // Load and beat times move every interval; they change no plan.
        let mut busier = vec![shard(0, true), shard(1, false)];
        busier[0].players = 9;
        busier[0].rooms = 3;
        busier[0].last_heartbeat_ms = 99;
        assert!(!base.plans_differently(&ShardView::new(busier, now)));

        // A shard that became eligible, moved, or filled its room slots does.
        let started = ShardView::new(vec![shard(0, true), shard(1, true)], now);
        assert!(base.plans_differently(&started));
        let mut moved = vec![shard(0, true), shard(1, false)];
        moved[0].url = "ws://elsewhere/0".into();
        assert!(base.plans_differently(&ShardView::new(moved, now)));
        let mut full = vec![shard(0, true), shard(1, false)];
        full[0].rooms = 10;
        let full = ShardView::new(full, now);
        assert!(base.plans_differently(&full));
        assert!(full.new_room_shards.is_empty());
    }

    #[test]
    fn a_kept_view_drops_a_shard_when_its_heartbeat_would_have_expired() {
        let read = Instant::now();
        let mut short = shard(1, true);
        short.heartbeat_ttl_ms = Some(500);
        let view = ShardView::new(vec![shard(0, true), short, shard(2, false)], read);
        assert_eq!(view.eligible_at(read).shards(), vec![0, 1]);
        let later = read + Duration::from_millis(500);
        assert_eq!(view.eligible_at(later).shards(), vec![0]);
        assert!(
            view.eligible_at(read + Duration::from_secs(61))
                .shards()
                .is_empty()
        );
    }
}
